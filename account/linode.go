package account

import (
	"strconv"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/fold"
)

// progression is what a long action does to its entity's status: during
// while it is scheduled or started, after when it finishes ("" means the
// status it had before). A failed event puts back the status it had before.
type progression struct{ during, after string }

// linodeStatuses are the Linode statuses each long action moves through.
var linodeStatuses = map[string]progression{
	"linode_create":             {"provisioning", "offline"},
	"linode_boot":               {"booting", "running"},
	"lish_boot":                 {"booting", "running"},
	"linode_reboot":             {"rebooting", "running"},
	"lassie_reboot":             {"rebooting", "running"},
	"host_reboot":               {"rebooting", "running"},
	"linode_shutdown":           {"shutting_down", "offline"},
	"linode_resize":             {"resizing", ""},
	"linode_mutate":             {"migrating", ""},
	"linode_migrate":            {"migrating", ""},
	"linode_migrate_datacenter": {"migrating", ""},
	"linode_rebuild":            {"rebuilding", "running"},
	"linode_clone":              {"cloning", ""},
	"linode_delete":             {"deleting", ""},
	"backups_restore":           {"restoring", ""},
}

// volumeStatuses are the volume statuses each long action moves through.
var volumeStatuses = map[string]progression{
	"volume_create": {"creating", "active"},
	"volume_resize": {"resizing", "active"},
}

func inProgress(st string) bool {
	return st == events.LinodeScheduled || st == events.LinodeStarted || st == "in_progress"
}

func final(st string) bool {
	return st == events.LinodeFinished || st == events.LinodeNotification || st == "completed"
}

func linodeFolder() *fold.Folder[*Account, Event] {
	cat := catalog.Linode()
	f := fold.New[*Account](func(e Event) string { return e.Action }).
		Before(func(a *Account, e Event) error { a.named(cat.Action(e.Action), e); return nil })
	f.On(func(a *Account, e Event) error {
		a.entityStatus(e, linodeStatuses[e.Action], "linode")
		return nil
	}, "linode_create", "linode_boot", "lish_boot", "linode_reboot", "lassie_reboot", "host_reboot",
		"linode_shutdown", "linode_resize", "linode_mutate", "linode_migrate", "linode_migrate_datacenter",
		"linode_rebuild", "linode_delete", "backups_restore")
	f.On(func(a *Account, e Event) error {
		a.entityStatus(e, linodeStatuses[e.Action], "linode")
		if o := a.second; o != nil && o.Kind == "linode" && o != a.entity {
			a.progress(o, e, progression{"provisioning", "offline"})
		}
		return nil
	}, "linode_clone")
	f.On(func(a *Account, e Event) error {
		a.entityStatus(e, volumeStatuses[e.Action], "volume")
		return nil
	}, "volume_create", "volume_resize")
	f.On(func(a *Account, e Event) error {
		if o := a.second; o != nil && o.Kind == "volume" {
			a.progress(o, e, progression{"creating", "active"})
		}
		return nil
	}, "volume_clone")
	f.On(func(a *Account, e Event) error {
		v, l := a.entity, a.second
		if v == nil || v.Kind != "volume" || l == nil || l.Kind != "linode" {
			return nil
		}
		switch {
		case e.Status == events.LinodeFailed:
			v.set("linode_id", nil)
			v.set("linode_label", nil)
		case e.Status == events.LinodeFinished && v.attach == e.ID:
			// Linked while in progress; if it is unlinked now, a detach
			// came in between, and the attach finishing does not undo it.
		case e.Status != events.LinodeFinished || v.Fields["linode_id"] == nil:
			v.attach = e.ID
			v.set("linode_id", l.ID)
			v.set("linode_label", l.Fields["label"])
			l.link(v.Path)
		}
		return nil
	}, "volume_attach")
	f.On(func(a *Account, e Event) error {
		if v := a.entity; v != nil && v.Kind == "volume" && final(e.Status) {
			v.set("linode_id", nil)
			v.set("linode_label", nil)
		}
		return nil
	}, "volume_detach")
	f.On(func(a *Account, e Event) error {
		if o := a.second; o != nil && o.Kind == "disk" {
			a.progress(o, e, progression{"not ready", "ready"})
		}
		a.busyLinode(e)
		return nil
	}, "disk_create", "disk_duplicate", "disk_resize")
	f.On(func(a *Account, e Event) error {
		if o := a.second; o != nil && o.Kind == "disk" && inProgress(e.Status) {
			o.set("status", "deleting")
		}
		a.busyLinode(e)
		return nil
	}, "disk_delete")
	f.On(func(a *Account, e Event) error {
		if o := a.second; o != nil && o.Kind == "image" {
			a.progress(o, e, progression{"creating", "available"})
		}
		a.busyLinode(e)
		return nil
	}, "disk_imagize")
	f.On(func(a *Account, e Event) error {
		if o := a.entity; o != nil && o.Kind == "linode" && final(e.Status) {
			b, _ := o.Fields["backups"].(map[string]any)
			nb := map[string]any{}
			for k, v := range b {
				nb[k] = v
			}
			nb["enabled"] = e.Action == "backups_enable"
			o.set("backups", nb)
		}
		return nil
	}, "backups_enable", "backups_cancel")
	f.On(func(a *Account, e Event) error {
		if o := a.entity; o != nil && o.Kind == "firewall" && final(e.Status) {
			o.set("status", map[string]string{"firewall_enable": "enabled", "firewall_disable": "disabled"}[e.Action])
		}
		return nil
	}, "firewall_enable", "firewall_disable")
	f.On(func(a *Account, e Event) error {
		if fw, l := a.entity, a.second; fw != nil && fw.Kind == "firewall" && l != nil && final(e.Status) {
			a.addDevice(fw, l)
		}
		return nil
	}, "firewall_device_add")
	f.On(func(a *Account, e Event) error {
		if fw, l := a.entity, a.second; fw != nil && fw.Kind == "firewall" && l != nil && final(e.Status) {
			a.removeDevice(fw, l.ID)
		}
		return nil
	}, "firewall_device_remove")
	f.After(func(a *Account, e Event) error { a.removals(cat.Action(e.Action), e); return nil })
	return f
}

