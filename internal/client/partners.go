package client

import (
	"context"
	"net/http"
	"net/url"

	"csirtlink/internal/constituency"
	"csirtlink/internal/partner"
)

// Partners lists the partner directory; query holds the filters (q, country, status,
// unverified).
func (c *Client) Partners(ctx context.Context, query url.Values) ([]partner.View, error) {
	var out []partner.View
	p := "/api/v1/partners"
	if len(query) > 0 {
		p += "?" + query.Encode()
	}
	err := c.do(ctx, http.MethodGet, p, nil, &out)
	return out, err
}

// AddPartner adds the team whose node serves its introduction at u, as pending.
func (c *Client) AddPartner(ctx context.Context, u string) (partner.View, error) {
	var out partner.View
	err := c.do(ctx, http.MethodPost, "/api/v1/partners", map[string]string{"url": u}, &out)
	return out, err
}

// ApprovePartner makes a pending partner active with the safety number it read out.
func (c *Client) ApprovePartner(ctx context.Context, id, fingerprint string) (partner.View, error) {
	var out partner.View
	err := c.do(ctx, http.MethodPost, partnerPath(id)+"/approve", map[string]string{"fingerprint": fingerprint}, &out)
	return out, err
}

// PartnerAction suspends (action "suspend") or revokes ("revoke") a partner.
func (c *Client) PartnerAction(ctx context.Context, id, action string) (partner.View, error) {
	var out partner.View
	err := c.do(ctx, http.MethodPost, partnerPath(id)+"/"+action, nil, &out)
	return out, err
}

// RemovePartner deletes a partner added at runtime.
func (c *Client) RemovePartner(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, partnerPath(id), nil, nil)
}

// RotateKey rotates the node's key; compromised switches at once without a statement.
func (c *Client) RotateKey(ctx context.Context, compromised bool) (string, error) {
	var out struct {
		PublicKey string `json:"public_key"`
	}
	err := c.do(ctx, http.MethodPost, "/api/v1/keys/rotate", map[string]bool{"compromised": compromised}, &out)
	return out.PublicKey, err
}

// Lookup asks whose an IP address, AS number, domain or country is (one of them).
func (c *Client) Lookup(ctx context.Context, kind, value string) ([]constituency.Owner, error) {
	var out struct {
		Owners []constituency.Owner `json:"owners"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/constituency/lookup?"+url.Values{kind: {value}}.Encode(), nil, &out)
	return out.Owners, err
}

func partnerPath(id string) string { return "/api/v1/partners/" + url.PathEscape(id) }

// HotlineCheck mails a new code to a partner's hotline address.
func (c *Client) HotlineCheck(ctx context.Context, id string) (partner.HotlineStatus, error) {
	var out partner.HotlineStatus
	err := c.do(ctx, http.MethodPost, partnerPath(id)+"/hotline-check", nil, &out)
	return out, err
}

// HotlineCode enters the code a partner read out; its hotline address is verified.
func (c *Client) HotlineCode(ctx context.Context, id, code string) (partner.HotlineStatus, error) {
	var out partner.HotlineStatus
	err := c.do(ctx, http.MethodPost, "/api/v1/directory/hotline-code", map[string]string{"partner": id, "code": code}, &out)
	return out, err
}

// ReturnHotlineCode sends a code a partner mailed to our hotline address back to it, signed.
func (c *Client) ReturnHotlineCode(ctx context.Context, team, code string) error {
	return c.do(ctx, http.MethodPost, "/api/v1/directory/hotline-code/return", map[string]string{"team": team, "code": code}, nil)
}
