package linode

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/scenarios"
)

func TestBadInput(t *testing.T) {
	s := NewServer(t, Options{})
	history(t, s, 1, 30, time.Now())
	deep := `{"id":1}`
	for range MaxFilterDepth + 1 {
		deep = `{"+and":[` + deep + `]}`
	}
	okDeep := `{"id":1}`
	for range MaxFilterDepth {
		okDeep = `{"+or":[` + okDeep + `]}`
	}
	deepOr, deepMixed := `{"id":1}`, `{"id":1}`
	for i := range MaxFilterDepth + 1 {
		deepOr = `{"+or":[` + deepOr + `]}`
		if i%2 == 0 {
			deepMixed = `{"+and":[{"action":"linode_boot"},` + deepMixed + `]}`
		} else {
			deepMixed = `{"+or":[` + deepMixed + `,{"id":2}]}`
		}
	}
	// JSON nested far deeper than any filter, within the header limit.
	jsonBomb := `{"id":` + strings.Repeat("[", 30000) + strings.Repeat("]", 30000) + `}`
	tests := []struct {
		name, method, path, filter string
		hdr                        map[string]string
		code                       int
		field, reason              string // reason: a prefix
	}{
		{"malformed filter", "GET", "/v4/account/events", `{"id":`, nil, 400, "X-Filter", "Could not apply filter: invalid JSON"},
		{"filter not object", "GET", "/v4/account/events", `[1,2]`, nil, 400, "X-Filter", "Could not apply filter: X-Filter must be a JSON object"},
		{"trailing data", "GET", "/v4/account/events", `{"id":1} {}`, nil, 400, "X-Filter", "Could not apply filter: invalid JSON"},
		{"too deep", "GET", "/v4/account/events", deep, nil, 400, "X-Filter", "Could not apply filter: +and and +or nest deeper than 8 levels"},
		{"deep at limit", "GET", "/v4/account/events", okDeep, nil, 200, "", ""},
		{"too deep or", "GET", "/v4/account/events", deepOr, nil, 400, "X-Filter", "Could not apply filter: +and and +or nest deeper than 8 levels"},
		{"too deep mixed", "GET", "/v4/account/events", deepMixed, nil, 400, "X-Filter", "Could not apply filter: +and and +or nest deeper than 8 levels"},
		{"json bomb", "GET", "/v4/account/events", jsonBomb, nil, 400, "X-Filter", "Could not apply filter"},
		{"seen", "GET", "/v4/account/events", `{"seen":false}`, nil, 400, "X-Filter", "Cannot filter on seen"},
		{"unknown field", "GET", "/v4/account/events", `{"status":"finished"}`, nil, 400, "X-Filter", "Cannot filter on status"},
		{"nested entity", "GET", "/v4/account/events", `{"entity":{"type":"linode"}}`, nil, 400, "X-Filter", "Cannot filter on entity"},
		{"string entity.id", "GET", "/v4/account/events", `{"entity.id":"123"}`, nil, 400, "X-Filter", "Entity ID must be an integer"},
		{"float entity.id", "GET", "/v4/account/events", `{"entity.id":{"+gt":1.5}}`, nil, 400, "X-Filter", "Entity ID must be an integer"},
		{"string id", "GET", "/v4/account/events", `{"id":"1"}`, nil, 400, "X-Filter", "ID must be an integer"},
		{"zoned created", "GET", "/v4/account/events", `{"created":{"+gte":"2026-01-01T00:00:00Z"}}`, nil, 400, "X-Filter", "Created must be a date-time"},
		{"bool read", "GET", "/v4/account/events", `{"read":"yes"}`, nil, 400, "X-Filter", "Read must be a boolean"},
		{"gt on read", "GET", "/v4/account/events", `{"read":{"+gt":true}}`, nil, 400, "X-Filter", "Cannot apply +gt to read"},
		{"contains id", "GET", "/v4/account/events", `{"id":{"+contains":"1"}}`, nil, 400, "X-Filter", "Cannot apply +contains to id"},
		{"unknown operator", "GET", "/v4/account/events", `{"id":{"+between":[1,2]}}`, nil, 400, "X-Filter", "Could not apply filter: unknown operator +between"},
		{"bare operator", "GET", "/v4/account/events", `{"+gte":1}`, nil, 400, "X-Filter", "Could not apply filter: operator +gte"},
		{"order_by seen", "GET", "/v4/account/events", `{"+order_by":"seen"}`, nil, 400, "X-Filter", "Cannot order by seen"},
		{"bad order", "GET", "/v4/account/events", `{"+order":"up"}`, nil, 400, "X-Filter", "+order must be asc or desc"},
		{"empty or", "GET", "/v4/account/events", `{"+or":[]}`, nil, 400, "X-Filter", "+or must be a non-empty array"},
		{"page_size 0", "GET", "/v4/account/events?page_size=0", "", nil, 400, "page_size", "page_size must be an integer from 25 to 500"},
		{"page_size 24", "GET", "/v4/account/events?page_size=24", "", nil, 400, "page_size", "page_size must be"},
		{"page_size 501", "GET", "/v4/account/events?page_size=501", "", nil, 400, "page_size", "page_size must be"},
		{"page_size abc", "GET", "/v4/account/events?page_size=abc", "", nil, 400, "page_size", "page_size must be"},
		{"page_size 25", "GET", "/v4/account/events?page_size=25", "", nil, 200, "", ""},
		{"page_size 500", "GET", "/v4/account/events?page_size=500", "", nil, 200, "", ""},
		{"page -1", "GET", "/v4/account/events?page=-1", "", nil, 400, "page", "page must be an integer from 1"},
		{"page 0", "GET", "/v4/account/events?page=0", "", nil, 400, "page", "page must be"},
		{"page huge", "GET", "/v4/account/events?page=99999999999999999999", "", nil, 400, "page", "page must be"},
		{"id abc", "GET", "/v4/account/events/abc", "", nil, 400, "eventId", "eventId must be an integer"},
		{"id beyond int64", "GET", "/v4/account/events/9223372036854775808", "", nil, 400, "eventId", "eventId must be an integer"},
		{"id max int64", "GET", "/v4/account/events/9223372036854775807", "", nil, 404, "", "Not found"},
		{"id 0", "GET", "/v4/account/events/0", "", nil, 404, "", "Not found"},
		{"id -1", "GET", "/v4/account/events/-1", "", nil, 404, "", "Not found"},
		{"id 1.5", "GET", "/v4/account/events/1.5", "", nil, 400, "eventId", "eventId must be an integer"},
		{"id empty", "GET", "/v4/account/events//", "", nil, 400, "eventId", "eventId must be an integer"},
		{"seen abc", "POST", "/v4/account/events/abc/seen", "", nil, 400, "eventId", "eventId must be"},
		{"seen beyond int64", "POST", "/v4/account/events/99999999999999999999/seen", "", nil, 400, "eventId", "eventId must be"},
		{"read abc", "POST", "/v4/account/events/abc/read", "", nil, 400, "eventId", "eventId must be"},
		{"unknown route", "GET", "/v4/nothing/here", "", nil, 404, "", "Not found: no route for GET /v4/nothing/here"},
		{"unknown version", "GET", "/v3/account/events", "", nil, 404, "", "Not found: no route for GET /v3/account/events"},
		{"unknown verb", "POST", "/v4/account/events/1/unseen", "", nil, 404, "", "Not found: no route for POST"},
		{"eventsfoo", "GET", "/v4/account/eventsfoo", "", nil, 404, "", "Not found"},
		{"post list", "POST", "/v4/account/events", "", nil, 405, "", "Method Not Allowed: POST /v4/account/events"},
		{"delete event", "DELETE", "/v4/account/events/1", "", nil, 405, "", "Method Not Allowed: DELETE"},
		{"get seen", "GET", "/v4/account/events/1/seen", "", nil, 405, "", "Method Not Allowed: GET"},
		{"put event", "PUT", "/v4/account/events/1", "", nil, 405, "", "Method Not Allowed: PUT"},
		{"patch read", "PATCH", "/v4/account/events/1/read", "", nil, 405, "", "Method Not Allowed: PATCH"},
		{"delete list", "DELETE", "/v4beta/account/events", "", nil, 405, "", "Method Not Allowed: DELETE"},
		{"no token", "GET", "/v4/account/events", "", map[string]string{"Authorization": ""}, 401, "", "Invalid Token"},
		{"basic auth", "GET", "/v4/account/events", "", map[string]string{"Authorization": "Basic Zm9vOmJhcg=="}, 401, "", "Invalid Token"},
		{"huge header", "GET", "/v4/account/events", "", map[string]string{"X-Junk": strings.Repeat("a", 100<<10)}, 431, "", "Request headers too large"},
		{"huge filter", "GET", "/v4/account/events", `{"action":"` + strings.Repeat("a", 100<<10) + `"}`, nil, 431, "", "Request headers too large"},
		{"many conditions", "GET", "/v4/account/events", `{"+or":[` + strings.Repeat(`{"id":1},`, MaxFilterConditions) + `{"id":2}]}`, nil, 400, "X-Filter", "Could not apply filter: more than"},
		{"v4beta", "GET", "/v4beta/account/events/1", "", nil, 200, "", ""},
		{"trailing slash", "GET", "/v4/account/events/", "", nil, 200, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{"X-Filter": tc.filter}
			for k, v := range tc.hdr {
				hdr[k] = v
			}
			code, h, body := do(t, s, tc.method, tc.path, hdr)
			if code != tc.code {
				t.Fatalf("status %d, want %d: %s", code, tc.code, body)
			}
			checkSchema(t, tc.path, code, body)
			if code < 400 {
				return
			}
			var env events.LinodeErrors
			if err := json.Unmarshal(body, &env); err != nil || len(env.Errors) != 1 {
				t.Fatalf("envelope %s: %v", body, err)
			}
			if e := env.Errors[0]; e.Field != tc.field || !strings.HasPrefix(e.Reason, tc.reason) {
				t.Errorf("error %+v, want field %q reason %q...", e, tc.field, tc.reason)
			}
			if code == 405 && h.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
	// Still serving, and nothing went to a 500.
	if code, _, _ := do(t, s, "GET", "/v4/account/events/1", nil); code != 200 {
		t.Fatalf("after bad input: %d", code)
	}
	if n := s.Stats().Statuses[500]; n != 0 {
		t.Errorf("%d answers were 500", n)
	}
}

// TestHugeHeaderOverLimit sends headers over net/http's own limit: the
// server answers 431 and keeps serving others.
func TestHugeHeaderOverLimit(t *testing.T) {
	s := NewServer(t, Options{})
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.URL()+"/v4/account/events", nil)
	req.Header.Set("X-Filter", strings.Repeat("x", 2<<20))
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != 431 {
			t.Errorf("status %d, want 431", resp.StatusCode)
		}
	}
	if code, _, _ := do(t, s, "GET", "/v4/account/events", nil); code != 200 {
		t.Fatalf("after huge header: %d", code)
	}
}

