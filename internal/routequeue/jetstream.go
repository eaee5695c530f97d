package routequeue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"csirtlink/internal/feed"
)

// Config says where the queue is and how it redelivers.
type Config struct {
	// URL is the NATS server (several, comma-separated, for a cluster).
	URL string
	// Stream names the work-queue stream; its subjects are Stream's lower case plus
	// ".batch". Several nodes sharing one NATS need one stream each.
	Stream string
	// AckWait is how long a worker may hold a batch unacknowledged before it is
	// redelivered to another (0: 60 s). A batch routes in milliseconds; the margin is for
	// a slow database.
	AckWait time.Duration
	// MaxDeliver is how many times a batch is delivered before its run is failed (0: 5).
	MaxDeliver int
	// MaxBytes bounds the stream: a publisher waits while it is full, so a report
	// larger than the workers keep up with fills the queue and not the memory (0: 1 GiB).
	MaxBytes int64
	// Replicas is the stream's copies in a JetStream cluster (0: 1).
	Replicas int
}

// Defaults.
const (
	DefaultStream     = "CSIRTLINK_FEED_ROUTE"
	DefaultAckWait    = time.Minute
	DefaultMaxDeliver = 5
	DefaultMaxBytes   = 1 << 30
	consumerName      = "routers"
)

func (c Config) withDefaults() Config {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.AckWait <= 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = DefaultMaxDeliver
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	return c
}

// Queue is a connection to the work-queue stream, for publishing and for working.
type Queue struct {
	cfg     Config
	subject string
	nc      *nats.Conn
	js      jetstream.JetStream
	cons    jetstream.Consumer
	log     *slog.Logger
}

// Open connects to NATS and makes (or updates) the stream and its one durable consumer,
// which every worker shares: a work-queue stream hands each batch to one of them.
func Open(ctx context.Context, cfg Config, name string, log *slog.Logger) (*Queue, error) {
	cfg = cfg.withDefaults()
	nc, err := nats.Connect(cfg.URL, nats.Name(name), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("routequeue: connect to %s: %w", redact(cfg.URL), err)
	}
	q := &Queue{cfg: cfg, subject: strings.ToLower(cfg.Stream) + ".batch", nc: nc, log: log.With("component", "routequeue")}
	if err := q.setUp(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return q, nil
}

func (q *Queue) setUp(ctx context.Context) error {
	js, err := jetstream.New(q.nc)
	if err != nil {
		return fmt.Errorf("routequeue: jetstream: %w", err)
	}
	q.js = js
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: q.cfg.Stream, Subjects: []string{q.subject},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Discard: jetstream.DiscardNew,
		MaxBytes: q.cfg.MaxBytes, MaxMsgSize: MaxMessageBytes, Replicas: max(q.cfg.Replicas, 1),
		// A publish retried after a lost answer is stored once.
		Duplicates: 10 * time.Minute,
	})
	if err != nil {
		return fmt.Errorf("routequeue: stream %s: %w", q.cfg.Stream, err)
	}
	q.cons, err = js.CreateOrUpdateConsumer(ctx, q.cfg.Stream, jetstream.ConsumerConfig{
		Durable: consumerName, AckPolicy: jetstream.AckExplicitPolicy, AckWait: q.cfg.AckWait, MaxDeliver: q.cfg.MaxDeliver,
		MaxAckPending: 1024,
	})
	if err != nil {
		return fmt.Errorf("routequeue: consumer %s: %w", consumerName, err)
	}
	return nil
}

// Close drains nothing: a batch taken but not acknowledged is redelivered elsewhere.
func (q *Queue) Close() { q.nc.Close() }

