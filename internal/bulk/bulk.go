// Package bulk is the federation's chunk envelope: many objects of one kind (routed feed
// events now; indicators and TAXII objects later) in one zstd-compressed payload: one
// envelope, sealed with its batch like any other.
//
// The sender builds a chunk object by object, asking egress.Decide for each object and
// its destination before the object is written into the chunk, so an object the rule
// keeps from that peer is never in any chunk built for it. A chunk holds at most
// MaxObjects objects and MaxCompressed compressed bytes (it fits one envelope's payload,
// base64 and all), and decompresses to at most MaxSize bytes: the receiver reads it as a
// stream, object by object, and stops at the first byte past what the chunk declared, so
// a decompression bomb costs it at most MaxSize bytes of reading and one object of memory.
package bulk

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"

	"csirtlink/internal/egress"
	"csirtlink/internal/envelope"
	"csirtlink/internal/tlp"
	"csirtlink/internal/wire"
)

// Caps on a chunk.
const (
	// MaxObjects is the most objects one chunk holds.
	MaxObjects = 10_000
	// MaxCompressed is the most compressed bytes: base64 makes 4 bytes of 3, and the
	// chunk's other fields need a little room, so this fits envelope.MaxPayload.
	MaxCompressed = (envelope.MaxPayload - 4096) / 4 * 3
	// MaxSize is the most bytes a chunk decompresses to.
	MaxSize = 64 << 20
	// MaxObjectBytes is the most bytes one object may take.
	MaxObjectBytes = 1 << 20
)

// ErrFull means the chunk cannot take the object: emit it, and add the object to the next.
var ErrFull = errors.New("bulk: chunk full")

// flushEvery bounds the uncompressed bytes the encoder may hold unflushed, so the
// compressed size is known to within that much before each object is added.
const flushEvery = 128 << 10

// Builder writes one chunk at a time for one destination.
type Builder struct {
	kind string
	ectx egress.Context
	to   egress.Destination

	buf     bytes.Buffer
	zw      *zstd.Encoder
	count   int
	size    int64
	pending int // uncompressed bytes written since the last flush
	label   tlp.Label
	refused int
}

// NewBuilder makes a builder of chunks of kind for destination to, whose objects are
// decided in the context c.
func NewBuilder(kind string, c egress.Context, to egress.Destination) (*Builder, error) {
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil, fmt.Errorf("bulk: %w", err)
	}
	b := &Builder{kind: kind, ectx: c, to: to, zw: zw}
	b.reset()
	return b, nil
}

func (b *Builder) reset() {
	b.buf.Reset()
	b.zw.Reset(&b.buf)
	b.count, b.size, b.pending, b.label = 0, 0, 0, ""
}

// Add asks egress.Decide whether the object may go to the builder's destination and, if
// it may, writes it into the chunk. It reports whether the object was added; an object
// the rule refuses is counted (Refused) and never written. ErrFull means the chunk holds
// as much as it may: Take it, then Add the object again.
func (b *Builder) Add(item tlp.Item, obj []byte) (bool, error) { return b.AddIn(b.ectx, item, obj) }

// AddIn is Add for an object whose own context (its incident's participants, its
// audience) differs from the builder's: shared indicators, each with its audience.
func (b *Builder) AddIn(c egress.Context, item tlp.Item, obj []byte) (bool, error) {
	dec := egress.Decide(egress.Request{Item: item, Context: c, To: b.to})
	if !dec.Full() {
		b.refused++
		return false, nil
	}
	if len(obj) == 0 || len(obj) > MaxObjectBytes || bytes.IndexByte(obj, '\n') >= 0 {
		return false, fmt.Errorf("bulk: an object must be 1 to %d bytes without a line break", MaxObjectBytes)
	}
	n := len(obj) + 1
	if b.count >= MaxObjects || b.size+int64(n) > MaxSize {
		return false, ErrFull
	}
	// Incompressible bytes still cost at most their own length (zstd stores such blocks
	// raw), so buf + pending + n bounds the chunk's size after this object.
	if b.buf.Len()+b.pending+n+64 > MaxCompressed {
		if err := b.flush(); err != nil {
			return false, err
		}
		if b.buf.Len()+n+64 > MaxCompressed {
			if b.count == 0 {
				return false, fmt.Errorf("bulk: an object of %d bytes does not fit an empty chunk", len(obj))
			}
			return false, ErrFull
		}
	}
	if _, err := b.zw.Write(obj); err != nil {
		return false, fmt.Errorf("bulk: compress: %w", err)
	}
	if _, err := b.zw.Write([]byte{'\n'}); err != nil {
		return false, fmt.Errorf("bulk: compress: %w", err)
	}
	b.count++
	b.size += int64(n)
	b.pending += n
	b.label = stricter(b.label, item.Label)
	if b.pending >= flushEvery {
		if err := b.flush(); err != nil {
			return false, err
		}
	}
	return true, nil
}

