package client

import (
	"context"
	"net/url"

	"csirtlink/internal/metrics"
)

// Collaboration is the node's figures for a period, for every partner or one.
func (c *Client) Collaboration(ctx context.Context, period, partner string) (metrics.Report, error) {
	q := url.Values{"period": {period}}
	if partner != "" {
		q.Set("partner", partner)
	}
	var r metrics.Report
	err := c.do(ctx, "GET", "/api/v1/metrics/collaboration?"+q.Encode(), nil, &r)
	return r, err
}

// Joint is the joint report of a period, from every team's published aggregates.
func (c *Client) Joint(ctx context.Context, period string) (metrics.Joint, error) {
	var j metrics.Joint
	err := c.do(ctx, "GET", "/api/v1/metrics/joint?"+url.Values{"period": {period}}.Encode(), nil, &j)
	return j, err
}
