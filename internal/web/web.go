// Package web is the duty officers' console: server-rendered pages in English, Chinese,
// Japanese and Korean, with live updates.
//
// Every screen is rendered on the server with html/template and works with plain forms;
// static/console.js only adds live updates over Server-Sent Events and small comforts.
// Sessions are server-side (the cookie holds a secret whose SHA-256 is stored), every
// form carries a CSRF token, and the Content-Security-Policy allows no inline script or
// style.
package web

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"csirtlink/internal/auth"
	"csirtlink/internal/clock"
	"csirtlink/internal/cvd"
	"csirtlink/internal/federation"
	"csirtlink/internal/feedrun"
	"csirtlink/internal/hotline"
	"csirtlink/internal/incident"
	"csirtlink/internal/indicator"
	"csirtlink/internal/metrics"
	"csirtlink/internal/owner"
	"csirtlink/internal/ownermail"
	directory "csirtlink/internal/partner"
	"csirtlink/internal/store"
	"csirtlink/internal/taxii"
	"csirtlink/internal/team"
)

// Deps is what the console needs from the node.
type Deps struct {
	Auth      *auth.Service
	Incidents *incident.Service
	// Hotline, when set, adds the hotline's screens (pages, on call, comm checks) and
	// puts pages waiting for our acknowledgement at the top of the dashboard.
	Hotline *hotline.Service
	// CVD, when set, adds the vulnerability cases' screens.
	CVD *cvd.Service
	Fed *federation.Federation
	// Partners, when set, adds the partner directory's screens (docs/partners.md).
	Partners *directory.Service
	Store    store.Store
	// Console keeps sessions, second factors and preferences.
	Console store.Console
	Clock   clock.Clock
	Log     *slog.Logger
	// Done, when set, returns a channel closed when the node stops serving; live
	// update streams end then, so that shutting down does not wait for them.
	Done func() <-chan struct{}
	// Remote, when set, subscribes to changes other replicas of this node made
	// (kind "incident" or "page", and the id), so that live updates reach consoles open
	// on every replica. Nil for a node of one process.
	Remote func(func(kind, id string))
	// Metrics and Joint, when set, add the collaboration figures and the joint report.
	Metrics *metrics.Service
	Joint   *metrics.Publisher
	// Owners and Feeds, when set, add the network owners and feed runs.
	Owners *owner.Service
	Feeds  *feedrun.Service
	// OwnerMail, when set, shows each owner's reports and lets them be resent.
	OwnerMail *ownermail.Service
	// Indicators, when set, adds the shared indicators' screens and the search box.
	Indicators *indicator.Service
	// TAXIIConsumers, TAXIIStore and TAXIIPuller, when set, add the TAXII screen:
	// consumer accounts, sources and their last pulls (docs/taxii.md).
	TAXIIConsumers *taxii.Consumers
	TAXIIStore     store.TAXII
	TAXIIPuller    *taxii.Puller
	// DeviceKey signs the cookies of known devices (see DeviceKey); when empty, a
	// random key is used and devices are forgotten at a restart.
	DeviceKey []byte
}

// Limits and lifetimes of sign-in.
const (
	sessionIdle     = 12 * time.Hour // a shift
	sessionMax      = 72 * time.Hour // then sign in again
	pendingLifetime = 5 * time.Minute
	touchEvery      = time.Minute
)

// Console serves the web console.
type Console struct {
	d     Deps
	dir   *team.Directory
	log   *slog.Logger
	pages map[string]*pageTemplate
	i18n  *translations
	hub   *hub
	// Throttles of guessing (ratelimit.go): failed sign-ins per account name and per
	// client address from strangers, per known device, and failed second-factor codes
	// and password checks per person (or device, or session).
	accounts, addrs, devices, codes *throttle
	deviceKey                       []byte
	static                          staticFiles
	secure                          bool // the node's URL is https: cookies get Secure and the __Host- prefix
}

