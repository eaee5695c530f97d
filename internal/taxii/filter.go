package taxii

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"csirtlink/internal/store"
)

// Filter is a request's query parameters, read and checked.
type Filter struct {
	AddedAfter   *time.Time
	Limit        int
	Next         *Cursor
	IDs          []string
	Types        []string
	SpecVersions []string
	Version      store.TAXIIVersion
}

// The parameters each endpoint takes (TAXII 2.1 sections 5.3-5.8); others are ignored,
// as the specification lets a server ignore filters it does not support.
const (
	allowPaging = 1 << iota
	allowID
	allowType
	allowVersion
	allowSpecVersion
)

var (
	typePattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,248}[a-z0-9]$`)
	stixIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,248}[a-z0-9]--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	specPattern   = regexp.MustCompile(`^[0-9]{1,2}\.[0-9]{1,2}$`)
)

// values splits a parameter's comma-separated values, over repeated parameters.
func values(q url.Values, name string) ([]string, error) {
	var out []string
	for _, v := range q[name] {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				return nil, fmt.Errorf("%s: empty value", name)
			}
			out = append(out, s)
		}
	}
	if len(out) > maxMatch {
		return nil, fmt.Errorf("%s: at most %d values", name, maxMatch)
	}
	return out, nil
}

// ParseFilter reads the query parameters allowed for an endpoint. Errors name the
// parameter.
func ParseFilter(q url.Values, allow int) (Filter, error) {
	f := Filter{Limit: MaxPage}
	if allow&allowPaging != 0 {
		if v := q.Get("added_after"); v != "" {
			t, err := parseTimestamp("added_after", v)
			if err != nil {
				return f, err
			}
			f.AddedAfter = &t
		}
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return f, fmt.Errorf("limit: %q is not a positive integer", v)
			}
			f.Limit = min(n, MaxPage)
		}
		if v := q.Get("next"); v != "" {
			c, err := DecodeCursor(v)
			if err != nil {
				return f, err
			}
			f.Next = &c
		}
	}
	check := func(name string, pattern *regexp.Regexp) ([]string, error) {
		vs, err := values(q, name)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			if !pattern.MatchString(v) {
				return nil, fmt.Errorf("%s: %.80q is not valid", name, v)
			}
		}
		return vs, nil
	}
	var err error
	if allow&allowID != 0 {
		if f.IDs, err = check("match[id]", stixIDPattern); err != nil {
			return f, err
		}
	}
	if allow&allowType != 0 {
		if f.Types, err = check("match[type]", typePattern); err != nil {
			return f, err
		}
	}
	if allow&allowSpecVersion != 0 {
		if f.SpecVersions, err = check("match[spec_version]", specPattern); err != nil {
			return f, err
		}
	}
	if allow&allowVersion != 0 {
		vs, err := values(q, "match[version]")
		if err != nil {
			return f, err
		}
		for _, v := range vs {
			switch v {
			case "first":
				f.Version.First = true
			case "last":
				f.Version.Last = true
			case "all":
				f.Version.All = true
			default:
				t, err := parseTimestamp("match[version]", v)
				if err != nil {
					return f, err
				}
				f.Version.At = append(f.Version.At, t)
			}
		}
	}
	return f, nil
}