func TestHeaders(t *testing.T) {
	s := NewServer(t, Options{ReadOnlyTokens: []string{"ro"}, RateLimit: 10, RatePeriod: time.Minute})
	history(t, s, 1, 3, time.Now())
	for _, tc := range []struct {
		name, method, path, token, scopes, accepted string
		code                                        int
	}{
		{"list rw", "GET", "/v4/account/events", s.Token(), "events:read_write", "events:read_only", 200},
		{"get ro", "GET", "/v4/account/events/1", "ro", "events:read_only", "events:read_only", 200},
		{"seen ro", "POST", "/v4/account/events/1/seen", "ro", "events:read_only", "events:read_write", 403},
		{"seen rw", "POST", "/v4/account/events/1/seen", s.Token(), "events:read_write", "events:read_write", 200},
		{"read rw", "POST", "/v4beta/account/events/2/read", s.Token(), "events:read_write", "events:read_write", 200},
		{"bad token", "GET", "/v4/account/events", "nope", "unknown", "events:read_only", 401},
		{"not found", "GET", "/v4/nothing", s.Token(), "unknown", "events:read_only", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, h, body := do(t, s, tc.method, tc.path, map[string]string{"Authorization": "Bearer " + tc.token})
			if code != tc.code {
				t.Fatalf("status %d, want %d: %s", code, tc.code, body)
			}
			checkSchema(t, tc.path, code, body)
			want := map[string]string{
				"Content-Type":            "application/json",
				"Vary":                    "Authorization, X-Filter",
				"X-Spec-Version":          SpecVersion,
				"X-OAuth-Scopes":          tc.scopes,
				"X-Accepted-OAuth-Scopes": tc.accepted,
				"X-RateLimit-Limit":       "10",
			}
			for k, v := range want {
				if got := h.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if _, err := strconv.Atoi(h.Get("X-RateLimit-Remaining")); err != nil {
				t.Errorf("X-RateLimit-Remaining %q", h.Get("X-RateLimit-Remaining"))
			}
			reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
			if err != nil || reset < time.Now().Unix() || reset > time.Now().Add(61*time.Second).Unix() {
				t.Errorf("X-RateLimit-Reset %q", h.Get("X-RateLimit-Reset"))
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	s := NewServer(t, Options{RateLimit: 3, RatePeriod: time.Hour})
	for i := range 3 {
		code, h, _ := do(t, s, "GET", "/v4/account/events", nil)
		if code != 200 || h.Get("X-RateLimit-Remaining") != strconv.Itoa(2-i) {
			t.Fatalf("request %d: %d remaining %s", i, code, h.Get("X-RateLimit-Remaining"))
		}
	}
	code, h, body := do(t, s, "GET", "/v4/account/events", nil)
	if code != 429 {
		t.Fatalf("status %d", code)
	}
	checkSchema(t, "/v4/account/events", code, body)
	ra, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || ra < 3590 || ra > 3600 {
		t.Errorf("Retry-After %q, want about an hour in whole seconds", h.Get("Retry-After"))
	}
	s.Reset()
	if code, _, _ := do(t, s, "GET", "/v4/account/events", nil); code != 200 {
		t.Errorf("after Reset: %d", code)
	}
}

func TestPagination(t *testing.T) {
	s := NewServer(t, Options{})
	history(t, s, 1, 60, time.Now())
	for _, tc := range []struct {
		query                string
		page, pages, results int
		n                    int
		firstID              int64
	}{
		{"", 1, 1, 60, 60, 60},
		{"?page_size=25", 1, 3, 60, 25, 60},
		{"?page_size=25&page=3", 3, 3, 60, 10, 10},
		{"?page_size=25&page=4", 4, 3, 60, 0, 0},
		{"?page=2", 2, 1, 60, 0, 0},
	} {
		code, _, body := do(t, s, "GET", "/v4/account/events"+tc.query, nil)
		if code != 200 {
			t.Fatalf("%s: %d %s", tc.query, code, body)
		}
		checkSchema(t, "/v4/account/events", code, body)
		p := page(t, body)
		if p.Page != tc.page || p.Pages != tc.pages || p.Results != tc.results || len(p.Data) != tc.n {
			t.Errorf("%s: page %d pages %d results %d data %d", tc.query, p.Page, p.Pages, p.Results, len(p.Data))
		}
		if tc.n > 0 && p.Data[0].ID != tc.firstID {
			t.Errorf("%s: first id %d, want %d", tc.query, p.Data[0].ID, tc.firstID)
		}
	}
	// An empty result is one empty page.
	_, _, body := do(t, s, "GET", "/v4/account/events", map[string]string{"X-Filter": `{"action":"nothing"}`})
	if p := page(t, body); p.Pages != 1 || p.Results != 0 || p.Data == nil {
		t.Errorf("empty: %s", body)
	}
}

// TestWindow checks that lists reach 90 days back on the virtual clock and
// that an event outside stays reachable by id.
func TestWindow(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := NewServer(t, Options{Clock: func() time.Time { return now }})
	deliver(t, s,
		event(1, "linode_create", "linode", 1, now.Add(-Window-time.Second), events.LinodeFinished),
		event(2, "linode_create", "linode", 2, now.Add(-Window), events.LinodeFinished),
		event(3, "linode_boot", "linode", 2, now, events.LinodeFinished))
	_, _, body := do(t, s, "GET", "/v4/account/events", nil)
	if p := page(t, body); p.Results != 2 || p.Data[1].ID != 2 {
		t.Errorf("window: %s", body)
	}
	if code, _, _ := do(t, s, "GET", "/v4/account/events/1", nil); code != 200 {
		t.Errorf("old event by id: %d", code)
	}
}

func TestOrders(t *testing.T) {
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	s := NewServer(t, Options{})
	// Several events per second: ties on created break by id.
	deliver(t, s,
		event(1, "volume_create", "volume", 7, base, events.LinodeFinished),
		event(2, "linode_boot", "linode", 3, base, events.LinodeFinished),
		event(3, "account_update", "account", nil, base.Add(time.Second), events.LinodeNotification),
		event(4, "linode_boot", "linode", 1, base.Add(time.Second), events.LinodeStarted),
		event(5, "tag_create", "tag", "prod", base.Add(2*time.Second), events.LinodeNotification),
	)
	for _, tc := range []struct {
		filter string
		want   string
	}{
		{`{}`, "5 4 3 2 1"},
		{`{"+order":"asc"}`, "1 2 3 4 5"},
		{`{"+order_by":"created"}`, "1 2 3 4 5"},
		{`{"+order_by":"created","+order":"desc"}`, "5 4 3 2 1"},
		{`{"+order_by":"action"}`, "3 2 4 5 1"},
		{`{"+order_by":"action","+order":"desc"}`, "1 5 4 2 3"},
		{`{"+order_by":"entity.type","+order":"asc"}`, "3 2 4 5 1"},
		{`{"+order_by":"entity.id"}`, "3 4 2 1 5"},
		{`{"entity.id":null}`, "3"},
		{`{"entity.id":{"+neq":3},"+order":"asc"}`, "1 3 4 5"},
		{`{"created":"` + base.UTC().Format(events.LinodeTimeFormat) + `"}`, "2 1"},
		{`{"created":{"+gt":"` + base.UTC().Format(events.LinodeTimeFormat) + `.5"}}`, "5 4 3"},
		{`{"created":{"+lt":"` + base.UTC().Format(events.LinodeTimeFormat) + `.5"}}`, "2 1"},
		{`{"id":{"+neq":3},"action":{"+neq":"linode_boot"}}`, "5 1"},
		{`{"+and":[{"+or":[{"id":1},{"id":5}]},{"entity.type":"tag"}]}`, "5"},
		{`{"action":"linode_boot","entity.type":"linode","id":{"+gte":3}}`, "4"},
		{`{"action":"linode_boot","entity.type":"volume"}`, ""},
		{`{"action":{"+gt":"m"}}`, "5 1"},
	} {
		_, _, body := do(t, s, "GET", "/v4/account/events", map[string]string{"X-Filter": tc.filter})
		p := page(t, body)
		var ids []string
		for _, ev := range p.Data {
			ids = append(ids, strconv.FormatInt(ev.ID, 10))
		}
		if got := strings.Join(ids, " "); got != tc.want || p.Results != len(ids) {
			t.Errorf("%s: %q (results %d), want %q", tc.filter, got, p.Results, tc.want)
		}
	}
}

// TestOutOfOrder delivers ids out of order and created out of order: the
// store falls back from binary searches to scans and still answers right.
func TestOutOfOrder(t *testing.T) {
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	s := NewServer(t, Options{})
	deliver(t, s,
		event(10, "linode_boot", "linode", 1, base.Add(10*time.Second), events.LinodeFinished),
		event(30, "linode_boot", "linode", 1, base.Add(5*time.Second), events.LinodeFinished), // older than 10
		event(20, "volume_create", "volume", 2, base.Add(20*time.Second), events.LinodeFinished),
	)
	for _, tc := range []struct{ filter, want string }{
		{`{}`, "30 20 10"},
		{`{"+order_by":"created","+order":"desc"}`, "20 10 30"},
		{`{"created":{"+gte":"` + base.Add(10*time.Second).UTC().Format(events.LinodeTimeFormat) + `"}}`, "20 10"},
		{`{"action":"linode_boot"}`, "30 10"},
	} {
		_, _, body := do(t, s, "GET", "/v4/account/events", map[string]string{"X-Filter": tc.filter})
		var ids []string
		for _, ev := range page(t, body).Data {
			ids = append(ids, strconv.FormatInt(ev.ID, 10))
		}
		if got := strings.Join(ids, " "); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.filter, got, tc.want)
		}
	}
}

func TestFaults(t *testing.T) {
	ctx := t.Context()
	fault := func(s *Server, f scenarios.Fault) {
		t.Helper()
		f.API = "linode"
		if err := s.Deliver(ctx, &scenarios.Record{API: "linode", Fault: &f}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("bad faults from Go are refused", func(t *testing.T) {
		s := NewServer(t, Options{})
		for _, f := range []scenarios.Fault{
			{Kind: scenarios.FaultHTTPError, Status: 600, Count: 1},
			{Kind: scenarios.FaultHTTPError, Status: 200, Count: 1},
			{Kind: scenarios.FaultLatency, Count: 1},
		} {
			f.API = "linode"
			if err := s.Deliver(ctx, &scenarios.Record{API: "linode", Fault: &f}); err == nil {
				t.Errorf("fault %+v accepted", f)
			}
		}
		if code, _, _ := do(t, s, "GET", "/v4/account/events", nil); code != 200 {
			t.Errorf("after refused faults: %d", code)
		}
	})
	t.Run("http-error for", func(t *testing.T) {
		now := time.Now()
		clock := func() time.Time { return now }
		s := NewServer(t, Options{Clock: func() time.Time { return clock() }})
		fault(s, scenarios.Fault{Kind: scenarios.FaultHTTPError, Status: 500, For: time.Minute})
		for range 3 {
			code, _, body := do(t, s, "GET", "/v4/account/events", nil)
			if code != 500 {
				t.Fatalf("status %d", code)
			}
			checkSchema(t, "/v4/account/events", code, body)
		}
		later := now.Add(time.Minute)
		clock = func() time.Time { return later }
		if code, _, _ := do(t, s, "GET", "/v4/account/events", nil); code != 200 {
			t.Errorf("after the fault's time: %d", code)
		}
	})
	t.Run("http-error by method and path", func(t *testing.T) {
		s := NewServer(t, Options{})
		fault(s, scenarios.Fault{Kind: scenarios.FaultHTTPError, Status: 503, Method: "GET", Path: "/v4/account/events/*", Error: "Events are resting", Count: 1})
		if code, _, _ := do(t, s, "GET", "/v4/account/events", nil); code != 200 {
			t.Errorf("GET of another path under the fault: %d", code)
		}
		code, _, body := do(t, s, "GET", "/v4/account/events/7", nil)
		if code != 503 || !strings.Contains(string(body), `"reason":"Events are resting"`) {
			t.Errorf("GET of the fault's path: %d %s", code, body)
		}
		checkSchema(t, "/v4/account/events/7", code, body)
		if code, _, _ := do(t, s, "GET", "/v4/account/events/7", nil); code != 404 {
			t.Errorf("the fault's path after its one request: %d, want the 404 of no such event", code)
		}
	})
	t.Run("latency", func(t *testing.T) {
		s := NewServer(t, Options{})
		fault(s, scenarios.Fault{Kind: scenarios.FaultLatency, Delay: 150 * time.Millisecond, Count: 1})
		start := time.Now()
		do(t, s, "GET", "/v4/account/events", nil)
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Errorf("first request took %v", d)
		}
		start = time.Now()
		do(t, s, "GET", "/v4/account/events", nil)
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("second request took %v", d)
		}
	})
	t.Run("drop-connection", func(t *testing.T) {
		s := NewServer(t, Options{})
		fault(s, scenarios.Fault{Kind: scenarios.FaultDropConn, Count: 1})
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/v4/account/events", nil)
		req.Header.Set("Authorization", "Bearer "+s.Token())
		// A fresh transport, so net/http cannot retry on a reused connection.
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("dropped request answered %d", resp.StatusCode)
		}
		if code, _, _ := do(t, s, "GET", "/v4/account/events", nil); code != 200 {
			t.Errorf("next request: %d", code)
		}
		if st := s.Stats(); st.Dropped != 1 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("latency cut by Close", func(t *testing.T) {
		s, err := New(Options{})
		if err != nil {
			t.Fatal(err)
		}
		fault(s, scenarios.Fault{Kind: scenarios.FaultLatency, Delay: 9 * time.Minute, Count: 1})
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/v4/account/events", nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
		time.Sleep(50 * time.Millisecond)
		start := time.Now()
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Close took %v", d)
		}
	})
	t.Run("wrong api", func(t *testing.T) {
		s := NewServer(t, Options{})
		err := s.Deliver(ctx, &scenarios.Record{API: "lxd", Fault: &scenarios.Fault{Kind: scenarios.FaultDisconnect, API: "lxd"}})
		if err == nil {
			t.Error("lxd fault accepted")
		}
		if err := s.Deliver(ctx, &scenarios.Record{API: "lxd", JSON: []byte(`{}`)}); err == nil {
			t.Error("lxd record accepted")
		}
		if err := s.Deliver(ctx, &scenarios.Record{API: "linode", Linode: &events.LinodeEvent{ID: 0}}); err == nil {
			t.Error("event id 0 accepted")
		}
	})
}

func TestControlAndHandler(t *testing.T) {
	ctl := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "control "+r.URL.Path)
	})
	s := NewServer(t, Options{Control: ctl, Tokens: []string{"a", "b"}})
	if s.Token() != "a" {
		t.Errorf("Token %q", s.Token())
	}
	resp, err := http.Get(s.URL() + "/eventsim/v1/stats")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "control /eventsim/v1/stats" {
		t.Errorf("control answered %q", b)
	}
	if code, _, _ := do(t, s, "GET", "/v4/account/events", map[string]string{"Authorization": "Bearer b"}); code != 200 {
		t.Errorf("second token: %d", code)
	}
	if _, err := New(Options{Tokens: []string{""}}); err == nil {
		t.Error("empty token accepted")
	}
	if _, err := New(Options{Addr: "256.0.0.1:99999"}); err == nil || errors.Is(err, nil) {
		t.Error("bad address accepted")
	}
}

