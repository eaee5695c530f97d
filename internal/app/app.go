// Package app is the composition root: it builds a node from its configuration and runs it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"csirtlink/internal/api"
	"csirtlink/internal/audit"
	"csirtlink/internal/auth"
	"csirtlink/internal/bulk"
	"csirtlink/internal/clock"
	"csirtlink/internal/config"
	"csirtlink/internal/cvd"
	"csirtlink/internal/engine"
	"csirtlink/internal/enrich"
	"csirtlink/internal/exchange"
	"csirtlink/internal/federation"
	"csirtlink/internal/feed/formats"
	"csirtlink/internal/feedrun"
	"csirtlink/internal/feedshare"
	"csirtlink/internal/hotline"
	"csirtlink/internal/identity"
	"csirtlink/internal/incident"
	"csirtlink/internal/indicator"
	"csirtlink/internal/metrics"
	"csirtlink/internal/misp"
	"csirtlink/internal/opmetrics"
	"csirtlink/internal/owner"
	"csirtlink/internal/ownermail"
	"csirtlink/internal/partner"
	"csirtlink/internal/route"
	"csirtlink/internal/routequeue"
	"csirtlink/internal/sqlstore"
	"csirtlink/internal/taxii"
	"csirtlink/internal/team"
	"csirtlink/internal/web"
)

// Node is one running csirtlink node.
type Node struct {
	Config    config.Config
	Store     *sqlstore.DB
	Fed       *federation.Federation
	Incidents *incident.Service
	// Exchange exports incidents as STIX and IODEF documents and imports them.
	Exchange *exchange.Service
	Hotline  *hotline.Service
	Engine   *engine.Engine
	Auth     *auth.Service
	Metrics  *opmetrics.Metrics
	// Collab computes the collaboration metrics; Publisher federates them.
	Collab    *metrics.Service
	Publisher *metrics.Publisher
	Owners    *owner.Service
	Feeds     *feedrun.Service
	Partners  *partner.Service
	// Share sends partners the events routed to them and takes theirs.
	Share *feedshare.Service
	// OwnerMail sends network owners their reports.
	OwnerMail *ownermail.Service
	CVD       *cvd.Service
	// Indicators shares indicators and sightings with partners (issue 11).
	Indicators *indicator.Service
	// TAXII serves the shared indicators to TAXII 2.1 consumers; TAXIIConsumers manages
	// their accounts and TAXIIPuller pulls the configured TAXII sources (issue 16).
	TAXII          *taxii.Server
	TAXIIConsumers *taxii.Consumers
	TAXIIPuller    *taxii.Puller
	// Queue is the JetStream work queue feeds route through; nil without queue.nats_url.
	Queue *routequeue.Queue
	Log   *slog.Logger

	handler http.Handler
	server  *http.Server
	cancel  context.CancelFunc
	done    chan struct{}

	engineDone chan struct{}
}

// Options are what a node takes from its caller rather than its configuration.
type Options struct {
	Clock  clock.Clock  // default: the real clock
	Logger *slog.Logger // default: JSON to stderr at the configured level
}