// named makes sure the entities an event names exist, and merges what a
// REST write's Change adds to them.
func (a *Account) named(act *catalog.LinodeAction, e Event) {
	var creates string
	if act != nil {
		creates = act.Creates
	}
	a.entity = a.ensure(e.Entity, creates == "entity")
	a.second = a.ensure(e.SecondaryEntity, creates == "secondary")
	if c := e.Change; c != nil {
		if a.entity != nil && c.Entity != nil {
			a.entity.merge(c.Entity)
		}
		if a.second != nil && c.Secondary != nil {
			a.second.merge(c.Secondary)
		}
		if c.Finished != nil {
			a.pending[e.ID] = c.Finished
		}
	}
	if !inProgress(e.Status) {
		fin := a.pending[e.ID]
		delete(a.pending, e.ID)
		if a.entity != nil && fin != nil && final(e.Status) {
			a.entity.merge(fin)
		}
	}
	for _, o := range []*Object{a.entity, a.second} {
		if o != nil && o.Fields["updated"] != nil {
			o.set("updated", stamp(a.now))
		}
	}
}

// entityStatus moves the entity's status by p, when the entity is of kind.
func (a *Account) entityStatus(e Event, p progression, kind string) {
	if o := a.entity; o != nil && o.Kind == kind {
		a.progress(o, e, p)
	}
}

// progress moves o's status as event e stands.
func (a *Account) progress(o *Object, e Event, p progression) {
	switch {
	case inProgress(e.Status):
		if o.busy != e.ID {
			o.busy, o.before = e.ID, o.Status()
		}
		o.set("status", p.during)
	case e.Status == events.LinodeFinished || e.Status == "completed":
		after := p.after
		if after == "" {
			after = o.before
		}
		if after == "" {
			after = o.Status()
		}
		o.busy, o.before = 0, ""
		o.set("status", after)
	case e.Status == events.LinodeFailed:
		before := o.before
		if o.busy != e.ID || before == "" || before == p.during {
			// Failed without being seen in progress, or from nothing: as a
			// new Linode whose provisioning failed, it stays offline.
			before = map[string]string{"linode": "offline", "volume": "active", "disk": "ready", "image": "available"}[o.Kind]
		}
		o.busy, o.before = 0, ""
		o.set("status", before)
	}
}

// busyLinode marks the event's Linode busy while a long action on it runs.
func (a *Account) busyLinode(e Event) {
	o := a.entity
	if o == nil || o.Kind != "linode" {
		return
	}
	if inProgress(e.Status) {
		if o.busy == 0 {
			o.busy, o.before = e.ID, o.Status()
		}
	} else if o.busy == e.ID {
		o.busy, o.before = 0, ""
	}
}

// removals deletes what a final delete event removes.
func (a *Account) removals(act *catalog.LinodeAction, e Event) {
	if act == nil || act.Removes == "" || !final(e.Status) {
		return
	}
	ent := e.Entity
	if act.Removes == "secondary" {
		ent = e.SecondaryEntity
	}
	if ent == nil {
		return
	}
	if path, ok := Key(ent.URL); ok {
		a.remove(path)
	}
}

func (a *Account) addDevice(fw, l *Object) {
	for _, d := range a.kids[fw.Path+"/devices"] {
		if ent, _ := d.Fields["entity"].(map[string]any); ent != nil && ent["id"] == l.ID {
			return
		}
	}
	id := a.NewID("device")
	d := &Object{Kind: "device", Path: fw.Path + "/devices/" + strconv.FormatInt(id, 10), ID: id}
	d.Fields = shape("device", id, "", d.Path, a.now)
	d.Fields["entity"] = deviceEntity(l)
	a.put(d)
	l.link(d.Path)
	a.syncEntities(fw)
}

func (a *Account) removeDevice(fw *Object, linodeID any) {
	for _, d := range a.kids[fw.Path+"/devices"] {
		if ent, _ := d.Fields["entity"].(map[string]any); ent != nil && ent["id"] == linodeID {
			a.remove(d.Path)
			delete(a.gone, d.Path)
			a.syncEntities(fw)
			return
		}
	}
}

// syncEntities sets a firewall's entities from its devices.
func (a *Account) syncEntities(fw *Object) {
	ents := []any{}
	for _, d := range a.kids[fw.Path+"/devices"] {
		ents = append(ents, d.Fields["entity"])
	}
	fw.set("entities", ents)
}

func deviceEntity(l *Object) map[string]any {
	return map[string]any{"id": l.ID, "type": l.Kind, "label": l.Fields["label"], "url": "/v4" + l.Path, "parent_entity": nil}
}
