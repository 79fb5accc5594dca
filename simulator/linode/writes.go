package linode

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/eventsim/eventsim/account"
	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/scenarios"
)

// maxBody is the largest request body a write reads; a larger one is a
// 413, as the real API's front end answers.
const maxBody = 1 << 20

// writeRoutes are the writes the account takes.
var writeRoutes []writeRoute

func init() {
	writeRoutes = []writeRoute{
		{http.MethodPost, "/linode/instances", (*Server).createLinode},
		{http.MethodPut, "/linode/instances/*", (*Server).updateLinode},
		{http.MethodDelete, "/linode/instances/*", (*Server).deleteLinode},
		{http.MethodPost, "/linode/instances/*/boot", (*Server).powerLinode},
		{http.MethodPost, "/linode/instances/*/reboot", (*Server).powerLinode},
		{http.MethodPost, "/linode/instances/*/shutdown", (*Server).powerLinode},
		{http.MethodPost, "/linode/instances/*/resize", (*Server).resizeLinode},
		{http.MethodPost, "/linode/instances/*/rebuild", (*Server).rebuildLinode},
		{http.MethodPost, "/linode/instances/*/clone", (*Server).cloneLinode},
		{http.MethodPost, "/linode/instances/*/migrate", (*Server).migrateLinode},
		{http.MethodPost, "/linode/instances/*/disks", (*Server).createChild},
		{http.MethodPut, "/linode/instances/*/disks/*", (*Server).updateChild},
		{http.MethodDelete, "/linode/instances/*/disks/*", (*Server).deleteChild},
		{http.MethodPost, "/linode/instances/*/disks/*/resize", (*Server).resizeDisk},
		{http.MethodPost, "/linode/instances/*/configs", (*Server).createChild},
		{http.MethodPut, "/linode/instances/*/configs/*", (*Server).updateChild},
		{http.MethodDelete, "/linode/instances/*/configs/*", (*Server).deleteChild},
		{http.MethodPost, "/volumes", (*Server).createVolume},
		{http.MethodPut, "/volumes/*", (*Server).updateTop},
		{http.MethodDelete, "/volumes/*", (*Server).deleteVolume},
		{http.MethodPost, "/volumes/*/attach", (*Server).attachVolume},
		{http.MethodPost, "/volumes/*/detach", (*Server).detachVolume},
		{http.MethodPost, "/volumes/*/resize", (*Server).resizeVolume},
		{http.MethodPost, "/volumes/*/clone", (*Server).cloneVolume},
		{http.MethodPost, "/domains", (*Server).createTop},
		{http.MethodPut, "/domains/*", (*Server).updateTop},
		{http.MethodDelete, "/domains/*", (*Server).deleteTop},
		{http.MethodPost, "/domains/*/records", (*Server).createChild},
		{http.MethodPut, "/domains/*/records/*", (*Server).updateChild},
		{http.MethodDelete, "/domains/*/records/*", (*Server).deleteChild},
		{http.MethodPost, "/networking/firewalls", (*Server).createTop},
		{http.MethodPut, "/networking/firewalls/*", (*Server).updateTop},
		{http.MethodDelete, "/networking/firewalls/*", (*Server).deleteTop},
		{http.MethodPost, "/networking/firewalls/*/devices", (*Server).addDevice},
		{http.MethodDelete, "/networking/firewalls/*/devices/*", (*Server).removeDevice},
		{http.MethodPost, "/nodebalancers", (*Server).createTop},
		{http.MethodPut, "/nodebalancers/*", (*Server).updateTop},
		{http.MethodDelete, "/nodebalancers/*", (*Server).deleteTop},
		{http.MethodPost, "/nodebalancers/*/configs", (*Server).createChild},
		{http.MethodPut, "/nodebalancers/*/configs/*", (*Server).updateChild},
		{http.MethodDelete, "/nodebalancers/*/configs/*", (*Server).deleteChild},
	}
}

