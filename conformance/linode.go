package conformance

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/eventsim/eventsim/schemas"
)

// Linode check ids.
const (
	IDLinodeAuth        = "linode.auth"
	IDLinodeEnvelope    = "linode.page.envelope"
	IDLinodeEventSchema = "linode.event.schema"
	IDLinodeWalk        = "linode.page.walk"
	IDLinodePageSize    = "linode.page.size"
	IDLinodeGet         = "linode.event.get"
	IDLinodeNotFound    = "linode.event.notfound"
	IDLinodeFilterEq    = "linode.filter.equality"
	IDLinodeFilterOps   = "linode.filter.operators"
	IDLinodeFilterOrder = "linode.filter.order"
	IDLinodeFilterBad   = "linode.filter.invalid"
	IDLinodeRateLimit   = "linode.ratelimit"
	IDLinodeSeen        = "linode.seen"
)

// LinodeOptions configures RunLinode; the first fields map 1:1 to the flags
// of `eventsim conform linode`.
type LinodeOptions struct {
	// Target is the API root, http(s)://HOST/v4 (--target).
	Target string
	// Token is the bearer token (--token).
	Token string
	// Mutate allows POST .../seen, which changes the account (--mutate).
	Mutate bool
	// Strict turns warnings into failures (--strict).
	Strict bool
	// Insecure skips verifying an https target's certificate (--insecure).
	Insecure bool

	// Retries is how many times one request is sent again after a transient
	// failure, as linodego does: a 429 (after its Retry-After), a 503, or a
	// connection cut before any answer. Each retry is named in the check's
	// note. 0 means 10 (linode-failures alone stacks six transient failures
	// on one request); a negative value means none (--retries 0).
	Retries int
	// RetryBudget bounds how long all retries of the run may wait together;
	// past it no request is retried. 0 means 5 minutes.
	RetryBudget time.Duration

	// HTTPClient is used when set (tests); nil means a client with a 30s timeout.
	HTTPClient *http.Client
	// Validate is the schema validator; nil means schemas.Validate.
	Validate Validator
}

type linodeRun struct {
	o    LinodeOptions
	base string
	hc   *http.Client
	rep  *Report
	// retried counts the transient failures retried since the last check
	// was added, by kind ("429", "503", "connection closed without an
	// answer"); add() puts them in that check's note.
	retried map[string]int
	// waited is how long retries have waited in all; past retryBudget
	// no request is retried any more.
	waited time.Duration
}

// maxRetryAfter caps how long one 429's Retry-After makes the run wait;
// LinodeOptions.RetryBudget how long all of a run's retries may wait
// together, so a target that always answers 429 is judged within minutes.
const (
	maxRetryAfter      = 2 * time.Minute
	defaultRetryBudget = 5 * time.Minute
)

type lnResp struct {
	status int
	header http.Header
	body   []byte
}

func (x *lnResp) subject(method, p string, hdr string) []byte {
	s := method + " " + p
	if hdr != "" {
		s += " X-Filter: " + hdr
	}
	return fmt.Appendf(nil, "%s -> %d %s", s, x.status, bytes.TrimSpace(x.body))
}

// get sends one request, retrying transient failures as linodego does: 429
// after Retry-After, 503 with a growing pause, and a connection closed
// before any answer (a reset or EOF; "connection refused" is not retried, so
// an unreachable target fails at once). The last answer is returned whatever
// it is, so a server that stays unavailable is judged on it.
func (r *linodeRun) get(ctx context.Context, method, p string, token bool, filter string) (*lnResp, error) {
	retries := r.o.Retries
	if retries == 0 {
		retries = 10
	}
	pause := 250 * time.Millisecond
	for attempt := 0; ; attempt++ {
		x, err := r.send(ctx, method, p, token, filter)
		var kind string
		wait := pause
		switch {
		case err != nil && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
			kind = "connection closed without an answer"
		case err != nil:
			return nil, err
		case x.status == http.StatusTooManyRequests:
			kind = "429"
			wait = time.Second
			wait = retryAfter(x.header.Get("Retry-After"), time.Now())
		case x.status == http.StatusServiceUnavailable:
			kind = "503"
		default:
			return x, nil
		}
		if attempt >= retries || ctx.Err() != nil {
			return x, err
		}
		if r.retried == nil {
			r.retried = map[string]int{}
		}
		budget := r.o.RetryBudget
		if budget <= 0 {
			budget = defaultRetryBudget
		}
		if r.waited+wait > budget {
			r.retried["not retried: the run's "+budget.String()+" of retry waits is spent"]++
			return x, err
		}
		r.waited += wait
		r.retried[kind]++
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// retryAfter reads a 429's Retry-After, seconds or an HTTP date, as a wait
// from now: 1s when it is missing or unreadable, at most maxRetryAfter.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return min(time.Duration(s)*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter)
	}
	return time.Second
}

