package store

import (
	"context"
	"time"
)

// Page is an urgent hotline message from one team to one or more others.
type Page struct {
	ID          string     `json:"id"`
	From        string     `json:"from"`
	Severity    string     `json:"severity"`
	Summary     string     `json:"summary"`
	Details     string     `json:"details"`
	IncidentID  string     `json:"incident_id,omitempty"`
	TLP         string     `json:"tlp"`
	Drill       bool       `json:"drill"`
	CommCheckID string     `json:"commcheck_id,omitempty"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	ResolvedAt  *time.Time `json:"resolved_at,omitempty"`
	ResolvedBy  string     `json:"resolved_by,omitempty"`
	Deliveries  []Delivery `json:"deliveries"`
}

// Delivery is a page's progress at one receiving team.
type Delivery struct {
	PageID          string     `json:"-"`
	Team            string     `json:"team"`
	State           string     `json:"state"`
	SentAt          time.Time  `json:"sent_at"`
	DeliveredAt     *time.Time `json:"delivered_at"`
	NotifiedAt      *time.Time `json:"notified_at"`
	NotifiedChannel string     `json:"notified_channel,omitempty"`
	AcknowledgedAt  *time.Time `json:"acknowledged_at"`
	AcknowledgedBy  string     `json:"acknowledged_by"`
	AckVia          string     `json:"ack_via,omitempty"`
	AckStatement    []byte     `json:"ack_statement,omitempty"`
	Receipt         []byte     `json:"receipt,omitempty"`
	FallbackAt      *time.Time `json:"fallback_at,omitempty"`
	FallbackError   string     `json:"fallback_error,omitempty"`
	ResolvedAt      *time.Time `json:"resolved_at,omitempty"`
}

// Escalation is the receiving team's escalation of one page.
type Escalation struct {
	PageID     string     `json:"page_id"`
	Policy     string     `json:"policy"`
	Round      int        `json:"round"`
	Level      int        `json:"level"`
	NextAt     *time.Time `json:"next_at,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	StoppedAt  *time.Time `json:"stopped_at,omitempty"`
	StopReason string     `json:"stop_reason,omitempty"`
}