// Open builds a node: opens and migrates its database, loads its key, wires services.
func Open(ctx context.Context, cfg config.Config, opts Options) (*Node, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(cfg.LogLevel)); err != nil || cfg.LogLevel == "" {
			lvl = slog.LevelInfo
		}
		opts.Logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	}
	log := opts.Logger.With("team", cfg.Team.ID)
	key, err := identity.Load(cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	pgpPublic, err := LoadOrCreatePGP(cfg.PGPKeyFile, cfg.Team.Name, cfg.Team.HotlineEmail)
	if err != nil {
		return nil, err
	}
	self := cfg.Team
	self.PublicKey, self.PGPKey = key.Public(), pgpPublic
	dir, err := team.NewDirectory(self, cfg.Peers)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	db, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	for _, note := range db.PermissionNotes() {
		log.Warn("database file permissions", "detail", note)
	}
	fo := cfg.Federation
	fed := federation.New(dir, key, db, opts.Clock, log, federation.Options{BatchSize: fo.BatchSize,
		RetryMin: time.Duration(fo.RetryMin), RetryMax: time.Duration(fo.RetryMax),
		PullInterval: time.Duration(fo.PullInterval), Timeout: time.Duration(fo.Timeout), Retention: time.Duration(fo.Retention)})
	partners := partner.New(db, fed, key, opts.Clock, log, partner.Options{Reverify: time.Duration(cfg.Directory.Reverify), Grace: time.Duration(cfg.Directory.Grace),
		NoAsks: cfg.Directory.NoAsks})
	if err := partners.Load(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := fed.Init(ctx); err != nil {
		db.Close()
		return nil, err
	}
	channels, err := openChannels(cfg, opts.Clock)
	if err != nil {
		db.Close()
		return nil, err
	}
	partners.SetMailer(channels.Mail)
	hc := cfg.Hotline
	n := &Node{Config: cfg, Store: db, Fed: fed, Log: log, Partners: partners,
		Incidents: incident.New(db, fed, key, opts.Clock, log),
		Hotline: hotline.New(db, fed, key, opts.Clock, log, channels, hotline.Options{
			FallbackAfter: time.Duration(hc.FallbackAfter), DedupeWindow: time.Duration(hc.DedupeWindow), RateLimit: hc.RateLimit,
			CommCheckEvery: time.Duration(hc.CommCheckEvery), PublicURL: cfg.Team.URL}),
		CVD:  cvd.New(db, fed, key, opts.Clock, log),
		Auth: auth.New(db, opts.Clock, log)}
	if n.Metrics, err = opmetrics.New(cfg.Metrics.TokenHash, fed, db, opts.Clock, log); err != nil {
		db.Close()
		return nil, err
	}
	if n.Owners, n.Feeds, err = openFeeds(cfg, db, opts.Clock, log); err != nil {
		db.Close()
		return nil, err
	}
	chunks := bulk.NewReceiver(fed)
	n.Share = feedshare.New(db, fed, n.Feeds, chunks, opts.Clock, log)
	n.OwnerMail = ownermail.New(db, n.Feeds, dir, channels.Mail, opts.Clock, log)
	n.Collab = metrics.NewService(db, dir, opts.Clock)
	n.Indicators = indicator.New(db, fed, opts.Clock, log)
	n.Indicators.HandleBulk(chunks)
	n.Publisher = metrics.NewPublisher(n.Collab, db, fed, cfg.Metrics.Share, log)
	modules := append(n.Hotline.Modules(), fed.Housekeeping(), partners.Reverifier(), n.Publisher, n.Share.Sender(), n.Indicators.Sender(), n.OwnerMail.Module(), api.NewIdempotencyPruner(db, opts.Clock, log),
		audit.NewCheckpointer(db, key, cfg.Team.ID, audit.CheckpointPath(cfg.DataDir), opts.Clock, log))
	if n.TAXII, err = taxii.NewServer(ctx, db, dir, opts.Clock, log); err != nil {
		db.Close()
		return nil, err
	}
	n.TAXIIConsumers = taxii.NewConsumers(db, dir, opts.Clock)
	n.TAXIIPuller = taxii.NewPuller(db, taxii.IndicatorSink{Svc: n.Indicators, St: db, Actor: indicator.Actor{Name: "taxii"}}, opts.Clock, log)
	taxiiPublisher := taxii.NewPublisher(db)
	n.Indicators.OnChanges(func(ids []string) {
		if err := taxiiPublisher.PublishMany(context.Background(), ids, opts.Clock.Now()); err != nil {
			log.Error("taxii: publish", "indicators", len(ids), "first", ids[0], "err", err)
		}
	})
	modules = append(modules, n.TAXIIPuller, taxii.NewSyncModule(taxiiPublisher, opts.Clock))
	for _, m := range modules {
		n.Metrics.Modules(m.Name())
	}
	n.Engine = engine.New(db, opts.Clock, log, engine.Options{Interval: time.Duration(hc.EngineInterval),
		Observe: n.Metrics.ObserveModule}, modules...)
	n.Hotline.SetWake(n.Engine.Wake)
	n.Indicators.SetWake(n.Engine.Wake)
	n.Hotline.SetParticipation(n.Incidents)
	// Replicas on one PostgreSQL database tell each other what changed: consoles on
	// every replica update live, and the replica whose engine holds the lease wakes for
	// a page another replica received.
	var remote func(func(kind, id string))
	if ch := db.Changes(); ch != nil {
		n.Incidents.OnChange(func(id string) { ch.Publish("incident", id) })
		n.Hotline.OnChange(func(id string) { ch.Publish("page", id) })
		ch.Subscribe(func(kind, _ string) {
			if kind == "page" {
				n.Engine.Wake()
			}
		})
		remote = ch.Subscribe
	}
	mux := http.NewServeMux()
	fed.Register(mux)
	mux.Handle("GET "+partner.IntroductionPath, partners.IntroductionHandler())
	mux.Handle(taxii.Prefix, n.TAXII.Handler())
	if q := cfg.Queue; q.NATSURL != "" {
		if n.Queue, err = routequeue.Open(ctx, routequeue.Config{URL: q.NATSURL, Stream: q.Stream, AckWait: time.Duration(q.AckWait),
			MaxDeliver: q.MaxDeliver, MaxBytes: q.MaxBytes, Replicas: q.Replicas}, "csirtlink "+cfg.Team.ID, log); err != nil {
			db.Close()
			return nil, fmt.Errorf("queue: %w", err)
		}
		n.Feeds.SetQueue(n.Queue)
	}
	apiv1 := api.New(n.Auth, n.Incidents, n.Hotline, fed, db, api.WriteReadiness(db.ProbeWrite, opts.Clock, api.ProbeEvery), log)
	apiv1.EnableIdempotency(db, opts.Clock)
	apiv1.SetMetrics(n.Collab, n.Publisher)
	apiv1.SetFeeds(n.Owners, n.Feeds, cfg.Feeds.MaxUpload)
	// Feed routing reaches partners through the directory's constituency index.
	n.Feeds.SetPartners(func(ctx context.Context) ([]route.Partner, error) {
		x, err := partners.Index(ctx)
		if err != nil {
			return nil, err
		}
		return x.RoutePartners(), nil
	})
	apiv1.SetPartners(partners, cfg.KeyFile)
	apiv1.SetIndicators(n.Indicators)
	apiv1.SetFeedShare(n.Share, n.OwnerMail)
	apiv1.SetCVD(n.CVD)
	if m, ok := channels.Mail.(cvd.Mailer); ok {
		n.CVD.SetMail(m)
	}
	provider, err := csafProvider(n.CVD, n.Auth, cfg.PGPKeyFile, pgpPublic)
	if err != nil {
		db.Close()
		return nil, err
	}
	provider.Register(mux)
	n.Exchange = exchange.New(n.Incidents, db, dir, opts.Clock)
	n.Exchange.SetIndicators(n.Indicators)
	feedTokens, err := mispFeeds(n.Exchange, cfg.MISPFeeds)
	if err != nil {
		db.Close()
		return nil, err
	}
	mux.Handle("GET "+misp.FeedPath+"/", misp.FeedHandler(n.Exchange, feedTokens, log))
	apiv1.SetExchange(n.Exchange)
	apiv1.Register(mux)
	console := web.New(web.Deps{Auth: n.Auth, Incidents: n.Incidents, Hotline: n.Hotline, CVD: n.CVD, Fed: fed, Partners: partners, Store: db, Console: db, Clock: opts.Clock, Log: log, Done: func() <-chan struct{} { return n.done },
		DeviceKey: web.DeviceKey(key.Sign), Remote: remote,
		Metrics: n.Collab, Joint: n.Publisher, Owners: n.Owners, Feeds: n.Feeds, Indicators: n.Indicators,
		TAXIIConsumers: n.TAXIIConsumers, TAXIIStore: db, TAXIIPuller: n.TAXIIPuller,
		OwnerMail: n.OwnerMail})
	console.Register(mux)
	mux.Handle(hotline.AckPath, n.Hotline.AckHandler(console.AckWords))
	mux.Handle("GET "+opmetrics.Path, n.Metrics.Handler())
	n.handler = securityHeaders(n.Metrics.Instrument(mux))
	return n, nil
}

// openFeeds makes the network owners and feed services, with the enrichment data the
// configuration names. Partners' constituencies are not known yet: the partner
// directory will give them through feedrun.Service.SetPartners.
func openFeeds(cfg config.Config, db *sqlstore.DB, clk clock.Clock, log *slog.Logger) (*owner.Service, *feedrun.Service, error) {
	var e *enrich.Enricher
	if f := cfg.Feeds; f.ASNDB != "" || f.CountryDB != "" || len(f.RIRFiles) > 0 {
		var err error
		if e, err = enrich.Open(f.ASNDB, f.CountryDB, f.RIRFiles...); err != nil {
			return nil, nil, fmt.Errorf("feeds: %w", err)
		}
	}
	fr := feedrun.New(db, formats.Registry(), e, clk, log)
	fr.Aggregate = time.Duration(cfg.Feeds.Aggregate)
	return owner.New(db, clk, log), fr, nil
}

// OpenStore opens and migrates the node's database as its configuration says: the
// SQLite file in data_dir, or the PostgreSQL database the DSN names.
func OpenStore(ctx context.Context, cfg config.Config) (*sqlstore.DB, error) {
	if cfg.Database.DriverName() == config.Postgres {
		return sqlstore.OpenPostgres(ctx, cfg.Database.DSN)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	return sqlstore.OpenSQLite(ctx, cfg.DatabasePath())
}

// securityHeaders sets the headers every response carries.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// Handler is the node's whole HTTP surface.
func (n *Node) Handler() http.Handler { return n.handler }

// Serve starts delivery and serves HTTP on ln until Close.
func (n *Node) Serve(ln net.Listener) {
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.done = make(chan struct{})
	n.server = &http.Server{Handler: n.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(n.Log.Handler(), slog.LevelWarn)}
	n.Fed.Start(ctx)
	n.engineDone = make(chan struct{})
	go func() { defer close(n.engineDone); n.Engine.Run(ctx) }()
	go func() {
		defer close(n.done)
		if err := n.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.Log.Error("http server", "err", err)
		}
	}()
	n.Log.Info("node serving", "addr", ln.Addr().String(), "url", n.Config.Team.URL)
}

// ListenAndServe binds the configured address and serves.
func (n *Node) ListenAndServe() error {
	ln, err := net.Listen("tcp", n.Config.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", n.Config.Listen, err)
	}
	n.Serve(ln)
	return nil
}

// Close stops delivery, finishes requests in flight (for up to 10 s), and closes the database.
func (n *Node) Close() error {
	if n.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.server.Shutdown(ctx)
		n.cancel()
		n.Fed.Wait()
		<-n.engineDone
		<-n.done
	}
	if n.Queue != nil {
		n.Queue.Close()
	}
	return n.Store.Close()
}

// mispFeeds sets up the configured MISP feeds: each one's audience in the exchange
// service, and its token hash for the feed handler.
func mispFeeds(ex *exchange.Service, feeds []config.MISPFeed) ([]misp.FeedToken, error) {
	auds := map[string]exchange.Audience{}
	var tokens []misp.FeedToken
	for _, f := range feeds {
		team, ceiling := f.Team, f.Audience
		if team == "" {
			team = "outside"
		}
		a, err := ex.ParseAudience(team, ceiling)
		if err != nil {
			return nil, fmt.Errorf("misp_feeds %s: %w", f.Name, err)
		}
		auds[f.Name] = a
		tokens = append(tokens, misp.FeedToken{Name: f.Name, Hash: f.TokenHash})
	}
	if err := ex.SetMISPFeeds(auds); err != nil {
		return nil, err
	}
	return tokens, nil
}