// topKinds describes the top-level kinds createTop, updateTop and deleteTop
// serve: their list, the actions, the field that labels them.
var topKinds = map[string]struct {
	kind, etype, create, update, remove, labelField string
}{
	"/domains":              {"domain", "domain", "dns_zone_create", "dns_zone_update", "dns_zone_delete", "domain"},
	"/networking/firewalls": {"firewall", "firewall", "firewall_create", "firewall_update", "firewall_delete", "label"},
	"/nodebalancers":        {"nodebalancer", "nodebalancer", "nodebalancer_create", "nodebalancer_update", "nodebalancer_delete", "label"},
	"/volumes":              {"volume", "volume", "volume_create", "volume_update", "volume_delete", "label"},
}

// childKinds describes the nested kinds: the list's last segment, the kind,
// the secondary entity type and the actions (on the parent entity).
var childKinds = map[string]struct {
	kind, stype, create, update, remove string
}{
	"disks":   {"disk", "disk", "disk_create", "disk_update", "disk_delete"},
	"configs": {"config", "linode_config", "linode_config_create", "linode_config_update", "linode_config_delete"},
	"records": {"record", "domain_record", "dns_record_create", "dns_record_update", "dns_record_delete"},
}

// body is a write's JSON body.
type body map[string]any

// readBody reads a write's JSON body: absent or empty is {}.
func readBody(c *call) (body, error) {
	b := c.in // the fast path's, read whole
	if c.r != nil {
		var err error
		if b, err = io.ReadAll(io.LimitReader(c.r.Body, maxBody+1)); err != nil {
			return nil, &apiError{kind: errBadRequest, reason: "Could not read the request body"}
		}
	}
	if len(b) > maxBody {
		return nil, &apiError{kind: errTooLarge, reason: "Request Entity Too Large"}
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return body{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, &apiError{kind: errBadRequest, reason: "Invalid JSON"}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &apiError{kind: errBadRequest, reason: "Invalid JSON"}
	}
	return m, nil
}

func fieldErr(field, reason string) error {
	return &apiError{kind: errBadRequest, field: field, reason: reason}
}

// str reads a string field; ok is false when it is absent or null.
func (b body) str(field string) (string, bool, error) {
	v, ok := b[field]
	if !ok || v == nil {
		return "", false, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", false, fieldErr(field, "Must be a string")
	}
	return s, true, nil
}

// integer reads an integer field.
func (b body) integer(field string) (int64, bool, error) {
	v, ok := b[field]
	if !ok || v == nil {
		return 0, false, nil
	}
	n, isNum := v.(json.Number)
	if !isNum {
		return 0, false, fieldErr(field, "Must be an integer")
	}
	i, err := n.Int64()
	if err != nil {
		return 0, false, fieldErr(field, "Must be an integer")
	}
	return i, true, nil
}

// requiredStr reads a string field that must be given.
func (b body) requiredStr(field string) (string, error) {
	s, ok, err := b.str(field)
	if err == nil && !ok {
		err = fieldErr(field, field+" is required")
	}
	return s, err
}

// requiredInt reads an integer field that must be given.
func (b body) requiredInt(field string) (int64, error) {
	n, ok, err := b.integer(field)
	if err == nil && !ok {
		err = fieldErr(field, field+" is required")
	}
	return n, err
}

func (b body) boolean(field string, def bool) (bool, error) {
	v, ok := b[field]
	if !ok || v == nil {
		return def, nil
	}
	x, isBool := v.(bool)
	if !isBool {
		return false, fieldErr(field, "Must be a boolean")
	}
	return x, nil
}

// tags reads a tags field: a list of strings, each 3 to 50 characters.
func (b body) tags() ([]string, bool, error) {
	v, ok := b["tags"]
	if !ok || v == nil {
		return nil, false, nil
	}
	l, isList := v.([]any)
	if !isList {
		return nil, false, fieldErr("tags", "Must be a list of strings")
	}
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, isStr := x.(string)
		if !isStr {
			return nil, false, fieldErr("tags", "Must be a list of strings")
		}
		if len(s) < 3 || len(s) > 50 {
			return nil, false, fieldErr("tags", "Length must be 3-50 characters")
		}
		out = append(out, s)
	}
	return out, true, nil
}

