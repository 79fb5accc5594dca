package linode

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/linode/linodego"
)

// TestLinodegoAccountAtSpeedZero drives the account with linodego against a
// server whose REST events complete at once.
func TestLinodegoAccountAtSpeedZero(t *testing.T) {
	s := newServer(t, Options{RateLimit: -1})
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
