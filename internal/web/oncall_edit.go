package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"csirtlink/internal/oncall"
	"csirtlink/internal/problem"
	"csirtlink/internal/store"
)

// Editing the on-call configuration in the console: rotations, overrides (a swap is an
// override each way; the calendar offers "cover this shift") and escalation policies.
// Every change goes through the hotline service, which validates it as the API does and
// writes the audit log; the console adds only what a form needs (parsing numbers and
// local times, refusing to overwrite a rotation by creating one with its id).

// dateTimeLocal is the layout of an <input type="datetime-local"> value.
const dateTimeLocal = "2006-01-02T15:04"

// onCallPeople are the people who may be put on call: everyone not disabled.
func (c *Console) onCallPeople(ctx context.Context) ([]store.User, error) {
	us, err := c.d.Store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(us, func(u store.User) bool { return u.DisabledAt != nil }), nil
}

// rotationForm is the form to create or change a rotation.
type rotationForm struct {
	New    bool
	ID     string // the rotation changed; "" for a new one
	Zones  []string
	Shifts []string
	People []store.User
}

func (c *Console) showRotationForm(w http.ResponseWriter, r *http.Request, v *view, status int, id string) error {
	people, err := c.onCallPeople(r.Context())
	if err != nil {
		return err
	}
	zs := zones
	if tz := v.Val("timezone"); tz != "" && !slices.Contains(zs, tz) {
		zs = append([]string{tz}, zs...)
	}
	v.Nav, v.FormName = "oncall", "rotation"
	if id == "" {
		v.Back = "/oncall/rotations/new"
	} else {
		v.Back = "/oncall/rotations/" + url.PathEscape(id)
	}
	title := v.T("oncall.newRotation")
	if id != "" {
		title = v.T("oncall.editRotation")
	}
	return c.render(w, v, status, "oncall_rotation", title, rotationForm{New: id == "", ID: id, Zones: zs,
		Shifts: []string{oncall.Daily, oncall.Weekly, oncall.Hours}, People: people})
}

func (c *Console) rotationNew(w http.ResponseWriter, r *http.Request, v *view) error {
	tz := c.dir.Self.Timezone
	start := v.Now.In(zone(tz))
	v.Form.Set("timezone", tz)
	v.Form.Set("shift", oncall.Daily)
	v.Form.Set("every", "1")
	v.Form.Set("start", time.Date(start.Year(), start.Month(), start.Day(), 9, 0, 0, 0, time.UTC).Format(dateTimeLocal))
	return c.showRotationForm(w, r, v, http.StatusOK, "")
}

func (c *Console) rotationEdit(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	cfg, err := c.d.Hotline.Config(r.Context())
	if err != nil {
		return err
	}
	i := slices.IndexFunc(cfg.Rotations, func(rt oncall.Rotation) bool { return rt.ID == id })
	if i < 0 {
		return problem.NotFound("rotation %q not found", id)
	}
	rt := cfg.Rotations[i]
	for k, val := range map[string]string{"id": rt.ID, "name": rt.Name, "timezone": rt.Timezone, "shift": rt.Shift,
		"every": strconv.Itoa(rt.Every), "start": rt.Start, "members": strings.Join(rt.Members, "\n")} {
		v.Form.Set(k, val)
	}
	return c.showRotationForm(w, r, v, http.StatusOK, id)
}

// lines splits a text area into its non-blank lines, trimmed (commas separate too).
func lines(s string) []string {
	return trimmed(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }))
}

// wholeNumber reads a number field; bad is the console's message for the field when it
// is not a whole number.
func (v *view) wholeNumber(field string) (int, error) {
	s := strings.TrimSpace(v.Val(field))
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, formError(field, v.T("form.wholeNumber"))
	}
	return n, nil
}

// rotationSave creates (POST /oncall/rotations) or changes (POST
// /oncall/rotations/{id}) a rotation.
func (c *Console) rotationSave(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	v.Form = r.PostForm
	if id != "" {
		v.Form.Set("id", id)
	}
	every, everyErr := v.wholeNumber("every")
	rt := oncall.Rotation{ID: strings.TrimSpace(v.Val("id")), Name: strings.TrimSpace(v.Val("name")), Timezone: v.Val("timezone"),
		Shift: v.Val("shift"), Every: every, Start: strings.TrimSpace(v.Val("start")), Members: lines(v.Val("members"))}
	var errs []error
	if everyErr != nil {
		errs = append(errs, everyErr)
	}
	if err := problem.CheckLine("name", rt.Name, 200, true); err != nil {
		errs = append(errs, err)
	}
	if id == "" {
		cfg, err := c.d.Hotline.Config(r.Context())
		if err != nil {
			return err
		}
		if slices.ContainsFunc(cfg.Rotations, func(o oncall.Rotation) bool { return o.ID == rt.ID }) {
			errs = append(errs, formError("id", v.T("oncall.idTaken")))
		}
	}
	err := problem.Join(errs...)
	if err == nil {
		if _, err = c.d.Hotline.PutRotation(r.Context(), v.hotlineActor(), rt); err == nil {
			c.flash(w, "ok", "flash.rotationSaved")
			http.Redirect(w, r, "/oncall", http.StatusSeeOther)
			return nil
		}
	} else {
		// The service's own checks too, so that one round trip shows every mistake.
		err = problem.Join(err, c.d.Hotline.CheckRotation(r.Context(), rt))
	}
	if !v.fieldErrors("rotation", err, nil) {
		return err
	}
	return c.showRotationForm(w, r, v, http.StatusUnprocessableEntity, id)
}

