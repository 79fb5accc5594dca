package linode

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/schemas"
)

// filterSeeds are X-Filter values real clients send, and broken ones.
var filterSeeds = []string{
	`{"+order":"desc","+order_by":"created","action":"linode_boot","created":{"+gte":"2026-11-21T05:45:38"},"entity.id":123,"entity.type":"linode"}`,
	`{"+order":"desc","+order_by":"created","action":"linode_boot","created":{"+gte":"2026-11-21T05:45:38"},"entity.id":123,"entity.type":"linode","id":{"+gte":1000}}`,
	`{"+order":"desc","+order_by":"id","created":{"+gte":"2026-11-20T00:00:00"},"+and":[{"id":{"+neq":5}},{"+or":[{"id":1},{"id":2}]}]}`,
	`{"created":{"+gte":"2026-11-21T05:45:38"}}`,
	`{"seen":false}`, `{"entity.id":"x"}`, `{"id":`, `[]`, `null`, `{"+or":[{"+and":[{"read":true}]}]}`,
	`{"action":{"+contains":"boot"},"+order_by":"entity.id"}`, `{"entity.id":null}`, `{"id":1e3}`, `{"id":99999999999999999999}`,
}

// FuzzFilter: any header value either parses, and then runs over a store
// without panicking, or is rejected with a 400 on field X-Filter.
func FuzzFilter(f *testing.F) {
	for _, s := range filterSeeds {
		f.Add(s)
	}
	st := newStore()
	now := time.Now()
	for i, ev := range []*events.LinodeEvent{
		event(1, "linode_boot", "linode", 123, now.Add(-time.Hour), events.LinodeFinished),
		event(2, "tag_create", "tag", "prod", now.Add(-time.Minute), events.LinodeNotification),
		event(3, "account_update", "account", nil, now, events.LinodeNotification),
	} {
		if err := st.upsert(ev); err != nil {
			f.Fatal(i, err)
		}
	}
	f.Fuzz(func(t *testing.T, h string) {
		flt, err := parseFilter(h)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || status(err) != 400 || ae.field != "X-Filter" || ae.reason == "" {
				t.Fatalf("%q: unclear error %v", h, err)
			}
			return
		}
		res := st.list(flt, 0, 1, 25)
		if res.results < len(res.pos) || res.results > len(st.ents) {
			t.Fatalf("%q: %d results, %d on the page", h, res.results, len(res.pos))
		}
	})
}

// FuzzQuery: any query string and filter give a 200 page that matches the
// schema or a 400 envelope naming page, page_size or X-Filter.
func FuzzQuery(f *testing.F) {
	for _, s := range filterSeeds {
		f.Add("page=1&page_size=25", s)
	}
	for _, q := range []string{"page=0", "page=-1", "page_size=24", "page_size=abc", "page=2&page_size=500", "page=%zz", "page=1&page=2", "page_size=1e2"} {
		f.Add(q, "")
	}
	s := NewServer(f, Options{RateLimit: -1})
	now := time.Now()
	for i := range 60 {
		if err := s.st.upsert(event(int64(i+1), "linode_boot", "linode", i%7, now.Add(time.Duration(i-60)*time.Second), events.LinodeFinished)); err != nil {
			f.Fatal(err)
		}
	}
	h := s.Handler()
	f.Fuzz(func(t *testing.T, query, filter string) {
		req := httptest.NewRequest("GET", "/v4/account/events", nil)
		req.URL.RawQuery = query
		req.Header.Set("Authorization", "Bearer "+s.Token())
		if filter != "" {
			req.Header["X-Filter"] = []string{filter}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		body := w.Body.Bytes()
		switch w.Code {
		case http.StatusOK:
			if err := schemas.Validate(schemas.LinodeEventPage, body); err != nil {
				t.Fatalf("%q %q: %v", query, filter, err)
			}
		case http.StatusBadRequest:
			if err := schemas.Validate(schemas.LinodeErrors, body); err != nil {
				t.Fatalf("%q %q: %v", query, filter, err)
			}
			if !strings.Contains(string(body), `"field":"page"`) && !strings.Contains(string(body), `"field":"page_size"`) &&
				!strings.Contains(string(body), `"field":"X-Filter"`) {
				t.Fatalf("%q %q: 400 without a field: %s", query, filter, body)
			}
		default:
			t.Fatalf("%q %q: status %d: %s", query, filter, w.Code, body)
		}
	})
}
