package linode

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/scenarios"
)

// eventShape is what a verb's event must share with the REST write's: the
// action, the entity's and secondary entity's types, how it ends, and
// whether it progressed (percent_complete set) or was a notification.
type eventShape struct {
	Action, EntityType, SecondaryType, Status string
	Progress                                  bool
}

func shapeOf(ev *events.LinodeEvent) eventShape {
	sh := eventShape{Action: ev.Action, Status: ev.Status, Progress: ev.PercentComplete != nil}
	if ev.Entity != nil {
		sh.EntityType = ev.Entity.Type
	}
	if ev.SecondaryEntity != nil {
		sh.SecondaryType = ev.SecondaryEntity.Type
	}
	return sh
}

// TestVerbAndRESTMakeTheSameEvents: for each scenario verb that has a REST
// write, the verb played by the engine and the write sent to the server
// make the same events (action, entity types, final status, progress).
func TestVerbAndRESTMakeTheSameEvents(t *testing.T) {
	const pass = `"root_pass":"Correct-Horse-9"`
	tests := []struct {
		verb  string
		setup []string // scenario steps before the verb, as YAML
		args  string   // the verb's arguments, as YAML
		// rest: the requests before the write (their answers' ids fill
		// {0}, {1}...) and the write itself
		pre [][3]string
		req [3]string
	}{
		{verb: "linode.create", args: "label: web-1",
			req: [3]string{"POST", "/v4/linode/instances", `{"type":"g6-nanode-1","region":"us-east","label":"web-1","image":"linode/debian12",` + pass + `,"booted":false}`}},
		{verb: "linode.boot", setup: []string{"linode: linode.create\n    label: web-1"}, args: "label: web-1",
			pre: [][3]string{{"POST", "/v4/linode/instances", `{"type":"g6-nanode-1","region":"us-east","label":"web-1"}`}},
			req: [3]string{"POST", "/v4/linode/instances/{0}/boot", ``}},
		{verb: "linode.reboot", setup: []string{"linode: linode.create\n    label: web-1"}, args: "label: web-1",
			pre: [][3]string{{"POST", "/v4/linode/instances", `{"type":"g6-nanode-1","region":"us-east","label":"web-1"}`}},
			req: [3]string{"POST", "/v4/linode/instances/{0}/reboot", ``}},
		{verb: "linode.shutdown", setup: []string{"linode: linode.create\n    label: web-1"}, args: "label: web-1",
			pre: [][3]string{{"POST", "/v4/linode/instances", `{"type":"g6-nanode-1","region":"us-east","label":"web-1"}`}},
			req: [3]string{"POST", "/v4/linode/instances/{0}/shutdown", ``}},
		{verb: "linode.resize", setup: []string{"linode: linode.create\n    label: web-1"}, args: "label: web-1",
			pre: [][3]string{{"POST", "/v4/linode/instances", `{"type":"g6-nanode-1","region":"us-east","label":"web-1"}`}},
			req: [3]string{"POST", "/v4/linode/instances/{0}/resize", `{"type":"g6-standard-2"}`}},
		{verb: "linode.migrate", setup: []string{"linode: linode.create\n    label: web-1"}, args: "label: web-1",
			pre: [][3]string{{"POST", "/v4/linode/instances", `{"type":"g6-nanode-1","region":"us-east","label":"web-1"}`}},
			req: [3]string{"POST", "/v4/linode/instances/{0}/migrate", `{"region":"us-west"}`}},
		{verb: "linode.rebuild", setup: []string{"linode: linode.create\n    label: web-1"}, args: "label: web-1",
			pre: [][3]string{{"POST", "/v4/linode/instances", `{"type":"g6-nanode-1","region":"us-east","label":"web-1"}`}},
			req: [3]string{"POST", "/v4/linode/instances/{0}/rebuild", `{"image":"linode/debian12",` + pass + `}`}},
		{verb: "linode.clone", setup: []string{"linode: linode.create\n    label: web-1"}, args: "label: web-1",
			pre: [][3]string{{"POST", "/v4/linode/instances", `{"type":"g6-nanode-1","region":"us-east","label":"web-1"}`}},
			req: [3]string{"POST", "/v4/linode/instances/{0}/clone", `{}`}},
		{verb: "linode.update", setup: []string{"linode: linode.create\n    label: web-1"}, args: "label: web-1",
			pre: [][3]string{{"POST", "/v4/linode/instances", `{"type":"g6-nanode-1","region":"us-east","label":"web-1"}`}},
			req: [3]string{"PUT", "/v4/linode/instances/{0}", `{"tags":["prod"]}`}},
		{verb: "linode.delete", setup: []string{"linode: linode.create\n    label: web-1"}, args: "label: web-1",
			pre: [][3]string{{"POST", "/v4/linode/instances", `{"type":"g6-nanode-1","region":"us-east","label":"web-1"}`}},
			req: [3]string{"DELETE", "/v4/linode/instances/{0}", ``}},
		{verb: "disk.create", setup: []string{"linode: linode.create\n    label: web-1"}, args: "label: web-1\n    target: data",
			pre: [][3]string{{"POST", "/v4/linode/instances", `{"type":"g6-nanode-1","region":"us-east","label":"web-1"}`}},
			req: [3]string{"POST", "/v4/linode/instances/{0}/disks", `{"label":"data","size":1024}`}},
		{verb: "volume.create", args: "label: vol-1",
			req: [3]string{"POST", "/v4/volumes", `{"label":"vol-1","region":"us-east"}`}},
		{verb: "volume.attach", setup: []string{"linode: linode.create\n    label: web-1", "linode: volume.create\n    label: vol-1"}, args: "label: vol-1\n    target: web-1",
			pre: [][3]string{{"POST", "/v4/linode/instances", `{"type":"g6-nanode-1","region":"us-east","label":"web-1"}`}, {"POST", "/v4/volumes", `{"label":"vol-1","region":"us-east"}`}},
			req: [3]string{"POST", "/v4/volumes/{1}/attach", `{"linode_id":{0}}`}},
		{verb: "volume.resize", setup: []string{"linode: volume.create\n    label: vol-1"}, args: "label: vol-1",
			pre: [][3]string{{"POST", "/v4/volumes", `{"label":"vol-1","region":"us-east"}`}},
			req: [3]string{"POST", "/v4/volumes/{0}/resize", `{"size":40}`}},
		{verb: "volume.delete", setup: []string{"linode: volume.create\n    label: vol-1"}, args: "label: vol-1",
			pre: [][3]string{{"POST", "/v4/volumes", `{"label":"vol-1","region":"us-east"}`}},
			req: [3]string{"DELETE", "/v4/volumes/{0}", ``}},
		{verb: "domain.create", args: "label: example.com",
			req: [3]string{"POST", "/v4/domains", `{"domain":"example.com","type":"master","soa_email":"a@example.com"}`}},
		{verb: "domain.record-create", setup: []string{"linode: domain.create\n    label: example.com"}, args: "label: example.com\n    target: www",
			pre: [][3]string{{"POST", "/v4/domains", `{"domain":"example.com","type":"master","soa_email":"a@example.com"}`}},
			req: [3]string{"POST", "/v4/domains/{0}/records", `{"type":"A","name":"www","target":"192.0.2.1"}`}},
		{verb: "domain.delete", setup: []string{"linode: domain.create\n    label: example.com"}, args: "label: example.com",
			pre: [][3]string{{"POST", "/v4/domains", `{"domain":"example.com","type":"master","soa_email":"a@example.com"}`}},
			req: [3]string{"DELETE", "/v4/domains/{0}", ``}},
		{verb: "firewall.create", args: "label: fw-1",
			req: [3]string{"POST", "/v4/networking/firewalls", `{"label":"fw-1","rules":{}}`}},
		{verb: "firewall.update", setup: []string{"linode: firewall.create\n    label: fw-1"}, args: "label: fw-1",
			pre: [][3]string{{"POST", "/v4/networking/firewalls", `{"label":"fw-1","rules":{}}`}},
			req: [3]string{"PUT", "/v4/networking/firewalls/{0}", `{"tags":["edge"]}`}},
		{verb: "firewall.device-add", setup: []string{"linode: linode.create\n    label: web-1", "linode: firewall.create\n    label: fw-1"}, args: "label: fw-1\n    target: web-1",
			pre: [][3]string{{"POST", "/v4/linode/instances", `{"type":"g6-nanode-1","region":"us-east","label":"web-1"}`}, {"POST", "/v4/networking/firewalls", `{"label":"fw-1","rules":{}}`}},
			req: [3]string{"POST", "/v4/networking/firewalls/{1}/devices", `{"id":{0},"type":"linode"}`}},
		{verb: "firewall.delete", setup: []string{"linode: firewall.create\n    label: fw-1"}, args: "label: fw-1",
			pre: [][3]string{{"POST", "/v4/networking/firewalls", `{"label":"fw-1","rules":{}}`}},
			req: [3]string{"DELETE", "/v4/networking/firewalls/{0}", ``}},
		{verb: "nodebalancer.create", args: "label: nb-1",
			req: [3]string{"POST", "/v4/nodebalancers", `{"label":"nb-1","region":"us-east"}`}},
		{verb: "nodebalancer.update", setup: []string{"linode: nodebalancer.create\n    label: nb-1"}, args: "label: nb-1",
			pre: [][3]string{{"POST", "/v4/nodebalancers", `{"label":"nb-1","region":"us-east"}`}},
			req: [3]string{"PUT", "/v4/nodebalancers/{0}", `{"client_conn_throttle":5}`}},
		{verb: "nodebalancer.delete", setup: []string{"linode: nodebalancer.create\n    label: nb-1"}, args: "label: nb-1",
			pre: [][3]string{{"POST", "/v4/nodebalancers", `{"label":"nb-1","region":"us-east"}`}},
			req: [3]string{"DELETE", "/v4/nodebalancers/{0}", ``}},
	}
	for _, tc := range tests {
		t.Run(tc.verb, func(t *testing.T) {
			want := verbEvents(t, tc.verb, tc.setup, tc.args)
			got := restEvents(t, tc.pre, tc.req)
			if !slices.Equal(got, want) {
				t.Errorf("REST %s %s made\n%+v\nthe verb %s makes\n%+v", tc.req[0], tc.req[1], got, tc.verb, want)
			}
		})
	}
}

