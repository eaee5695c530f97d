package stix

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"csirtlink/internal/observable"
)

// Limits on a pattern from outside: real indicator patterns are a few hundred bytes.
const (
	MaxPatternLen    = 8192
	maxPatternDepth  = 16
	maxPatternLeaves = 256
)

// Expr is a parsed pattern: a Comparison, or an And/Or of expressions. Observation
// brackets are kept implicit: we support only patterns whose comparisons each stand for
// one observable, where [a] OR [b] and [a OR b] mean the same.
type Expr interface{ expr() }

// Comparison is one object path compared with one constant.
type Comparison struct {
	ObjectType string // ipv4-addr, domain-name, file, ...
	Property   string // value, hashes.MD5, hashes.SHA-256, number
	Op         string // "=" or "ISSUBSET"
	Value      string // the constant, unquoted
}

// And is a conjunction, Or a disjunction.
type (
	And []Expr
	Or  []Expr
)

func (Comparison) expr() {}
func (And) expr()        {}
func (Or) expr()         {}

// PatternError is a pattern we cannot read or do not support, with the byte offset
// where the problem starts.
type PatternError struct {
	Offset int
	Msg    string
}

func (e *PatternError) Error() string {
	return fmt.Sprintf("stix pattern: at offset %d: %s", e.Offset, e.Msg)
}

// ErrUnsupported is wrapped by errors for valid STIX patterning that we do not support
// (temporal qualifiers, FOLLOWEDBY, other operators and object types).
var ErrUnsupported = errors.New("not supported")

type unsupportedError struct{ PatternError }

func (e *unsupportedError) Unwrap() error { return ErrUnsupported }

// supportedPaths lists the object paths we understand, by object type.
var supportedPaths = map[string][]string{
	"ipv4-addr":         {"value"},
	"ipv6-addr":         {"value"},
	"domain-name":       {"value"},
	"url":               {"value"},
	"email-addr":        {"value"},
	"file":              {"hashes.MD5", "hashes.SHA-1", "hashes.SHA-256"},
	"autonomous-system": {"number"},
}

// ParsePattern reads a STIX pattern (pattern_type "stix") made of comparisons with =
// (and ISSUBSET for an address range) on the object paths we understand, joined by AND
// and OR, inside and between observation brackets, with parentheses. Anything else is
// an error that names what and where: qualifiers (WITHIN, REPEATS, START/STOP),
// FOLLOWEDBY, NOT, other operators, other object types and properties.
func ParsePattern(s string) (Expr, error) {
	if len(s) > MaxPatternLen {
		return nil, &PatternError{0, fmt.Sprintf("pattern is %d bytes, more than the %d allowed", len(s), MaxPatternLen)}
	}
	p := &patternParser{src: s}
	p.next()
	e, err := p.observations(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.errAt(p.tok, "unexpected %s after the end of the pattern", p.tok)
	}
	return e, nil
}

type tokKind int

const (
	tEOF tokKind = iota
	tLBracket
	tRBracket
	tLParen
	tRParen
	tWord   // keyword or object path
	tString // '...'
	tNumber
	tOp // = != < <= > >=
)

type token struct {
	kind tokKind
	text string // for tString, the unquoted value
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of pattern"
	case tString:
		return strconv.Quote(t.text)
	}
	return "'" + t.text + "'"
}

type patternParser struct {
	src    string
	pos    int
	tok    token
	err    error
	leaves int
}

func (p *patternParser) errAt(t token, format string, args ...any) error {
	if p.err != nil {
		// The lexer stopped first; its error says where and why.
		return p.err
	}
	return &PatternError{t.pos, fmt.Sprintf(format, args...)}
}

func (p *patternParser) unsupported(t token, format string, args ...any) error {
	return &unsupportedError{PatternError{t.pos, fmt.Sprintf(format, args...) + " (" + ErrUnsupported.Error() + ")"}}
}

