package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"csirtlink/internal/cvd"
)

// CaseView is a vulnerability case as the API shows it.
type CaseView struct {
	cvd.Case
	LocalTimes []struct {
		Party    string `json:"party"`
		Timezone string `json:"timezone"`
		Time     string `json:"time"`
	} `json:"local_times"`
	Matrix map[string]map[string]cvd.Status `json:"matrix"`
}

func casePath(id, suffix string) (string, error) {
	if strings.TrimSpace(id) == "" {
		return "", errors.New("client: case id required")
	}
	return "/api/v1/cvd/cases/" + url.PathEscape(id) + suffix, nil
}

// ListCases lists the vulnerability cases the node holds.
func (c *Client) ListCases(ctx context.Context) ([]cvd.Case, error) {
	var out struct {
		Cases []cvd.Case `json:"cases"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/cvd/cases", nil, &out)
	return out.Cases, err
}

// CreateCase opens a vulnerability case owned by the node's team.
func (c *Client) CreateCase(ctx context.Context, n cvd.NewCase) (CaseView, error) {
	var out CaseView
	err := c.do(ctx, http.MethodPost, "/api/v1/cvd/cases", n, &out)
	return out, err
}

// GetCase returns a case with its embargo, matrix, vendors and timeline.
func (c *Client) GetCase(ctx context.Context, id string) (CaseView, error) {
	return c.CaseAction(ctx, http.MethodGet, id, "", nil)
}

// CaseAction sends one of the case's actions (suffix: /embargo, /embargo/agree,
// /statuses, /handoff, …) and returns the case as it then is.
func (c *Client) CaseAction(ctx context.Context, method, id, suffix string, body any) (CaseView, error) {
	var out CaseView
	p, err := casePath(id, suffix)
	if err != nil {
		return out, err
	}
	err = c.do(ctx, method, p, body, &out)
	return out, err
}

// AddVendor records a vendor of the node's team for a case.
func (c *Client) AddVendor(ctx context.Context, id string, v cvd.NewVendor) (cvd.Vendor, error) {
	var out cvd.Vendor
	p, err := casePath(id, "/vendors")
	if err != nil {
		return out, err
	}
	err = c.do(ctx, http.MethodPost, p, v, &out)
	return out, err
}

// SetVendorTLP changes the label a case is given to one of the team's vendors ("": the
// case's own).
func (c *Client) SetVendorTLP(ctx context.Context, id, vendor, label string) (cvd.Vendor, error) {
	var out cvd.Vendor
	p, err := casePath(id, "/vendors/"+url.PathEscape(vendor))
	if err != nil {
		return out, err
	}
	err = c.do(ctx, http.MethodPatch, p, map[string]string{"tlp": label}, &out)
	return out, err
}

// MailVendor writes to one of the team's vendors of a case from the case's reply address.
func (c *Client) MailVendor(ctx context.Context, id, vendor, subject, body string) (cvd.VendorMessage, error) {
	var out cvd.VendorMessage
	p, err := casePath(id, "/vendors/"+url.PathEscape(vendor)+"/mail")
	if err != nil {
		return out, err
	}
	err = c.do(ctx, http.MethodPost, p, map[string]string{"subject": subject, "body": body}, &out)
	return out, err
}

// CaseCSAF returns the case's CSAF 2.0 advisory in a language (403 before the
// embargo's instant).
func (c *Client) CaseCSAF(ctx context.Context, id, lang, profile string) (map[string]any, error) {
	var out map[string]any
	p, err := casePath(id, "/csaf?"+url.Values{"lang": {lang}, "profile": {profile}}.Encode())
	if err != nil {
		return nil, err
	}
	err = c.do(ctx, http.MethodGet, p, nil, &out)
	return out, err
}
