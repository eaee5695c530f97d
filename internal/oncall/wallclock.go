package oncall

import "time"

// maxOffset bounds every UTC offset in the tz database, in seconds. The widest are the
// local mean times of the 1800s (Manila about -15:56, Juneau about +15:02).
const maxOffset = 18 * 60 * 60

// wallClock returns the instant at which clocks in loc show the wall time w, whose
// date and clock fields are read without regard to w's own zone.
//
// A hand-off is a local wall-clock time, and where clocks change such a time can be
// skipped or happen twice. time.Date settles both by an implementation detail that
// differs by hemisphere (a skipped 02:30 becomes 03:30 in Berlin but 01:30 in New
// York), so the rule is our own, the one RFC 5545 gives for calendar events:
//   - a skipped time (clocks spring forward over it) is read with the offset in force
//     before the jump, so it lands as long after the jump as it was meant to be after
//     its start: 02:30 on a night clocks go from 02:00 to 03:00 is 03:30 new time;
//   - a repeated time (clocks fall back over it) is its first occurrence, in the offset
//     in force before the change.
func wallClock(w time.Time, loc *time.Location) time.Time {
	naive := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, time.UTC).Unix()
	limit := naive + maxOffset
	cur := time.Unix(naive-maxOffset, 0).In(loc)
	// Walk the zone's periods in order, over every instant whose clock could show w.
	// The first period holding w is its first occurrence.
	for {
		_, off := cur.Zone()
		start, end := cur.ZoneBounds()
		u := naive - int64(off)
		if (start.IsZero() || u >= start.Unix()) && (end.IsZero() || u < end.Unix()) {
			return time.Unix(u, 0).UTC()
		}
		if end.IsZero() || end.Unix() > limit || !end.After(cur) {
			break
		}
		next := end.In(loc)
		_, after := next.Zone()
		// Clocks jumped from end+off to end+after; w lies in the skipped stretch.
		if end.Unix()+int64(off) <= naive && naive < end.Unix()+int64(after) {
			return time.Unix(u, 0).UTC()
		}
		cur = next
	}
	// No zone in the tz database gets here; Go's own normalisation is still an answer.
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, loc).UTC()
}