// Publish queues evs as batches of run numbered from first, splitting where a message
// would pass MaxMessageBytes, and returns the next free number. It returns once the
// stream has stored each batch; while the stream is full it waits and tries again.
func (q *Queue) Publish(ctx context.Context, runID string, first int64, evs []feed.Event) (int64, error) {
	msg, err := Encode(runID, first, evs)
	if err != nil && !errors.Is(err, ErrTooLarge) {
		return first, err
	}
	if err != nil || len(msg) > MaxMessageBytes {
		if len(evs) == 1 {
			return first, fmt.Errorf("routequeue: the event of line %d encodes to %d bytes, over %d", evs[0].Line, len(msg), MaxMessageBytes)
		}
		next, err := q.Publish(ctx, runID, first, evs[:len(evs)/2])
		if err != nil {
			return next, err
		}
		return q.Publish(ctx, runID, next, evs[len(evs)/2:])
	}
	id := runID + "." + strconv.FormatInt(first, 10)
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		_, err := q.js.PublishMsg(ctx, &nats.Msg{Subject: q.subject, Data: msg}, jetstream.WithMsgID(id))
		if err == nil {
			return first + 1, nil
		}
		// A full stream refuses new messages (DiscardNew): wait for the workers. Other
		// errors (no answer within the timeout, a leader election) are worth a retry
		// too; the message id keeps a retried batch single.
		q.log.Warn("publish failed; retrying", "batch", id, "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return first, fmt.Errorf("routequeue: publish %s: %w", id, context.Cause(ctx))
		case <-time.After(wait):
		}
	}
}

// Handler routes one batch and commits the result. last is true on the batch's final
// delivery (MaxDeliver): a handler that fails then should record the failure, since
// the batch will not come again.
type Handler func(ctx context.Context, b Batch, last bool) error

// Work takes batches one at a time and hands them to h until ctx ends. A batch is
// acknowledged (and the server's receipt of the acknowledgement awaited) only after h
// returns nil; an error asks for redelivery after a delay. A message that is not a batch
// is terminated: no worker could read it.
func (q *Queue) Work(ctx context.Context, h Handler) error {
	for ctx.Err() == nil {
		msgs, err := q.cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			q.log.Warn("fetch failed", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		for m := range msgs.Messages() {
			q.handle(ctx, m, h)
		}
		if err := msgs.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) && ctx.Err() == nil {
			q.log.Warn("fetch ended", "err", err)
		}
	}
	return nil
}

func (q *Queue) handle(ctx context.Context, m jetstream.Msg, h Handler) {
	b, err := Decode(m.Data())
	if err != nil {
		q.log.Error("not a batch; dropped", "err", err)
		_ = m.TermWithReason(err.Error())
		return
	}
	attempt := uint64(1)
	if md, err := m.Metadata(); err == nil {
		attempt = md.NumDelivered
	}
	last := attempt >= uint64(q.cfg.MaxDeliver)
	if err := h(ctx, b, last); err != nil {
		if ctx.Err() != nil {
			return // stopping: the batch comes back after AckWait
		}
		q.log.Warn("routing a batch failed", "batch", b.ID(), "attempt", attempt, "err", err)
		if last {
			_ = m.Term()
			return
		}
		_ = m.NakWithDelay(time.Duration(attempt) * time.Second)
		return
	}
	if err := m.DoubleAck(context.WithoutCancel(ctx)); err != nil {
		// Committed but not acknowledged: the batch comes again and the store's record
		// of routed batches makes that change nothing.
		q.log.Warn("acknowledging a routed batch failed", "batch", b.ID(), "err", err)
	}
}

// Pending is how many batches wait in the stream, taken or not.
func (q *Queue) Pending(ctx context.Context) (uint64, error) {
	s, err := q.js.Stream(ctx, q.cfg.Stream)
	if err != nil {
		return 0, fmt.Errorf("routequeue: stream %s: %w", q.cfg.Stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("routequeue: stream %s: %w", q.cfg.Stream, err)
	}
	return info.State.Msgs, nil
}

// Deliveries is how many times the workers' consumer has delivered a batch, counting
// each redelivery.
func (q *Queue) Deliveries(ctx context.Context) (uint64, error) {
	info, err := q.cons.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("routequeue: consumer: %w", err)
	}
	return info.Delivered.Consumer, nil
}

// DeleteStream removes the stream and what it holds (tests and benchmarks make their own).
func (q *Queue) DeleteStream(ctx context.Context) error {
	return q.js.DeleteStream(ctx, q.cfg.Stream)
}

// redact drops a user and password from a NATS URL before it is printed.
func redact(url string) string {
	if at := strings.LastIndex(url, "@"); at >= 0 {
		if p := strings.Index(url, "://"); p >= 0 && p < at {
			return url[:p+3] + "…@" + url[at+1:]
		}
	}
	return url
}