func TestStatsAndReset(t *testing.T) {
	s := NewServer(t, Options{})
	history(t, s, 1, 5, time.Now())
	do(t, s, "GET", "/v4/account/events", nil)
	do(t, s, "GET", "/v4/account/events/99", nil)
	st := s.Stats()
	if st.Events != 5 || st.Records != 5 || st.Requests != 2 || st.Statuses[200] != 1 || st.Statuses[404] != 1 {
		t.Errorf("stats %+v", st)
	}
	s.Reset()
	if st := s.Stats(); st.Events != 0 || st.Requests != 0 || len(st.Statuses) != 0 {
		t.Errorf("after Reset %+v", st)
	}
	_, _, body := do(t, s, "GET", "/v4/account/events", nil)
	if p := page(t, body); p.Results != 0 {
		t.Errorf("after Reset: %s", body)
	}
}

// TestGetAfterProgress checks that an event's cached encoding follows it as
// it progresses: each GET, by id or in a list, answers exactly the event as
// last delivered, with seen and read as marked.
func TestGetAfterProgress(t *testing.T) {
	s := NewServer(t, Options{})
	created := time.Now().Add(-time.Minute).Truncate(time.Second)
	deliver(t, s, event(6, "linode_create", "linode", 123, created, events.LinodeFinished))
	for i, status := range []string{events.LinodeScheduled, events.LinodeStarted, events.LinodeStarted, events.LinodeFinished} {
		ev := event(7, "linode_boot", "linode", 123, created, status)
		if i == 2 {
			ev.PercentComplete, ev.Duration, ev.Rate = ptr(70), ptr(31.5), ptr("5 MB/s")
		}
		if i == 3 {
			ev.Read = true // delivered read: stays read
		}
		deliver(t, s, ev)
		if i == 1 {
			// Seen marks survive progress without being part of the encoding.
			if code, _, body := do(t, s, "POST", "/v4/account/events/7/seen", nil); code != 200 {
				t.Fatalf("seen: %d %s", code, body)
			}
		}
		want := *ev
		want.Seen = i >= 1
		wantJSON, err := json.Marshal(&want)
		if err != nil {
			t.Fatal(err)
		}
		code, _, body := do(t, s, "GET", "/v4/account/events/7", nil)
		if code != 200 || string(body) != string(wantJSON) {
			t.Errorf("step %d (%s): GET answered %d\n%s\nwant\n%s", i, status, code, body, wantJSON)
		}
		_, _, body = do(t, s, "GET", "/v4/account/events", map[string]string{"X-Filter": `{"id":7}`})
		if p := page(t, body); len(p.Data) != 1 || p.Data[0].Status != status || *p.Data[0].PercentComplete != *ev.PercentComplete || p.Data[0].Seen != want.Seen {
			t.Errorf("step %d (%s): list answered %s", i, status, body)
		}
	}
}