// plain converts a decoded JSON value for storing in an object: numbers
// become int64 or float64, lists of strings []string.
func plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		strs := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				out := make([]any, len(x))
				for i, e := range x {
					out[i] = plain(e)
				}
				return out
			}
			strs = append(strs, s)
		}
		return strs
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plain(e)
		}
		return out
	}
	return v
}

// checkLabel checks a Linode label as the real API does: 3 to 64
// characters, letters, digits, dashes, underscores and periods, starting
// and ending with a letter or digit, no two of -, _ and . in a row.
// label reads an optional Linode label and holds it to Linode's rules.
func (b body) label() (string, bool, error) {
	l, ok, err := b.str("label")
	if err != nil || !ok {
		return "", false, err
	}
	if err := checkLabel(l); err != nil {
		return "", false, err
	}
	return l, true, nil
}

func checkLabel(l string) error {
	if len(l) < 3 || len(l) > 64 {
		return fieldErr("label", "Length must be 3-64 characters")
	}
	bad := !isAlnum(rune(l[0])) || !isAlnum(rune(l[len(l)-1]))
	for i, r := range l {
		sep := r == '-' || r == '_' || r == '.'
		if !isAlnum(r) && !sep {
			bad = true
		}
		if sep && i > 0 && strings.ContainsRune("-_.", rune(l[i-1])) {
			bad = true
		}
	}
	if bad {
		return fieldErr("label", "Label must start and end with a letter or number and may only contain letters, numbers, dashes, underscores and periods, with no two of -, _ or . in a row")
	}
	return nil
}

func isAlnum(r rune) bool { return r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) }

// checkRootPass checks a root password: 11 to 128 characters, and strong
// enough: at least two kinds of character (lower, upper, digit, other)
// and at least 6 different characters.
func checkRootPass(p string) error {
	if len(p) < 11 || len(p) > 128 {
		return fieldErr("root_pass", "Length must be 11-128 characters")
	}
	kinds := map[int]bool{}
	distinct := map[rune]bool{}
	for _, r := range p {
		distinct[r] = true
		switch {
		case unicode.IsLower(r):
			kinds[0] = true
		case unicode.IsUpper(r):
			kinds[1] = true
		case unicode.IsDigit(r):
			kinds[2] = true
		default:
			kinds[3] = true
		}
	}
	if len(kinds) < 2 || len(distinct) < 6 {
		return fieldErr("root_pass", "Password does not meet strength requirement.")
	}
	return nil
}

// Durations of the events REST writes make, from linodego's recorded real
// traces where they hold one (create 41-65 s, boot 24-67 s, shutdown 28 s,
// clone 110 s, disk create 17 s, disk delete 7-11 s, restore 19 s); the
// catalogue's bounds otherwise, except resizes and migrations, which take a
// minute or two here rather than the many minutes a big disk takes.
var restDurations = map[string][2]time.Duration{
	"linode_create": {41 * time.Second, 65 * time.Second}, "linode_boot": {24 * time.Second, 40 * time.Second},
	"linode_shutdown": {20 * time.Second, 28 * time.Second}, "linode_reboot": {30 * time.Second, 45 * time.Second},
	"linode_clone": {100 * time.Second, 120 * time.Second}, "disk_create": {15 * time.Second, 20 * time.Second},
	"disk_delete": {7 * time.Second, 11 * time.Second}, "backups_restore": {19 * time.Second, 25 * time.Second},
	"linode_delete": {5 * time.Second, 8 * time.Second}, "linode_resize": {60 * time.Second, 90 * time.Second},
	"linode_resize_create": {3 * time.Second, 5 * time.Second}, "linode_migrate_datacenter": {90 * time.Second, 120 * time.Second},
	"linode_migrate_datacenter_create": {3 * time.Second, 5 * time.Second}, "linode_rebuild": {60 * time.Second, 90 * time.Second},
	"volume_create": {10 * time.Second, 20 * time.Second}, "volume_attach": {5 * time.Second, 10 * time.Second},
	"volume_detach": {5 * time.Second, 10 * time.Second}, "volume_resize": {10 * time.Second, 20 * time.Second},
	"volume_clone": {60 * time.Second, 90 * time.Second}, "disk_resize": {20 * time.Second, 40 * time.Second},
}

