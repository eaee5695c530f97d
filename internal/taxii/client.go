package taxii

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client reads a remote TAXII 2.1 collection.
type Client struct {
	HTTP *http.Client
	// User and Secret: HTTP Basic with User, a bearer token without.
	User, Secret string
	// PageSize is the limit asked for (default 1000).
	PageSize int
	// MaxPages bounds one pull, whatever the server answers (default 100000).
	MaxPages int
}

// maxResponse bounds one page the client reads.
const maxResponse = 64 << 20

// Page is what one page brought.
type Page struct {
	Objects []json.RawMessage
	// AddedLast is the page's X-TAXII-Date-Added-Last, as the server wrote it.
	AddedLast string
}

// PullResult says how a pull went.
type PullResult struct {
	Pages    int
	Objects  int // objects handed on, repeats left out
	Repeated int // objects the server sent again (an inclusive added_after, a repeated next)
	// AddedLast is the newest date_added seen: resume with added_after set to it.
	AddedLast string
	// Stopped says why the pull ended before the server said there was no more.
	Stopped string
}

// Pull reads collection col of the API root at root from addedAfter on (empty: from
// the start), handing each page's new objects to handle. It follows `next`, or, from a
// server that gives none, the page's X-TAXII-Date-Added-Last as the next added_after.
// It stops, instead of looping, when a server repeats a `next`, sends a page of nothing
// new, or does not move added_after on; objects sent twice (a server that treats
// added_after as inclusive) are handed on once.
func (c *Client) Pull(ctx context.Context, root, col, addedAfter string, handle func(Page) error) (PullResult, error) {
	var res PullResult
	res.AddedLast = addedAfter
	base, err := objectsURL(root, col)
	if err != nil {
		return res, err
	}
	limit, maxPages := c.PageSize, c.MaxPages
	if limit <= 0 {
		limit = MaxPage
	}
	if maxPages <= 0 {
		maxPages = 100000
	}
	// A server repeats what it sent on the page before (an inclusive added_after, a
	// repeated next): the keys of the last two pages are enough to hand nothing on
	// twice, and keep a pull of millions of objects in bounded memory. A repeat from
	// further back needs a next seen before (stopped) or an added_after that did not
	// move on (stopped).
	seen, prev := map[string]bool{}, map[string]bool{}
	nexts := map[string]bool{}
	next, after := "", addedAfter
	for {
		if res.Pages >= maxPages {
			res.Stopped = fmt.Sprintf("stopped after %d pages", maxPages)
			return res, nil
		}
		q := url.Values{"limit": {strconv.Itoa(limit)}}
		if after != "" {
			q.Set("added_after", after)
		}
		if next != "" {
			q.Set("next", next)
		}
		env, hdrLast, err := c.get(ctx, base+"?"+q.Encode())
		if err != nil {
			return res, err
		}
		res.Pages++
		var fresh []json.RawMessage
		cur := make(map[string]bool, len(env.Objects))
		for _, raw := range env.Objects {
			k := objectKey(raw)
			if seen[k] || prev[k] || cur[k] {
				res.Repeated++
				continue
			}
			cur[k] = true
			fresh = append(fresh, raw)
		}
		prev, seen = seen, cur
		if len(fresh) > 0 {
			if err := handle(Page{Objects: fresh, AddedLast: hdrLast}); err != nil {
				return res, err
			}
		}
		res.Objects += len(fresh)
		if hdrLast != "" && later(hdrLast, res.AddedLast) {
			res.AddedLast = hdrLast
		}
		switch {
		case !env.More:
			return res, nil
		case env.Next != "" && nexts[env.Next]:
			res.Stopped = "the server repeated a next it had sent before"
			return res, nil
		case len(fresh) == 0:
			res.Stopped = "the server sent a page of nothing new and said there was more"
			return res, nil
		case env.Next != "":
			nexts[env.Next] = true
			next = env.Next
		default:
			// No next: page by date_added, which must move on.
			if hdrLast == "" || !later(hdrLast, after) {
				res.Stopped = "the server said there was more but gave neither next nor a later X-TAXII-Date-Added-Last"
				return res, nil
			}
			after = hdrLast
		}
	}
}

// later reports whether timestamp a is after b (an empty b is the beginning).
func later(a, b string) bool {
	if b == "" {
		return true
	}
	ta, err1 := time.Parse(time.RFC3339Nano, a)
	tb, err2 := time.Parse(time.RFC3339Nano, b)
	return err1 == nil && err2 == nil && ta.After(tb)
}

func objectsURL(root, col string) (string, error) {
	u, err := url.Parse(root)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("taxii: url %q: not an http(s) URL of an API root", root)
	}
	if col == "" || strings.ContainsAny(col, "/?#") {
		return "", fmt.Errorf("taxii: collection %q: not a collection id", col)
	}
	return strings.TrimSuffix(u.String(), "/") + "/collections/" + url.PathEscape(col) + "/objects/", nil
}

type envelope struct {
	More    bool              `json:"more"`
	Next    string            `json:"next"`
	Objects []json.RawMessage `json:"objects"`
}

// RemoteError is an error answer of a TAXII server.
type RemoteError struct {
	Status int
	Title  string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("taxii: server answered %d %s", e.Status, e.Title)
}

func (c *Client) get(ctx context.Context, u string) (envelope, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return envelope{}, "", fmt.Errorf("taxii: %w", err)
	}
	req.Header.Set("Accept", MediaType)
	if c.User != "" {
		req.SetBasicAuth(c.User, c.Secret)
	} else if c.Secret != "" {
		req.Header.Set("Authorization", "Bearer "+c.Secret)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: time.Minute}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return envelope{}, "", fmt.Errorf("taxii: get %s: %w", redactURL(u), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return envelope{}, "", fmt.Errorf("taxii: read %s: %w", redactURL(u), err)
	}
	if len(body) > maxResponse {
		return envelope{}, "", fmt.Errorf("taxii: %s: page larger than %d bytes", redactURL(u), maxResponse)
	}
	if resp.StatusCode != http.StatusOK {
		var te taxiiError
		json.Unmarshal(body, &te)
		return envelope{}, "", &RemoteError{Status: resp.StatusCode, Title: te.Title}
	}
	env, ok := scanEnvelope(body)
	if !ok {
		env = envelope{}
		if err := json.Unmarshal(body, &env); err != nil {
			return envelope{}, "", fmt.Errorf("taxii: %s: envelope: %w", redactURL(u), err)
		}
	}
	last := resp.Header.Get("X-TAXII-Date-Added-Last")
	if last != "" {
		if _, err := time.Parse(time.RFC3339Nano, last); err != nil {
			return envelope{}, "", errors.New("taxii: X-TAXII-Date-Added-Last is not a timestamp")
		}
	}
	return env, last, nil
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(url)"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}