// next reads the next token into p.tok; a lexical error is kept in p.err and ends the
// token stream.
func (p *patternParser) next() {
	for p.pos < len(p.src) && strings.IndexByte(" \t\r\n", p.src[p.pos]) >= 0 {
		p.pos++
	}
	start := p.pos
	if p.err != nil || p.pos >= len(p.src) {
		p.tok = token{kind: tEOF, pos: start}
		return
	}
	c := p.src[p.pos]
	single := map[byte]tokKind{'[': tLBracket, ']': tRBracket, '(': tLParen, ')': tRParen}
	switch {
	case single[c] != 0:
		p.pos++
		p.tok = token{kind: single[c], text: string(c), pos: start}
	case c == '\'':
		var b strings.Builder
		p.pos++
		for {
			if p.pos >= len(p.src) {
				p.err = &PatternError{start, "string not closed"}
				p.tok = token{kind: tEOF, pos: start}
				return
			}
			ch := p.src[p.pos]
			if ch == '\\' {
				if p.pos+1 >= len(p.src) || (p.src[p.pos+1] != '\'' && p.src[p.pos+1] != '\\') {
					p.err = &PatternError{p.pos, `only \' and \\ may be escaped in a string`}
					p.tok = token{kind: tEOF, pos: start}
					return
				}
				b.WriteByte(p.src[p.pos+1])
				p.pos += 2
				continue
			}
			if ch == '\'' {
				p.pos++
				break
			}
			b.WriteByte(ch)
			p.pos++
		}
		p.tok = token{kind: tString, text: b.String(), pos: start}
	case c == '=' || c == '!' || c == '<' || c == '>':
		p.pos++
		if p.pos < len(p.src) && p.src[p.pos] == '=' {
			p.pos++
		}
		p.tok = token{kind: tOp, text: p.src[start:p.pos], pos: start}
	case c == '-' || c >= '0' && c <= '9':
		p.pos++
		for p.pos < len(p.src) && (p.src[p.pos] >= '0' && p.src[p.pos] <= '9' || p.src[p.pos] == '.') {
			p.pos++
		}
		p.tok = token{kind: tNumber, text: p.src[start:p.pos], pos: start}
	case isWordByte(c):
		for p.pos < len(p.src) {
			ch := p.src[p.pos]
			if ch == '\'' {
				// A quoted path component: hashes.'SHA-256'.
				end := strings.IndexByte(p.src[p.pos+1:], '\'')
				if end < 0 {
					p.err = &PatternError{p.pos, "quoted property name not closed"}
					p.tok = token{kind: tEOF, pos: start}
					return
				}
				p.pos += end + 2
				continue
			}
			if !isWordByte(ch) {
				break
			}
			p.pos++
		}
		p.tok = token{kind: tWord, text: p.src[start:p.pos], pos: start}
	default:
		p.err = &PatternError{start, fmt.Sprintf("unexpected character %q", rune(c))}
		p.tok = token{kind: tEOF, pos: start}
	}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == ':' || c == '.' || c == '*'
}

func (p *patternParser) keyword() string {
	if p.tok.kind == tWord {
		return strings.ToUpper(p.tok.text)
	}
	return ""
}

// observations: observation (("AND"|"OR") observation)*, with AND binding tighter, as
// in the specification; FOLLOWEDBY and qualifiers are refused.
func (p *patternParser) observations(depth int) (Expr, error) {
	return p.binary(depth, func(d int) (Expr, error) { return p.observation(d) })
}

func (p *patternParser) binary(depth int, operand func(int) (Expr, error)) (Expr, error) {
	if depth > maxPatternDepth {
		return nil, p.errAt(p.tok, "nested more than %d deep", maxPatternDepth)
	}
	var ors Or
	var ands And
	for {
		e, err := operand(depth)
		if err != nil {
			return nil, err
		}
		ands = append(ands, e)
		switch kw := p.keyword(); kw {
		case "AND":
			p.next()
			continue
		case "OR":
			ors = append(ors, collapseAnd(ands))
			ands = nil
			p.next()
			continue
		case "FOLLOWEDBY":
			return nil, p.unsupported(p.tok, "FOLLOWEDBY")
		case "WITHIN", "REPEATS", "START", "STOP":
			return nil, p.unsupported(p.tok, "the %s qualifier", kw)
		}
		break
	}
	if p.err != nil {
		return nil, p.err
	}
	if ors == nil {
		return collapseAnd(ands), nil
	}
	return append(ors, collapseAnd(ands)), nil
}

