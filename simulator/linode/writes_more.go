package linode

import (
	"strconv"
	"strings"

	"github.com/eventsim/eventsim/account"
	"github.com/eventsim/eventsim/events"
)

// Volumes.

func (s *Server) createVolume(c *call) ([]byte, error) {
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	label, err := b.requiredStr("label")
	if err != nil {
		return nil, err
	}
	if len(label) < 1 || len(label) > 32 {
		return nil, fieldErr("label", "Length must be 1-32 characters")
	}
	size, hasSize, err := b.integer("size")
	if err != nil {
		return nil, err
	}
	if !hasSize {
		size = 20
	}
	if size < 10 || size > 16384 {
		return nil, fieldErr("size", "Size must be between 10 and 16384")
	}
	region, hasRegion, err := b.str("region")
	if err != nil {
		return nil, err
	}
	if _, ok := account.FindRegion(region); hasRegion && !ok {
		return nil, fieldErr("region", "region is not valid")
	}
	linodeID, hasLinode, err := b.integer("linode_id")
	if err != nil {
		return nil, err
	}
	if !hasRegion && !hasLinode {
		return nil, fieldErr("region", "Must provide a region or a Linode ID")
	}
	tags, _, err := b.tags()
	if err != nil {
		return nil, err
	}
	if tags == nil {
		tags = []string{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var l *account.Object
	if hasLinode {
		if l, err = s.object("/linode/instances/"+strconv.FormatInt(linodeID, 10), "linode"); err != nil {
			return nil, fieldErr("linode_id", "Linode not found")
		}
		if hasRegion && l.Fields["region"] != region {
			return nil, fieldErr("region", "Volume and Linode must be in the same region")
		}
		region, _ = l.Fields["region"].(string)
	}
	if s.labelTaken("/volumes", "label", label, nil) {
		return nil, fieldErr("label", "Label must be unique among your volumes")
	}
	id := s.acct.NewID("volume")
	path := "/volumes/" + strconv.FormatInt(id, 10)
	fields := map[string]any{"label": label, "size": size, "region": region, "tags": tags,
		"filesystem_path": "/dev/disk/by-id/scsi-0Linode_Volume_" + label, "created": account.Stamp(s.clock())}
	ent := &events.LinodeEntity{ID: id, Label: label, Type: "volume", URL: "/v4" + path}
	acts := []act{{"volume_create", ent, nil}}
	if l != nil {
		// Attached from the start, as the real answer shows.
		fields["linode_id"], fields["linode_label"] = l.ID, l.Fields["label"]
		acts = append(acts, act{"volume_attach", ent, entityOf(l, "linode")})
	}
	if err := s.emit(acts, &account.Change{Entity: fields}); err != nil {
		return nil, err
	}
	return s.answerObject(c, path)
}

func (s *Server) volumeOf(c *call) (*account.Object, error) {
	return s.object("/volumes/"+segment(c.path, 1), "volume")
}

func (s *Server) deleteVolume(c *call) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.volumeOf(c)
	if err != nil {
		return nil, err
	}
	if v.Fields["linode_id"] != nil {
		return nil, &apiError{kind: errBadRequest, reason: "Volume must be detached before it can be deleted"}
	}
	if err := s.emit([]act{{"volume_delete", entityOf(v, "volume"), nil}}, nil); err != nil {
		return nil, err
	}
	return emptyAnswer(c)
}

func (s *Server) attachVolume(c *call) ([]byte, error) {
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	linodeID, err := b.requiredInt("linode_id")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.volumeOf(c)
	if err != nil {
		return nil, err
	}
	l, err := s.object("/linode/instances/"+strconv.FormatInt(linodeID, 10), "linode")
	if err != nil {
		return nil, fieldErr("linode_id", "Linode not found")
	}
	if at, ok := v.Fields["linode_id"].(int64); ok {
		return nil, fieldErr("linode_id", "Volume "+strconv.FormatInt(idOf(v), 10)+" is already attached to Linode "+strconv.FormatInt(at, 10))
	}
	if v.Fields["region"] != l.Fields["region"] {
		return nil, fieldErr("linode_id", "Volume and Linode must be in the same region")
	}
	if err := s.emit([]act{{"volume_attach", entityOf(v, "volume"), entityOf(l, "linode")}}, nil); err != nil {
		return nil, err
	}
	return s.answerObject(c, v.Path)
}

func idOf(o *account.Object) int64 {
	n, _ := o.ID.(int64)
	return n
}

func (s *Server) detachVolume(c *call) ([]byte, error) {
	if _, err := readBody(c); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.volumeOf(c)
	if err != nil {
		return nil, err
	}
	at, ok := v.Fields["linode_id"].(int64)
	if !ok {
		return nil, &apiError{kind: errBadRequest, reason: "Volume is not attached to a Linode"}
	}
	l, _ := s.acct.Get("/linode/instances/" + strconv.FormatInt(at, 10))
	var sec *events.LinodeEntity
	if l != nil {
		sec = entityOf(l, "linode")
	}
	if err := s.emit([]act{{"volume_detach", entityOf(v, "volume"), sec}}, nil); err != nil {
		return nil, err
	}
	return emptyAnswer(c)
}

func (s *Server) resizeVolume(c *call) ([]byte, error) {
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	size, err := b.requiredInt("size")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.volumeOf(c)
	if err != nil {
		return nil, err
	}
	cur, _ := v.Fields["size"].(int64)
	if n, ok := v.Fields["size"].(int); ok {
		cur = int64(n)
	}
	if size <= cur || size > 16384 {
		return nil, fieldErr("size", "Volumes can only be resized up, to at most 16384 GB")
	}
	if err := s.emit([]act{{"volume_resize", entityOf(v, "volume"), nil}}, &account.Change{Entity: map[string]any{"size": size}}); err != nil {
		return nil, err
	}
	return s.answerObject(c, v.Path)
}

func (s *Server) cloneVolume(c *call) ([]byte, error) {
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	label, err := b.requiredStr("label")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.volumeOf(c)
	if err != nil {
		return nil, err
	}
	if s.labelTaken("/volumes", "label", label, nil) {
		return nil, fieldErr("label", "Label must be unique among your volumes")
	}
	id := s.acct.NewID("volume")
	path := "/volumes/" + strconv.FormatInt(id, 10)
	fields := map[string]any{"label": label, "size": v.Fields["size"], "region": v.Fields["region"], "tags": []string{},
		"filesystem_path": "/dev/disk/by-id/scsi-0Linode_Volume_" + label}
	sec := &events.LinodeEntity{ID: id, Label: label, Type: "volume", URL: "/v4" + path}
	if err := s.emit([]act{{"volume_clone", entityOf(v, "volume"), sec}}, &account.Change{Secondary: fields}); err != nil {
		return nil, err
	}
	return s.answerObject(c, path)
}

// Domains, firewalls, NodeBalancers (and volume updates): createTop,
// updateTop, deleteTop.

func (s *Server) createTop(c *call) ([]byte, error) {
	k := topKinds[c.path]
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	fields := map[string]any{}
	for key, v := range b {
		fields[key] = plain(v)
	}
	label, ok, err := b.str(k.labelField)
	if err != nil {
		return nil, err
	}
	switch {
	case !ok && k.kind != "nodebalancer":
		return nil, fieldErr(k.labelField, k.labelField+" is required")
	case k.kind == "domain":
		if err := checkDomain(label, b); err != nil {
			return nil, err
		}
	case k.kind == "nodebalancer":
		region, ok, err := b.str("region")
		if err != nil {
			return nil, err
		}
		if _, known := account.FindRegion(region); !ok || !known {
			return nil, fieldErr("region", "region is not valid")
		}
	case k.kind == "firewall":
		if len(label) < 3 || len(label) > 32 {
			return nil, fieldErr("label", "Length must be 3-32 characters")
		}
	}
	if tags, ok, err := b.tags(); err != nil {
		return nil, err
	} else if ok {
		fields["tags"] = tags
	}
	delete(fields, "devices")
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok && s.labelTaken(c.path, k.labelField, label, nil) {
		return nil, fieldErr(k.labelField, k.kind+" "+strconv.Quote(label)+" already exists")
	}
	id := s.acct.NewID(k.kind)
	path := c.path + "/" + strconv.FormatInt(id, 10)
	if !ok {
		label = "balancer" + strconv.FormatInt(id, 10)
		fields["label"] = label
	}
	if k.kind == "firewall" {
		rules, _ := fields["rules"].(map[string]any)
		fields["rules"] = firewallRules(rules, id)
	}
	fields["created"] = account.Stamp(s.clock())
	ent := &events.LinodeEntity{ID: id, Label: label, Type: k.etype, URL: "/v4" + path}
	if err := s.emit([]act{{k.create, ent, nil}}, &account.Change{Entity: fields}); err != nil {
		return nil, err
	}
	return s.answerObject(c, path)
}

// firewallRules fills in a firewall's rules object as the API shows it.
func firewallRules(r map[string]any, id int64) map[string]any {
	out := map[string]any{"inbound": []any{}, "inbound_policy": "ACCEPT", "outbound": []any{},
		"outbound_policy": "ACCEPT", "version": int64(1), "fingerprint": strconv.FormatInt(id*2654435761%0xffffffff, 16)}
	for k, v := range r {
		out[k] = v
	}
	return out
}

func checkDomain(name string, b body) error {
	if len(name) < 1 || len(name) > 253 || !strings.Contains(name, ".") || strings.ContainsAny(name, " /_") {
		return fieldErr("domain", "Domain is not valid.")
	}
	typ, err := b.requiredStr("type")
	if err != nil {
		return err
	}
	if typ != "master" && typ != "slave" {
		return fieldErr("type", "Must be one of master, slave")
	}
	if _, ok, _ := b.str("soa_email"); typ == "master" && !ok {
		return fieldErr("soa_email", "soa_email is required for master domains")
	}
	return nil
}

func (s *Server) topOf(c *call) (string, *account.Object, error) {
	i := strings.LastIndexByte(c.path, '/')
	coll := c.path[:i]
	o, err := s.object(c.path, topKinds[coll].kind)
	return coll, o, err
}

func (s *Server) updateTop(c *call) ([]byte, error) {
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	fields := map[string]any{}
	for key, v := range b {
		switch key {
		case "id", "created", "updated", "linode_id", "linode_label", "size", "region", "entities", "devices":
			continue
		}
		fields[key] = plain(v)
	}
	if tags, ok, err := b.tags(); err != nil {
		return nil, err
	} else if ok {
		fields["tags"] = tags
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	coll, o, err := s.topOf(c)
	if err != nil {
		return nil, err
	}
	k := topKinds[coll]
	if l, ok := fields[k.labelField].(string); ok && s.labelTaken(coll, k.labelField, l, o) {
		return nil, fieldErr(k.labelField, k.kind+" "+strconv.Quote(l)+" already exists")
	}
	action := k.update
	if k.kind == "firewall" {
		if st, ok := fields["status"].(string); ok && st != o.Status() {
			if st != "enabled" && st != "disabled" {
				return nil, fieldErr("status", "Must be one of enabled, disabled")
			}
			action = "firewall_" + strings.TrimSuffix(st, "d")
			delete(fields, "status")
		}
	}
	if err := s.emit([]act{{action, entityOf(o, k.etype), nil}}, &account.Change{Entity: fields}); err != nil {
		return nil, err
	}
	return s.answerObject(c, o.Path)
}

func (s *Server) deleteTop(c *call) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	coll, o, err := s.topOf(c)
	if err != nil {
		return nil, err
	}
	k := topKinds[coll]
	if err := s.emit([]act{{k.remove, entityOf(o, k.etype), nil}}, nil); err != nil {
		return nil, err
	}
	return emptyAnswer(c)
}

// Firewall devices.

func (s *Server) addDevice(c *call) ([]byte, error) {
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	id, err := b.requiredInt("id")
	if err != nil {
		return nil, err
	}
	if typ, _, _ := b.str("type"); typ != "linode" {
		return nil, fieldErr("type", "Must be one of linode, nodebalancer")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fw, err := s.object(strings.TrimSuffix(c.path, "/devices"), "firewall")
	if err != nil {
		return nil, err
	}
	l, err := s.object("/linode/instances/"+strconv.FormatInt(id, 10), "linode")
	if err != nil {
		return nil, fieldErr("id", "Linode not found")
	}
	devs, _ := s.acct.Collection(fw.Path + "/devices")
	for _, d := range devs {
		if e, _ := d.Fields["entity"].(map[string]any); e != nil && e["id"] == l.ID {
			return nil, fieldErr("id", "Linode "+strconv.FormatInt(id, 10)+" is already assigned to this firewall")
		}
	}
	if err := s.emit([]act{{"firewall_device_add", entityOf(fw, "firewall"), entityOf(l, "linode")}}, nil); err != nil {
		return nil, err
	}
	devs, _ = s.acct.Collection(fw.Path + "/devices")
	for _, d := range devs {
		if e, _ := d.Fields["entity"].(map[string]any); e != nil && e["id"] == l.ID {
			return append(c.body, d.JSON()...), nil
		}
	}
	return emptyAnswer(c)
}

func (s *Server) removeDevice(c *call) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.object(c.path, "device")
	if err != nil {
		return nil, err
	}
	fw, err := s.object(c.path[:strings.Index(c.path, "/devices/")], "firewall")
	if err != nil {
		return nil, err
	}
	e, _ := d.Fields["entity"].(map[string]any)
	sec := &events.LinodeEntity{ID: e["id"], Label: toString(e["label"]), Type: "linode", URL: toString(e["url"])}
	if err := s.emit([]act{{"firewall_device_remove", entityOf(fw, "firewall"), sec}}, nil); err != nil {
		return nil, err
	}
	return emptyAnswer(c)
}

func toString(v any) string {
	s, _ := v.(string)
	return s
}

// Disks, configs, records and NodeBalancer configs: objects under a parent.

// childOf splits a child path: the parent object, the list's last segment.
func (s *Server) parentOf(c *call) (*account.Object, string, error) {
	segs := strings.Split(c.path[1:], "/")
	var parentPath, list string
	switch {
	case segs[0] == "linode":
		parentPath, list = "/linode/instances/"+segs[2], segs[3]
	default:
		parentPath, list = "/"+segs[0]+"/"+segs[1], segs[2]
	}
	p, ok := s.acct.Get(parentPath)
	if !ok {
		return nil, "", notFound()
	}
	return p, list, nil
}

// childActions returns the kind, secondary type and actions of a list.
func childActions(parent *account.Object, list string) (kind, stype, create, update, remove string) {
	if parent.Kind == "nodebalancer" {
		return "nodebalancer_config", "nodebalancer_config", "nodebalancer_config_create", "nodebalancer_config_update", "nodebalancer_config_delete"
	}
	k := childKinds[list]
	return k.kind, k.stype, k.create, k.update, k.remove
}

func (s *Server) createChild(c *call) ([]byte, error) {
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	fields := map[string]any{}
	for key, v := range b {
		fields[key] = plain(v)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	parent, list, err := s.parentOf(c)
	if err != nil {
		return nil, err
	}
	kind, stype, create, _, _ := childActions(parent, list)
	label := ""
	switch kind {
	case "disk":
		l, ok, err := b.str("label")
		if err != nil {
			return nil, err
		}
		size, hasSize, err := b.integer("size")
		if err != nil {
			return nil, err
		}
		if !ok || len(l) < 1 || len(l) > 48 {
			return nil, fieldErr("label", "Length must be 1-48 characters")
		}
		if !hasSize || size < 1 {
			return nil, fieldErr("size", "size is required")
		}
		label = l
		fields["filesystem"] = orDefault(toString(fields["filesystem"]), "ext4")
		delete(fields, "root_pass")
		delete(fields, "image")
	case "config":
		l, ok, err := b.str("label")
		if err != nil {
			return nil, err
		}
		if !ok || len(l) < 1 || len(l) > 48 {
			return nil, fieldErr("label", "Length must be 1-48 characters")
		}
		label = l
	case "record":
		typ, ok, err := b.str("type")
		if err != nil {
			return nil, err
		}
		switch typ {
		case "A", "AAAA", "NS", "MX", "CNAME", "TXT", "SRV", "PTR", "CAA":
		default:
			if !ok {
				return nil, fieldErr("type", "type is required")
			}
			return nil, fieldErr("type", "Must be one of A, AAAA, NS, MX, CNAME, TXT, SRV, PTR, CAA")
		}
		label = toString(fields["name"])
	case "nodebalancer_config":
		if p, ok, err := b.integer("port"); err != nil {
			return nil, err
		} else if ok && (p < 1 || p > 65535) {
			return nil, fieldErr("port", "Must be between 1 and 65535")
		}
		fields["nodebalancer_id"] = parent.ID
	}
	if _, busy := parent.Busy(); busy && parent.Kind == "linode" && kind == "disk" {
		return nil, errBusy
	}
	id := s.acct.NewID(kind)
	path := parent.Path + "/" + list + "/" + strconv.FormatInt(id, 10)
	fields["created"] = account.Stamp(s.clock())
	sec := &events.LinodeEntity{ID: id, Label: label, Type: stype, URL: "/v4" + path}
	if err := s.emit([]act{{create, entityOf(parent, parent.Kind), sec}}, &account.Change{Secondary: fields}); err != nil {
		return nil, err
	}
	return s.answerObject(c, path)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (s *Server) childOf(c *call) (*account.Object, *account.Object, string, error) {
	i := strings.LastIndexByte(c.path, '/')
	cc := *c
	cc.path = c.path[:i]
	parent, list, err := s.parentOf(&cc)
	if err != nil {
		return nil, nil, "", err
	}
	o, ok := s.acct.Get(c.path)
	if !ok {
		return nil, nil, "", notFound()
	}
	return parent, o, list, nil
}

func (s *Server) updateChild(c *call) ([]byte, error) {
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	fields := map[string]any{}
	for key, v := range b {
		if key == "id" || key == "created" || key == "updated" || key == "size" {
			continue
		}
		fields[key] = plain(v)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	parent, o, list, err := s.childOf(c)
	if err != nil {
		return nil, err
	}
	_, stype, _, update, _ := childActions(parent, list)
	if err := s.emit([]act{{update, entityOf(parent, parent.Kind), entityOf(o, stype)}}, &account.Change{Secondary: fields}); err != nil {
		return nil, err
	}
	return s.answerObject(c, o.Path)
}

func (s *Server) deleteChild(c *call) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	parent, o, list, err := s.childOf(c)
	if err != nil {
		return nil, err
	}
	_, stype, _, _, remove := childActions(parent, list)
	if _, busy := parent.Busy(); busy && parent.Kind == "linode" && list == "disks" {
		return nil, errBusy
	}
	if err := s.emit([]act{{remove, entityOf(parent, parent.Kind), entityOf(o, stype)}}, nil); err != nil {
		return nil, err
	}
	return emptyAnswer(c)
}

func (s *Server) resizeDisk(c *call) ([]byte, error) {
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	size, ok, err := b.integer("size")
	if err != nil {
		return nil, err
	}
	if !ok || size < 1 {
		return nil, fieldErr("size", "size is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cc := *c
	cc.path = strings.TrimSuffix(c.path, "/resize")
	parent, o, _, err := s.childOf(&cc)
	if err != nil {
		return nil, err
	}
	if _, busy := parent.Busy(); busy {
		return nil, errBusy
	}
	if err := s.emit([]act{{"disk_resize", entityOf(parent, "linode"), entityOf(o, "disk")}},
		&account.Change{Finished: nil, Secondary: map[string]any{"size": size}}); err != nil {
		return nil, err
	}
	return emptyAnswer(c)
}
