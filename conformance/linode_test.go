package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// miniLinode speaks just enough of /v4/account/events; each knob breaks one rule.
type miniLinode struct {
	mu     sync.Mutex
	events []map[string]any

	noAuth        bool // answers without a token
	plain404      bool // unknown id: 404 in plain text
	dupPaging     bool // page 2 repeats the last item of page 1
	wrongPages    bool // pages off by one
	ignoreFilter  bool // X-Filter ignored
	ignoreOrder   bool // +order ignored
	ignoreOps     bool // operators (+gte...) ignored, equality kept
	badFilterOK   bool // invalid X-Filter answered 200
	pageSizeOK    bool // out-of-bounds page_size accepted
	errorString   bool // errors as {"error":"..."}
	getDiffers    bool // GET by id changes the message
	zonedCreated  bool // created carries a zone
	noRateHeaders bool
	seenBroken    bool // seen answers {} but marks nothing
	stringIDs     bool // entity.id of linode events as a string ("12"), a tag event's as an integer

	// transient answers the next requests, one each, with these statuses
	// (429 with Retry-After: 1; 0 cuts the connection without an answer).
	transient []int
	// growEvery adds a newer event at the front of the default order every
	// growEvery list requests, as a live account does.
	growEvery int
	// growAt adds one such event at these list requests (counted from 1).
	growAt map[int]bool
	lists  int
}

func newMiniLinode(n int) *miniLinode {
	m := &miniLinode{}
	actions := []string{"linode_boot", "linode_create", "volume_attach", "user_update"}
	types := []string{"linode", "linode", "volume", "user"}
	for i := 1; i <= n; i++ {
		k := i % len(actions)
		msg := "ok"
		m.events = append(m.events, map[string]any{
			"id": 1000 + i, "action": actions[k],
			"created":          fmt.Sprintf("2026-11-21T05:%02d:%02d", i/60%60, i%60),
			"duration":         nil,
			"entity":           map[string]any{"id": 10 + i%5, "label": "thing", "type": types[k], "url": "/v4/x"},
			"secondary_entity": nil, "message": msg, "percent_complete": nil, "rate": nil,
			"read": false, "seen": false, "status": "notification", "time_remaining": nil,
			"username": "alice", "details": map[string]any{},
		})
	}
	return m
}

func (m *miniLinode) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	if !m.noRateHeaders {
		w.Header().Set("X-RateLimit-Limit", "800")
		w.Header().Set("X-RateLimit-Remaining", "799")
		w.Header().Set("X-RateLimit-Reset", "1790000000")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (m *miniLinode) fail(w http.ResponseWriter, status int, reason, field string) {
	if m.errorString {
		m.writeJSON(w, status, map[string]any{"error": reason})
		return
	}
	e := map[string]any{"reason": reason}
	if field != "" {
		e["field"] = field
	}
	m.writeJSON(w, status, map[string]any{"errors": []any{e}})
}

func (m *miniLinode) eventView(e map[string]any) lnEvent {
	b, _ := json.Marshal(e)
	return decodeEvent(b)
}

func (m *miniLinode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.transient) > 0 {
		st := m.transient[0]
		m.transient = m.transient[1:]
		switch st {
		case 0:
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
				conn.Close()
			}
			return
		case http.StatusTooManyRequests:
			w.Header().Set("Retry-After", "1")
		}
		m.fail(w, st, http.StatusText(st), "")
		return
	}
	if !m.noAuth && r.Header.Get("Authorization") != "Bearer secret" {
		m.fail(w, 401, "Invalid Token", "")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/v4")
	switch {
	case path == "/account/events" && r.Method == "GET":
		m.list(w, r)
	case strings.HasPrefix(path, "/account/events/"):
		rest := strings.TrimPrefix(path, "/account/events/")
		idStr, verb, _ := strings.Cut(rest, "/")
		id, err := strconv.Atoi(idStr)
		if err != nil {
			m.fail(w, 404, "Not found", "")
			return
		}
		if verb == "seen" && r.Method == "POST" {
			if !m.seenBroken {
				for _, e := range m.events {
					if e["id"].(int) <= id {
						e["seen"] = true
					}
				}
			}
			m.writeJSON(w, 200, map[string]any{})
			return
		}
		for _, e := range m.events {
			if e["id"].(int) == id {
				out := e
				if m.getDiffers {
					out = map[string]any{}
					for k, v := range e {
						out[k] = v
					}
					out["message"] = "changed"
				}
				m.writeJSON(w, 200, m.render(out))
				return
			}
		}
		if m.plain404 {
			w.WriteHeader(404)
			fmt.Fprintln(w, "not found")
			return
		}
		m.fail(w, 404, "Not found", "")
	default:
		m.fail(w, 404, "Not found", "")
	}
}