// New makes the console. It registers for incident and page changes, so call it before
// the node serves.
func New(d Deps) *Console {
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	c := &Console{d: d, dir: d.Fed.Directory(), log: d.Log.With("component", "web"), hub: newHub(),
		accounts: newThrottle(d.Clock, accountRule), addrs: newThrottle(d.Clock, addressRule),
		devices: newThrottle(d.Clock, deviceRule), codes: newThrottle(d.Clock, codeRule), deviceKey: d.DeviceKey}
	if len(c.deviceKey) < 32 {
		c.deviceKey = randomKey()
	}
	c.secure = strings.HasPrefix(c.dir.Self.URL, "https://")
	c.i18n = mustLoadTranslations()
	c.pages = mustParsePages()
	c.static = mustLoadStatic()
	if d.Incidents != nil {
		d.Incidents.OnChange(func(id string) { c.hub.publish(event{Kind: "incident", ID: id}) })
	}
	if d.Hotline != nil {
		d.Hotline.OnChange(func(id string) { c.hub.publish(event{Kind: "page", ID: id}) })
	}
	if d.Remote != nil {
		d.Remote(func(kind, id string) {
			if kind == "incident" || kind == "page" {
				c.hub.publish(event{Kind: kind, ID: id})
			}
		})
	}
	return c
}

