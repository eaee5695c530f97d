package store

import (
	"context"
	"time"
)

// Partner is a runtime entry of the partner directory: a team added through the API,
// with its status and its description (doc: the directory's JSON of the peer,
// constituency included; the partner package reads it). Seeds from the configuration
// file are not stored unless an admin changes them.
type Partner struct {
	ID        string
	Status    string
	Doc       []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PartnerKey is one key a partner signs with, current or retired: the directory's key
// history, kept for evidence and for the grace period of a rotation.
type PartnerKey struct {
	Team      string     `json:"team"`
	PublicKey string     `json:"public_key"`
	AddedAt   time.Time  `json:"added_at"`
	RetiredAt *time.Time `json:"retired_at,omitempty"`
	// GraceUntil is how long the retired key still verifies what it signed before.
	GraceUntil *time.Time `json:"grace_until,omitempty"`
	// Reason says how the key came or went: introduced, rotated, compromised, replaced.
	Reason string `json:"reason"`
}

// Partners stores the partner directory.
type Partners interface {
	// PutPartner inserts or replaces a partner (keeping CreatedAt of an existing one).
	PutPartner(ctx context.Context, p Partner) error
	GetPartner(ctx context.Context, id string) (Partner, error)
	// ListPartners lists every stored partner by id.
	ListPartners(ctx context.Context) ([]Partner, error)
	// DeletePartner removes a partner and its key history; ErrNotFound if there is none.
	DeletePartner(ctx context.Context, id string) error
	// PutPartnerKey inserts or replaces one key of a partner's history.
	PutPartnerKey(ctx context.Context, k PartnerKey) error
	// PartnerKeys lists a partner's keys, oldest first.
	PartnerKeys(ctx context.Context, team string) ([]PartnerKey, error)
	// GetSetting returns a node setting the directory keeps (our constituency, our
	// key's history); ErrNotFound if unset.
	GetSetting(ctx context.Context, name string) ([]byte, error)
	PutSetting(ctx context.Context, name string, value []byte, at time.Time) error
}