func (m *miniLinode) render(e map[string]any) map[string]any {
	if !m.zonedCreated && !m.stringIDs {
		return e
	}
	out := map[string]any{}
	for k, v := range e {
		out[k] = v
	}
	if m.zonedCreated {
		out["created"] = e["created"].(string) + "Z"
	}
	if ent := e["entity"].(map[string]any); m.stringIDs && ent["type"] == "linode" {
		out["entity"] = map[string]any{"id": fmt.Sprint(ent["id"]), "label": ent["label"], "type": "linode", "url": ent["url"]}
	}
	return out
}

var filterKeys = map[string]bool{"id": true, "action": true, "created": true, "entity.id": true, "entity.type": true, "+and": true, "+or": true, "+order": true, "+order_by": true}

func validFilter(f map[string]any) bool {
	for k, v := range f {
		if !filterKeys[k] {
			return false
		}
		if k == "+and" || k == "+or" {
			subs, ok := v.([]any)
			if !ok {
				return false
			}
			for _, s := range subs {
				sm, ok := s.(map[string]any)
				if !ok || !validFilter(sm) {
					return false
				}
			}
		}
	}
	return true
}

// stripOps drops operator conditions, keeping plain equality.
func stripOps(f map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range f {
		if _, isOp := v.(map[string]any); isOp || k == "+and" || k == "+or" {
			continue
		}
		out[k] = v
	}
	return out
}

func (m *miniLinode) list(w http.ResponseWriter, r *http.Request) {
	m.lists++
	if m.growEvery > 0 && m.lists%m.growEvery == 0 || m.growAt[m.lists] {
		n := len(m.events) + 1
		e := map[string]any{}
		for k, v := range m.events[0] {
			e[k] = v
		}
		e["id"] = 5000 + n
		e["created"] = fmt.Sprintf("2026-11-21T06:%02d:%02d", n/60%60, n%60)
		m.events = append([]map[string]any{e}, m.events...)
	}
	page, size := 1, 100
	if s := r.URL.Query().Get("page"); s != "" {
		page, _ = strconv.Atoi(s)
	}
	if s := r.URL.Query().Get("page_size"); s != "" {
		size, _ = strconv.Atoi(s)
		if (size < 25 || size > 500) && !m.pageSizeOK {
			m.fail(w, 400, "Must be 25-500", "page_size")
			return
		}
		if size < 1 {
			size = 25
		}
	}
	sel := make([]map[string]any, 0, len(m.events))
	var filter map[string]any
	if h := r.Header.Get("X-Filter"); h != "" {
		if err := json.Unmarshal([]byte(h), &filter); err != nil || !validFilter(filter) {
			if !m.badFilterOK {
				m.fail(w, 400, "Cannot filter on that", "X-Filter")
				return
			}
			filter = nil
		}
	}
	if m.ignoreFilter {
		filter = nil
	}
	if m.ignoreOps && filter != nil {
		filter = stripOps(filter)
	}
	for _, e := range m.events {
		if filter == nil || matchesFilter(m.eventView(e), filter) {
			sel = append(sel, e)
		}
	}
	if by, _ := filter["+order_by"].(string); by != "" && !m.ignoreOrder {
		desc := filter["+order"] == "desc"
		sort.SliceStable(sel, func(i, j int) bool {
			a, b := m.eventView(sel[i]), m.eventView(sel[j])
			var less bool
			if by == "created" {
				less = a.cr < b.cr || a.cr == b.cr && a.id < b.id
			} else {
				less = a.id < b.id
			}
			if desc {
				return !less
			}
			return less
		})
	}
	pages := (len(sel) + size - 1) / size
	if pages == 0 {
		pages = 1
	}
	lo := (page - 1) * size
	if m.dupPaging && page > 1 {
		lo--
	}
	hi := min(lo+size, len(sel))
	data := []any{}
	if lo < len(sel) {
		for _, e := range sel[lo:hi] {
			data = append(data, m.render(e))
		}
	}
	if m.wrongPages {
		pages++
	}
	m.writeJSON(w, 200, map[string]any{"data": data, "page": page, "pages": pages, "results": len(sel)})
}