// act is one event of a write: the action, its entities.
type act struct {
	action   string
	ent, sec *events.LinodeEntity
}

// emit makes the events of a write, in order, each starting 1-3 s after
// the one before ends: the first state of the first event is applied now,
// with ch (ch.Finished goes with the last event); the others are applied
// at once at speed 0, else scheduled on the virtual clock. s.mu must be held.
func (s *Server) emit(acts []act, ch *account.Change) error {
	cat := catalog.Linode()
	at := s.clock()
	user := "eventsim"
	var later []scenarios.LinodeState
	for i, a := range acts {
		ca := cat.Action(a.action)
		ev := events.LinodeEvent{ID: max(s.nextEventID, 1), Action: a.action, Created: events.LinodeTime(at),
			Entity: a.ent, SecondaryEntity: a.sec, Username: &user, Details: json.RawMessage(`{}`)}
		s.nextEventID = ev.ID + 1
		s.restMade = true
		d, ok := restDurations[a.action]
		if !ok {
			d = [2]time.Duration{ca.MinDuration, ca.MaxDuration}
		}
		took := d[0]
		if d[1] > d[0] {
			took += time.Duration(s.rng.Int63n(int64(d[1] - d[0])))
		}
		states := scenarios.LinodeStates(ev, ca, at, took, "", s.rng)
		var first *account.Change
		if i == 0 && ch != nil {
			first = &account.Change{Entity: ch.Entity, Secondary: ch.Secondary}
		}
		if i == len(acts)-1 && ch != nil && ch.Finished != nil {
			if first == nil {
				first = &account.Change{}
			}
			first.Finished = ch.Finished
		}
		if i == 0 {
			st := states[0]
			if err := s.apply(&st.Event, first); err != nil {
				return err
			}
			states = states[1:]
		} else if first != nil {
			s.pendingChanges[ev.ID] = first
		}
		later = append(later, states...)
		last := states
		if len(last) == 0 {
			at = at.Add(time.Second)
		} else {
			at = last[len(last)-1].At
		}
		at = at.Add(time.Duration(1+s.rng.Intn(3)) * time.Second)
	}
	if s.opts.Speed == 0 {
		s.instant = append(s.instant, later...)
		return nil
	}
	for _, st := range later {
		s.sched.push(st)
	}
	s.sched.wake()
	return nil
}

// runWrite runs a write's handler; at speed 0 the later states of the
// events it made are then applied at once, after its answer was made from
// the first.
//
// They are applied under one hold of s.mu, so no reader sees the states
// between an event's first and last in the batch: each only repeats the
// first's in-progress status for the account, and the store replaces it by
// the last. Those are skipped; the event's first and last states (and any
// state carrying a change) are folded and stored as they come.
func (s *Server) runWrite(h handler, c *call) ([]byte, error) {
	b, err := h(s, c)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.instant) == 0 {
		return b, err
	}
	slicesSortStates(s.instant)
	for i := range s.instant {
		ev := &s.instant[i].Event
		ch := s.takeChange(ev.ID)
		if ch == nil && inFlight(ev.Status) && !firstOf(s.instant, i) && !lastOf(s.instant, i) {
			continue
		}
		if aerr := s.apply(ev, ch); aerr != nil && err == nil {
			err = aerr
		}
	}
	s.instant = s.instant[:0]
	return b, err
}

// firstOf and lastOf report whether l[i] is the first, or the last, state
// of its event in l.
func firstOf(l []scenarios.LinodeState, i int) bool {
	for j := range i {
		if l[j].Event.ID == l[i].Event.ID {
			return false
		}
	}
	return true
}

func lastOf(l []scenarios.LinodeState, i int) bool {
	for j := i + 1; j < len(l); j++ {
		if l[j].Event.ID == l[i].Event.ID {
			return false
		}
	}
	return true
}

// takeChange returns the change a scheduled event carries with its first
// state, once.
func (s *Server) takeChange(id int64) *account.Change {
	ch, ok := s.pendingChanges[id]
	if ok {
		delete(s.pendingChanges, id)
	}
	return ch
}

func newRand(seed int64) *rand.Rand { return rand.New(rand.NewSource(seed)) }

