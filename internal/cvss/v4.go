package cvss

import (
	"fmt"
	"math"
	"strings"
)

// Score40 is the CVSS 4.0 score of a 4.0 vector (specification section 8): the
// vector's macro-vector (the six equivalence classes EQ1…EQ6) is looked up in the
// specification's table, then lowered by the vector's mean severity distance from the
// highest vector of its macro-vector, interpolated towards the next lower
// macro-vectors. Threat and environmental metrics count when given, so a base vector
// gives CVSS-B, one with E gives CVSS-BT, and so on. The severity word is as for 3.1.
func (v Vector) Score40() (float64, string, error) {
	if v.Version != "4.0" {
		return 0, "", fmt.Errorf("CVSS %s vector: not a 4.0 vector", v.Version)
	}
	m := v.effective
	// No impact on the vulnerable or any subsequent system scores 0 whatever else.
	none := true
	for _, k := range []string{"VC", "VI", "VA", "SC", "SI", "SA"} {
		if m(k) != "N" {
			none = false
		}
	}
	if none {
		return 0, "NONE", nil
	}
	eq := v.macroVector()
	value := macroScores[macroKey(eq)]

	// The next lower macro-vector along each equivalence class; a missing one (the
	// class is at its lowest) leaves that class out of the mean.
	lower := func(i int) (float64, bool) {
		n := eq
		n[i]++
		s, ok := macroScores[macroKey(n)]
		return s, ok
	}
	lower1, ok1 := lower(0)
	lower2, ok2 := lower(1)
	lower4, ok4 := lower(3)
	lower5, ok5 := lower(4)
	// EQ3 and EQ6 are scored jointly.
	var lower36 float64
	var ok36 bool
	switch e3, e6 := eq[2], eq[5]; {
	case e3 == 0 && e6 == 0:
		l, okl := lower(5) // 0 1
		r, okr := lower(2) // 1 0
		lower36, ok36 = math.Max(l, r), okl || okr
		if !okl {
			lower36 = r
		} else if !okr {
			lower36 = l
		}
	case e3 == 1 && e6 == 0:
		lower36, ok36 = lower(5)
	default: // 0 1 and 1 1 step EQ3; 2 1 has no lower
		lower36, ok36 = lower(2)
	}

	// The first of the macro-vector's highest vectors that the vector does not exceed.
	var dist map[string]float64
	for _, hi := range highestVectors(eq) {
		d := map[string]float64{}
		ok := true
		for _, kv := range strings.Split(strings.TrimSuffix(hi, "/"), "/") {
			k, val, _ := strings.Cut(kv, ":")
			d[k] = levels[k][m(k)] - levels[k][val]
			if d[k] < 0 {
				ok = false
				break
			}
		}
		if ok {
			dist = d
			break
		}
	}
	cur1 := dist["AV"] + dist["PR"] + dist["UI"]
	cur2 := dist["AC"] + dist["AT"]
	cur36 := dist["VC"] + dist["VI"] + dist["VA"] + dist["CR"] + dist["IR"] + dist["AR"]
	cur4 := dist["SC"] + dist["SI"] + dist["SA"]

	const step = 0.1
	var sum float64
	n := 0
	add := func(ok bool, lowerScore, current, maxSeverity float64) {
		if !ok {
			return
		}
		n++
		sum += (value - lowerScore) * (current / (maxSeverity * step))
	}
	add(ok1, lower1, cur1, maxSeverity1[eq[0]])
	add(ok2, lower2, cur2, maxSeverity2[eq[1]])
	add(ok36, lower36, cur36, maxSeverity36[[2]int{eq[2], eq[5]}])
	add(ok4, lower4, cur4, maxSeverity4[eq[3]])
	add(ok5, lower5, 0, 1) // EQ5 (exploit maturity) has one value per class: no distance
	if n > 0 {
		value -= sum / float64(n)
	}
	value = math.Max(0, math.Min(10, value))
	// The specification rounds half up to one decimal; the epsilon keeps 4.05 from
	// becoming 4.0 through floating-point error.
	score := math.Round((value+1e-6)*10) / 10
	return score, Severity(score), nil
}