func stricter(a, l tlp.Label) tlp.Label {
	if a == "" {
		return l
	}
	return tlp.Stricter(a, l)
}

func (b *Builder) flush() error {
	if b.pending == 0 {
		return nil
	}
	if err := b.zw.Flush(); err != nil {
		return fmt.Errorf("bulk: compress: %w", err)
	}
	b.pending = 0
	return nil
}

// Len is how many objects the chunk being built holds.
func (b *Builder) Len() int { return b.count }

// Refused is how many objects egress.Decide kept out of this builder's chunks.
func (b *Builder) Refused() int { return b.refused }

// Chunk is a finished chunk: the payload's fields, and the strictest label of its
// objects, which is the label the envelope carrying it is decided and sent under.
type Chunk struct {
	wire.BulkChunk
	Label tlp.Label
}

// Take finishes the chunk being built and starts the next one. group, part and last are
// the caller's: what the chunk belongs to and where it stands in it.
func (b *Builder) Take(group string, part int, last bool) (Chunk, error) {
	if err := b.zw.Close(); err != nil {
		return Chunk{}, fmt.Errorf("bulk: compress: %w", err)
	}
	if b.buf.Len() > MaxCompressed {
		return Chunk{}, fmt.Errorf("bulk: chunk of %d compressed bytes is over the cap of %d", b.buf.Len(), MaxCompressed)
	}
	c := Chunk{BulkChunk: wire.BulkChunk{Kind: b.kind, Group: group, Part: part, Last: last, Count: b.count, Size: b.size,
		Data: bytes.Clone(b.buf.Bytes())}, Label: b.label}
	if c.Label == "" {
		c.Label = tlp.Clear // an empty chunk (a group's closing part) holds nothing
	}
	b.reset()
	return c, nil
}

// Payload encodes a chunk as an envelope payload.
func (c Chunk) Payload() ([]byte, error) { return wire.EncodeBulkChunk(c.BulkChunk) }

// Decode reads a chunk's objects as a stream and calls fn with each (the slice is valid
// only during the call). It checks every cap before and while it reads: the compressed
// size, the declared count and size, each object's size, and that the data holds exactly
// what was declared — no more objects, no byte more.
func Decode(c wire.BulkChunk, fn func(i int, obj []byte) error) error {
	switch {
	case len(c.Data) > MaxCompressed:
		return fmt.Errorf("bulk: data: %d compressed bytes, over the cap of %d", len(c.Data), MaxCompressed)
	case c.Count < 0 || c.Count > MaxObjects:
		return fmt.Errorf("bulk: count: %d, must be 0 to %d", c.Count, MaxObjects)
	case c.Size < 0 || c.Size > MaxSize:
		return fmt.Errorf("bulk: size: %d, must be 0 to %d", c.Size, MaxSize)
	}
	zr, err := zstd.NewReader(bytes.NewReader(c.Data), zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(MaxSize+1), zstd.WithDecoderMaxWindow(8<<20), zstd.WithDecoderLowmem(true))
	if err != nil {
		return fmt.Errorf("bulk: data: %w", err)
	}
	defer zr.Close()
	// One byte past the declared size is enough to know the chunk lied.
	lr := &io.LimitedReader{R: zr, N: c.Size + 1}
	br := bufio.NewReaderSize(lr, 64<<10)
	var line []byte
	var read int64
	for i := 0; ; i++ {
		line = line[:0]
		for {
			frag, err := br.ReadSlice('\n')
			line = append(line, frag...)
			if len(line) > MaxObjectBytes+1 {
				return fmt.Errorf("bulk: object %d: longer than %d bytes", i, MaxObjectBytes)
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF {
				if len(line) > 0 {
					return fmt.Errorf("bulk: object %d: not ended by a line break", i)
				}
				if read != c.Size || i != c.Count {
					return fmt.Errorf("bulk: data holds %d objects in %d bytes, the chunk declares %d in %d", i, read, c.Count, c.Size)
				}
				return nil
			}
			if err != nil {
				return fmt.Errorf("bulk: data: %w", err)
			}
			break
		}
		read += int64(len(line))
		if read > c.Size {
			return fmt.Errorf("bulk: data: more than the %d bytes the chunk declares", c.Size)
		}
		if i >= c.Count {
			return fmt.Errorf("bulk: data: more than the %d objects the chunk declares", c.Count)
		}
		obj := line[:len(line)-1]
		if len(obj) == 0 {
			return fmt.Errorf("bulk: object %d: empty", i)
		}
		if err := fn(i, obj); err != nil {
			return err
		}
	}
}
