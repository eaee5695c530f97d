package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"csirtlink/internal/clock"
	"csirtlink/internal/envelope"
	"csirtlink/internal/identity"
	"csirtlink/internal/store"
)

// The hash chain shows an edited or deleted record, but not the newest records
// dropped: what is left is still a valid chain. So the node also writes, outside the
// database, signed checkpoints of the log's head (seq and hash), and Verify checks the
// chain still reaches each one with the same hash.

// CheckpointFile is the checkpoints' file in the data directory: one JSON object per
// line, only ever appended to.
const CheckpointFile = "audit.checkpoints"

// CheckpointEvery is how often the head is checkpointed when the log has grown: the
// newest records of at most this long can be dropped unseen.
const CheckpointEvery = 5 * time.Minute

// maxCheckpointLine bounds a line of the file; a real one is under 300 bytes.
const maxCheckpointLine = 4096

// CheckpointPath is the checkpoints' file of a data directory.
func CheckpointPath(dataDir string) string { return filepath.Join(dataDir, CheckpointFile) }

// Checkpoint is the audit log's head at a time, signed with the node's key.
type Checkpoint struct {
	Team string    `json:"team"`
	Seq  int64     `json:"seq"`
	Hash string    `json:"hash"`
	At   time.Time `json:"at"`
	Sig  []byte    `json:"sig"`
}

func (c Checkpoint) signedBytes() []byte {
	return envelope.Canonical("csirtlink/audit-checkpoint/v1", []byte(c.Team), []byte(strconv.FormatInt(c.Seq, 10)),
		[]byte(c.Hash), envelope.FormatTime(c.At))
}

// ParseCheckpoint reads one line of the checkpoints' file and checks its form (not its
// signature).
func ParseCheckpoint(line []byte) (Checkpoint, error) {
	var c Checkpoint
	if len(line) > maxCheckpointLine {
		return c, fmt.Errorf("longer than %d bytes", maxCheckpointLine)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("not a checkpoint: %w", err)
	}
	if dec.More() {
		return c, errors.New("not a checkpoint: data after the object")
	}
	switch {
	case c.Team == "" || len(c.Team) > 64:
		return c, errors.New("team: 1 to 64 characters")
	case c.Seq < 1:
		return c, errors.New("seq: must be 1 or more")
	case len(c.Hash) != 64 || !isLowerHex(c.Hash):
		return c, errors.New("hash: 64 lowercase hex digits")
	case c.At.IsZero():
		return c, errors.New("at: required")
	case len(c.Sig) != ed25519.SignatureSize:
		return c, fmt.Errorf("sig: %d bytes, want %d", len(c.Sig), ed25519.SignatureSize)
	}
	return c, nil
}

func isLowerHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && s == string(bytes.ToLower([]byte(s)))
}

// ReadCheckpoints reads the checkpoints' file; a missing file holds none.
func ReadCheckpoints(path string) ([]Checkpoint, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoints: %w", err)
	}
	defer f.Close()
	var out []Checkpoint
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 512), maxCheckpointLine)
	for n := 1; sc.Scan(); n++ {
		c, err := ParseCheckpoint(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("audit: %s line %d: %w", path, n, err)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("audit: %s: %w", path, err)
	}
	return out, nil
}

// Signer signs with the node's key.
type Signer interface{ Sign(msg []byte) []byte }

// Checkpointer is the engine module that appends a signed checkpoint of the log's
// head every CheckpointEvery, when the log has grown.
type Checkpointer struct {
	st    store.Audit
	key   Signer
	team  string
	path  string
	clock clock.Clock
	log   *slog.Logger
	last  time.Time  // when it last looked
	head  Checkpoint // the newest checkpoint written
	read  bool       // head was read from the file
}

// NewCheckpointer makes the module; path is the checkpoints' file.
func NewCheckpointer(st store.Audit, key Signer, team, path string, clk clock.Clock, log *slog.Logger) *Checkpointer {
	return &Checkpointer{st: st, key: key, team: team, path: path, clock: clk, log: log}
}

// Name names the module.
func (*Checkpointer) Name() string { return "audit-checkpoint" }

// UpdateAll writes a checkpoint when one is due and the log has grown since the last.
func (c *Checkpointer) UpdateAll(ctx context.Context) error {
	now := c.clock.Now()
	if !c.last.IsZero() && now.Sub(c.last) < CheckpointEvery {
		return nil
	}
	if !c.read {
		cps, err := ReadCheckpoints(c.path)
		if err != nil {
			return err
		}
		if len(cps) > 0 {
			c.head = cps[len(cps)-1]
		}
		c.read = true
	}
	head, err := c.st.LastAudit(ctx)
	if errors.Is(err, store.ErrNotFound) {
		c.last = now
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit: checkpoint: %w", err)
	}
	if head.Seq == c.head.Seq && head.Hash == c.head.Hash {
		c.last = now
		return nil
	}
	if head.Seq < c.head.Seq {
		// Records were dropped: say so every time; audit verify names them.
		c.log.Error("audit log is shorter than its last checkpoint", "log_seq", head.Seq, "checkpoint_seq", c.head.Seq, "checkpoint_at", c.head.At)
	}
	cp := Checkpoint{Team: c.team, Seq: head.Seq, Hash: head.Hash, At: now.UTC()}
	cp.Sig = c.key.Sign(cp.signedBytes())
	if err := appendLine(c.path, cp); err != nil {
		return err
	}
	c.head, c.last = cp, now
	return nil
}

// appendLine appends a checkpoint to the file, and syncs it: a checkpoint is evidence.
func appendLine(path string, cp Checkpoint) error {
	line, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit: checkpoint: %w", err)
	}
	_, werr := f.Write(append(line, '\n'))
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("audit: checkpoint: %w", err)
	}
	return nil
}

// Report is what VerifyAll found.
type Report struct {
	Records     int64       // records in an intact chain
	Checkpoints int         // checkpoints the chain reaches
	Newest      *Checkpoint // the newest of them
}

// VerifyAll checks the chain (Verify) and that it reaches each checkpoint in the file
// at path, signed by team's key pub, with the same hash. The error names the first
// broken record, or the checkpoint the log no longer reaches.
func VerifyAll(ctx context.Context, st store.Audit, path, team string, pub ed25519.PublicKey) (Report, error) {
	var rep Report
	n, err := Verify(ctx, st)
	rep.Records = n
	if err != nil {
		return rep, err
	}
	cps, err := ReadCheckpoints(path)
	if err != nil {
		return rep, err
	}
	for i, cp := range cps {
		at := cp.At.UTC().Format(time.RFC3339)
		if cp.Team != team {
			return rep, fmt.Errorf("audit: checkpoint %d (%s) is team %s's, not %s's", i+1, at, cp.Team, team)
		}
		if !identity.Verify(pub, cp.signedBytes(), cp.Sig) {
			return rep, fmt.Errorf("audit: checkpoint %d (%s) is not signed by this node's key", i+1, at)
		}
		if cp.Seq > n {
			return rep, fmt.Errorf("audit: the log ends at record %d, but the checkpoint of %s saw it reach record %d: records %d to %d were dropped",
				n, at, cp.Seq, n+1, cp.Seq)
		}
		rs, err := st.ListAudit(ctx, cp.Seq-1, 1)
		if err != nil {
			return rep, err
		}
		if len(rs) != 1 || rs[0].Hash != cp.Hash {
			return rep, fmt.Errorf("audit: record %d is not the one the checkpoint of %s saw: the log was rewritten from there", cp.Seq, at)
		}
		rep.Checkpoints++
		rep.Newest = &cps[i]
	}
	return rep, nil
}
