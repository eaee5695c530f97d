package web

import (
	"bytes"
	"encoding/binary"
	"math"
)

// alertSound is the chime a console plays when a page arrives for the team: two falling
// tones, long enough to wake someone, short enough not to annoy. It is made here rather
// than shipped as a recording, so that its source is these lines.
func alertSound() []byte {
	const rate = 16000
	var samples []int16
	tone := func(freq float64, secs float64) {
		n := int(secs * rate)
		for i := range n {
			t := float64(i) / rate
			// A short attack and a gentle decay, so that the tone does not click.
			env := math.Min(1, t/0.01) * math.Exp(-3*t/secs)
			v := 0.6 * env * (math.Sin(2*math.Pi*freq*t) + 0.3*math.Sin(4*math.Pi*freq*t))
			samples = append(samples, int16(v*math.MaxInt16*0.75))
		}
	}
	silence := func(secs float64) { samples = append(samples, make([]int16, int(secs*rate))...) }
	tone(988, 0.22)
	silence(0.05)
	tone(740, 0.35)
	var b bytes.Buffer
	data := 2 * len(samples)
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+data))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)})
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(data))
	binary.Write(&b, binary.LittleEndian, samples)
	return b.Bytes()
}