// effective is a metric's value as scored: the modified (environmental) value when
// given, otherwise the base value, and the specification's defaults for an absent
// threat or requirement metric (E:X is A, CR/IR/AR:X is H).
func (v Vector) effective(k string) string {
	if mv, ok := v.Metrics["M"+k]; ok && mv != "X" {
		return mv
	}
	val, ok := v.Metrics[k]
	if !ok || val == "X" {
		switch k {
		case "E":
			return "A"
		case "CR", "IR", "AR":
			return "H"
		}
	}
	return val
}

// macroVector is the vector's class in each of EQ1…EQ6 (specification section 8.2).
func (v Vector) macroVector() [6]int {
	m := v.effective
	var eq [6]int
	av, pr, ui := m("AV"), m("PR"), m("UI")
	switch {
	case av == "N" && pr == "N" && ui == "N":
		eq[0] = 0
	case (av == "N" || pr == "N" || ui == "N") && av != "P":
		eq[0] = 1
	default:
		eq[0] = 2
	}
	if !(m("AC") == "L" && m("AT") == "N") {
		eq[1] = 1
	}
	vc, vi, va := m("VC"), m("VI"), m("VA")
	switch {
	case vc == "H" && vi == "H":
		eq[2] = 0
	case vc == "H" || vi == "H" || va == "H":
		eq[2] = 1
	default:
		eq[2] = 2
	}
	switch {
	case m("SI") == "S" || m("SA") == "S":
		eq[3] = 0
	case m("SC") == "H" || m("SI") == "H" || m("SA") == "H":
		eq[3] = 1
	default:
		eq[3] = 2
	}
	eq[4] = map[string]int{"A": 0, "P": 1, "U": 2}[m("E")]
	if !(m("CR") == "H" && vc == "H" || m("IR") == "H" && vi == "H" || m("AR") == "H" && va == "H") {
		eq[5] = 1
	}
	return eq
}

func macroKey(eq [6]int) string {
	return fmt.Sprintf("%d%d%d%d%d%d", eq[0], eq[1], eq[2], eq[3], eq[4], eq[5])
}

// highestVectors are the highest-severity vectors of a macro-vector, in the
// specification's order: every combination of each class's highest vectors.
func highestVectors(eq [6]int) []string {
	var out []string
	for _, a := range highest1[eq[0]] {
		for _, b := range highest2[eq[1]] {
			for _, c := range highest36[[2]int{eq[2], eq[5]}] {
				for _, d := range highest4[eq[3]] {
					for _, e := range highest5[eq[4]] {
						out = append(out, a+b+c+d+e)
					}
				}
			}
		}
	}
	return out
}

