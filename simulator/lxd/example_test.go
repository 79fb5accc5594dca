package lxd_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/simulator/lxd"
)

// Start a fake LXD daemon, connect an events client as any LXD consumer
// would, and deliver one lifecycle event to it.
func Example() {
	srv, err := lxd.New(lxd.Options{Projects: []string{"demo"}})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	// The consumer under test: listens to lifecycle events of project demo.
	url := strings.Replace(srv.URL(), "http", "ws", 1) + "/1.0/events?type=lifecycle&project=demo"
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	for srv.Stats().Clients == 0 { // wait until the server has registered it
		time.Sleep(time.Millisecond)
	}

	// The scenario player hands the server records in timeline order.
	ctx := context.Background()
	event := `{"type":"lifecycle","timestamp":"2026-01-01T00:00:00Z","metadata":{"action":"instance-started","source":"/1.0/instances/c1?project=demo","requestor":{"username":"root","protocol":"unix","address":"@"}},"location":"none","project":"demo"}`
	other := `{"type":"lifecycle","timestamp":"2026-01-01T00:00:01Z","metadata":{"action":"profile-created","source":"/1.0/profiles/p1"},"location":"none","project":"default"}`
	srv.Deliver(ctx, &scenarios.Record{API: "lxd", JSON: []byte(other), Type: "lifecycle", Project: "default", Location: "none"})
	srv.Deliver(ctx, &scenarios.Record{API: "lxd", JSON: []byte(event), Type: "lifecycle", Project: "demo", Location: "none"})

	_, frame, err := conn.ReadMessage()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(frame)) // frames end in a newline, as LXD's do
	fmt.Println(srv.Stats().Records, "records,", srv.Stats().Sent, "sent")
	// Output:
	// {"type":"lifecycle","timestamp":"2026-01-01T00:00:00Z","metadata":{"action":"instance-started","source":"/1.0/instances/c1?project=demo","requestor":{"username":"root","protocol":"unix","address":"@"}},"location":"none","project":"demo"}
	// 2 records, 1 sent
}
