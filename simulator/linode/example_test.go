package linode_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/simulator/linode"
)

// A test starts the fake, delivers an event as it progresses, and reads it
// back the way a client would: GET /v4/account/events with a bearer token
// and an X-Filter.
func Example() {
	now := time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC)
	srv, err := linode.New(linode.Options{
		Tokens: []string{"secret"},
		Clock:  func() time.Time { return now }, // lists show the 90 days before it
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	// The engine delivers the same event again as it progresses.
	pct := func(n int) *int { return &n }
	boot := &events.LinodeEvent{
		ID: 1001, Action: "linode_boot", Created: events.LinodeTime(now), Status: events.LinodeScheduled,
		Entity:          &events.LinodeEntity{ID: 123, Label: "app-1", Type: "linode", URL: "/v4/linode/instances/123"},
		PercentComplete: pct(0), Details: json.RawMessage(`{}`),
	}
	ctx := context.Background()
	for _, p := range []int{0, 50, 100} {
		boot.PercentComplete = pct(p)
		if p == 50 {
			boot.Status = events.LinodeStarted
		}
		if p == 100 {
			boot.Status, boot.TimeRemaining = events.LinodeFinished, 0
		}
		if err := srv.Deliver(ctx, &scenarios.Record{Time: now, API: "linode", Linode: boot}); err != nil {
			panic(err)
		}
	}

	req, _ := http.NewRequest("GET", srv.URL()+"/v4/account/events?page_size=25", nil)
	req.Header.Set("Authorization", "Bearer secret")
	req.Header.Set("X-Filter", `{"entity.type":"linode","action":"linode_boot"}`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	fmt.Println(string(body))
	// Output:
	// 200 application/json
	// {"data":[{"id":1001,"action":"linode_boot","created":"2026-11-21T06:00:00","duration":null,"entity":{"id":123,"label":"app-1","type":"linode","url":"/v4/linode/instances/123"},"secondary_entity":null,"message":null,"percent_complete":100,"rate":null,"read":false,"seen":false,"status":"finished","time_remaining":0,"username":null,"details":{}}],"page":1,"pages":1,"results":1}
}
