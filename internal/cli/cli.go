// Package cli is the csirtlink command line: node operation (serve, init, migrate, demo,
// token, user) and the duty officer's client commands (incident, peers).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"csirtlink/internal/client"
)

const usage = `csirtlink — coordinated incident handling between national CSIRTs

Usage:
  csirtlink demo [--dir DIR] [--base-port 7400]   three federated teams on this machine
  csirtlink init --dir DIR --team ID --name NAME --timezone ZONE [--listen ADDR] [--url URL]
  csirtlink serve --config FILE                     run a node
  csirtlink migrate --config FILE                   bring the database schema up to date
  csirtlink db copy --config FILE --to DSN          move a stopped node's records into a new PostgreSQL database
  csirtlink user create --config FILE --name NAME --role ROLE
  csirtlink user password|disable|enable|signout --config FILE --name NAME | user list --config FILE
  csirtlink token create --config FILE --user NAME [--label TEXT] [--ttl 720h] | token create --metrics|--misp-feed
  csirtlink token list --config FILE --user NAME | token revoke --config FILE --id ID
  csirtlink identity --config FILE                  this node's public key, as peers configure it
  csirtlink audit verify --config FILE              check the audit log's hash chain and signed checkpoints
  csirtlink incident list|show|create|comment|status|participate ...   (talks to a node's API)
  csirtlink cvd list|show|create|embargo|agree|object|emergency|vendor|status|handoff|accept|csaf ...
  csirtlink peers [retry ID]                        state of each federation link; retry one now
  csirtlink partner list|add|approve|suspend|revoke|remove|lookup
                                                    the partner directory (csirtlink partner help)
  csirtlink key rotate [--compromised]              a new node key, announced to the partners
  csirtlink page send|list|show|ack|resolve ...     the hotline: urgent pages a person must acknowledge
  csirtlink oncall show [--at TIME]                 who is on call now and next, in the team's time and yours
  csirtlink commcheck run|report ...                drill the hotline; how fast each partner answers
  csirtlink report --period 2026|--quarter 2026Q3 --lang ja --out DIR [--pdf]   the joint report (HTML, CSV)
  csirtlink owner list|add|import --config FILE ... network owners of our constituency (import FILE.csv)
  csirtlink owner reports|resend --config FILE OWNER [REPORT]  an owner's reports; send one again
  csirtlink feed ingest --config FILE --format shadowserver|intelmq|csv [--report T] [--map M] FILE
  csirtlink feed worker --config FILE [--name NAME]
  csirtlink indicator list|show|add|revoke|sighting|import|export ...   shared indicators and sightings
  csirtlink search VALUE                            what this node knows: incidents, shared indicators, sightings
  csirtlink stix export --incident ID | --indicators IDS | --all [--team T] | stix import FILE [--as indicators]    STIX 2.1 bundles, and back
  csirtlink iodef export --incident ID [--team T] | iodef import FILE  an incident as an IODEF 2.0 document, and back
  csirtlink taxii consumer|source|pull ...        TAXII 2.1 consumer accounts, sources, pulls (csirtlink taxii help)
  csirtlink misp export --incident ID | --indicators IDS | misp import FILE [--as incident]   MISP event JSON, and back

Client commands read --url and --token, or CSIRTLINK_URL and CSIRTLINK_TOKEN.
Run 'csirtlink COMMAND -h' for a command's flags.
`

// errUsage means the command line was wrong; the message says how.
var errUsage = errors.New("usage")

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := Run(ctx, args, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, err)
		return 2
	default:
		fmt.Fprintln(stderr, "csirtlink:", err)
		var ie *client.IncompleteError
		if errors.As(err, &ie) {
			fmt.Fprintf(stderr, "To repeat it safely, run the same command again with --idempotency-key %s\n", ie.Key)
		}
		return 1
	}
}

// Run runs one command.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command given", errUsage)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "init":
		return runInit(ctx, rest, stdout, stderr)
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, stdout, stderr)
	case "db":
		return runDB(ctx, rest, stdout, stderr)
	case "user":
		return runUser(ctx, rest, stdout, stderr)
	case "token":
		return runToken(ctx, rest, stdout, stderr)
	case "identity":
		return runIdentity(ctx, rest, stdout, stderr)
	case "audit":
		return runAudit(ctx, rest, stdout, stderr)
	case "incident":
		return runIncident(ctx, rest, stdout, stderr)
	case "cvd":
		return runCVD(ctx, rest, stdout, stderr)
	case "peers":
		return runPeers(ctx, rest, stdout, stderr)
	case "partner":
		return runPartner(ctx, rest, stdout, stderr)
	case "key":
		return runKey(ctx, rest, stdout, stderr)
	case "page":
		return runPage(ctx, rest, stdout, stderr)
	case "oncall":
		return runOnCall(ctx, rest, stdout, stderr)
	case "commcheck":
		return runCommCheck(ctx, rest, stdout, stderr)
	case "report":
		return runReport(ctx, rest, stdout, stderr)
	case "owner":
		return runOwner(ctx, rest, stdout, stderr)
	case "feed":
		return runFeed(ctx, rest, stdout, stderr)
	case "indicator":
		return runIndicator(ctx, rest, stdout, stderr)
	case "search":
		return runSearch(ctx, rest, stdout, stderr)
	case "stix":
		return runSTIX(ctx, rest, stdout, stderr)
	case "iodef":
		return runIODEF(ctx, rest, stdout, stderr)
	case "taxii":
		return runTAXII(ctx, rest, stdout, stderr)
	case "misp":
		return runMISP(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

// newFlags makes a flag set that reports errors to the caller instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("csirtlink "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses flags and turns a flag error into a usage error.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
	}
	return nil
}