func runMiniLinode(t *testing.T, m *miniLinode, mutate bool) *Report {
	t.Helper()
	return runMiniLinodeOpts(t, m, LinodeOptions{Mutate: mutate})
}

func runMiniLinodeOpts(t *testing.T, m *miniLinode, o LinodeOptions) *Report {
	t.Helper()
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	o.Target, o.Token = srv.URL+"/v4", "secret"
	rep, err := RunLinode(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestLinodeCorrectServerPasses(t *testing.T) {
	rep := runMiniLinode(t, newMiniLinode(130), true)
	for _, r := range rep.Results {
		if r.ID == IDLinodeProgression && r.Status == Skip {
			continue // a walk sees each event once
		}
		if r.Status != Pass {
			t.Errorf("%s: %s %s %+v", r.ID, r.Status, r.Note, r.Findings)
		}
	}
	if rep.Events != 130 {
		t.Errorf("events %d, want 130", rep.Events)
	}
	if !rep.Passed() {
		t.Error("the report did not pass")
	}
}

func TestLinodeBrokenServersAreCaught(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(*miniLinode)
		id     string
		want   Status
	}{
		{"no auth", func(m *miniLinode) { m.noAuth = true }, IDLinodeAuth, Fail},
		{"wrong 404", func(m *miniLinode) { m.plain404 = true }, IDLinodeNotFound, Fail},
		{"duplicate across pages", func(m *miniLinode) { m.dupPaging = true }, IDLinodeWalk, Fail},
		{"pages miscounted", func(m *miniLinode) { m.wrongPages = true }, IDLinodeWalk, Fail},
		{"X-Filter ignored", func(m *miniLinode) { m.ignoreFilter = true }, IDLinodeFilterEq, Fail},
		{"operators ignored", func(m *miniLinode) { m.ignoreOps = true }, IDLinodeFilterOps, Fail},
		{"+order ignored", func(m *miniLinode) { m.ignoreOrder = true }, IDLinodeFilterOrder, Fail},
		{"invalid X-Filter accepted", func(m *miniLinode) { m.badFilterOK = true }, IDLinodeFilterBad, Fail},
		{"page_size out of bounds accepted", func(m *miniLinode) { m.pageSizeOK = true }, IDLinodePageSize, Fail},
		{"wrong error envelope", func(m *miniLinode) { m.errorString = true }, IDLinodeNotFound, Fail},
		{"GET differs from list", func(m *miniLinode) { m.getDiffers = true }, IDLinodeGet, Fail},
		{"created with a zone", func(m *miniLinode) { m.zonedCreated = true }, IDLinodeEventSchema, Fail},
		{"created with a zone breaks the page", func(m *miniLinode) { m.zonedCreated = true }, IDLinodeEnvelope, Fail},
		{"no rate-limit headers", func(m *miniLinode) { m.noRateHeaders = true }, IDLinodeRateLimit, Warn},
		{"seen marks nothing", func(m *miniLinode) { m.seenBroken = true }, IDLinodeSeen, Fail},
		{"linode entity id as a string", func(m *miniLinode) { m.stringIDs = true }, IDLinodeEntity, Fail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newMiniLinode(60)
			tc.break_(m)
			rep := runMiniLinode(t, m, true)
			r := rep.Result(tc.id)
			if r == nil || r.Status != tc.want {
				t.Fatalf("%s: got %+v, want %s", tc.id, r, tc.want)
			}
			t.Logf("%s: %s", tc.id, r.Findings[0].Problem)
			if tc.want == Fail && rep.Passed() {
				t.Error("the report passed, want failed")
			}
		})
	}
}