// entityOf is the event entity of an object.
func entityOf(o *account.Object, etype string) *events.LinodeEntity {
	label, _ := o.Fields["label"].(string)
	if etype == "domain" {
		label, _ = o.Fields["domain"].(string)
	}
	if etype == "domain_record" {
		label, _ = o.Fields["name"].(string)
	}
	return &events.LinodeEntity{ID: o.ID, Label: label, Type: etype, URL: "/v4" + o.Path}
}

// object returns the object at path of kind, or a 404.
func (s *Server) object(path, kind string) (*account.Object, error) {
	o, ok := s.acct.Get(path)
	if !ok || o.Kind != kind {
		return nil, notFound()
	}
	return o, nil
}

// linodeOf returns the Linode a path under /linode/instances/{id} is about.
func (s *Server) linodeOf(c *call) (*account.Object, error) {
	return s.object("/linode/instances/"+segment(c.path, 2), "linode")
}

var errBusy = &apiError{kind: errBadRequest, reason: "Linode busy."}

// answer returns the object at path as the write's answer.
func (s *Server) answerObject(c *call, path string) ([]byte, error) {
	o, ok := s.acct.Get(path)
	if !ok {
		return append(c.body, "{}"...), nil
	}
	return append(c.body, o.JSON()...), nil
}

func emptyAnswer(c *call) ([]byte, error) { return append(c.body, "{}"...), nil }

// labelTaken reports whether another object in coll has the label.
func (s *Server) labelTaken(coll, field, label string, except *account.Object) bool {
	o, ok := s.acct.Labelled(coll, field, label)
	return ok && o != except
}

// Linodes.

