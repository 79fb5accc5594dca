package linode

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/linode/linodego"
)

// TestLinodegoAccountAtSpeedZero drives the account with linodego against a
// server whose REST events complete at once.
func TestLinodegoAccountAtSpeedZero(t *testing.T) {
	s := NewServer(t, Options{RateLimit: -1})
	c := client(s, s.Token())
	ctx := t.Context()
	booted := true
	inst, err := c.CreateInstance(ctx, linodego.InstanceCreateOptions{Region: "us-east", Type: "g6-nanode-1",
		Label: "web-1", Image: "linode/debian12", RootPass: "Correct-Horse-9", Booted: &booted, Tags: []string{"prod", "web"}})
	if err != nil {
		t.Fatal(err)
	}
	if inst.Status != linodego.InstanceProvisioning || inst.Label != "web-1" || inst.Region != "us-east" {
		t.Fatalf("created: status %q label %q region %q, want provisioning web-1 us-east", inst.Status, inst.Label, inst.Region)
	}
	got, err := c.GetInstance(ctx, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != linodego.InstanceRunning || got.Specs.Memory != 1024 {
		t.Fatalf("after create: status %q memory %d, want running 1024", got.Status, got.Specs.Memory)
	}
	evs, err := c.ListEvents(ctx, &linodego.ListOptions{Filter: `{"entity.id":` + itoa(inst.ID) + `,"entity.type":"linode"}`})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range evs {
		actions = append(actions, string(e.Action)+":"+string(e.Status))
	}
	if strings.Join(actions, " ") != "linode_boot:finished linode_create:finished" {
		t.Errorf("events of the new Linode: %v", actions)
	}

	other, err := c.CreateInstance(ctx, linodego.InstanceCreateOptions{Region: "us-east", Type: "g6-nanode-1", Label: "db-1", Tags: []string{"database"}})
	if err != nil {
		t.Fatal(err)
	}
	for filter, want := range map[string]int{`{"tags":"prod"}`: 1, `{"tags":{"+contains":"ro"}}`: 1, `{"region":"us-east"}`: 2, `{"tags":"nope"}`: 0} {
		l, err := c.ListInstances(ctx, &linodego.ListOptions{Filter: filter})
		if err != nil {
			t.Fatal(err)
		}
		if len(l) != want {
			t.Errorf("ListInstances %s: %d, want %d", filter, len(l), want)
		}
	}

	if err := c.ShutdownInstance(ctx, inst.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitForInstanceStatus(ctx, inst.ID, linodego.InstanceOffline, 5); err != nil {
		t.Fatal(err)
	}
	if err := c.ResizeInstance(ctx, inst.ID, linodego.InstanceResizeOptions{Type: "g6-standard-2"}); err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetInstance(ctx, inst.ID)
	if got.Type != "g6-standard-2" || got.Specs.Memory != 4096 || got.Status != linodego.InstanceOffline {
		t.Errorf("after resize: type %q memory %d status %q", got.Type, got.Specs.Memory, got.Status)
	}

	vol, err := c.CreateVolume(ctx, linodego.VolumeCreateOptions{Label: "pgdata", Region: "us-east", Size: 20})
	if err != nil {
		t.Fatal(err)
	}
	if vol.Status != linodego.VolumeCreating {
		t.Errorf("new volume status %q, want creating", vol.Status)
	}
	if _, err := c.WaitForVolumeStatus(ctx, vol.ID, linodego.VolumeActive, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachVolume(ctx, vol.ID, &linodego.VolumeAttachOptions{LinodeID: other.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitForVolumeLinodeID(ctx, vol.ID, &other.ID, 5); err != nil {
		t.Fatal(err)
	}
	_, err = c.AttachVolume(ctx, vol.ID, &linodego.VolumeAttachOptions{LinodeID: inst.ID})
	if err == nil || !strings.Contains(err.Error(), "is already attached") {
		t.Errorf("second attach: %v, want is already attached", err)
	}
	if err := c.DeleteVolume(ctx, vol.ID); err == nil {
		t.Error("deleting an attached volume succeeded")
	}
	if err := c.DetachVolume(ctx, vol.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitForVolumeLinodeID(ctx, vol.ID, nil, 5); err != nil {
		t.Fatal(err)
	}

	if err := c.DeleteInstance(ctx, inst.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetInstance(ctx, inst.ID)
	var le *linodego.Error
	if !asLinodeErr(err, &le) || le.Code != http.StatusNotFound {
		t.Errorf("GetInstance after delete: %v, want a 404", err)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func asLinodeErr(err error, le **linodego.Error) bool {
	e, ok := err.(*linodego.Error)
	if ok {
		*le = e
	}
	return ok
}

// send sends a request with the server's token and returns status and body.
func send(t *testing.T, s *Server, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.Token())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = io.Copy(&b, resp.Body)
	return resp.StatusCode, b.String()
}

// TestBadWrites sends what the issue lists as bad input: each is answered
// with the status and errors envelope (with field where one is at fault),
// and changes nothing: no event, no object.
func TestBadWrites(t *testing.T) {
	s := NewServer(t, Options{RateLimit: -1, Speed: 1, Clock: func() time.Time { return time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC) }})
	mk := func(body string) string {
		code, b := send(t, s, "POST", "/v4/linode/instances", body)
		if code != 200 {
			t.Fatalf("create %s: %d %s", body, code, b)
		}
		var o struct{ ID int }
		_ = json.Unmarshal([]byte(b), &o)
		return itoa(o.ID)
	}
	// The clock stands still: a boot stays in progress.
	booting := mk(`{"type":"g6-nanode-1","region":"us-east","label":"booting-1","image":"linode/debian12","root_pass":"Correct-Horse-9"}`)
	plain := mk(`{"type":"g6-nanode-1","region":"us-east","label":"plain-1"}`)
	_, vb := send(t, s, "POST", "/v4/volumes", `{"label":"vol-1","region":"us-east","linode_id":`+plain+`}`)
	var vol struct{ ID int }
	_ = json.Unmarshal([]byte(vb), &vol)
	_, vb2 := send(t, s, "POST", "/v4/volumes", `{"label":"vol-west","region":"us-west"}`)
	var volWest struct{ ID int }
	_ = json.Unmarshal([]byte(vb2), &volWest)
	good := `"region":"us-east","image":"linode/debian12","root_pass":"Correct-Horse-9"`

	tests := []struct {
		name, method, path, body string
		code                     int
		want                     string // the errors envelope
	}{
		{"missing type", "POST", "/v4/linode/instances", `{"region":"us-east"}`, 400, `{"errors":[{"reason":"type is required","field":"type"}]}`},
		{"unknown type", "POST", "/v4/linode/instances", `{"type":"g9-huge",` + good + `}`, 400, `{"errors":[{"reason":"A valid plan type by that ID was not found","field":"type"}]}`},
		{"missing region", "POST", "/v4/linode/instances", `{"type":"g6-nanode-1"}`, 400, `{"errors":[{"reason":"region is required","field":"region"}]}`},
		{"unknown region", "POST", "/v4/linode/instances", `{"type":"g6-nanode-1","region":"mars-1"}`, 400, `{"errors":[{"reason":"region is not valid","field":"region"}]}`},
		{"unknown image", "POST", "/v4/linode/instances", `{"type":"g6-nanode-1","region":"us-east","image":"linode/beos5","root_pass":"Correct-Horse-9"}`, 400, `{"errors":[{"reason":"image is not valid","field":"image"}]}`},
		{"label too short", "POST", "/v4/linode/instances", `{"type":"g6-nanode-1","label":"ab",` + good + `}`, 400, `{"errors":[{"reason":"Length must be 3-64 characters","field":"label"}]}`},
		{"label characters", "POST", "/v4/linode/instances", `{"type":"g6-nanode-1","label":"web 1!",` + good + `}`, 400, `"field":"label"`},
		{"label taken", "POST", "/v4/linode/instances", `{"type":"g6-nanode-1","label":"plain-1",` + good + `}`, 400, `{"errors":[{"reason":"Label must be unique among your linodes","field":"label"}]}`},
		{"no root_pass", "POST", "/v4/linode/instances", `{"type":"g6-nanode-1","region":"us-east","image":"linode/debian12"}`, 400, `{"errors":[{"reason":"Must provide valid root_pass, authorized_keys, or authorized_users"}]}`},
		{"short root_pass", "POST", "/v4/linode/instances", `{"type":"g6-nanode-1","region":"us-east","image":"linode/debian12","root_pass":"abc"}`, 400, `{"errors":[{"reason":"Length must be 11-128 characters","field":"root_pass"}]}`},
		{"weak root_pass", "POST", "/v4/linode/instances", `{"type":"g6-nanode-1","region":"us-east","image":"linode/debian12","root_pass":"aaaaaaaaaaaa"}`, 400, `{"errors":[{"reason":"Password does not meet strength requirement.","field":"root_pass"}]}`},
		{"boot while booting", "POST", "/v4/linode/instances/" + booting + "/boot", ``, 400, `{"errors":[{"reason":"Linode busy."}]}`},
		{"resize to own type", "POST", "/v4/linode/instances/" + plain + "/resize", `{"type":"g6-nanode-1"}`, 400, `{"errors":[{"reason":"Linode is already running this service plan.","field":"type"}]}`},
		{"attach attached", "POST", "/v4/volumes/" + itoa(vol.ID) + "/attach", `{"linode_id":` + plain + `}`, 400, `is already attached`},
		{"attach across regions", "POST", "/v4/volumes/" + itoa(volWest.ID) + "/attach", `{"linode_id":` + plain + `}`, 400, `{"errors":[{"reason":"Volume and Linode must be in the same region","field":"linode_id"}]}`},
		{"delete attached volume", "DELETE", "/v4/volumes/" + itoa(vol.ID), ``, 400, `{"errors":[{"reason":"Volume must be detached before it can be deleted"}]}`},
		{"unknown linode", "POST", "/v4/linode/instances/999/boot", ``, 404, `{"errors":[{"reason":"Not found"}]}`},
		{"unknown volume", "DELETE", "/v4/volumes/999", ``, 404, `{"errors":[{"reason":"Not found"}]}`},
		{"not JSON", "POST", "/v4/linode/instances", `{"type":`, 400, `{"errors":[{"reason":"Invalid JSON"}]}`},
		{"not an object", "POST", "/v4/volumes", `[1,2]`, 400, `{"errors":[{"reason":"Invalid JSON"}]}`},
		{"10 MB body", "POST", "/v4/linode/instances", `{"label":"` + strings.Repeat("x", 10<<20) + `"}`, 413, `{"errors":[{"reason":"Request Entity Too Large"}]}`},
		{"wrong method", "PATCH", "/v4/linode/instances", ``, 405, `Method Not Allowed`},
	}
	before := s.Stats().Events
	_, beforeList := send(t, s, "GET", "/v4/linode/instances", "")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, b := send(t, s, tc.method, tc.path, tc.body)
			if code != tc.code || !strings.Contains(b, tc.want) {
				t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, code, b, tc.code, tc.want)
			}
		})
	}
	if after := s.Stats().Events; after != before {
		t.Errorf("bad writes made %d events", after-before)
	}
	if _, afterList := send(t, s, "GET", "/v4/linode/instances", ""); afterList != beforeList {
		t.Errorf("bad writes changed the Linodes:\n%s\n%s", beforeList, afterList)
	}
	if code, _ := send(t, s, "GET", "/v4/linode/instances/"+plain, ""); code != 200 {
		t.Errorf("server stopped serving: %d", code)
	}
}

// jsJudge is the node script driving @linode/api-v4; .ci/run installs the
// client (npm install in its folder).
const jsJudge = "testdata/apiv4/judge.mjs"

// TestOfficialJSClient: Linode's official JavaScript client creates, gets,
// lists (by tag) and deletes a Linode and reads its events. Without node or
// the client the test fails, saying how to install them, unless
// EVENTSIM_SKIP_NODE is set.
func TestOfficialJSClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat("testdata/apiv4/node_modules/@linode/api-v4")
	}
	if err != nil {
		msg := fmt.Sprintf("@linode/api-v4 not installed (%v): install Node.js and run `npm install --no-package-lock` in simulator/linode/testdata/apiv4, as .ci/run does", err)
		if os.Getenv("EVENTSIM_SKIP_NODE") != "" {
			t.Skip(msg + "; skipped because EVENTSIM_SKIP_NODE is set")
		}
		t.Fatal(msg + " (or set EVENTSIM_SKIP_NODE=1 to skip this test locally)")
	}
	s := NewServer(t, Options{RateLimit: -1})
	cmd := exec.CommandContext(t.Context(), node, jsJudge, s.URL(), s.Token())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", jsJudge, err, stderr.String())
	}
	var seen struct {
		Created struct {
			ID            int
			Status, Label string
		}
		Got struct {
			ID                   int
			Status, Type, Region string
		}
		Listed      []int
		Results     int
		Events      []string
		AfterDelete string
	}
	if err := json.Unmarshal(out, &seen); err != nil {
		t.Fatalf("judge printed %q: %v", out, err)
	}
	if seen.Created.Status != "provisioning" || seen.Created.Label != "js-judge-1" {
		t.Errorf("created: %+v", seen.Created)
	}
	if seen.Got.ID != seen.Created.ID || seen.Got.Status != "running" || seen.Got.Type != "g6-nanode-1" || seen.Got.Region != "us-east" {
		t.Errorf("got: %+v", seen.Got)
	}
	if len(seen.Listed) != 1 || seen.Listed[0] != seen.Created.ID || seen.Results != 1 {
		t.Errorf("listed by tag: %v (%d results)", seen.Listed, seen.Results)
	}
	if strings.Join(seen.Events, " ") != "linode_boot:finished linode_create:finished" {
		t.Errorf("events: %v", seen.Events)
	}
	if seen.AfterDelete != "404 Not found" {
		t.Errorf("get after delete: %q, want 404 Not found", seen.AfterDelete)
	}
}
