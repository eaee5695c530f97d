package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"csirtlink/internal/exchange"
)

// ExportIncident fetches an incident as a document in an outside format ("stix" or
// "iodef") for an audience: team is a team id, "outside" or "" (our own team);
// ceiling a TLP label or "" (the node's default). The document comes back as the node
// wrote it, byte for byte.
func (c *Client) ExportIncident(ctx context.Context, format, id, team, ceiling string) ([]byte, error) {
	path, err := incidentPath(id, "/"+format)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if team != "" {
		q.Set("team", team)
	}
	if ceiling != "" {
		q.Set("audience", ceiling)
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return c.raw(ctx, http.MethodGet, path, "", nil)
}

// ImportDocument uploads a STIX bundle or IODEF document ("stix" or "iodef"), which the
// node makes into a new incident. label is the incident's TLP when a STIX bundle marks
// none ("" for the node's default).
func (c *Client) ImportDocument(ctx context.Context, format string, doc []byte, label string) (exchange.Imported, error) {
	var out exchange.Imported
	path, contentType := "/api/v1/stix/import", "application/stix+json;version=2.1"
	if format == "iodef" {
		path, contentType = "/api/v1/iodef/import", "application/xml"
	} else if label != "" {
		path += "?tlp=" + url.QueryEscape(label)
	}
	data, err := c.raw(ctx, http.MethodPost, path, contentType, doc)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return out, fmt.Errorf("client: POST %s: decode response: %w", path, err)
	}
	return out, nil
}

// raw sends one request with a body that is not JSON, and returns a 2xx answer's body
// as it came. A POST carries an idempotency key, so that running the command again
// after a lost answer imports once.
func (c *Client) raw(ctx context.Context, method, path, contentType string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if method == http.MethodPost {
		key, _ := ctx.Value(keyCtx{}).(string)
		if key == "" {
			key = NewIdempotencyKey()
		}
		req.Header.Set(IdempotencyHeader, key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: read response: %w", method, path, err)
	}
	if len(data) > MaxResponse {
		return nil, fmt.Errorf("client: %s %s: response larger than %d bytes", method, path, MaxResponse)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, errorFrom(resp.StatusCode, data)
	}
	return data, nil
}

// ImportMISPIncident uploads a MISP event, which the node makes into a new incident.
func (c *Client) ImportMISPIncident(ctx context.Context, doc []byte) (exchange.Imported, error) {
	var out exchange.Imported
	data, err := c.raw(ctx, http.MethodPost, "/api/v1/misp/import?as=incident", "application/json", doc)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return out, fmt.Errorf("client: POST /api/v1/misp/import: decode response: %w", err)
	}
	return out, nil
}

// ImportMISPIndicators uploads a MISP event, whose attributes the node shares as this
// team's indicators: all or, when any is refused (a 422 that lists each), none.
func (c *Client) ImportMISPIndicators(ctx context.Context, doc []byte) (exchange.IndicatorsImported, error) {
	var res exchange.IndicatorsImported
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/misp/import", bytes.NewReader(doc))
	if err != nil {
		return res, fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	key, _ := ctx.Value(keyCtx{}).(string)
	if key == "" {
		key = NewIdempotencyKey()
	}
	req.Header.Set(IdempotencyHeader, key)
	resp, err := c.http.Do(req)
	if err != nil {
		return res, fmt.Errorf("client: misp import: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse+1))
	if err != nil {
		return res, fmt.Errorf("client: misp import: read response: %w", err)
	}
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnprocessableEntity {
		if err := json.Unmarshal(data, &res); err == nil && (resp.StatusCode == http.StatusOK || res.Invalid > 0) {
			if !res.Imported {
				return res, fmt.Errorf("%d of %d attributes refused: nothing imported", res.Invalid, res.Lines)
			}
			return res, nil
		}
	}
	return res, errorFrom(resp.StatusCode, data)
}

// ExportMISPIndicators fetches shared indicators as one MISP event for an audience.
func (c *Client) ExportMISPIndicators(ctx context.Context, ids []string, team, ceiling string) ([]byte, error) {
	q := url.Values{}
	for _, id := range ids {
		q.Add("id", id)
	}
	if team != "" {
		q.Set("team", team)
	}
	if ceiling != "" {
		q.Set("audience", ceiling)
	}
	return c.raw(ctx, http.MethodGet, "/api/v1/indicators/misp?"+q.Encode(), "", nil)
}

// ImportSTIXIndicators uploads a STIX bundle, whose indicators the node shares as this
// team's indicators (all or, when any is refused, a 422 that lists each, none) and
// whose sightings of indicators it holds it records.
func (c *Client) ImportSTIXIndicators(ctx context.Context, doc []byte, label string) (exchange.STIXIndicatorsImported, error) {
	var res exchange.STIXIndicatorsImported
	q := url.Values{"as": {"indicators"}}
	if label != "" {
		q.Set("tlp", label)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/stix/import?"+q.Encode(), bytes.NewReader(doc))
	if err != nil {
		return res, fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/stix+json;version=2.1")
	key, _ := ctx.Value(keyCtx{}).(string)
	if key == "" {
		key = NewIdempotencyKey()
	}
	req.Header.Set(IdempotencyHeader, key)
	resp, err := c.http.Do(req)
	if err != nil {
		return res, fmt.Errorf("client: stix import: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse+1))
	if err != nil {
		return res, fmt.Errorf("client: stix import: read response: %w", err)
	}
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnprocessableEntity {
		if err := json.Unmarshal(data, &res); err == nil && (resp.StatusCode == http.StatusOK || res.Invalid > 0) {
			if !res.Imported {
				return res, fmt.Errorf("%d of %d indicator observables refused: nothing imported", res.Invalid, res.Lines)
			}
			return res, nil
		}
	}
	return res, errorFrom(resp.StatusCode, data)
}

// ExportSTIXIndicators fetches shared indicators (ids, or all) with their sightings as
// a STIX bundle for an audience, as the node wrote it.
func (c *Client) ExportSTIXIndicators(ctx context.Context, ids []string, all bool, team, ceiling string) ([]byte, error) {
	q := url.Values{}
	for _, id := range ids {
		q.Add("id", id)
	}
	if all {
		q.Set("all", "true")
	}
	if team != "" {
		q.Set("team", team)
	}
	if ceiling != "" {
		q.Set("audience", ceiling)
	}
	return c.raw(ctx, http.MethodGet, "/api/v1/indicators/stix?"+q.Encode(), "", nil)
}