// Notification is one attempt to reach one person on one channel.
type Notification struct {
	ID          string     `json:"id"`
	PageID      string     `json:"page_id"`
	User        string     `json:"user"`
	Channel     string     `json:"channel"`
	Address     string     `json:"address,omitempty"`
	Round       int        `json:"round"`
	Level       int        `json:"level"`
	DedupeKey   string     `json:"-"`
	State       string     `json:"state"`
	CreatedAt   time.Time  `json:"created_at"`
	AttemptedAt *time.Time `json:"attempted_at,omitempty"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	Error       string     `json:"error,omitempty"`
}

// Contact is a way to reach a person besides the console.
type Contact struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	Channel   string    `json:"channel"`
	Address   string    `json:"address"`
	PGPKey    string    `json:"pgp_key,omitempty"`
	Secret    string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// AckCode is a one-time acknowledgement code; only its hash is stored.
type AckCode struct {
	CodeHash  string
	PageID    string
	Team      string
	User      string
	Purpose   string
	ExpiresAt time.Time
	UsedAt    *time.Time
	// ShowsContent: the mail that carried the code showed the page's content (its egress
	// decision was Full), so the acknowledgement form may show the summary too.
	ShowsContent bool
}

// CommCheck is one drill of the hotline.
type CommCheck struct {
	ID        string    `json:"id"`
	PageID    string    `json:"page_id"`
	Teams     []string  `json:"teams"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// PeerOnCall is the latest on-call summary a partner team's node sent us.
type PeerOnCall struct {
	Team       string    `json:"team"`
	Data       []byte    `json:"data"` // the summary as JSON
	At         time.Time `json:"at"`   // when the partner's node made it
	ReceivedAt time.Time `json:"received_at"`
}

// PageFilter narrows ListPages.
type PageFilter struct {
	From    string // only pages sent by this team
	NotFrom string // only pages sent by other teams
	Open    bool   // only pages not resolved
	// WaitingFor: only pages whose delivery to this team is not yet acknowledged.
	WaitingFor string
	Drill      *bool
	Since      time.Time
	Limit      int
}

// Hotline stores pages, escalations, notifications and on-call configuration.
type Hotline interface {
	CreatePage(ctx context.Context, p Page) error
	GetPage(ctx context.Context, id string) (Page, error)
	ListPages(ctx context.Context, f PageFilter) ([]Page, error)
	ResolvePage(ctx context.Context, id string, at time.Time, by string) error
	GetDelivery(ctx context.Context, pageID, team string) (Delivery, error)
	PutDelivery(ctx context.Context, d Delivery) error
	// StaleDeliveries lists deliveries of pages from origin still "sent" (no receipt)
	// since before cutoff, with no fallback yet.
	StaleDeliveries(ctx context.Context, origin string, cutoff time.Time, limit int) ([]Delivery, error)

	PutEscalation(ctx context.Context, e Escalation) error
	GetEscalation(ctx context.Context, pageID string) (Escalation, error)
	DueEscalations(ctx context.Context, now time.Time, limit int) ([]Escalation, error)
	// NextEscalation is the earliest pending escalation step, or ErrNotFound.
	NextEscalation(ctx context.Context) (time.Time, error)

	// AddNotification records an attempt to make; false if its dedupe key exists.
	AddNotification(ctx context.Context, n Notification) (bool, error)
	PutNotification(ctx context.Context, n Notification) error
	GetNotification(ctx context.Context, id string) (Notification, error)
	PendingNotifications(ctx context.Context, limit int) ([]Notification, error)
	PageNotifications(ctx context.Context, pageID string) ([]Notification, error)
	// CountNotifications counts attempts made or being made (sending, sent, unknown) to
	// a person on a channel since a time, for one page if pageID is set; for rate limits
	// and deduplication.
	// It stops counting at upTo: callers compare with a limit, and a person with
	// thousands of recent attempts must not make each check slower.
	CountNotifications(ctx context.Context, user, channel, pageID string, since time.Time, upTo int) (int, error)
	// AbandonNotifications marks attempts claimed before cutoff and never finished as
	// unknown: whether they reached the person is not known, so they are not repeated.
	AbandonNotifications(ctx context.Context, cutoff time.Time) (int, error)

	PutContact(ctx context.Context, c Contact) error
	DeleteContact(ctx context.Context, id string) error
	Contacts(ctx context.Context, user string) ([]Contact, error)

	PutAckCode(ctx context.Context, c AckCode) error
	GetAckCode(ctx context.Context, hash string) (AckCode, error)
	UseAckCode(ctx context.Context, hash string, at time.Time) error

	PutRotation(ctx context.Context, id string, data []byte, at time.Time) error
	DeleteRotation(ctx context.Context, id string) error
	Rotations(ctx context.Context) (map[string][]byte, error)
	PutOverride(ctx context.Context, id, rotationID string, data []byte, end time.Time) error
	DeleteOverride(ctx context.Context, id string) error
	// Overrides lists overrides that end after since.
	Overrides(ctx context.Context, since time.Time) ([][]byte, error)
	PutPolicy(ctx context.Context, id string, data []byte, isDefault bool, at time.Time) error
	DeletePolicy(ctx context.Context, id string) error
	Policies(ctx context.Context) (map[string][]byte, string, error)

	CreateCommCheck(ctx context.Context, c CommCheck) error
	CommChecks(ctx context.Context, limit int) ([]CommCheck, error)

	// PutPeerOnCall stores a partner's on-call summary unless the one stored for that
	// team is as new or newer (by At); it reports whether it stored it.
	PutPeerOnCall(ctx context.Context, p PeerOnCall) (bool, error)
	// PeerOnCalls lists the stored summaries by team.
	PeerOnCalls(ctx context.Context) ([]PeerOnCall, error)

	// TryLease takes or renews the named lease for holder until now+ttl; false if
	// another holder has it.
	TryLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	// ReleaseLease gives up a lease the holder has, so a successor need not wait for it
	// to expire.
	ReleaseLease(ctx context.Context, name, holder string) error
}