func (c *Console) rotationDelete(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := c.d.Hotline.DeleteRotation(r.Context(), v.hotlineActor(), r.PathValue("id")); err != nil {
		return err
	}
	c.flash(w, "ok", "flash.rotationDeleted")
	http.Redirect(w, r, "/oncall", http.StatusSeeOther)
	return nil
}

// overrideDefaults fills the override form: empty, or from the calendar's "cover this
// shift" (cover=ROTATION&start=…&end=…, RFC 3339), in the viewer's zone.
func (c *Console) overrideDefaults(r *http.Request, v *view) {
	q := r.URL.Query()
	v.FormName = "override"
	if rt := q.Get("cover"); rt != "" {
		v.Form.Set("rotation_id", rt)
		for _, f := range []string{"start", "end"} {
			if t, err := time.Parse(time.RFC3339, q.Get(f)); err == nil {
				v.Form.Set(f, t.In(v.Loc).Format(dateTimeLocal))
			}
		}
	}
}

// localTime reads a datetime-local field in the viewer's zone.
func (v *view) localTime(field string) (time.Time, error) {
	s := strings.TrimSpace(v.Val(field))
	if s == "" {
		return time.Time{}, problem.Invalid(field, "required")
	}
	t, err := time.ParseInLocation(dateTimeLocal, s, v.Loc)
	if err != nil {
		return time.Time{}, formError(field, v.T("form.dateTime"))
	}
	return t.UTC(), nil
}

func (c *Console) overrideAdd(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Form = r.PostForm
	start, startErr := v.localTime("start")
	end, endErr := v.localTime("end")
	o := oncall.Override{RotationID: v.Val("rotation_id"), User: v.Val("user"), Start: start, End: end, Note: strings.TrimSpace(v.Val("note"))}
	_, err := c.d.Hotline.AddOverride(r.Context(), v.hotlineActor(), o)
	if startErr != nil || endErr != nil {
		// A time the form could not read stands for "required" at the service: show
		// the form's own message for it instead.
		err = problem.Join(startErr, endErr, dropFields(err, "start", "end"))
	}
	if err == nil {
		c.flash(w, "ok", "flash.overrideAdded")
		http.Redirect(w, r, "/oncall", http.StatusSeeOther)
		return nil
	}
	if !v.fieldErrors("override", err, nil) {
		return err
	}
	pr, _ := problem.As(err)
	return c.showOnCall(w, r, v, pr.Status)
}

// dropFields removes the problems about the named fields from err.
func dropFields(err error, fields ...string) error {
	p, ok := problem.As(err)
	if !ok {
		return err
	}
	var keep []error
	for _, e := range problem.Each(p) {
		if !slices.Contains(fields, e.Field) {
			keep = append(keep, e)
		}
	}
	return problem.Join(keep...)
}

func (c *Console) overrideDelete(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := c.d.Hotline.DeleteOverride(r.Context(), v.hotlineActor(), r.PathValue("id")); err != nil {
		return err
	}
	c.flash(w, "ok", "flash.overrideDeleted")
	http.Redirect(w, r, "/oncall", http.StatusSeeOther)
	return nil
}

// policyForm is the form to create or change an escalation policy.
type policyForm struct {
	New       bool
	ID        string
	Levels    []int // the rows of levels: indexes into the form's level-N- fields
	Rotations []oncall.Rotation
	People    []store.User
}

// policyRows is how many level rows the form shows: those with something in them, and
// one more to add a level (up to the limit).
func (v *view) policyRows() []int {
	n := 0
	for i := range oncall.MaxLevels {
		if v.Val(fmt.Sprintf("level-%d-delay", i)) != "" || len(v.Vals(fmt.Sprintf("level-%d-targets", i))) > 0 {
			n = i + 1
		}
	}
	rows := make([]int, min(n+1, oncall.MaxLevels))
	for i := range rows {
		rows[i] = i
	}
	return rows
}

func (c *Console) showPolicyForm(w http.ResponseWriter, r *http.Request, v *view, status int, id string) error {
	cfg, err := c.d.Hotline.Config(r.Context())
	if err != nil {
		return err
	}
	people, err := c.onCallPeople(r.Context())
	if err != nil {
		return err
	}
	v.Nav, v.FormName = "oncall", "policy"
	v.Back = "/oncall/policies/new"
	title := v.T("oncall.newPolicy")
	if id != "" {
		v.Back, title = "/oncall/policies/"+url.PathEscape(id), v.T("oncall.editPolicy")
	}
	return c.render(w, v, status, "oncall_policy", title, policyForm{New: id == "", ID: id, Levels: v.policyRows(),
		Rotations: cfg.Rotations, People: people})
}

