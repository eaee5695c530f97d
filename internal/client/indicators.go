package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"csirtlink/internal/indicator"
	"csirtlink/internal/store"
)

// Search asks the node what it holds about q.
func (c *Client) Search(ctx context.Context, q string) ([]indicator.Hit, error) {
	var out struct {
		Hits []indicator.Hit `json:"hits"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/search?q="+url.QueryEscape(q), nil, &out)
	return out.Hits, err
}

// ListIndicators lists indicators; query holds the filters (type, tlp, seen, …).
func (c *Client) ListIndicators(ctx context.Context, query url.Values) ([]store.Indicator, error) {
	var out struct {
		Indicators []store.Indicator `json:"indicators"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/indicators?"+query.Encode(), nil, &out)
	return out.Indicators, err
}

// GetIndicator returns an indicator with its sightings.
func (c *Client) GetIndicator(ctx context.Context, id string) (indicator.View, error) {
	var v indicator.View
	err := c.do(ctx, http.MethodGet, "/api/v1/indicators/"+url.PathEscape(id), nil, &v)
	return v, err
}

// CreateIndicator shares a new indicator.
func (c *Client) CreateIndicator(ctx context.Context, in indicator.Input) (store.Indicator, error) {
	var out store.Indicator
	err := c.do(ctx, http.MethodPost, "/api/v1/indicators", in, &out)
	return out, err
}

// RevokeIndicator revokes one of the node team's indicators.
func (c *Client) RevokeIndicator(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/indicators/"+url.PathEscape(id), nil, nil)
}

// ReportSighting reports a sighting or feedback about an indicator.
func (c *Client) ReportSighting(ctx context.Context, id string, in indicator.SightingInput) (store.Sighting, error) {
	var out store.Sighting
	err := c.do(ctx, http.MethodPost, "/api/v1/indicators/"+url.PathEscape(id)+"/sightings", in, &out)
	return out, err
}

// ImportIndicators uploads an import file; query holds its format, mapping and
// defaults. The file is streamed, once: an import repeated after a lost answer finds
// its lines unchanged. An import refused for invalid lines returns its result (what
// was wrong, line by line) with the error.
func (c *Client) ImportIndicators(ctx context.Context, body io.Reader, query url.Values) (indicator.ImportResult, error) {
	var res indicator.ImportResult
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/indicators/import?"+query.Encode(), body)
	if err != nil {
		return res, fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "text/csv")
	// A million lines take minutes to check and share in one transaction: the
	// caller's context bounds the wait, not the client's per-call timeout.
	hc := *c.http
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return res, fmt.Errorf("client: import: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse+1))
	if err != nil {
		return res, fmt.Errorf("client: import: read response: %w", err)
	}
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnprocessableEntity {
		if err := json.Unmarshal(data, &res); err == nil && (resp.StatusCode == http.StatusOK || res.Invalid > 0) {
			if !res.Imported {
				return res, fmt.Errorf("%d of %d lines invalid: nothing imported", res.Invalid, res.Lines)
			}
			return res, nil
		}
	}
	return res, errorFrom(resp.StatusCode, data)
}

// ExportIndicators writes a selection as CSV or JSON (format) to w.
func (c *Client) ExportIndicators(ctx context.Context, query url.Values, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/indicators/export?"+query.Encode(), nil)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("client: export: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponse))
		return errorFrom(resp.StatusCode, data)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}