// retryNote says which transient failures were retried since the last call.
func (r *linodeRun) retryNote() string {
	if len(r.retried) == 0 {
		return ""
	}
	kinds := make([]string, 0, len(r.retried))
	for k := range r.retried {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s ×%d", k, r.retried[k])
	}
	r.retried = nil
	return "retried transient failures as linodego does: " + strings.Join(parts, ", ")
}

func (r *linodeRun) send(ctx context.Context, method, p string, token bool, filter string) (*lnResp, error) {
	var body io.Reader
	if method == "POST" {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+p, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	if token {
		req.Header.Set("Authorization", "Bearer "+r.o.Token)
	}
	if filter != "" {
		req.Header.Set("X-Filter", filter)
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, err
	}
	return &lnResp{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func (r *linodeRun) validate(name string, doc []byte) error {
	if r.o.Validate != nil {
		return r.o.Validate(name, doc)
	}
	return schemas.Validate(name, doc)
}

// lnEvent is an Event kept both decoded (for comparisons) and raw.
type lnEvent struct {
	id     int64
	action string
	etype  string
	eid    any
	cr     string
	status string
	seen   bool
	raw    json.RawMessage
	full   map[string]any
}

type lnPage struct {
	Data    []json.RawMessage `json:"data"`
	Page    int               `json:"page"`
	Pages   int               `json:"pages"`
	Results int               `json:"results"`
}

func decodeEvent(raw json.RawMessage) lnEvent {
	e := lnEvent{raw: raw}
	_ = json.Unmarshal(raw, &e.full)
	if f, ok := e.full["id"].(float64); ok {
		e.id = int64(f)
	}
	e.action, _ = e.full["action"].(string)
	e.cr, _ = e.full["created"].(string)
	e.status, _ = e.full["status"].(string)
	e.seen, _ = e.full["seen"].(bool)
	if ent, ok := e.full["entity"].(map[string]any); ok {
		e.etype, _ = ent["type"].(string)
		e.eid = ent["id"]
	}
	return e
}

// errorEnvelope checks a Linode error answer: the wanted status, exactly
// application/json and a non-empty errors array; field, when given, must be
// named by one of the errors.
func (r *linodeRun) errorEnvelope(rec *recorder, x *lnResp, subj []byte, want int, field string) {
	rec.checked++
	if x.status != want {
		rec.fail(subj, "answered %d, want %d", x.status, want)
		return
	}
	if ct := x.header.Get("Content-Type"); ct != "application/json" {
		rec.fail(subj, "Content-Type %q; linodego needs exactly application/json on errors", ct)
	}
	if err := r.validate(schemas.LinodeErrors, x.body); err != nil {
		rec.fail(subj, "not Linode's error envelope: %v", err)
		return
	}
	if field != "" {
		var env struct {
			Errors []struct{ Field string } `json:"errors"`
		}
		_ = json.Unmarshal(x.body, &env)
		for _, e := range env.Errors {
			if e.Field == field {
				return
			}
		}
		rec.fail(subj, "no error names the field %q", field)
	}
}

// newLinodeRun makes the client side of a run: base URL and HTTP client.
func newLinodeRun(o LinodeOptions) *linodeRun {
	r := &linodeRun{o: o, base: strings.TrimSuffix(o.Target, "/"), hc: o.HTTPClient}
	if r.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if o.Insecure {
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it
		}
		r.hc = &http.Client{Timeout: 30 * time.Second, Transport: tr}
	}
	return r
}

// RunLinode checks a live Linode API (or eventsim's) /account/events.
func RunLinode(ctx context.Context, o LinodeOptions) (*Report, error) {
	start := time.Now()
	u, err := url.Parse(o.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &ConfigError{Field: "target", Msg: fmt.Sprintf("%q, must be http(s)://HOST/v4", o.Target)}
	}
	if o.Token == "" {
		return nil, &ConfigError{Field: "token", Msg: "a token is required (--token)"}
	}
	r := newLinodeRun(o)
	r.rep = &Report{Suite: "linode", Target: o.Target, Started: start, Strict: o.Strict}
	const list = "/account/events"

	// Reachability and the first page.
	first, err := r.get(ctx, "GET", list, true, "")
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s%s: %v", ErrTarget, r.base, list, err)
	}
	firstRetries := r.retryNote()
	add := func(rec *recorder) {
		if n := r.retryNote(); n != "" {
			rec.notef("%s", n)
		}
		r.rep.Results = append(r.rep.Results, rec.result())
	}

	auth := newRecorder(IDLinodeAuth, "a request without a token is refused with 401 in the errors envelope")
	if x, err := r.get(ctx, "GET", list, false, ""); err != nil {
		auth.fail(nil, "GET %s without token: %v", list, err)
	} else {
		r.errorEnvelope(auth, x, x.subject("GET", list+" (no Authorization)", ""), 401, "")
	}
	add(auth)

	env := newRecorder(IDLinodeEnvelope, "a page is {data, page, pages, results} with valid Events")
	if firstRetries != "" {
		env.notef("%s", firstRetries)
	}
	env.checked++
	subj := first.subject("GET", list, "")
	var p1 lnPage
	if first.status != 200 {
		env.fail(subj, "answered %d, want 200", first.status)
	} else if err := r.validate(schemas.LinodeEventPage, first.body); err != nil {
		env.fail(subj, "%v", err)
	}
	if ct := first.header.Get("Content-Type"); first.status == 200 && ct != "application/json" {
		env.fail(subj, "Content-Type %q, want application/json", ct)
	}
	if err := json.Unmarshal(first.body, &p1); err != nil && first.status == 200 {
		env.fail(subj, "the page is not JSON: %v", err)
	} else if p1.Page != 1 {
		env.fail(subj, "page is %d for the first page, want 1", p1.Page)
	}
	add(env)

	rl := newRecorder(IDLinodeRateLimit, "rate-limit headers are present")
	rl.checked++
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		if v := first.header.Get(h); v == "" {
			rl.warn(nil, "header %s is missing; clients pace themselves with it", h)
		} else if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			rl.fail(nil, "header %s is %q, want an integer", h, v)
		}
	}
	add(rl)

	// Walk every page at the smallest page size.
	walk := newRecorder(IDLinodeWalk, "walking all pages gives `results` events, no duplicates, consistent `pages`")
	all, ok := r.stableWalk(ctx, walk, nil, 25, 0)
	add(walk)
	// The Events themselves go through the same checks as a recording's.
	ec, err := NewLinodeEventChecker(LinodeEventOptions{Strict: o.Strict, Validate: o.Validate})
	if err != nil {
		return nil, err
	}
	for _, e := range all {
		ec.Observe(Observation{Raw: e.raw})
	}
	r.rep.Results = append(r.rep.Results, ec.Results()...)
	r.rep.Coverage = ec.Coverage()
	r.rep.Events = len(all)

	ps := newRecorder(IDLinodePageSize, "page_size outside 25..500 is refused with 400 naming the field")
	for _, n := range []int{24, 501} {
		q := fmt.Sprintf("%s?page_size=%d", list, n)
		if x, err := r.get(ctx, "GET", q, true, ""); err != nil {
			ps.fail(nil, "GET %s: %v", q, err)
		} else {
			r.errorEnvelope(ps, x, x.subject("GET", q, ""), 400, "page_size")
		}
	}
	add(ps)

	getRec := newRecorder(IDLinodeGet, "GET /account/events/{id} equals the list item")
	nf := newRecorder(IDLinodeNotFound, "an unknown id is 404 in the errors envelope")
	var maxID int64
	for _, e := range all {
		maxID = max(maxID, e.id)
	}
	if len(all) == 0 {
		getRec.skip("the account has no events")
	} else {
		for _, i := range []int{0, len(all) / 2, len(all) - 1} {
			e := all[i]
			q := fmt.Sprintf("%s/%d", list, e.id)
			getRec.checked++
			x, err := r.get(ctx, "GET", q, true, "")
			if err != nil {
				getRec.fail(nil, "GET %s: %v", q, err)
				continue
			}
			if x.status != 200 {
				getRec.fail(x.subject("GET", q, ""), "answered %d, want 200", x.status)
				continue
			}
			one := decodeEvent(x.body)
			if !sameEvent(e, one) {
				getRec.fail(x.subject("GET", q, ""), "differs from the list item %s", e.raw)
			}
		}
	}
	q := fmt.Sprintf("%s/%d", list, maxID+1_000_000)
	if x, err := r.get(ctx, "GET", q, true, ""); err != nil {
		nf.fail(nil, "GET %s: %v", q, err)
	} else {
		r.errorEnvelope(nf, x, x.subject("GET", q, ""), 404, "")
	}
	add(getRec)
	add(nf)

	r.filters(ctx, all, ok, add)

	seen := newRecorder(IDLinodeSeen, "POST .../{id}/seen marks every event up to and including id")
	switch {
	case !o.Mutate:
		seen.skip("--mutate not set: marking events seen changes the account")
	case len(all) == 0:
		seen.skip("the account has no events")
	default:
		ids := make([]int64, len(all))
		for i, e := range all {
			ids[i] = e.id
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		mid := ids[len(ids)/2]
		q := fmt.Sprintf("%s/%d/seen", list, mid)
		seen.checked++
		if x, err := r.get(ctx, "POST", q, true, ""); err != nil {
			seen.fail(nil, "POST %s: %v", q, err)
		} else if x.status != 200 {
			seen.fail(x.subject("POST", q, ""), "answered %d, want 200 {}", x.status)
		} else if !json.Valid(x.body) {
			seen.fail(x.subject("POST", q, ""), "the body is not JSON; linodego fails on an empty 200")
		} else {
			after, _ := r.stableWalk(ctx, newRecorder("", ""), nil, 100, 0)
			for _, e := range after {
				if e.id <= mid && !e.seen {
					seen.fail(e.raw, "event %d is not seen after POST .../%d/seen", e.id, mid)
				}
			}
		}
	}
	add(seen)

	sortResults(r.rep.Results)
	r.rep.Elapsed = time.Since(start)
	return r.rep, nil
}