func (c *Console) policyNew(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Form.Set("repeat", "1")
	return c.showPolicyForm(w, r, v, http.StatusOK, "")
}

func (c *Console) policyEdit(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	cfg, err := c.d.Hotline.Config(r.Context())
	if err != nil {
		return err
	}
	i := slices.IndexFunc(cfg.Policies, func(p oncall.Policy) bool { return p.ID == id })
	if i < 0 {
		return problem.NotFound("policy %q not found", id)
	}
	p := cfg.Policies[i]
	v.Form.Set("id", p.ID)
	v.Form.Set("name", p.Name)
	v.Form.Set("repeat", strconv.Itoa(p.Repeat))
	if cfg.DefaultPolicy == p.ID {
		v.Form.Set("default", "1")
	}
	for n, l := range p.Levels {
		v.Form.Set(fmt.Sprintf("level-%d-delay", n), strconv.Itoa(l.DelayMinutes))
		for _, t := range l.Targets {
			v.Form.Add(fmt.Sprintf("level-%d-targets", n), t.Type+":"+t.ID)
		}
	}
	return c.showPolicyForm(w, r, v, http.StatusOK, id)
}

// policyFields renames a policy's JSON fields to the form's: "levels[1].delay_minutes"
// is the field level-1-delay, and anything about a level's targets is level-N-targets.
var policyFields = func() map[string]string {
	m := map[string]string{}
	for i := range oncall.MaxLevels {
		at := fmt.Sprintf("levels[%d]", i)
		m[at+".delay_minutes"] = fmt.Sprintf("level-%d-delay", i)
		m[at+".targets"] = fmt.Sprintf("level-%d-targets", i)
		for j := range oncall.MaxTargets {
			tg := fmt.Sprintf("%s.targets[%d]", at, j)
			for _, f := range []string{tg, tg + ".id", tg + ".type"} {
				m[f] = fmt.Sprintf("level-%d-targets", i)
			}
		}
	}
	return m
}()

func init() {
	for i := range oncall.MaxLevels {
		formFields["policy"] = append(formFields["policy"], fmt.Sprintf("level-%d-delay", i), fmt.Sprintf("level-%d-targets", i))
	}
}

// policySave creates (POST /oncall/policies) or changes (POST /oncall/policies/{id}) a
// policy. Level rows left empty are dropped; the levels keep the order of the rows.
func (c *Console) policySave(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	v.Form = r.PostForm
	if id != "" {
		v.Form.Set("id", id)
	}
	p := oncall.Policy{ID: strings.TrimSpace(v.Val("id")), Name: strings.TrimSpace(v.Val("name"))}
	var errs []error
	repeat, err := v.wholeNumber("repeat")
	errs = append(errs, err, problem.CheckLine("name", p.Name, 200, true))
	p.Repeat = repeat
	// The service names a level by its place among the levels sent; the form by its row.
	fields := map[string]string{}
	for row := range oncall.MaxLevels {
		delayField, targetsField := fmt.Sprintf("level-%d-delay", row), fmt.Sprintf("level-%d-targets", row)
		targets := trimmed(v.Vals(targetsField))
		if strings.TrimSpace(v.Val(delayField)) == "" && len(targets) == 0 {
			continue
		}
		delay, err := v.wholeNumber(delayField)
		errs = append(errs, err)
		l := oncall.Level{DelayMinutes: delay}
		for _, t := range targets {
			typ, tid, _ := strings.Cut(t, ":")
			l.Targets = append(l.Targets, oncall.Target{Type: typ, ID: tid})
		}
		n := len(p.Levels)
		for k, f := range policyFields {
			if strings.HasPrefix(k, fmt.Sprintf("levels[%d].", n)) {
				fields[k] = strings.Replace(f, fmt.Sprintf("level-%d-", n), fmt.Sprintf("level-%d-", row), 1)
			}
		}
		p.Levels = append(p.Levels, l)
	}
	if id == "" {
		cfg, err := c.d.Hotline.Config(r.Context())
		if err != nil {
			return err
		}
		if slices.ContainsFunc(cfg.Policies, func(o oncall.Policy) bool { return o.ID == p.ID }) {
			errs = append(errs, formError("id", v.T("oncall.idTaken")))
		}
	}
	err = problem.Join(errs...)
	if err == nil {
		if err = c.d.Hotline.PutPolicy(r.Context(), v.hotlineActor(), p, v.Val("default") != ""); err == nil {
			c.flash(w, "ok", "flash.policySaved")
			http.Redirect(w, r, "/oncall", http.StatusSeeOther)
			return nil
		}
	} else {
		// The service's own checks too, so that one round trip shows every mistake.
		err = problem.Join(err, c.d.Hotline.CheckPolicy(r.Context(), p))
	}
	if !v.fieldErrors("policy", err, fields) {
		return err
	}
	return c.showPolicyForm(w, r, v, http.StatusUnprocessableEntity, id)
}
