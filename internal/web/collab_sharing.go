package web

import "math"

// PctPtr is a share (0 to 1) as a whole percentage, or "—" when there is none.
func (v *view) PctPtr(share *float64) string {
	if share == nil {
		return "—"
	}
	return v.T("collab.pct", int(math.Round(*share*100)))
}