// sameEvent compares a GET with its list item: everything for events that no
// longer change, the identity otherwise (a running event moves on).
func sameEvent(a, b lnEvent) bool {
	if a.id != b.id || a.action != b.action || a.cr != b.cr || !reflect.DeepEqual(a.full["entity"], b.full["entity"]) {
		return false
	}
	switch a.status {
	case "finished", "failed", "notification":
		x, y := maps(a.full), maps(b.full)
		delete(x, "seen")
		delete(y, "seen")
		delete(x, "read")
		delete(y, "read")
		return reflect.DeepEqual(x, y)
	}
	return true
}

func maps(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// walkAttempts is how many times a walk is tried while the list changes
// under it before the walk is pinned to the events already there.
const walkAttempts = 3

// stableWalk walks a list as walk does. A live account gains events while it
// is walked (newest first, so every page shifts by the events added, and a
// client sees repeats); when `results` changes between the pages of a walk,
// the walk is taken again, and after walkAttempts it is pinned to the ids
// known ({"id":{"+lte":pin}} ANDed with filter), which a growing account
// cannot shift. pin 0 means the largest id the first attempt saw. Only the
// walk that counts is judged; the note says what happened. A walk that is
// to be taken again stops at the first change, so a walk slower than the
// account grows still ends.
func (r *linodeRun) stableWalk(ctx context.Context, rec *recorder, filter map[string]any, size int, pin int64) ([]lnEvent, bool) {
	fb := ""
	if filter != nil {
		b, _ := json.Marshal(filter)
		fb = string(b)
	}
	for attempt := 1; ; attempt++ {
		w := newRecorder(rec.info.ID, rec.info.Name)
		f := fb
		if attempt > walkAttempts {
			f = pinned(filter, pin)
		}
		retry := attempt <= walkAttempts
		evs, ok, moved := r.walk(ctx, w, f, size, retry)
		if attempt == 1 && pin == 0 {
			for _, e := range evs {
				pin = max(pin, e.id)
			}
		}
		if moved && retry {
			continue
		}
		if attempt > 1 {
			if attempt > walkAttempts {
				rec.notef("the list changed during %d walks; walked again pinned with X-Filter %s", walkAttempts, f)
			} else {
				rec.notef("the list changed while it was walked; walk %d was stable", attempt)
			}
		}
		merge(rec, w)
		return evs, ok
	}
}

// pinned ANDs {"id":{"+lte":pin}} with a filter, keeping its ordering keys
// at the top level where the API requires them.
func pinned(filter map[string]any, pin int64) string {
	cond := map[string]any{"id": map[string]any{"+lte": pin}}
	out := map[string]any{}
	rest := map[string]any{}
	for k, v := range filter {
		if k == "+order" || k == "+order_by" {
			out[k] = v
		} else {
			rest[k] = v
		}
	}
	if len(rest) == 0 {
		out["id"] = cond["id"]
	} else {
		out["+and"] = []any{rest, cond}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// merge adds what src recorded to dst.
func merge(dst, src *recorder) {
	dst.checked += src.checked
	dst.dropped += src.dropped
	for _, f := range src.findings {
		dst.add(f.Status, []byte(f.Subject), "%s", f.Problem)
	}
	if src.note != "" {
		dst.notef("%s", src.note)
	}
}

// walk fetches every page of a list and checks the paging on the way (the
// Events themselves are judged by a LinodeEventChecker). moved says
// `pages` or `results` changed between pages: the list changed under the
// walk; with stopOnMove the walk ends there.
func (r *linodeRun) walk(ctx context.Context, rec *recorder, filter string, size int, stopOnMove bool) (out []lnEvent, ok, moved bool) {
	seen := map[int64]bool{}
	pages, results := -1, -1
	for page := 1; ; page++ {
		q := fmt.Sprintf("/account/events?page=%d&page_size=%d", page, size)
		x, err := r.get(ctx, "GET", q, true, filter)
		if err != nil {
			rec.fail(nil, "GET %s: %v", q, err)
			return out, false, moved
		}
		subj := x.subject("GET", q, filter)
		rec.checked++
		if x.status != 200 {
			rec.fail(subj, "answered %d, want 200", x.status)
			return out, false, moved
		}
		var p lnPage
		if err := json.Unmarshal(x.body, &p); err != nil {
			rec.fail(subj, "not a page: %v", err)
			return out, false, moved
		}
		if p.Page != page {
			rec.fail(subj, "page is %d, want %d", p.Page, page)
		}
		if pages == -1 {
			pages, results = p.Pages, p.Results
			if want := (results + size - 1) / size; pages != want && !(results == 0 && pages == 1) {
				rec.fail(subj, "pages is %d for %d results at page_size %d, want %d", pages, results, size, want)
			}
		} else if p.Pages != pages || p.Results != results {
			moved = true
			if stopOnMove {
				return out, true, moved
			}
			rec.fail(subj, "pages/results changed from %d/%d to %d/%d between pages", pages, results, p.Pages, p.Results)
		}
		if page < pages && len(p.Data) != size {
			rec.fail(subj, "page %d of %d holds %d events, want page_size %d", page, pages, len(p.Data), size)
		}
		for _, d := range p.Data {
			e := decodeEvent(d)
			if seen[e.id] {
				rec.fail(d, "event %d appears twice while walking the pages", e.id)
				continue
			}
			seen[e.id] = true
			out = append(out, e)
		}
		if page >= pages || len(p.Data) == 0 || page > 10000 {
			break
		}
	}
	if results >= 0 && len(out) != results {
		rec.fail(nil, "walking %d pages gave %d distinct events, but results says %d", pages, len(out), results)
	}
	return out, true, moved
}

// matchesFilter evaluates the subset of X-Filter the checker sends.
func matchesFilter(e lnEvent, f map[string]any) bool {
	for k, v := range f {
		switch k {
		case "+order", "+order_by":
			continue
		case "+and":
			for _, sub := range v.([]any) {
				if !matchesFilter(e, sub.(map[string]any)) {
					return false
				}
			}
			continue
		case "+or":
			hit := false
			for _, sub := range v.([]any) {
				hit = hit || matchesFilter(e, sub.(map[string]any))
			}
			if !hit {
				return false
			}
			continue
		}
		var got any
		switch k {
		case "id":
			got = float64(e.id)
		case "action":
			got = e.action
		case "created":
			got = e.cr
		case "entity.type":
			got = e.etype
		case "entity.id":
			got = e.eid
		}
		if ops, ok := v.(map[string]any); ok {
			for op, want := range ops {
				if !compare(got, op, want) {
					return false
				}
			}
		} else if !compare(got, "", v) {
			return false
		}
	}
	return true
}

func compare(got any, op string, want any) bool {
	c, ok := cmpValues(got, want)
	switch op {
	case "":
		return ok && c == 0
	case "+neq":
		return !ok || c != 0
	case "+gt":
		return ok && c > 0
	case "+gte":
		return ok && c >= 0
	case "+lt":
		return ok && c < 0
	case "+lte":
		return ok && c <= 0
	case "+contains":
		gs, _ := got.(string)
		ws, _ := want.(string)
		return strings.Contains(gs, ws)
	}
	return false
}

func cmpValues(a, b any) (int, bool) {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		if !ok {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	case string:
		y, ok := b.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(x, y), true
	}
	return 0, false
}

// filters checks X-Filter: results match, nothing that matches is missing,
// the order is honoured, and a bad filter is refused.
func (r *linodeRun) filters(ctx context.Context, all []lnEvent, walked bool, add func(*recorder)) {
	eq := newRecorder(IDLinodeFilterEq, "X-Filter equality returns exactly the matching events")
	ops := newRecorder(IDLinodeFilterOps, "X-Filter operators (+gte, +lt, +neq, +or, +and) return exactly the matching events")
	ord := newRecorder(IDLinodeFilterOrder, "+order_by and +order sort the results")
	bad := newRecorder(IDLinodeFilterBad, "an invalid X-Filter is a 400 naming the field X-Filter")
	defer func() { add(eq); add(ops); add(ord); add(bad) }()

	for _, f := range []string{`{"seen":true}`, `{"action":`} {
		if x, err := r.get(ctx, "GET", "/account/events", true, f); err != nil {
			bad.fail(nil, "GET with X-Filter %s: %v", f, err)
		} else {
			r.errorEnvelope(bad, x, x.subject("GET", "/account/events", f), 400, "X-Filter")
		}
	}
	if n := r.retryNote(); n != "" {
		bad.notef("%s", n)
	}
	if !walked || len(all) == 0 {
		for _, rec := range []*recorder{eq, ops, ord} {
			rec.skip("no events to filter")
		}
		return
	}
	var maxID int64
	for _, e := range all {
		maxID = max(maxID, e.id)
	}
	ids := make([]int64, len(all))
	for i, e := range all {
		ids[i] = e.id
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	mid := ids[len(ids)/2]
	sample := all[len(all)/2]

	run := func(rec *recorder, filter map[string]any) []lnEvent {
		fb, _ := json.Marshal(filter)
		got, ok := r.stableWalk(ctx, rec, filter, 100, maxID)
		if n := r.retryNote(); n != "" {
			rec.notef("%s", n)
		}
		if !ok {
			return nil
		}
		have := map[int64]bool{}
		for _, e := range got {
			rec.checked++
			have[e.id] = true
			if !matchesFilter(e, filter) {
				rec.fail(e.raw, "returned for X-Filter %s but does not match it", fb)
			}
		}
		missing := 0
		for _, e := range all {
			if e.id <= maxID && matchesFilter(e, filter) && !have[e.id] {
				missing++
				if missing <= 3 {
					rec.fail(e.raw, "matches X-Filter %s but was not returned", fb)
				}
			}
		}
		return got
	}
	run(eq, map[string]any{"action": sample.action})
	if sample.etype != "" {
		run(eq, map[string]any{"entity.type": sample.etype})
		if _, isNum := sample.eid.(float64); isNum {
			run(eq, map[string]any{"entity.type": sample.etype, "entity.id": sample.eid})
		}
	}
	run(ops, map[string]any{"id": map[string]any{"+gte": float64(mid)}})
	run(ops, map[string]any{"id": map[string]any{"+lt": float64(mid)}})
	run(ops, map[string]any{"id": map[string]any{"+neq": float64(mid)}})
	run(ops, map[string]any{"created": map[string]any{"+gte": sample.cr}})
	run(ops, map[string]any{"+or": []any{map[string]any{"id": float64(ids[0])}, map[string]any{"id": float64(mid)}}})
	run(ops, map[string]any{"+and": []any{map[string]any{"id": map[string]any{"+gte": float64(ids[0])}}, map[string]any{"id": map[string]any{"+lte": float64(mid)}}}})

	for _, c := range []struct{ by, dir string }{{"id", "desc"}, {"id", "asc"}, {"created", "desc"}, {"created", "asc"}} {
		f := map[string]any{"+order_by": c.by, "+order": c.dir}
		got := run(ord, f)
		for i := 1; i < len(got); i++ {
			a, b := got[i-1], got[i]
			var cmp int
			if c.by == "id" {
				cmp = int(a.id - b.id)
			} else {
				cmp = strings.Compare(a.cr, b.cr)
			}
			if (c.dir == "asc" && cmp > 0) || (c.dir == "desc" && cmp < 0) {
				ord.fail(b.raw, "+order_by %s +order %s: event %d comes after event %d", c.by, c.dir, b.id, a.id)
				break
			}
		}
	}
}
