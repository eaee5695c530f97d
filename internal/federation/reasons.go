package federation

// RefusalReasons are the words refusals are recorded under (store.Refusal.Reason), so
// that the operational metrics can show every reason from the first scrape, at 0. A
// test reads this package's code and fails when a refusal uses a word not listed.
var RefusalReasons = []string{
	"unsigned", "unknown peer", "revoked peer", "inactive peer", "misdirected", "out of window", "bad request signature",
	"signed before start", "replayed request", "too many requests", "too large", "bad body", "malformed",
	"bad receipt", "origin mismatch", "tampered", "seq reused", "replay",
}
