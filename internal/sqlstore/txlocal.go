package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"csirtlink/internal/store"
)

// txLocal is what a transaction keeps for itself between its statements. A batch from
// a peer applies up to hundreds of envelopes in one transaction, and the commit queue
// puts dozens of writers into one: each read the same incident and ran the same
// statements anew.
type txLocal struct {
	// stmts are the transaction's own handles on the cached prepared statements.
	stmts map[string]*sql.Stmt
	// incidents are the incidents this transaction read or wrote, as the database now
	// holds them. Every write of an incident or a participant goes through this package
	// and updates its entry here; a rollback to a savepoint forgets them all.
	incidents map[string]store.Incident
}

func newTxLocal() *txLocal {
	return &txLocal{stmts: map[string]*sql.Stmt{}, incidents: map[string]store.Incident{}}
}

// forget drops what the transaction read, after a rollback to a savepoint undid writes
// it may have recorded.
func (l *txLocal) forget() {
	if l != nil {
		clear(l.incidents)
	}
}

// incident returns a copy of a held incident: callers change what they get.
func (l *txLocal) incident(id string) (store.Incident, bool) {
	if l == nil {
		return store.Incident{}, false
	}
	in, ok := l.incidents[id]
	if !ok {
		return in, false
	}
	return cloneIncident(in), true
}

// keep holds a copy of in as read from the database.
func (l *txLocal) keep(in store.Incident) {
	if l != nil {
		l.incidents[in.ID] = cloneIncident(in)
	}
}

// cloneIncident copies in down to what its participants point to.
func cloneIncident(in store.Incident) store.Incident {
	in.Participants = slices.Clone(in.Participants)
	for i := range in.Participants {
		if p := &in.Participants[i]; p.AcknowledgedAt != nil {
			at := *p.AcknowledgedAt
			p.AcknowledgedAt = &at
		}
	}
	return in
}

// updated records what UpdateIncident wrote: the incident's own fields, as the database
// stores them (times in microseconds, UTC).
func (l *txLocal) updated(in store.Incident) {
	if l == nil {
		return
	}
	old, ok := l.incidents[in.ID]
	if !ok {
		return
	}
	old.Title, old.Description, old.Category, old.Severity, old.TLP, old.Status = in.Title, in.Description, in.Category, in.Severity, in.TLP, in.Status
	old.UpdatedAt, old.LastPosition = fromMicros(micros(in.UpdatedAt)), in.LastPosition
	l.incidents[in.ID] = old
}

// participant records what UpsertParticipant wrote. A team new to the incident drops
// the incident instead: the database orders participants by its collation, which only
// it knows.
func (l *txLocal) participant(incidentID string, p store.Participant) {
	if l == nil {
		return
	}
	in, ok := l.incidents[incidentID]
	if !ok {
		return
	}
	i := slices.IndexFunc(in.Participants, func(q store.Participant) bool { return q.Team == p.Team })
	if i < 0 {
		delete(l.incidents, incidentID)
		return
	}
	p.UpdatedAt = fromMicros(micros(p.UpdatedAt))
	if p.AcknowledgedAt != nil {
		at := fromMicros(micros(*p.AcknowledgedAt))
		p.AcknowledgedAt = &at
	}
	in.Participants[i] = p
}

// stmtContext is the context a statement runs under. Inside a transaction where writers
// are serial (SQLite), an ended context stops the next statement, not the running one:
// the driver watches a context that can end with a goroutine of its own for every
// statement (database/sql another for every query's rows), a tenth of the CPU of a
// batch; and an interrupted write rolls back the whole transaction, which the commit
// queue shares among writers.
func (c conn) stmtContext(ctx context.Context) (context.Context, error) {
	if !c.inTx() || !c.d.serialWriter() || ctx.Done() == nil {
		return ctx, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	return context.WithoutCancel(ctx), nil
}