var (
	highest1 = [][]string{
		{"AV:N/PR:N/UI:N/"},
		{"AV:A/PR:N/UI:N/", "AV:N/PR:L/UI:N/", "AV:N/PR:N/UI:P/"},
		{"AV:P/PR:N/UI:N/", "AV:A/PR:L/UI:P/"},
	}
	highest2  = [][]string{{"AC:L/AT:N/"}, {"AC:H/AT:N/", "AC:L/AT:P/"}}
	highest36 = map[[2]int][]string{
		{0, 0}: {"VC:H/VI:H/VA:H/CR:H/IR:H/AR:H/"},
		{0, 1}: {"VC:H/VI:H/VA:L/CR:M/IR:M/AR:H/", "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M/"},
		{1, 0}: {"VC:L/VI:H/VA:H/CR:H/IR:H/AR:H/", "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H/"},
		{1, 1}: {"VC:L/VI:H/VA:L/CR:H/IR:M/AR:H/", "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M/",
			"VC:H/VI:L/VA:H/CR:M/IR:H/AR:M/", "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H/", "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M/"},
		{2, 1}: {"VC:L/VI:L/VA:L/CR:H/IR:H/AR:H/"},
	}
	highest4 = [][]string{{"SC:H/SI:S/SA:S/"}, {"SC:H/SI:H/SA:H/"}, {"SC:L/SI:L/SA:L/"}}
	highest5 = [][]string{{"E:A/"}, {"E:P/"}, {"E:U/"}}

	// The depth of each class, in steps of 0.1, used to turn a severity distance into
	// a share of the way to the next lower macro-vector.
	maxSeverity1  = []float64{1, 4, 5}
	maxSeverity2  = []float64{1, 2}
	maxSeverity36 = map[[2]int]float64{{0, 0}: 7, {0, 1}: 6, {1, 0}: 8, {1, 1}: 8, {2, 1}: 10}
	maxSeverity4  = []float64{6, 5, 4}

	// levels are each metric value's severity level (lower is more severe).
	levels = map[string]map[string]float64{
		"AV": {"N": 0, "A": 0.1, "L": 0.2, "P": 0.3},
		"PR": {"N": 0, "L": 0.1, "H": 0.2},
		"UI": {"N": 0, "P": 0.1, "A": 0.2},
		"AC": {"L": 0, "H": 0.1},
		"AT": {"N": 0, "P": 0.1},
		"VC": {"H": 0, "L": 0.1, "N": 0.2},
		"VI": {"H": 0, "L": 0.1, "N": 0.2},
		"VA": {"H": 0, "L": 0.1, "N": 0.2},
		"SC": {"H": 0.1, "L": 0.2, "N": 0.3},
		"SI": {"S": 0, "H": 0.1, "L": 0.2, "N": 0.3},
		"SA": {"S": 0, "H": 0.1, "L": 0.2, "N": 0.3},
		"CR": {"H": 0, "M": 0.1, "L": 0.2},
		"IR": {"H": 0, "M": 0.1, "L": 0.2},
		"AR": {"H": 0, "M": 0.1, "L": 0.2},
		"E":  {"U": 0.2, "P": 0.1, "A": 0},
	}
)