// TestLimiterHeaders checks the ready-made X-RateLimit-* values as windows
// pass, and limits too large to keep values for.
func TestLimiterHeaders(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	check := func(t *testing.T, l *limiter, limit, remaining string, reset int64) {
		t.Helper()
		h := http.Header{}
		l.headers(h)
		if got := h["X-Ratelimit-Limit"]; len(got) != 1 || got[0] != limit {
			t.Errorf("limit %q, want %s", got, limit)
		}
		if got := h["X-Ratelimit-Remaining"]; len(got) != 1 || got[0] != remaining {
			t.Errorf("remaining %q, want %s", got, remaining)
		}
		if got := h["X-Ratelimit-Reset"]; len(got) != 1 || got[0] != strconv.FormatInt(reset, 10) {
			t.Errorf("reset %q, want %d", got, reset)
		}
	}
	t.Run("limited", func(t *testing.T) {
		l := newLimiter(2, time.Minute)
		l.take(t0)
		check(t, l, "2", "1", t0.Unix()+60)
		l.take(t0.Add(time.Second))
		check(t, l, "2", "0", t0.Unix()+60)
		if ok, _, _ := l.take(t0.Add(2 * time.Second)); ok {
			t.Error("third request allowed")
		}
		check(t, l, "2", "0", t0.Unix()+60)
		l.take(t0.Add(61 * time.Second)) // a new window
		check(t, l, "2", "1", t0.Unix()+121)
		l.reset()
		l.take(t0.Add(200 * time.Second))
		check(t, l, "2", "1", t0.Unix()+260)
		// A window starting mid-second resets at the next whole second
		// after its end, never before it.
		l.reset()
		l.take(t0.Add(300*time.Second + 400*time.Millisecond))
		check(t, l, "2", "1", t0.Unix()+361)
	})
	t.Run("unlimited", func(t *testing.T) {
		l := newLimiter(-1, time.Minute)
		for range 3 {
			l.take(t0)
		}
		check(t, l, "2147483647", "2147483647", t0.Unix()+60)
	})
	t.Run("large", func(t *testing.T) {
		l := newLimiter(maxKeptRemaining+10, time.Second)
		l.take(t0)
		check(t, l, strconv.Itoa(maxKeptRemaining+10), strconv.Itoa(maxKeptRemaining+9), t0.Unix()+1)
	})
}