func collapseAnd(a And) Expr {
	if len(a) == 1 {
		return a[0]
	}
	return a
}

// observation: "[" comparisons "]" | "(" observations ")".
func (p *patternParser) observation(depth int) (Expr, error) {
	if p.err != nil {
		return nil, p.err
	}
	switch p.tok.kind {
	case tLBracket:
		return p.group(tRBracket, func() (Expr, error) {
			return p.binary(depth+1, func(d int) (Expr, error) { return p.comparison(d) })
		})
	case tLParen:
		return p.group(tRParen, func() (Expr, error) { return p.observations(depth + 1) })
	}
	return nil, p.errAt(p.tok, "expected '[' to start an observation, found %s", p.tok)
}

// group reads what inner reads between the opening token at hand and its closing one.
func (p *patternParser) group(closing tokKind, inner func() (Expr, error)) (Expr, error) {
	open := p.tok
	p.next()
	e, err := inner()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != closing {
		want := map[tokKind]string{tRBracket: "']'", tRParen: "')'"}[closing]
		return nil, p.errAt(p.tok, "expected %s to close the %s opened at offset %d, found %s", want, open, open.pos, p.tok)
	}
	p.next()
	return e, nil
}

// comparison: path op constant | "(" comparisons ")".
func (p *patternParser) comparison(depth int) (Expr, error) {
	if p.err != nil {
		return nil, p.err
	}
	if p.tok.kind == tLParen {
		return p.group(tRParen, func() (Expr, error) {
			return p.binary(depth+1, func(d int) (Expr, error) { return p.comparison(d) })
		})
	}
	if p.tok.kind != tWord {
		return nil, p.errAt(p.tok, "expected an object path such as ipv4-addr:value, found %s", p.tok)
	}
	pathTok := p.tok
	typ, prop, ok := strings.Cut(pathTok.text, ":")
	if !ok || typ == "" || prop == "" {
		return nil, p.errAt(pathTok, "%s is not an object path (type:property)", pathTok)
	}
	paths, known := supportedPaths[typ]
	if !known {
		return nil, p.unsupported(pathTok, "object type %q", typ)
	}
	prop = unquotePath(prop)
	if !slices.Contains(paths, prop) {
		return nil, p.unsupported(pathTok, "property %q of %s (we read %s)", prop, typ, strings.Join(paths, ", "))
	}
	p.next()
	opTok := p.tok
	var op string
	switch {
	case opTok.kind == tOp && opTok.text == "=":
		op = "="
	case p.keyword() == "ISSUBSET":
		op = "ISSUBSET"
	case p.keyword() == "NOT":
		return nil, p.unsupported(opTok, "NOT")
	case opTok.kind == tOp || opTok.kind == tWord:
		return nil, p.unsupported(opTok, "the operator %s", opTok)
	default:
		return nil, p.errAt(opTok, "expected a comparison operator after %s, found %s", pathTok.text, opTok)
	}
	if op == "ISSUBSET" && typ != "ipv4-addr" && typ != "ipv6-addr" {
		return nil, p.unsupported(opTok, "ISSUBSET on %s (only on addresses)", typ)
	}
	p.next()
	val := p.tok
	c := Comparison{ObjectType: typ, Property: prop, Op: op}
	switch {
	case typ == "autonomous-system" && val.kind == tNumber:
		n, err := strconv.ParseUint(val.text, 10, 32)
		if err != nil {
			return nil, p.errAt(val, "AS number %s is not between 0 and 4294967295", val.text)
		}
		c.Value = strconv.FormatUint(n, 10)
	case typ != "autonomous-system" && val.kind == tString:
		c.Value = val.text
	case val.kind == tWord && len(val.text) > 1 && val.text[1] == '\'':
		return nil, p.unsupported(val, "the typed constant %s", val)
	default:
		return nil, p.errAt(val, "expected a constant for %s, found %s", pathTok.text, val)
	}
	if err := checkConstant(c); err != nil {
		return nil, p.errAt(val, "%v", err)
	}
	p.leaves++
	if p.leaves > maxPatternLeaves {
		return nil, p.errAt(val, "more than %d comparisons", maxPatternLeaves)
	}
	p.next()
	return c, nil
}