func (s *Server) createLinode(c *call) ([]byte, error) {
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	typ, err := b.requiredStr("type")
	if err != nil {
		return nil, err
	}
	t, ok := account.FindType(typ)
	if !ok {
		return nil, fieldErr("type", "A valid plan type by that ID was not found")
	}
	region, err := b.requiredStr("region")
	if err != nil {
		return nil, err
	}
	if _, ok := account.FindRegion(region); !ok {
		return nil, fieldErr("region", "region is not valid")
	}
	image, hasImage, err := b.str("image")
	if err != nil {
		return nil, err
	}
	if hasImage && account.ImageLabel(image) == "" {
		s.mu.RLock()
		o, ok := s.acct.Get("/images/" + image)
		s.mu.RUnlock()
		if !ok || o.Kind != "image" {
			return nil, fieldErr("image", "image is not valid")
		}
	}
	if hasImage {
		pass, ok, err := b.str("root_pass")
		if err != nil {
			return nil, err
		}
		_, keys := b["authorized_keys"]
		_, users := b["authorized_users"]
		if !ok && !keys && !users {
			return nil, &apiError{kind: errBadRequest, reason: "Must provide valid root_pass, authorized_keys, or authorized_users"}
		}
		if ok {
			if err := checkRootPass(pass); err != nil {
				return nil, err
			}
		}
	}
	booted, err := b.boolean("booted", hasImage)
	if err != nil {
		return nil, err
	}
	tags, _, err := b.tags()
	if err != nil {
		return nil, err
	}
	label, hasLabel, err := b.label()
	if err != nil {
		return nil, err
	}
	group, _, err := b.str("group")
	if err != nil {
		return nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if hasLabel && s.labelTaken("/linode/instances", "label", label, nil) {
		return nil, fieldErr("label", "Label must be unique among your linodes")
	}
	id := s.acct.NewID("linode")
	if !hasLabel {
		label = "linode" + strconv.FormatInt(id, 10)
	}
	if tags == nil {
		tags = []string{}
	}
	v4, v6 := account.Addresses(id)
	fields := map[string]any{"label": label, "type": t.ID, "region": region, "specs": account.Specs(t),
		"tags": tags, "group": group, "ipv4": []string{v4}, "ipv6": v6, "image": nil, "created": account.Stamp(s.clock())}
	var sec *events.LinodeEntity
	if hasImage {
		fields["image"] = image
		sec = &events.LinodeEntity{ID: image, Label: account.ImageLabel(image), Type: "image", URL: "/v4/images/" + image}
	}
	ent := &events.LinodeEntity{ID: id, Label: label, Type: "linode", URL: "/v4/linode/instances/" + strconv.FormatInt(id, 10)}
	acts := []act{{"linode_create", ent, sec}}
	if booted {
		acts = append(acts, act{"linode_boot", ent, s.configEntity(id)})
	}
	if err := s.emit(acts, &account.Change{Entity: fields}); err != nil {
		return nil, err
	}
	return s.answerObject(c, "/linode/instances/"+strconv.FormatInt(id, 10))
}

// configEntity is the config a Linode boots with: its first, or a new one
// (the event names it, and the account learns of it from the event).
func (s *Server) configEntity(linodeID int64) *events.LinodeEntity {
	base := "/linode/instances/" + strconv.FormatInt(linodeID, 10)
	if cfgs, _ := s.acct.Collection(base + "/configs"); len(cfgs) > 0 {
		return entityOf(cfgs[0], "linode_config")
	}
	cid := s.acct.NewID("config")
	return &events.LinodeEntity{ID: cid, Label: "My Debian 12 Disk Profile", Type: "linode_config",
		URL: "/v4" + base + "/configs/" + strconv.FormatInt(cid, 10)}
}

func (s *Server) updateLinode(c *call) ([]byte, error) {
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	ch := map[string]any{}
	if label, ok, err := b.label(); err != nil {
		return nil, err
	} else if ok {
		ch["label"] = label
	}
	if tags, ok, err := b.tags(); err != nil {
		return nil, err
	} else if ok {
		ch["tags"] = tags
	}
	if g, ok, err := b.str("group"); err != nil {
		return nil, err
	} else if ok {
		ch["group"] = g
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.linodeOf(c)
	if err != nil {
		return nil, err
	}
	if l, ok := ch["label"].(string); ok && s.labelTaken("/linode/instances", "label", l, o) {
		return nil, fieldErr("label", "Label must be unique among your linodes")
	}
	ent := entityOf(o, "linode")
	if l, ok := ch["label"].(string); ok {
		ent.Label = l
	}
	if err := s.emit([]act{{"linode_update", ent, nil}}, &account.Change{Entity: ch}); err != nil {
		return nil, err
	}
	return s.answerObject(c, o.Path)
}

func (s *Server) deleteLinode(c *call) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.linodeOf(c)
	if err != nil {
		return nil, err
	}
	if err := s.emit([]act{{"linode_delete", entityOf(o, "linode"), nil}}, nil); err != nil {
		return nil, err
	}
	return emptyAnswer(c)
}

// powerLinode is boot, reboot and shutdown.
func (s *Server) powerLinode(c *call) ([]byte, error) {
	if _, err := readBody(c); err != nil {
		return nil, err
	}
	verb := c.path[strings.LastIndexByte(c.path, '/')+1:]
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.linodeOf(c)
	if err != nil {
		return nil, err
	}
	if _, busy := o.Busy(); busy {
		return nil, errBusy
	}
	id, _ := o.ID.(int64)
	ent := entityOf(o, "linode")
	var a act
	switch verb {
	case "boot":
		a = act{"linode_boot", ent, s.configEntity(id)}
	case "reboot":
		a = act{"linode_reboot", ent, s.configEntity(id)}
	default:
		a = act{"linode_shutdown", ent, nil}
	}
	if err := s.emit([]act{a}, nil); err != nil {
		return nil, err
	}
	return emptyAnswer(c)
}

func (s *Server) resizeLinode(c *call) ([]byte, error) {
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	typ, err := b.requiredStr("type")
	if err != nil {
		return nil, err
	}
	t, ok := account.FindType(typ)
	if !ok {
		return nil, fieldErr("type", "A valid plan type by that ID was not found")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.linodeOf(c)
	if err != nil {
		return nil, err
	}
	if o.Fields["type"] == typ {
		return nil, fieldErr("type", "Linode is already running this service plan.")
	}
	if _, busy := o.Busy(); busy {
		return nil, errBusy
	}
	ent := entityOf(o, "linode")
	acts := []act{{"linode_resize_create", ent, nil}, {"linode_resize", ent, nil}}
	if err := s.emit(acts, &account.Change{Finished: map[string]any{"type": t.ID, "specs": account.Specs(t)}}); err != nil {
		return nil, err
	}
	return emptyAnswer(c)
}

func (s *Server) rebuildLinode(c *call) ([]byte, error) {
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	image, err := b.requiredStr("image")
	if err != nil {
		return nil, err
	}
	if account.ImageLabel(image) == "" {
		return nil, fieldErr("image", "image is not valid")
	}
	pass, ok, err := b.str("root_pass")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &apiError{kind: errBadRequest, reason: "Must provide valid root_pass, authorized_keys, or authorized_users"}
	}
	if err := checkRootPass(pass); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.linodeOf(c)
	if err != nil {
		return nil, err
	}
	if _, busy := o.Busy(); busy {
		return nil, errBusy
	}
	sec := &events.LinodeEntity{ID: image, Label: account.ImageLabel(image), Type: "image", URL: "/v4/images/" + image}
	if err := s.emit([]act{{"linode_rebuild", entityOf(o, "linode"), sec}}, &account.Change{Entity: map[string]any{"image": image}}); err != nil {
		return nil, err
	}
	return s.answerObject(c, o.Path)
}

func (s *Server) cloneLinode(c *call) ([]byte, error) {
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	label, hasLabel, err := b.label()
	if err != nil {
		return nil, err
	}
	region, hasRegion, err := b.str("region")
	if err != nil {
		return nil, err
	}
	if _, ok := account.FindRegion(region); hasRegion && !ok {
		return nil, fieldErr("region", "region is not valid")
	}
	typ, hasType, err := b.str("type")
	if err != nil {
		return nil, err
	}
	t, ok := account.FindType(typ)
	if hasType && !ok {
		return nil, fieldErr("type", "A valid plan type by that ID was not found")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.linodeOf(c)
	if err != nil {
		return nil, err
	}
	if _, busy := o.Busy(); busy {
		return nil, errBusy
	}
	if hasLabel && s.labelTaken("/linode/instances", "label", label, nil) {
		return nil, fieldErr("label", "Label must be unique among your linodes")
	}
	id := s.acct.NewID("linode")
	if !hasLabel {
		label = "linode" + strconv.FormatInt(id, 10)
	}
	fields := map[string]any{"label": label, "status": "provisioning"}
	for _, k := range []string{"type", "region", "specs", "image", "group"} {
		fields[k] = o.Fields[k]
	}
	if hasRegion {
		fields["region"] = region
	}
	if hasType {
		fields["type"], fields["specs"] = t.ID, account.Specs(t)
	}
	v4, v6 := account.Addresses(id)
	fields["ipv4"], fields["ipv6"], fields["tags"] = []string{v4}, v6, []string{}
	sec := &events.LinodeEntity{ID: id, Label: label, Type: "linode", URL: "/v4/linode/instances/" + strconv.FormatInt(id, 10)}
	if err := s.emit([]act{{"linode_clone", entityOf(o, "linode"), sec}}, &account.Change{Secondary: fields}); err != nil {
		return nil, err
	}
	return s.answerObject(c, "/linode/instances/"+strconv.FormatInt(id, 10))
}

func (s *Server) migrateLinode(c *call) ([]byte, error) {
	b, err := readBody(c)
	if err != nil {
		return nil, err
	}
	region, hasRegion, err := b.str("region")
	if err != nil {
		return nil, err
	}
	if _, ok := account.FindRegion(region); hasRegion && !ok {
		return nil, fieldErr("region", "region is not valid")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.linodeOf(c)
	if err != nil {
		return nil, err
	}
	if _, busy := o.Busy(); busy {
		return nil, errBusy
	}
	ent := entityOf(o, "linode")
	acts := []act{{"linode_migrate", ent, nil}}
	var ch *account.Change
	if hasRegion && region != o.Fields["region"] {
		acts = []act{{"linode_migrate_datacenter_create", ent, nil}, {"linode_migrate_datacenter", ent, nil}}
		ch = &account.Change{Finished: map[string]any{"region": region}}
	}
	if err := s.emit(acts, ch); err != nil {
		return nil, err
	}
	return emptyAnswer(c)
}
