// Package taxonomy exposes the RSIT incident classification (ENISA / TF-CSIRT)
// that incidents are categorised with, as "class/type" strings such as
// "malicious-code/infected-system".
package taxonomy

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

//go:embed rsit.json
var rsitJSON []byte

// Type is one incident type within a class.
type Type struct {
	Value       string
	Expanded    string
	Description string
}

// Class is a top-level incident class and its types.
type Class struct {
	Value       string
	Expanded    string
	Description string
	Types       []Type
}

type catalog struct {
	classes []Class
	byValue map[string]int // class value → index in classes
}

// load parses the embedded file on first use. The file is compiled in and
// checked by the package tests, so a parse failure is a build defect, not bad
// input, and panicking is the honest response.
var load = sync.OnceValue(func() catalog {
	c, err := parse(rsitJSON)
	if err != nil {
		panic(fmt.Sprintf("taxonomy: embedded rsit.json: %v", err))
	}
	return c
})

// machinev1 mirrors the MISP-taxonomy layout of the RSIT file.
type machinev1 struct {
	Predicates []entry `json:"predicates"`
	Values     []struct {
		Predicate string  `json:"predicate"`
		Entry     []entry `json:"entry"`
	} `json:"values"`
}

type entry struct {
	Value       string `json:"value"`
	Expanded    string `json:"expanded"`
	Description string `json:"description"`
}

func parse(data []byte) (catalog, error) {
	var f machinev1
	if err := json.Unmarshal(data, &f); err != nil {
		return catalog{}, fmt.Errorf("decode: %w", err)
	}
	c := catalog{byValue: make(map[string]int, len(f.Predicates))}
	for _, p := range f.Predicates {
		if p.Value == "" {
			return catalog{}, errors.New("class with empty value")
		}
		if _, dup := c.byValue[p.Value]; dup {
			return catalog{}, fmt.Errorf("class %q listed twice", p.Value)
		}
		c.byValue[p.Value] = len(c.classes)
		c.classes = append(c.classes, Class{Value: p.Value, Expanded: p.Expanded, Description: p.Description})
	}
	// A class may appear more than once under values (the project's data
	// notes report it for "vulnerable"); its entries are merged.
	for _, v := range f.Values {
		i, ok := c.byValue[v.Predicate]
		if !ok {
			return catalog{}, fmt.Errorf("types listed for undeclared class %q", v.Predicate)
		}
		cl := &c.classes[i]
		for _, e := range v.Entry {
			if e.Value == "" {
				return catalog{}, fmt.Errorf("class %q: type with empty value", v.Predicate)
			}
			if !slices.ContainsFunc(cl.Types, func(t Type) bool { return t.Value == e.Value }) {
				cl.Types = append(cl.Types, Type(e))
			}
		}
	}
	for _, cl := range c.classes {
		if len(cl.Types) == 0 {
			return catalog{}, fmt.Errorf("class %q has no types", cl.Value)
		}
	}
	return c, nil
}

// Classes returns the classes in file order. The result is a copy the caller
// may modify.
func Classes() []Class {
	src := load().classes
	out := make([]Class, len(src))
	for i, c := range src {
		out[i] = c
		out[i].Types = slices.Clone(c.Types)
	}
	return out
}

// Lookup finds the class and type named by a "class/type" category.
func Lookup(category string) (Class, Type, bool) {
	cl, t, err := lookup(category)
	return cl, t, err == nil
}

// Valid returns nil when category is a known "class/type" pair, and otherwise
// an error saying which part is wrong and what would be accepted.
func Valid(category string) error {
	_, _, err := lookup(category)
	return err
}

func lookup(category string) (Class, Type, error) {
	class, typ, ok := strings.Cut(category, "/")
	if !ok {
		return Class{}, Type{}, fmt.Errorf("taxonomy: category %q is not of the form class/type", category)
	}
	c := load()
	i, ok := c.byValue[class]
	if !ok {
		return Class{}, Type{}, fmt.Errorf("taxonomy: unknown class %q (valid: %s)", class, strings.Join(classValues(c.classes), ", "))
	}
	cl := c.classes[i]
	j := slices.IndexFunc(cl.Types, func(t Type) bool { return t.Value == typ })
	if j < 0 {
		return Class{}, Type{}, fmt.Errorf("taxonomy: class %q has no type %q (valid: %s)", class, typ, strings.Join(typeValues(cl.Types), ", "))
	}
	t := cl.Types[j]
	cl.Types = slices.Clone(cl.Types)
	return cl, t, nil
}

func classValues(cs []Class) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Value
	}
	return out
}

func typeValues(ts []Type) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Value
	}
	return out
}