func unquotePath(prop string) string {
	return strings.ReplaceAll(prop, "'", "")
}

// checkConstant checks the constant is a value of the observable the path names.
func checkConstant(c Comparison) error {
	if c.ObjectType == "autonomous-system" {
		return nil
	}
	o, err := c.Observable()
	if err != nil {
		return err
	}
	if c.Op == "ISSUBSET" && o.Type != observable.CIDR {
		return fmt.Errorf("ISSUBSET needs an address range such as '198.51.100.0/24', not %q", c.Value)
	}
	return nil
}

// Observable is the observable a comparison on a value or hash stands for.
func (c Comparison) Observable() (observable.Observable, error) {
	var t string
	switch {
	case c.ObjectType == "file":
		ht, _ := hashType(strings.TrimPrefix(c.Property, "hashes."))
		t = string(ht)
	case c.ObjectType == "autonomous-system":
		return observable.Observable{}, fmt.Errorf("an AS number is not one of our observables")
	default:
		t = ourType(c.ObjectType, c.Value)
	}
	o, err := observable.Parse(t, c.Value)
	if err != nil {
		return observable.Observable{}, err
	}
	if (c.ObjectType == "ipv4-addr" && o.Type == observable.IPv6) || (c.ObjectType == "ipv6-addr" && o.Type == observable.IPv4) {
		return observable.Observable{}, fmt.Errorf("%q is not an address of type %s", c.Value, c.ObjectType)
	}
	return o, nil
}

// String writes the expression back as a STIX pattern, one observation per
// comparison: [a] OR [b]; ParsePattern reads it to the same expression.
func String(e Expr) string {
	var b strings.Builder
	writeExpr(&b, e, false)
	return b.String()
}

func writeExpr(b *strings.Builder, e Expr, nested bool) {
	switch x := e.(type) {
	case Comparison:
		b.WriteString("[" + x.ObjectType + ":" + quotePath(x.Property) + " " + x.Op + " ")
		if x.ObjectType == "autonomous-system" {
			b.WriteString(x.Value)
		} else {
			b.WriteString("'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(x.Value) + "'")
		}
		b.WriteString("]")
	case And:
		writeList(b, []Expr(x), " AND ", nested)
	case Or:
		writeList(b, []Expr(x), " OR ", nested)
	}
}

func writeList(b *strings.Builder, list []Expr, sep string, nested bool) {
	if nested {
		b.WriteString("(")
	}
	for i, e := range list {
		if i > 0 {
			b.WriteString(sep)
		}
		writeExpr(b, e, true)
	}
	if nested {
		b.WriteString(")")
	}
}

func quotePath(prop string) string {
	if h, ok := strings.CutPrefix(prop, "hashes."); ok && strings.Contains(h, "-") {
		return "hashes.'" + h + "'"
	}
	return prop
}

// PatternFor is the pattern that matches one of our observables.
func PatternFor(o observable.Observable) (string, error) {
	s, err := SCOFor(o)
	if err != nil {
		return "", err
	}
	c := Comparison{ObjectType: s.Type, Property: "value", Op: "=", Value: o.Value}
	switch {
	case o.Type == observable.CIDR:
		c.Op = "ISSUBSET"
	case s.Type == "file":
		c.Property = "hashes." + hashNames[o.Type]
	}
	return String(c), nil
}

// PatternObservables lists the observables a pattern matches when it is one
// observable or a choice of several (comparisons joined by OR). A conjunction (AND)
// describes something narrower than any one observable and is refused, as is an AS
// number.
func PatternObservables(e Expr) ([]observable.Observable, error) {
	switch x := e.(type) {
	case Comparison:
		o, err := x.Observable()
		if err != nil {
			return nil, err
		}
		return []observable.Observable{o}, nil
	case Or:
		var out []observable.Observable
		for _, sub := range x {
			obs, err := PatternObservables(sub)
			if err != nil {
				return nil, err
			}
			out = append(out, obs...)
		}
		return out, nil
	case And:
		return nil, fmt.Errorf("a conjunction (AND) of comparisons is not one observable: %w", ErrUnsupported)
	}
	return nil, fmt.Errorf("empty pattern")
}