// verbEvents plays the setup steps then the verb, and returns the final
// shapes of the events the verb made.
func verbEvents(t *testing.T, verb string, setup []string, args string) []eventShape {
	t.Helper()
	var y strings.Builder
	y.WriteString("name: verb\napi: linode\nsteps:\n")
	for _, s := range setup {
		y.WriteString("  - " + s + "\n")
	}
	y.WriteString("  - linode: " + verb + "\n    " + args + "\n")
	scen, err := scenarios.Parse("verb.yaml", []byte(y.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, y.String())
	}
	eng, err := scenarios.New(scen, scenarios.Options{})
	if err != nil {
		t.Fatal(err)
	}
	last := map[int64]*events.LinodeEvent{}
	for {
		r, err := eng.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.Linode != nil {
			last[r.Linode.ID] = r.Linode
		}
	}
	ids := make([]int64, 0, len(last))
	for id := range last {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	n := len(scenarios.LinodeVerbActions(verb))
	var out []eventShape
	for _, id := range ids[len(ids)-n:] {
		out = append(out, shapeOf(last[id]))
	}
	return out
}

// restEvents sends the setup requests and the write to a server at speed
// 0 and returns the final shapes of the events the write made.
func restEvents(t *testing.T, pre [][3]string, req [3]string) []eventShape {
	t.Helper()
	s := NewServer(t, Options{RateLimit: -1})
	var ids []string
	fill := func(x string) string {
		for i, id := range ids {
			x = strings.ReplaceAll(x, fmt.Sprintf("{%d}", i), id)
		}
		return x
	}
	for _, p := range pre {
		code, b := send(t, s, p[0], fill(p[1]), fill(p[2]))
		if code != http.StatusOK {
			t.Fatalf("%s %s: %d %s", p[0], p[1], code, b)
		}
		var o struct{ ID json.Number }
		_ = json.Unmarshal([]byte(b), &o)
		ids = append(ids, o.ID.String())
	}
	before := s.Stats().Events
	if code, b := send(t, s, req[0], fill(req[1]), fill(req[2])); code != http.StatusOK {
		t.Fatalf("%s %s: %d %s", req[0], fill(req[1]), code, b)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []eventShape
	for i := before; i < len(s.st.ents); i++ {
		var ev events.LinodeEvent
		if err := json.Unmarshal(s.st.appendJSON(nil, &s.st.ents[i]), &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, shapeOf(&ev))
	}
	return out
}
