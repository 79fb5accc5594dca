package account_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/eventsim/eventsim/account"
	"github.com/eventsim/eventsim/events"
)

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

func linodeEnt(id int64, label string) *events.LinodeEntity {
	return &events.LinodeEntity{ID: id, Label: label, Type: "linode", URL: "/v4/linode/instances/" + itoa(id)}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// ev is one state of an event.
func ev(id int64, action, status string, ent, sec *events.LinodeEntity) account.Event {
	return account.Event{LinodeEvent: &events.LinodeEvent{ID: id, Action: action, Status: status,
		Created: events.LinodeTime(t0.Add(time.Duration(id) * time.Second)), Entity: ent, SecondaryEntity: sec}}
}

func apply(t *testing.T, a *account.Account, es ...account.Event) {
	t.Helper()
	for _, e := range es {
		if err := a.Apply(e); err != nil {
			t.Fatalf("apply %s %s: %v", e.Action, e.Status, err)
		}
	}
}

func status(t *testing.T, a *account.Account, path string) string {
	t.Helper()
	o, ok := a.Get(path)
	if !ok {
		return "<gone>"
	}
	return o.Status()
}

// TestLinodeStatuses follows a Linode through the statuses the issue and
// linodego's recorded power cycle name, state by state.
func TestLinodeStatuses(t *testing.T) {
	l := linodeEnt(7, "web-1")
	cfg := &events.LinodeEntity{ID: int64(70), Label: "My Debian 12 Disk Profile", Type: "linode_config", URL: "/v4/linode/instances/7/configs/70"}
	img := &events.LinodeEntity{ID: "linode/debian12", Label: "Debian 12", Type: "image", URL: "/v4/images/linode/debian12"}
	steps := []struct {
		e    account.Event
		want string
	}{
		{ev(1, "linode_create", "scheduled", l, img), "provisioning"},
		{ev(1, "linode_create", "started", l, img), "provisioning"},
		{ev(1, "linode_create", "finished", l, img), "offline"},
		{ev(2, "linode_boot", "scheduled", l, cfg), "booting"},
		{ev(2, "linode_boot", "failed", l, cfg), "offline"},
		{ev(3, "linode_boot", "started", l, cfg), "booting"},
		{ev(3, "linode_boot", "finished", l, cfg), "running"},
		{ev(4, "linode_reboot", "started", l, cfg), "rebooting"},
		{ev(4, "linode_reboot", "finished", l, cfg), "running"},
		{ev(5, "linode_migrate", "started", l, nil), "migrating"},
		{ev(5, "linode_migrate", "failed", l, nil), "running"},
		{ev(6, "linode_shutdown", "started", l, nil), "shutting_down"},
		{ev(6, "linode_shutdown", "finished", l, nil), "offline"},
		{ev(7, "linode_resize", "started", l, nil), "resizing"},
		{ev(7, "linode_resize", "finished", l, nil), "offline"},
		{ev(8, "linode_rebuild", "started", l, img), "rebuilding"},
		{ev(8, "linode_rebuild", "finished", l, img), "running"},
		{ev(9, "backups_restore", "started", l, l), "restoring"},
		{ev(9, "backups_restore", "finished", l, l), "running"},
		{ev(10, "linode_delete", "scheduled", l, nil), "deleting"},
		{ev(10, "linode_delete", "finished", l, nil), "<gone>"},
		// A later event about the deleted Linode does not bring it back.
		{ev(11, "linode_update", "notification", l, nil), "<gone>"},
		// Creating it again does.
		{ev(12, "linode_create", "scheduled", l, img), "provisioning"},
	}
	a := account.New()
	for i, s := range steps {
		apply(t, a, s.e)
		if got := status(t, a, "/linode/instances/7"); got != s.want {
			t.Fatalf("step %d (%s %s): status %q, want %q", i, s.e.Action, s.e.Status, got, s.want)
		}
	}
	if _, ok := a.Get("/linode/instances/7/configs/70"); ok {
		t.Error("the config of a deleted Linode survived it")
	}
}

func TestBusy(t *testing.T) {
	a := account.New()
	l := linodeEnt(7, "web-1")
	apply(t, a, ev(1, "linode_create", "finished", l, nil), ev(2, "linode_boot", "started", l, nil))
	o, _ := a.Get("/linode/instances/7")
	if id, busy := o.Busy(); !busy || id != 2 {
		t.Fatalf("Busy() = %d, %v during a boot; want 2, true", id, busy)
	}
	apply(t, a, ev(2, "linode_boot", "finished", l, nil))
	if _, busy := o.Busy(); busy {
		t.Error("still busy after the boot finished")
	}
	disk := &events.LinodeEntity{ID: int64(90), Label: "data", Type: "disk", URL: "/v4/linode/instances/7/disks/90"}
	apply(t, a, ev(3, "disk_create", "started", l, disk))
	if _, busy := o.Busy(); !busy {
		t.Error("not busy while a disk is created")
	}
	if got := status(t, a, "/linode/instances/7/disks/90"); got != "not ready" {
		t.Errorf("disk status %q while created, want not ready", got)
	}
	apply(t, a, ev(3, "disk_create", "finished", l, disk))
	if got := status(t, a, "/linode/instances/7/disks/90"); got != "ready" {
		t.Errorf("disk status %q after created, want ready", got)
	}
	apply(t, a, ev(4, "disk_delete", "finished", l, disk))
	if got := status(t, a, "/linode/instances/7/disks/90"); got != "<gone>" {
		t.Errorf("disk after disk_delete: %q", got)
	}
}

func TestVolumes(t *testing.T) {
	a := account.New()
	l := linodeEnt(7, "db-1")
	v := &events.LinodeEntity{ID: int64(50), Label: "pgdata", Type: "volume", URL: "/v4/volumes/50"}
	apply(t, a, ev(1, "linode_create", "finished", l, nil), ev(2, "volume_create", "scheduled", v, nil))
	if got := status(t, a, "/volumes/50"); got != "creating" {
		t.Fatalf("volume %q, want creating", got)
	}
	apply(t, a, ev(2, "volume_create", "finished", v, nil), ev(3, "volume_attach", "scheduled", v, l))
	vo, _ := a.Get("/volumes/50")
	if vo.Fields["linode_id"] != int64(7) || vo.Fields["linode_label"] != "db-1" || vo.Status() != "active" {
		t.Fatalf("attached volume: %s", vo.JSON())
	}
	if got, ok := a.Collection("/linode/instances/7/volumes"); !ok || len(got) != 1 {
		t.Errorf("/linode/instances/7/volumes lists %d (ok %v), want the volume", len(got), ok)
	}
	apply(t, a, ev(3, "volume_attach", "finished", v, l), ev(4, "volume_detach", "started", v, l))
	if vo.Fields["linode_id"] == nil {
		t.Error("linode_id cleared before the detach finished")
	}
	apply(t, a, ev(4, "volume_detach", "finished", v, l))
	if vo.Fields["linode_id"] != nil || vo.Fields["linode_label"] != nil {
		t.Errorf("detached volume: %s", vo.JSON())
	}
	apply(t, a, account.Event{LinodeEvent: ev(5, "volume_resize", "scheduled", v, nil).LinodeEvent,
		Change: &account.Change{Finished: map[string]any{"size": 40}}})
	if vo.Status() != "resizing" || vo.Fields["size"] != 20 {
		t.Errorf("resizing volume: %s", vo.JSON())
	}
	apply(t, a, ev(5, "volume_resize", "finished", v, nil))
	if vo.Status() != "active" || vo.Fields["size"] != 40 {
		t.Errorf("resized volume: %s", vo.JSON())
	}
	apply(t, a, ev(6, "volume_attach", "finished", v, l), ev(7, "linode_delete", "finished", l, nil))
	if vo.Fields["linode_id"] != nil {
		t.Error("a deleted Linode's volume stayed attached")
	}

	// A detach that finishes while the attach before it is still in
	// progress (the CSI driver detaches as soon as linode_id shows): the
	// attach finishing after it leaves the volume detached.
	l2 := linodeEnt(8, "db-2")
	apply(t, a, ev(8, "linode_create", "finished", l2, nil), ev(9, "volume_attach", "started", v, l2))
	if vo.Fields["linode_id"] != int64(8) {
		t.Fatalf("attaching volume: %s", vo.JSON())
	}
	apply(t, a, ev(10, "volume_detach", "finished", v, l2), ev(9, "volume_attach", "finished", v, l2))
	if vo.Fields["linode_id"] != nil {
		t.Errorf("the attach finishing after the detach linked the volume again: %s", vo.JSON())
	}
}

func TestFirewallDevicesAndRecords(t *testing.T) {
	a := account.New()
	l := linodeEnt(7, "web-1")
	fw := &events.LinodeEntity{ID: int64(30), Label: "fw-web", Type: "firewall", URL: "/v4/networking/firewalls/30"}
	apply(t, a, ev(1, "firewall_create", "notification", fw, nil), ev(2, "firewall_device_add", "notification", fw, l))
	devs, ok := a.Collection("/networking/firewalls/30/devices")
	if !ok || len(devs) != 1 {
		t.Fatalf("devices: %d, %v", len(devs), ok)
	}
	f, _ := a.Get("/networking/firewalls/30")
	if ents := f.Fields["entities"].([]any); len(ents) != 1 {
		t.Errorf("firewall entities %v", ents)
	}
	apply(t, a, ev(3, "firewall_device_remove", "notification", fw, l))
	if devs, _ := a.Collection("/networking/firewalls/30/devices"); len(devs) != 0 {
		t.Errorf("device left after remove")
	}
	apply(t, a, ev(4, "firewall_disable", "notification", fw, nil))
	if f.Status() != "disabled" {
		t.Errorf("firewall status %q after disable", f.Status())
	}

	d := &events.LinodeEntity{ID: int64(20), Label: "example.com", Type: "domain", URL: "/v4/domains/20"}
	r := &events.LinodeEntity{ID: int64(21), Label: "www", Type: "domain_record", URL: "/v4/domains/20/records/21"}
	apply(t, a, ev(5, "dns_zone_create", "notification", d, nil), ev(6, "dns_record_create", "notification", d, r))
	if recs, ok := a.Collection("/domains/20/records"); !ok || len(recs) != 1 {
		t.Fatalf("records: %d %v", len(recs), ok)
	}
	apply(t, a, ev(7, "dns_zone_delete", "notification", d, nil))
	if _, ok := a.Get("/domains/20/records/21"); ok {
		t.Error("a record outlived its domain")
	}
	if _, ok := a.Collection("/domains/20/records"); ok {
		t.Error("the records list of a deleted domain answers")
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		url, want string
		ok        bool
	}{
		{"/v4/linode/instances/5", "/linode/instances/5", true},
		{"/v4beta/volumes/9/", "/volumes/9", true},
		{"https://www.linode.com/community/questions/1", "", false},
		{"/v4/account", "/account", true},
		{"/v3/x", "", false},
	}
	for _, tc := range tests {
		got, ok := account.Key(tc.url)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Key(%q) = %q, %v; want %q, %v", tc.url, got, ok, tc.want, tc.ok)
		}
	}
}