func TestLinodeBadOptionsAndUnreachable(t *testing.T) {
	tests := []struct {
		name        string
		o           LinodeOptions
		unreachable bool
		want        string
	}{
		{"bad target", LinodeOptions{Target: "ftp://x", Token: "t"}, false, `invalid target: "ftp://x", must be http(s)://HOST/v4`},
		{"no token", LinodeOptions{Target: "http://127.0.0.1:1/v4"}, false, "invalid token: a token is required"},
		{"unreachable", LinodeOptions{Target: "http://127.0.0.1:1/v4", Token: "t"}, true, "target unusable: GET http://127.0.0.1:1/v4/account/events: "},
	}
	for _, tc := range tests {
		rep, err := RunLinode(t.Context(), tc.o)
		var ce *ConfigError
		switch {
		case rep != nil || err == nil:
			t.Errorf("%s: report %v, error %v; want no report and an error", tc.name, rep, err)
			continue
		case tc.unreachable != errors.Is(err, ErrTarget) || tc.unreachable == errors.As(err, &ce):
			t.Errorf("%s: %v, want unreachable=%v", tc.name, err, tc.unreachable)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %q, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestLinodeRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	m := newMiniLinode(60)
	m.transient = []int{0, 503, 429, 503}
	rep := runMiniLinodeOpts(t, m, LinodeOptions{})
	for _, r := range rep.Results {
		if r.Status != Pass && r.Status != Skip {
			t.Errorf("%s: %s %s %+v", r.ID, r.Status, r.Note, r.Findings)
		}
	}
	env := rep.Result(IDLinodeEnvelope)
	for _, want := range []string{"429 ×1", "503 ×2", "connection closed without an answer ×1"} {
		if !strings.Contains(env.Note, want) {
			t.Errorf("the envelope's note %q does not name %q", env.Note, want)
		}
	}
}

func TestLinodeRetriesAreBounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		transient []int
		retries   int
	}{
		{"no retries", []int{503}, -1},
		{"more 503s than retries", []int{503, 503, 503}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMiniLinode(30)
			m.transient = tc.transient
			rep := runMiniLinodeOpts(t, m, LinodeOptions{Retries: tc.retries})
			if r := rep.Result(IDLinodeEnvelope); r.Status != Fail {
				t.Errorf("%s: %s, want fail after the retries ran out", r.ID, r.Status)
			}
		})
	}
}

func TestLinodeRetryBudget(t *testing.T) {
	t.Parallel()
	m := newMiniLinode(30)
	m.transient = []int{503, 503, 503, 503, 503, 503}
	rep := runMiniLinodeOpts(t, m, LinodeOptions{Retries: 20, RetryBudget: 600 * time.Millisecond})
	env := rep.Result(IDLinodeEnvelope)
	if env.Status != Fail {
		t.Errorf("%s: %s, want fail once the retry budget is spent", env.ID, env.Status)
	}
	if !strings.Contains(env.Note, "503 ×1") || !strings.Contains(env.Note, "retry waits is spent") {
		t.Errorf("the envelope's note %q should name one retried 503 and the spent budget", env.Note)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"3", 3 * time.Second},
		{" 0 ", 0},
		{"", time.Second},
		{"soon", time.Second},
		{"-5", time.Second},
		{"86400", maxRetryAfter},
		{now.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{now.Add(time.Hour).Format(http.TimeFormat), maxRetryAfter},
	} {
		if got := retryAfter(tc.v, now); got != tc.want {
			t.Errorf("Retry-After %q: %s, want %s", tc.v, got, tc.want)
		}
	}
}

func TestLinodeWalkOfAGrowingAccount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		growEvery int
		growAt    map[int]bool
		note      string
	}{
		// Request 1 is the first page, 2 and 3 the walk's pages 1 and 2: one
		// event arrives between them, and the second walk is stable.
		{"one arrival", 0, map[int]bool{3: true}, "walk 2 was stable"},
		// An event arrives before every list request: the walk is pinned.
		{"constant arrivals", 1, nil, "pinned"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMiniLinode(60)
			m.growEvery, m.growAt = tc.growEvery, tc.growAt
			rep := runMiniLinodeOpts(t, m, LinodeOptions{})
			walk := rep.Result(IDLinodeWalk)
			if walk.Status != Pass || !strings.Contains(walk.Note, tc.note) {
				t.Errorf("%s: %s, note %q, want pass noting %q; %+v", walk.ID, walk.Status, walk.Note, tc.note, walk.Findings)
			}
			for _, r := range rep.Results {
				if r.Status == Fail {
					t.Errorf("%s: %s %s %+v", r.ID, r.Status, r.Note, r.Findings)
				}
			}
		})
	}
}
