package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"csirtlink/internal/audit"
	"csirtlink/internal/config"
	"csirtlink/internal/identity"
	"csirtlink/internal/sqlstore"
)

// runAudit is `csirtlink audit verify`: it checks the audit log's hash chain and that
// the chain still reaches every signed checkpoint, and fails naming the first record
// that does not hold.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return fmt.Errorf("%w: csirtlink audit verify --config FILE", errUsage)
	}
	fs := newFlags("audit verify", stderr)
	path := fs.String("config", "csirtlink.json", "configuration `file`")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	key, err := identity.Load(cfg.KeyFile)
	if err != nil {
		return err
	}
	pub, err := identity.ParsePublic(key.Public())
	if err != nil {
		return err
	}
	// Opening a missing database would make an empty one, which verifies.
	if _, err := os.Stat(cfg.DatabasePath()); err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	db, err := sqlstore.OpenSQLite(ctx, cfg.DatabasePath())
	if err != nil {
		return err
	}
	defer db.Close()
	cps := audit.CheckpointPath(cfg.DataDir)
	rep, err := audit.VerifyAll(ctx, db, cps, cfg.Team.ID, pub)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "audit log intact: %d records, chained\n", rep.Records)
	if rep.Newest == nil {
		fmt.Fprintf(stdout, "no checkpoints yet in %s: dropping the newest records would not show\n", cps)
		return nil
	}
	fmt.Fprintf(stdout, "%d signed checkpoints reached; the newest: record %d at %s\n", rep.Checkpoints, rep.Newest.Seq, rep.Newest.At.UTC().Format(time.RFC3339))
	return nil
}
