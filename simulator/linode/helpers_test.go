package linode

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/schemas"
)

func ptr[T any](v T) *T { return &v }

// event builds an event the way the engine does: long actions start
// scheduled at 0%, notifications have null percent_complete and duration.
func event(id int64, action, etype string, entityID any, created time.Time, status string) *events.LinodeEvent {
	ev := &events.LinodeEvent{
		ID:       id,
		Action:   action,
		Created:  events.LinodeTime(created),
		Status:   status,
		Username: ptr("alice"),
		Details:  json.RawMessage(`{}`),
	}
	if etype != "" {
		ev.Entity = &events.LinodeEntity{ID: entityID, Label: fmt.Sprintf("%s-%v", etype, entityID), Type: etype, URL: entityURL(etype, entityID)}
	}
	switch status {
	case events.LinodeScheduled:
		ev.PercentComplete = ptr(0)
	case events.LinodeStarted:
		ev.PercentComplete = ptr(30)
		ev.Duration = ptr(12.5)
	case events.LinodeFinished:
		ev.PercentComplete = ptr(100)
		ev.Duration = ptr(40.0)
		ev.TimeRemaining = 0
	case events.LinodeFailed:
		ev.PercentComplete = ptr(60)
		ev.Duration = ptr(20.0)
		ev.TimeRemaining = 0
		ev.Message = ptr("the host is unavailable")
	}
	if action == "linode_boot" {
		ev.SecondaryEntity = &events.LinodeEntity{ID: 9, Label: "My Config", Type: "linode_config", URL: fmt.Sprintf("/v4/linode/instances/%v/configs/9", entityID)}
	}
	return ev
}

func entityURL(etype string, id any) string {
	switch etype {
	case "linode":
		return fmt.Sprintf("/v4/linode/instances/%v", id)
	case "volume":
		return fmt.Sprintf("/v4/volumes/%v", id)
	case "domain":
		return fmt.Sprintf("/v4/domains/%v", id)
	case "tag":
		return fmt.Sprintf("/v4/tags/%v", id)
	}
	return "/v4/account"
}

func rec(ev *events.LinodeEvent) *scenarios.Record {
	return &scenarios.Record{Time: time.Time(ev.Created), API: "linode", Linode: ev}
}

func deliver(t testing.TB, s *Server, evs ...*events.LinodeEvent) {
	t.Helper()
	for _, ev := range evs {
		if err := s.Deliver(t.Context(), rec(ev)); err != nil {
			t.Fatal(err)
		}
	}
}

// do sends a request and returns the status, headers and body.
func do(t testing.TB, s *Server, method, path string, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token())
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	return resp.StatusCode, resp.Header, b
}

// checkSchema validates a response body: a page, an event, an error envelope.
func checkSchema(t testing.TB, path string, code int, body []byte) {
	t.Helper()
	name := schemas.LinodeErrors
	switch {
	case code >= 400:
	case strings.HasSuffix(path, "/seen") || strings.HasSuffix(path, "/read"):
		if string(body) != "{}" {
			t.Errorf("%s: body %s, want {}", path, body)
		}
		return
	case strings.Contains(strings.TrimSuffix(path, "/"), "/events/"):
		name = schemas.LinodeEvent
	default:
		name = schemas.LinodeEventPage
	}
	if err := schemas.Validate(name, body); err != nil {
		t.Errorf("%s: %s: %v\n%s", path, name, err, body)
	}
}

// page decodes a list answer.
func page(t testing.TB, body []byte) events.LinodePage[events.LinodeEvent] {
	t.Helper()
	var p events.LinodePage[events.LinodeEvent]
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("decode page: %v\n%s", err, body)
	}
	return p
}