// Register mounts the console's routes on mux. Each route names the permission it needs.
func (c *Console) Register(mux *http.ServeMux) {
	h := func(pattern string, handler http.Handler) { mux.Handle(pattern, c.headers(handler)) }

	h("GET /static/{file}", http.HandlerFunc(c.serveStatic))

	h("GET /signin", c.public(c.signinForm))
	h("POST /signin", c.public(c.signin))
	h("GET /signin/code", c.pending(c.codeForm))
	h("POST /signin/code", c.pending(c.code))
	h("POST /signout", c.signedIn(auth.Read, c.signout))
	h("POST /language", c.public(c.setLanguage))

	h("GET /{$}", c.signedIn(auth.Read, c.dashboard))
	h("GET /incidents", c.signedIn(auth.Read, c.incidentList))
	h("GET /incidents/new", c.signedIn(auth.Write, c.incidentNew))
	h("POST /incidents", c.signedIn(auth.Write, c.incidentCreate))
	h("GET /incidents/{id}", c.signedIn(auth.Read, c.incidentShow))
	h("POST /incidents/{id}/comments", c.signedIn(auth.Write, c.incidentComment))
	h("POST /incidents/{id}/observables", c.signedIn(auth.Write, c.incidentObservable))
	h("POST /incidents/{id}/status", c.signedIn(auth.Write, c.incidentStatus))
	h("POST /incidents/{id}/participation", c.signedIn(auth.Write, c.incidentParticipation))
	h("POST /incidents/{id}/participants", c.signedIn(auth.Write, c.incidentInvite))
	if c.d.Hotline != nil {
		h("GET /hotline", c.signedIn(auth.Read, c.hotlineScreen))
		h("GET /hotline/new", c.signedIn(auth.Write, c.sendForm))
		h("POST /hotline", c.signedIn(auth.Write, c.pageSend))
		h("GET /hotline/pages/{id}", c.signedIn(auth.Read, c.pageShow))
		h("POST /hotline/pages/{id}/ack", c.signedIn(auth.Write, c.pageAck))
		h("POST /hotline/pages/{id}/resolve", c.signedIn(auth.Write, c.pageResolve))
		h("POST /hotline/pages/{id}/fallback", c.signedIn(auth.Write, c.pageFallback))
		h("GET /oncall", c.signedIn(auth.Read, c.onCall))
		h("GET /oncall/calendar", c.signedIn(auth.Read, c.onCallCalendar))
		h("GET /oncall/rotations/new", c.signedIn(auth.Configure, c.rotationNew))
		h("POST /oncall/rotations", c.signedIn(auth.Configure, c.rotationSave))
		h("GET /oncall/rotations/{id}", c.signedIn(auth.Configure, c.rotationEdit))
		h("POST /oncall/rotations/{id}", c.signedIn(auth.Configure, c.rotationSave))
		h("POST /oncall/rotations/{id}/delete", c.signedIn(auth.Configure, c.rotationDelete))
		h("POST /oncall/overrides", c.signedIn(auth.Configure, c.overrideAdd))
		h("POST /oncall/overrides/{id}/delete", c.signedIn(auth.Configure, c.overrideDelete))
		h("GET /oncall/policies/new", c.signedIn(auth.Configure, c.policyNew))
		h("POST /oncall/policies", c.signedIn(auth.Configure, c.policySave))
		h("GET /oncall/policies/{id}", c.signedIn(auth.Configure, c.policyEdit))
		h("POST /oncall/policies/{id}", c.signedIn(auth.Configure, c.policySave))
		h("POST /account/contacts", c.signedIn(auth.Read, c.contactAdd))
		h("POST /account/contacts/{id}/delete", c.signedIn(auth.Read, c.contactDelete))
		h("GET /commchecks", c.signedIn(auth.Read, c.commChecks))
		h("POST /commchecks", c.signedIn(auth.Write, c.commCheckRun))
	}
	if c.d.Metrics != nil && c.d.Joint != nil {
		h("GET /collaboration", c.signedIn(auth.Read, c.collaboration))
		h("GET /collaboration/report", c.signedIn(auth.Read, c.collabReport))
	}
	if c.d.Owners != nil && c.d.Feeds != nil {
		h("GET /feeds", c.signedIn(auth.Read, c.feeds))
		h("POST /feeds", withUpload(maxUpload, c.signedIn(auth.Write, c.feedUpload)))
		h("GET /feeds/runs/{id}", c.signedIn(auth.Read, c.feedRun))
		h("GET /owners", c.signedIn(auth.Read, c.owners))
		h("GET /owners/{id}", c.signedIn(auth.Read, c.ownerShow))
		h("GET /feeds/received", c.signedIn(auth.Read, c.feedsReceived))
		h("GET /owners/new", c.signedIn(auth.Configure, c.ownerNew))
		h("POST /owners", c.signedIn(auth.Configure, c.ownerSave))
		h("GET /owners/{id}/edit", c.signedIn(auth.Configure, c.ownerEdit))
		h("POST /owners/{id}", c.signedIn(auth.Configure, c.ownerSave))
		if c.d.OwnerMail != nil {
			h("POST /owners/{id}/reports/{report}/resend", c.signedIn(auth.Write, c.ownerReportResend))
		}
	}
	if c.d.Indicators != nil {
		h("GET /indicators", c.signedIn(auth.Read, c.indicatorList))
		h("GET /indicators/{id}", c.signedIn(auth.Read, c.indicatorShow))
		h("POST /indicators/{id}/sightings", c.signedIn(auth.Write, c.indicatorSighting))
		h("GET /search", c.signedIn(auth.Read, c.search))
	}
	if c.d.CVD != nil {
		h("GET /cvd", c.signedIn(auth.CaseAccess, c.cvdList))
		h("GET /cvd/{id}", c.signedIn(auth.CaseAccess, c.cvdShow))
		h("POST /cvd/{id}/status", c.signedIn(auth.CaseAccess, c.cvdStatus))
		h("POST /cvd/{id}/agree", c.signedIn(auth.Write, c.cvdAgree))
		h("POST /cvd/{id}/object", c.signedIn(auth.Write, c.cvdObject))
		h("POST /cvd/{id}/edit", c.signedIn(auth.Write, c.cvdEdit))
		h("POST /cvd/{id}/vulnerabilities", c.signedIn(auth.Write, c.cvdVuln))
		h("POST /cvd/{id}/products", c.signedIn(auth.Write, c.cvdProduct))
		h("POST /cvd/{id}/vendors", c.signedIn(auth.Write, c.cvdVendor))
		h("POST /cvd/{id}/mail", c.signedIn(auth.Write, c.cvdMail))
		h("POST /cvd/{id}/advisory", c.signedIn(auth.Write, c.cvdAdvisory))
		h("POST /cvd/{id}/remove", c.signedIn(auth.Write, c.cvdRemove))
		h("POST /cvd/{id}/vendors/{vendor}/tlp", c.signedIn(auth.Write, c.cvdVendorTLP))
	}
	if c.d.TAXIIConsumers != nil && c.d.TAXIIStore != nil && c.d.TAXIIPuller != nil {
		h("GET /taxii", c.signedIn(auth.Manage, c.taxiiShow))
		h("POST /taxii/consumers", c.signedIn(auth.Manage, c.taxiiConsumerCreate))
		h("POST /taxii/consumers/{name}/rotate", c.signedIn(auth.Manage, c.taxiiConsumerRotate))
		h("POST /taxii/consumers/{name}/disable", c.signedIn(auth.Manage, c.taxiiConsumerState(true)))
		h("POST /taxii/consumers/{name}/enable", c.signedIn(auth.Manage, c.taxiiConsumerState(false)))
		h("POST /taxii/consumers/{name}/delete", c.signedIn(auth.Manage, c.taxiiConsumerDelete))
		h("POST /taxii/sources", c.signedIn(auth.Manage, c.taxiiSourceSave))
		h("POST /taxii/sources/{id}/pull", c.signedIn(auth.Manage, c.taxiiSourcePull))
		h("POST /taxii/sources/{id}/remove", c.signedIn(auth.Manage, c.taxiiSourceRemove))
	}
	h("GET /peers", c.signedIn(auth.Read, c.peers))
	if c.d.Partners != nil {
		h("GET /directory", c.signedIn(auth.Read, c.directory))
		h("POST /directory", c.signedIn(auth.Manage, c.directoryAdd))
		h("POST /directory/confirm", c.signedIn(auth.Manage, c.directoryConfirm))
		h("GET /directory/{id}", c.signedIn(auth.Read, c.directoryPartner))
		h("POST /directory/{id}/approve", c.signedIn(auth.Manage, c.directoryApprove))
		h("POST /directory/{id}/hotline-check", c.signedIn(auth.Manage, c.directoryHotlineCheck))
		h("POST /directory/{id}/hotline-code", c.signedIn(auth.Manage, c.directoryHotlineCode))
		h("POST /directory/{id}/suspend", c.signedIn(auth.Manage, c.directoryStatus(team.StatusSuspended)))
		h("POST /directory/{id}/revoke", c.signedIn(auth.Manage, c.directoryStatus(team.StatusRevoked)))
	}
	h("POST /peers/{id}/retry", c.signedIn(auth.Configure, c.peerRetry))
	h("GET /audit", c.signedIn(auth.Manage, c.audit))
	h("GET /people", c.signedIn(auth.Manage, c.people))
	h("POST /people/{name}/disable", c.signedIn(auth.Manage, c.personDisable))
	h("POST /people/{name}/enable", c.signedIn(auth.Manage, c.personEnable))
	h("POST /people/{name}/signout", c.signedIn(auth.Manage, c.personSignOut))
	h("GET /account", c.signedIn(auth.Read, c.account))
	h("POST /account/preferences", c.signedIn(auth.Read, c.accountPreferences))
	h("POST /account/password", c.signedIn(auth.Read, c.accountPassword))
	h("POST /account/totp", c.signedIn(auth.Read, c.totpStart))
	h("POST /account/totp/confirm", c.signedIn(auth.Read, c.totpConfirm))
	h("POST /account/totp/disable", c.signedIn(auth.Read, c.totpDisable))
	h("GET /events", http.HandlerFunc(c.events))

	h("/", c.public(c.notFound))
}