// macroScores is the specification's table of macro-vector scores (EQ1…EQ6 → score);
// absent keys are macro-vectors that cannot occur.
var macroScores = map[string]float64{
	"000000": 10, "000001": 9.9, "000010": 9.8, "000011": 9.5, "000020": 9.5, "000021": 9.2,
	"000100": 10, "000101": 9.6, "000110": 9.3, "000111": 8.7, "000120": 9.1, "000121": 8.1,
	"000200": 9.3, "000201": 9, "000210": 8.9, "000211": 8, "000220": 8.1, "000221": 6.8,
	"001000": 9.8, "001001": 9.5, "001010": 9.5, "001011": 9.2, "001020": 9, "001021": 8.4,
	"001100": 9.3, "001101": 9.2, "001110": 8.9, "001111": 8.1, "001120": 8.1, "001121": 6.5,
	"001200": 8.8, "001201": 8, "001210": 7.8, "001211": 7, "001220": 6.9, "001221": 4.8,
	"002001": 9.2, "002011": 8.2, "002021": 7.2, "002101": 7.9, "002111": 6.9, "002121": 5,
	"002201": 6.9, "002211": 5.5, "002221": 2.7, "010000": 9.9, "010001": 9.7, "010010": 9.5,
	"010011": 9.2, "010020": 9.2, "010021": 8.5, "010100": 9.5, "010101": 9.1, "010110": 9,
	"010111": 8.3, "010120": 8.4, "010121": 7.1, "010200": 9.2, "010201": 8.1, "010210": 8.2,
	"010211": 7.1, "010220": 7.2, "010221": 5.3, "011000": 9.5, "011001": 9.3, "011010": 9.2,
	"011011": 8.5, "011020": 8.5, "011021": 7.3, "011100": 9.2, "011101": 8.2, "011110": 8,
	"011111": 7.2, "011120": 7, "011121": 5.9, "011200": 8.4, "011201": 7, "011210": 7.1,
	"011211": 5.2, "011220": 5, "011221": 3, "012001": 8.6, "012011": 7.5, "012021": 5.2,
	"012101": 7.1, "012111": 5.2, "012121": 2.9, "012201": 6.3, "012211": 2.9, "012221": 1.7,
	"100000": 9.8, "100001": 9.5, "100010": 9.4, "100011": 8.7, "100020": 9.1, "100021": 8.1,
	"100100": 9.4, "100101": 8.9, "100110": 8.6, "100111": 7.4, "100120": 7.7, "100121": 6.4,
	"100200": 8.7, "100201": 7.5, "100210": 7.4, "100211": 6.3, "100220": 6.3, "100221": 4.9,
	"101000": 9.4, "101001": 8.9, "101010": 8.8, "101011": 7.7, "101020": 7.6, "101021": 6.7,
	"101100": 8.6, "101101": 7.6, "101110": 7.4, "101111": 5.8, "101120": 5.9, "101121": 5,
	"101200": 7.2, "101201": 5.7, "101210": 5.7, "101211": 5.2, "101220": 5.2, "101221": 2.5,
	"102001": 8.3, "102011": 7, "102021": 5.4, "102101": 6.5, "102111": 5.8, "102121": 2.6,
	"102201": 5.3, "102211": 2.1, "102221": 1.3, "110000": 9.5, "110001": 9, "110010": 8.8,
	"110011": 7.6, "110020": 7.6, "110021": 7, "110100": 9, "110101": 7.7, "110110": 7.5,
	"110111": 6.2, "110120": 6.1, "110121": 5.3, "110200": 7.7, "110201": 6.6, "110210": 6.8,
	"110211": 5.9, "110220": 5.2, "110221": 3, "111000": 8.9, "111001": 7.8, "111010": 7.6,
	"111011": 6.7, "111020": 6.2, "111021": 5.8, "111100": 7.4, "111101": 5.9, "111110": 5.7,
	"111111": 5.7, "111120": 4.7, "111121": 2.3, "111200": 6.1, "111201": 5.2, "111210": 5.7,
	"111211": 2.9, "111220": 2.4, "111221": 1.6, "112001": 7.1, "112011": 5.9, "112021": 3,
	"112101": 5.8, "112111": 2.6, "112121": 1.5, "112201": 2.3, "112211": 1.3, "112221": 0.6,
	"200000": 9.3, "200001": 8.7, "200010": 8.6, "200011": 7.2, "200020": 7.5, "200021": 5.8,
	"200100": 8.6, "200101": 7.4, "200110": 7.4, "200111": 6.1, "200120": 5.6, "200121": 3.4,
	"200200": 7, "200201": 5.4, "200210": 5.2, "200211": 4, "200220": 4, "200221": 2.2,
	"201000": 8.5, "201001": 7.5, "201010": 7.4, "201011": 5.5, "201020": 6.2, "201021": 5.1,
	"201100": 7.2, "201101": 5.7, "201110": 5.5, "201111": 4.1, "201120": 4.6, "201121": 1.9,
	"201200": 5.3, "201201": 3.6, "201210": 3.4, "201211": 1.9, "201220": 1.9, "201221": 0.8,
	"202001": 6.4, "202011": 5.1, "202021": 2, "202101": 4.7, "202111": 2.1, "202121": 1.1,
	"202201": 2.4, "202211": 0.9, "202221": 0.4, "210000": 8.8, "210001": 7.5, "210010": 7.3,
	"210011": 5.3, "210020": 6, "210021": 5, "210100": 7.3, "210101": 5.5, "210110": 5.9,
	"210111": 4, "210120": 4.1, "210121": 2, "210200": 5.4, "210201": 4.3, "210210": 4.5,
	"210211": 2.2, "210220": 2, "210221": 1.1, "211000": 7.5, "211001": 5.5, "211010": 5.8,
	"211011": 4.5, "211020": 4, "211021": 2.1, "211100": 6.1, "211101": 5.1, "211110": 4.8,
	"211111": 1.8, "211120": 2, "211121": 0.9, "211200": 4.6, "211201": 1.8, "211210": 1.7,
	"211211": 0.7, "211220": 0.8, "211221": 0.2, "212001": 5.3, "212011": 2.4, "212021": 1.4,
	"212101": 2.4, "212111": 1.2, "212121": 0.5, "212201": 1, "212211": 0.3, "212221": 0.1,
}
