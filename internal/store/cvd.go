package store

import (
	"context"
	"time"
)

// Vulnerability coordination (internal/cvd).

// CVDCase is a vulnerability case as this node holds it. State is the JSON of the
// case's shared state as the cvd package folds it (own fields, embargo, vendor
// statuses, ownership); Private is what only this node keeps about it (the reporter, at
// the owner).
type CVDCase struct {
	ID           string
	Owner        string
	Title        string
	State        []byte
	Private      []byte
	LastPosition int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// CVDEntry is one signed entry of a case's timeline. Position is 0 until the owner
// sequences it.
type CVDEntry struct {
	ID        string
	CaseID    string
	Position  int64
	Team      string
	Author    string
	Kind      string
	Body      string
	TLP       string
	Data      string
	CreatedAt time.Time
	Signature []byte
}

// CVDVendor is a vendor this team contacts about a case. It never leaves this node
// unless shared: statuses name it only then.
type CVDVendor struct {
	ID       string
	CaseID   string
	Name     string
	Contact  string
	Email    string
	Products []string
	Shared   bool
	// User is the vendor's person on this node (role vendor), who sees the case and
	// sets the vendor's statuses; "" for none.
	User      string
	CreatedBy string
	CreatedAt time.Time
}

// CVDVendorMessage is one mail to or from a vendor of a case, through the case's
// reply address. It never leaves this node.
type CVDVendorMessage struct {
	ID       string
	CaseID   string
	VendorID string
	// Direction is "out" (this team wrote to the vendor) or "in" (the vendor's reply).
	Direction string
	Address   string // the vendor's address the mail went to or came from
	Subject   string
	Body      string
	Author    string // our person for "out"; the vendor's name for "in"
	CreatedAt time.Time
}

// CVD stores vulnerability cases, their timelines and this team's vendors.
type CVD interface {
	// PutCVDCase inserts a case or replaces the one with its id.
	PutCVDCase(ctx context.Context, c CVDCase) error
	// GetCVDCase returns a case; in a transaction it locks it, as GetIncident does.
	GetCVDCase(ctx context.Context, id string) (CVDCase, error)
	// ListCVDCases lists cases, most recently changed first.
	ListCVDCases(ctx context.Context, limit int) ([]CVDCase, error)
	// PutCVDEntry inserts an entry, or sets the position of one already held.
	PutCVDEntry(ctx context.Context, e CVDEntry) error
	GetCVDEntry(ctx context.Context, id string) (CVDEntry, error)
	// CVDTimeline lists a case's entries: sequenced ones by position, then pending.
	CVDTimeline(ctx context.Context, caseID string) ([]CVDEntry, error)
	PutCVDVendor(ctx context.Context, v CVDVendor) error
	ListCVDVendors(ctx context.Context, caseID string) ([]CVDVendor, error)
	// AddCVDVendorMessage records a mail to or from a vendor.
	AddCVDVendorMessage(ctx context.Context, m CVDVendorMessage) error
	// ListCVDVendorMessages lists a case's vendor mail, oldest first.
	ListCVDVendorMessages(ctx context.Context, caseID string) ([]CVDVendorMessage, error)
}
