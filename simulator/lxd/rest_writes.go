package lxd

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/world"
)

// REST requests that change network ACLs, network zones and their records,
// network forwards, trusted certificates, warnings and cluster members.
// Each answers as real LXD 5.0.2 and Incus 6.0 do (recorded in
// testdata/real-events-*.json where the daemons here can do it), emits the
// lifecycle event they emit, and changes the world only through it. See
// docs/lxd-server.md.

// objectPut is the body of PUT and PATCH on the objects of this file: PUT
// replaces description and config, PATCH merges what it names.
type objectPut struct {
	Description *string           `json:"description"`
	Config      map[string]string `json:"config"`
	// Ingress and Egress are an ACL's rules, kept as sent.
	Ingress json.RawMessage `json:"ingress"`
	Egress  json.RawMessage `json:"egress"`
	// Entries are a zone record's; Ports a forward's or a load
	// balancer's, Backends a load balancer's.
	Entries  json.RawMessage `json:"entries"`
	Ports    json.RawMessage `json:"ports"`
	Backends json.RawMessage `json:"backends"`
}

// apply changes d as a PUT (patch false) or PATCH of the body says.
func (b *objectPut) apply(d *world.Detail, patch bool) {
	if !patch {
		d.Description, d.Config = "", map[string]string{}
	}
	cfg := maps.Clone(d.Config)
	if cfg == nil {
		cfg = map[string]string{}
	}
	maps.Copy(cfg, b.Config)
	d.Config = cfg
	if b.Description != nil {
		d.Description = *b.Description
	}
	d.Extra = maps.Clone(d.Extra)
	if d.Extra == nil {
		d.Extra = map[string]string{}
	}
	for k, v := range map[string]json.RawMessage{"ingress": b.Ingress, "egress": b.Egress, "entries": b.Entries, "ports": b.Ports, "backends": b.Backends} {
		if v != nil || !patch {
			d.Extra[k] = string(v)
		}
	}
}

// rawList is a list kept as JSON in Detail.Extra, [] when unset or null.
func rawList(d *world.Detail, k string) json.RawMessage {
	if v := d.Extra[k]; v != "" && v != "null" {
		return json.RawMessage(v)
	}
	return json.RawMessage("[]")
}

// hostnameProblem says what is wrong with a name LXD checks as a hostname
// label (instances, network ACLs), or "".
func hostnameProblem(name string) string {
	switch {
	case name == "" || len(name) > 63:
		return "Name must be 1-63 characters long"
	case name[0] == '-' || name[len(name)-1] == '-':
		return "Name must not start or end with a hyphen"
	case name[0] >= '0' && name[0] <= '9':
		return "Name must not start with a digit"
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return "Name can only contain alphanumeric and hyphen characters"
		}
	}
	return ""
}

// --- Network ACLs ---

// aclObj is GET /1.0/network-acls/NAME's answer, fields in the daemons'
// order (egress before ingress, as both write them).
type aclObj struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Egress      json.RawMessage   `json:"egress"`
	Ingress     json.RawMessage   `json:"ingress"`
	Config      map[string]string `json:"config"`
	UsedBy      []string          `json:"used_by"`
	Project     string            `json:"project,omitempty"` // Incus's (projectField)
}

func (s *Server) aclOf(o *world.Object) any {
	d := detail(o)
	return aclObj{Name: o.Name, Description: d.Description, Ingress: rawList(d, "ingress"), Egress: rawList(d, "egress"), Config: orEmpty(d.Config), UsedBy: []string{},
		Project: s.projectField(o.Project)}
}

// projectField is the "project" an object of project p carries: Incus
// writes it on images, profiles, networks, ACLs, zones and buckets (its
// extensions images_all_projects, profiles_all_projects and the like,
// which send incus list --all-projects to read it); LXD 5.0.2 and 6.1
// write none.
func (s *Server) projectField(p string) string {
	if s.flavor != catalog.Incus {
		return ""
	}
	return orDefaultProject(p)
}

func aclKey(project, name string) world.Key {
	return world.Key{Kind: "network-acl", Project: project, Path: name}
}

// postACLs answers POST /1.0/network-acls: network-acl-created, 201.
func (s *Server) postACLs(c *call) (*reply, error) {
	var req struct {
		Name string `json:"name"`
		objectPut
	}
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	p, err := s.networkScope(c)
	if err != nil {
		return nil, err
	}
	if why := hostnameProblem(req.Name); why != "" {
		return nil, &apiError{http.StatusInternalServerError, why}
	}
	return s.createObject(c, p, aclKey(p, req.Name), badRequest("The network ACL already exists"), req.objectPut,
		"network-acl-created", map[string]string{"name": req.Name}, "/1.0/network-acls/"+url.PathEscape(req.Name))
}

// putACL answers PUT and PATCH /1.0/network-acls/NAME: network-acl-updated.
func (s *Server) putACL(c *call) (*reply, error) {
	return s.updateObject(c, "network-acl-updated", "Network ACL", func(p string) world.Key { return aclKey(p, c.r.PathValue("name")) },
		map[string]string{"name": c.r.PathValue("name")})
}

// postACL answers POST /1.0/network-acls/NAME {"name": NEW}:
// network-acl-renamed, 201.
func (s *Server) postACL(c *call) (*reply, error) {
	var req struct {
		Name string `json:"name"`
	}
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	p, err := s.networkScope(c)
	if err != nil {
		return nil, err
	}
	name := c.r.PathValue("name")
	if s.existing(aclKey(p, name)) == nil {
		return nil, notFound("Network ACL")
	}
	if why := hostnameProblem(req.Name); why != "" {
		return nil, &apiError{http.StatusInternalServerError, why}
	}
	if s.existing(aclKey(p, req.Name)) != nil {
		return nil, &apiError{http.StatusInternalServerError, "An ACL by that name exists already"}
	}
	s.lifecycle("network-acl-renamed", map[string]string{"name": req.Name}, p, map[string]any{"old_name": name}, c.rq)
	return created(withProject("/1.0/network-acls/"+url.PathEscape(req.Name), p)), nil
}

// deleteACL answers DELETE /1.0/network-acls/NAME: network-acl-deleted.
func (s *Server) deleteACL(c *call) (*reply, error) {
	return s.deleteObject(c, "network-acl-deleted", "Network ACL", func(p string) world.Key { return aclKey(p, c.r.PathValue("name")) },
		map[string]string{"name": c.r.PathValue("name")})
}

// createObject ends a POST that makes an object kept by the world, once
// the request is read and its name checked: exists when key is taken,
// else the action's event carrying what put says of the object, and 201
// with the object's path (in project p).
func (s *Server) createObject(c *call, p string, key world.Key, exists error, put objectPut, action string, names map[string]string, path string) (*reply, error) {
	if s.existing(key) != nil {
		return nil, exists
	}
	d := &world.Detail{}
	put.apply(d, false)
	s.lifecycleWith(action, names, p, nil, c.rq, d)
	return created(withProject(path, p)), nil
}

// updateObject answers a PUT or PATCH of an object kept by the world:
// 404 "<what> not found" when it does not exist, else the action's event
// with the changed detail and 200 {}.
func (s *Server) updateObject(c *call, action, what string, key func(project string) world.Key, names map[string]string) (*reply, error) {
	var req objectPut
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	p, err := s.networkScope(c)
	if err != nil {
		return nil, err
	}
	d := s.existing(key(p))
	if d == nil {
		return nil, notFound(what)
	}
	req.apply(d, c.r.Method == http.MethodPatch)
	s.lifecycleWith(action, names, p, nil, c.rq, d)
	return emptyOK(), nil
}

// deleteObject answers a DELETE of an object kept by the world.
func (s *Server) deleteObject(c *call, action, what string, key func(project string) world.Key, names map[string]string) (*reply, error) {
	p, err := s.networkScope(c)
	if err != nil {
		return nil, err
	}
	if s.existing(key(p)) == nil {
		return nil, notFound(what)
	}
	s.lifecycle(action, names, p, nil, c.rq)
	return emptyOK(), nil
}

// --- Network zones and their records ---

// zoneObj is GET /1.0/network-zones/NAME's answer, fields in the daemons'
// order.
type zoneObj struct {
	Description string            `json:"description"`
	Config      map[string]string `json:"config"`
	Name        string            `json:"name"`
	UsedBy      []string          `json:"used_by"`
	Project     string            `json:"project,omitempty"` // Incus's (projectField)
}

func (s *Server) zoneOf(o *world.Object) any {
	d := detail(o)
	return zoneObj{Name: o.Name, Description: d.Description, Config: orEmpty(d.Config), UsedBy: []string{}, Project: s.projectField(o.Project)}
}

// recordObj is GET /1.0/network-zones/ZONE/records/NAME's answer.
type recordObj struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Entries     json.RawMessage   `json:"entries"`
	Config      map[string]string `json:"config"`
}

func zoneRecordOf(o *world.Object) any {
	d := detail(o)
	return recordObj{Name: o.Name, Description: d.Description, Entries: rawList(d, "entries"), Config: orEmpty(d.Config)}
}

func zoneKey(project, name string) world.Key {
	return world.Key{Kind: "network-zone", Project: project, Path: name}
}

func recordKey(project, zone, name string) world.Key {
	return world.Key{Kind: "network-zone-record", Project: project, Path: zone + "/" + name}
}

// postZones answers POST /1.0/network-zones: network-zone-created, 201.
func (s *Server) postZones(c *call) (*reply, error) {
	var req struct {
		Name string `json:"name"`
		objectPut
	}
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	p, err := s.networkScope(c)
	if err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, badRequest("No name provided")
	}
	if strings.ContainsAny(req.Name, "/ ") {
		return nil, badRequest("Invalid network zone name %q", req.Name)
	}
	return s.createObject(c, p, zoneKey(p, req.Name), badRequest("The network zone already exists"), req.objectPut,
		"network-zone-created", map[string]string{"name": req.Name}, "/1.0/network-zones/"+url.PathEscape(req.Name))
}

// putZone answers PUT and PATCH /1.0/network-zones/NAME: network-zone-updated.
func (s *Server) putZone(c *call) (*reply, error) {
	return s.updateObject(c, "network-zone-updated", "Network zone", func(p string) world.Key { return zoneKey(p, c.r.PathValue("name")) },
		map[string]string{"name": c.r.PathValue("name")})
}

// deleteZone answers DELETE /1.0/network-zones/NAME: network-zone-deleted
// (its records go with it).
func (s *Server) deleteZone(c *call) (*reply, error) {
	return s.deleteObject(c, "network-zone-deleted", "Network zone", func(p string) world.Key { return zoneKey(p, c.r.PathValue("name")) },
		map[string]string{"name": c.r.PathValue("name")})
}

// postRecords answers POST /1.0/network-zones/ZONE/records:
// network-zone-record-created, 201.
func (s *Server) postRecords(c *call) (*reply, error) {
	var req struct {
		Name string `json:"name"`
		objectPut
	}
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	p, err := s.networkScope(c)
	if err != nil {
		return nil, err
	}
	zone := c.r.PathValue("name")
	if s.existing(zoneKey(p, zone)) == nil {
		return nil, notFound("Network zone")
	}
	if req.Name == "" {
		return nil, badRequest("No name provided")
	}
	return s.createObject(c, p, recordKey(p, zone, req.Name), conflict("A record by that name already exists"), req.objectPut,
		"network-zone-record-created", map[string]string{"zone": zone, "name": req.Name},
		"/1.0/network-zones/"+url.PathEscape(zone)+"/records/"+url.PathEscape(req.Name))
}

// putRecord answers PUT and PATCH …/records/NAME: network-zone-record-updated.
func (s *Server) putRecord(c *call) (*reply, error) {
	zone, name := c.r.PathValue("name"), c.r.PathValue("record")
	return s.updateObject(c, "network-zone-record-updated", "Network zone record", func(p string) world.Key { return recordKey(p, zone, name) },
		map[string]string{"zone": zone, "name": name})
}

// deleteRecord answers DELETE …/records/NAME: network-zone-record-deleted.
func (s *Server) deleteRecord(c *call) (*reply, error) {
	zone, name := c.r.PathValue("name"), c.r.PathValue("record")
	return s.deleteObject(c, "network-zone-record-deleted", "Network zone record", func(p string) world.Key { return recordKey(p, zone, name) },
		map[string]string{"zone": zone, "name": name})
}

// childrenOf lists the objects of kind under parent (their paths start
// with "parent/"), 404 parentWhat when the world has no parent: a zone's
// records, a network's forwards.
func (s *Server) childrenOf(c *call, kind, parentWhat string, parent world.Key, url func(o *world.Object) string, obj func(o *world.Object) any) (*reply, error) {
	if s.existing(parent) == nil {
		return nil, notFound(parentWhat)
	}
	return s.listUnder(c, kind, parent, url, obj), nil
}

// listUnder answers a list of the objects of kind under parent, whether or
// not the world keeps parent itself (a pool's buckets): URLs, or objects
// with recursion.
func (s *Server) listUnder(c *call, kind string, parent world.Key, url func(o *world.Object) string, obj func(o *world.Object) any) *reply {
	urls, out := []string{}, []any{}
	s.withWorld(func(w *world.World) {
		for _, o := range w.List(kind, parent.Project) {
			if strings.HasPrefix(o.Path, parent.Path+"/") {
				urls = append(urls, url(o))
				out = append(out, obj(o))
			}
		}
	})
	if c.level() > 0 {
		return ok(out)
	}
	return ok(urls)
}

// getRecords answers GET /1.0/network-zones/ZONE/records.
func (s *Server) getRecords(c *call) (*reply, error) {
	p, err := s.networkScope(c)
	if err != nil {
		return nil, err
	}
	zone := c.r.PathValue("name")
	return s.childrenOf(c, "network-zone-record", "Network zone", zoneKey(p, zone), func(o *world.Object) string {
		return withProject("/1.0/network-zones/"+url.PathEscape(zone)+"/records/"+url.PathEscape(o.Name), p)
	}, zoneRecordOf)
}

// getRecord answers GET /1.0/network-zones/ZONE/records/NAME.
func (s *Server) getRecord(c *call) (*reply, error) {
	p, err := s.networkScope(c)
	if err != nil {
		return nil, err
	}
	return s.oneOf(c, recordKey(p, c.r.PathValue("name"), c.r.PathValue("record")), "Network zone record", zoneRecordOf)
}

// --- Network forwards ---

// forwardObj is GET /1.0/networks/NET/forwards/ADDR's answer.
type forwardObj struct {
	Description   string            `json:"description"`
	Config        map[string]string `json:"config"`
	Ports         json.RawMessage   `json:"ports"`
	ListenAddress string            `json:"listen_address"`
	Location      string            `json:"location"`
}

func forwardOf(o *world.Object) any {
	d := detail(o)
	return forwardObj{Description: d.Description, Config: orEmpty(d.Config), Ports: rawList(d, "ports"), ListenAddress: o.Name}
}

func forwardKey(project, network, addr string) world.Key {
	return world.Key{Kind: "network-forward", Project: project, Path: network + "/" + addr}
}

// forwardScope checks the network a forward request names, as LXD does
// first: 404 "Failed loading network: Network not found".
func (s *Server) forwardScope(c *call) (string, string, error) {
	p, err := s.networkScope(c)
	if err != nil {
		return "", "", err
	}
	network := c.r.PathValue("name")
	if s.existing(networkKey(p, network)) == nil {
		return "", "", &apiError{http.StatusNotFound, "Failed loading network: Network not found"}
	}
	return p, network, nil
}

// postForwards answers POST /1.0/networks/NET/forwards: network-forward-created, 201.
func (s *Server) postForwards(c *call) (*reply, error) {
	var req struct {
		ListenAddress string `json:"listen_address"`
		objectPut
	}
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	p, network, err := s.forwardScope(c)
	if err != nil {
		return nil, err
	}
	if req.ListenAddress == "" {
		return nil, badRequest("Failed creating forward: Listen address is required")
	}
	return s.createObject(c, p, forwardKey(p, network, req.ListenAddress), conflict("Failed creating forward: A forward for that listen address already exists"), req.objectPut,
		"network-forward-created", map[string]string{"network": network, "name": req.ListenAddress},
		"/1.0/networks/"+url.PathEscape(network)+"/forwards/"+url.PathEscape(req.ListenAddress))
}

// putForward answers PUT and PATCH …/forwards/ADDR: network-forward-updated.
func (s *Server) putForward(c *call) (*reply, error) { return s.updateNetChild(c, forwards) }

// deleteForward answers DELETE …/forwards/ADDR: network-forward-deleted.
func (s *Server) deleteForward(c *call) (*reply, error) { return s.deleteNetChild(c, forwards) }

// netChild is a kind of object the world keeps under a network that REST
// requests change alike: forwards and load balancers.
type netChild struct {
	kind  string // the world's kind; its actions are KIND-updated, KIND-deleted
	param string // the path's name for its listen address
	scope func(s *Server, c *call) (project, network string, err error)
	// missingUpdate and missingDelete are the 404s of a change or a
	// delete of one that does not exist.
	missingUpdate, missingDelete string
}

var (
	forwards = netChild{"network-forward", "addr", (*Server).forwardScope,
		"Failed updating forward: Network forward not found", "Failed deleting forward: Network forward not found"}
	loadBalancers = netChild{"network-load-balancer", "child", (*Server).loadBalancerScope,
		"Network load balancer not found", "Failed deleting load balancer: Network load balancer not found"}
)

// updateNetChild answers a PUT or PATCH of a netChild: KIND-updated with
// the changed detail, 200 {}.
func (s *Server) updateNetChild(c *call, k netChild) (*reply, error) {
	var req objectPut
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	p, network, err := k.scope(s, c)
	if err != nil {
		return nil, err
	}
	addr := c.r.PathValue(k.param)
	d := s.existing(world.Key{Kind: k.kind, Project: p, Path: network + "/" + addr})
	if d == nil {
		return nil, &apiError{http.StatusNotFound, k.missingUpdate}
	}
	req.apply(d, c.r.Method == http.MethodPatch)
	s.lifecycleWith(k.kind+"-updated", map[string]string{"network": network, "name": addr}, p, nil, c.rq, d)
	return emptyOK(), nil
}

// deleteNetChild answers a DELETE of a netChild: KIND-deleted, 200 {}.
func (s *Server) deleteNetChild(c *call, k netChild) (*reply, error) {
	p, network, err := k.scope(s, c)
	if err != nil {
		return nil, err
	}
	addr := c.r.PathValue(k.param)
	if s.existing(world.Key{Kind: k.kind, Project: p, Path: network + "/" + addr}) == nil {
		return nil, &apiError{http.StatusNotFound, k.missingDelete}
	}
	s.lifecycle(k.kind+"-deleted", map[string]string{"network": network, "name": addr}, p, nil, c.rq)
	return emptyOK(), nil
}

// getForwards answers GET /1.0/networks/NET/forwards.
func (s *Server) getForwards(c *call) (*reply, error) {
	p, network, err := s.forwardScope(c)
	if err != nil {
		return nil, err
	}
	return s.childrenOf(c, "network-forward", "Network", networkKey(p, network), func(o *world.Object) string {
		return withProject("/1.0/networks/"+url.PathEscape(network)+"/forwards/"+url.PathEscape(o.Name), p)
	}, forwardOf)
}

// getForward answers GET /1.0/networks/NET/forwards/ADDR.
func (s *Server) getForward(c *call) (*reply, error) {
	p, network, err := s.forwardScope(c)
	if err != nil {
		return nil, err
	}
	return s.oneOf(c, forwardKey(p, network, c.r.PathValue("addr")), "Network forward", forwardOf)
}

// --- Certificates ---

func certKey(fp string) world.Key { return world.Key{Kind: "certificate", Path: fp} }

// postCertificates answers POST /1.0/certificates {"type","name",
// "certificate"} (base64 DER, as lxc config trust add sends it; none means
// the TLS client's own): certificate-created, 201. The certificate is
// trusted over TLS from then on.
func (s *Server) postCertificates(c *call) (*reply, error) {
	var req struct {
		Type        string   `json:"type"`
		Name        string   `json:"name"`
		Certificate string   `json:"certificate"`
		Restricted  bool     `json:"restricted"`
		Projects    []string `json:"projects"`
		Token       bool     `json:"token"`
		Password    string   `json:"password"`    // LXD: a trust token, to join with
		TrustToken  string   `json:"trust_token"` // Incus, LXD 6: the same
	}
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	if !s.isTrusted(c.r) {
		return s.joinWithToken(c, cmp.Or(req.TrustToken, req.Password))
	}
	if req.Token {
		if req.Certificate != "" {
			return nil, badRequest("Can't use certificate if token is requested")
		}
		return s.certificateToken(c, req.Name, req.Type, req.Restricted, req.Projects)
	}
	switch req.Type {
	case "", "client", "metrics":
	default:
		return nil, badRequest("Unknown certificate type %q", req.Type)
	}
	var der []byte
	if req.Certificate != "" {
		b, err := base64.StdEncoding.DecodeString(req.Certificate)
		if err != nil {
			return nil, badRequest("invalid certificate material: %v", err)
		}
		if _, err := x509.ParseCertificate(b); err != nil {
			return nil, badRequest("invalid certificate material: %v", err)
		}
		der = b
	} else {
		if c.r.TLS == nil || len(c.r.TLS.PeerCertificates) == 0 {
			return nil, badRequest("Can't use TLS data on non-TLS link")
		}
		der = c.r.TLS.PeerCertificates[0].Raw
	}
	sum := sha256.Sum256(der)
	fp := hex.EncodeToString(sum[:])
	if s.existing(certKey(fp)) != nil {
		return nil, conflict("Certificate already in trust store")
	}
	typ := req.Type
	if typ == "" {
		typ = "client"
	}
	d := &world.Detail{Type: typ, Extra: map[string]string{"name": req.Name, "certificate": string(pemOf(der))}}
	s.lifecycleWith("certificate-created", map[string]string{"name": fp}, "", nil, c.rq, d)
	return created("/1.0/certificates/" + fp), nil
}

// joinWithToken answers an untrusted TLS client's POST /1.0/certificates
// with a trust token (lxc remote add NAME TOKEN sends it as "password",
// incus as "trust_token") as LXD 5.0.2's certificatesPost does: the token
// names a running token operation by its secret, which is cancelled (a
// token is used once: Cancelling, Cancelled, operation-cancelled), and the
// client's certificate is trusted under the token's name
// (certificate-created), 201. Anything else is 403: no token, or one
// that names no running token ("No matching certificate add operation
// found").
func (s *Server) joinWithToken(c *call, token string) (*reply, error) {
	if token == "" || c.r.TLS == nil || len(c.r.TLS.PeerCertificates) == 0 {
		return nil, errNotAuthorized
	}
	raw, err := base64.StdEncoding.DecodeString(token)
	var tok struct {
		Secret string `json:"secret"`
	}
	if err != nil || json.Unmarshal(raw, &tok) != nil || tok.Secret == "" {
		return nil, errNotAuthorized // a trust password, which the fake has none of
	}
	o := s.ops.runningToken(tok.Secret)
	if o == nil {
		return nil, &apiError{http.StatusForbidden, "No matching certificate add operation found"}
	}
	var asked struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if req, ok := o.snapshot().Metadata["request"].(json.RawMessage); ok {
		_ = json.Unmarshal(req, &asked)
	}
	if err := s.cancel(o, c.rq); err != nil {
		return nil, &apiError{http.StatusForbidden, "No matching certificate add operation found"}
	}
	der := c.r.TLS.PeerCertificates[0].Raw
	sum := sha256.Sum256(der)
	fp := hex.EncodeToString(sum[:])
	if s.existing(certKey(fp)) != nil {
		return nil, conflict("Certificate already in trust store")
	}
	d := &world.Detail{Type: cmp.Or(asked.Type, "client"), Extra: map[string]string{"name": asked.Name, "certificate": string(pemOf(der))}}
	s.lifecycleWith("certificate-created", map[string]string{"name": fp}, "", nil, c.rq, d)
	return created("/1.0/certificates/" + fp), nil
}

// certificateToken answers POST /1.0/certificates {"token": true} (lxc
// config trust add without a certificate, incus config trust add NAME) as
// real LXD 5.0.2 and Incus 6.0.4 do (testdata/real-tokens-*.json): 400
// with a certificate, unless the type is client, or unless the server
// listens on TCP, otherwise 202
// with a token operation ("Executing operation", class token, may_cancel)
// that runs until it is cancelled (lxc config trust revoke-token deletes
// it: Cancelling, Cancelled, operation-cancelled). Its metadata is what
// the client makes the token from: the addresses, the server certificate's
// fingerprint, the request and a fresh secret. The daemons emit no
// lifecycle event for it. Using the token to join is not built.
func (s *Server) certificateToken(c *call, name, typ string, restricted bool, projects []string) (*reply, error) {
	if typ != "client" {
		return nil, badRequest("Tokens can only be issued for client certificates")
	}
	if s.tcp == nil {
		return nil, badRequest("Can't issue token when server isn't listening on network")
	}
	if projects == nil {
		projects = []string{}
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	// The request as the daemon's api.CertificatesPost encodes it: the
	// fields every flavour has, then the empty strings of its own
	// (tokenRequestFields), then "token".
	head, err := json.Marshal(struct {
		Name        string   `json:"name"`
		Type        string   `json:"type"`
		Restricted  bool     `json:"restricted"`
		Projects    []string `json:"projects"`
		Certificate string   `json:"certificate"`
	}{name, typ, restricted, projects, ""})
	if err != nil {
		return nil, fmt.Errorf("encode token request: %w", err)
	}
	request := head[:len(head)-1]
	for _, f := range tokenRequestFields[s.flavor] {
		request = append(request, `,"`+f+`":""`...)
	}
	request = append(request, `,"token":true}`...)
	var resources map[string][]string // LXD writes null, Incus {}
	if s.flavor == catalog.Incus {
		resources = map[string][]string{}
	}
	op := s.newOperation("token", "Executing operation", "default", "", resources, map[string]any{
		"addresses": []string{s.tcp.Addr().String()}, "fingerprint": s.certFP,
		"request": json.RawMessage(request), "secret": hex.EncodeToString(secret)})
	s.start(op)
	return &reply{op: op}, nil
}

// tokenRequestFields are the string fields each flavour's
// api.CertificatesPost has between "certificate" and "token": LXD 5.0.2's
// and Incus 6.0.4's as recorded, LXD 6.1's from its source.
var tokenRequestFields = map[catalog.Flavor][]string{
	catalog.LXD50: {"password"},
	catalog.LXD6:  {"password", "trust_token"},
	catalog.Incus: {"description", "trust_token"},
}

// deleteCertificate answers DELETE /1.0/certificates/FINGERPRINT:
// certificate-deleted.
func (s *Server) deleteCertificate(c *call) (*reply, error) {
	fp, err := s.certificateFingerprint(c.r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	s.lifecycle("certificate-deleted", map[string]string{"name": fp}, "", nil, c.rq)
	return emptyOK(), nil
}

// certificateFingerprint finds the trusted certificate a fingerprint (or a
// unique prefix of one, as LXD accepts) names.
func (s *Server) certificateFingerprint(prefix string) (string, error) {
	var found []string
	s.withWorld(func(w *world.World) {
		for _, o := range w.List("certificate", "") {
			if strings.HasPrefix(o.Name, prefix) {
				found = append(found, o.Name)
			}
		}
	})
	switch {
	case prefix == "" || len(found) == 0:
		return "", notFound("Certificate")
	case len(found) > 1:
		return "", badRequest("More than one certificate matches")
	}
	return found[0], nil
}

// trustedInWorld reports whether a certificate (DER) was trusted through
// the API. The world lock is taken.
func (s *Server) trustedInWorld(der []byte) bool {
	sum := sha256.Sum256(der)
	var ok bool
	s.withWorld(func(w *world.World) { ok = w.Exists(certKey(hex.EncodeToString(sum[:]))) })
	return ok
}

// --- Warnings ---

// warningUUID finds the warning a request names, in any project.
func (s *Server) warningUUID(c *call) (project, uuid string, err error) {
	uuid = c.r.PathValue("name")
	found := false
	s.withWorld(func(w *world.World) {
		for _, o := range w.List("warning", "") {
			if o.Name == uuid {
				project, found = o.Project, true
			}
		}
	})
	if !found {
		return "", "", notFound("Warning")
	}
	return project, uuid, nil
}

// putWarning answers PUT and PATCH /1.0/warnings/UUID {"status":
// "acknowledged"|"new"}: warning-acknowledged or warning-reset.
func (s *Server) putWarning(c *call) (*reply, error) {
	var req struct {
		Status string `json:"status"`
	}
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	project, uuid, err := s.warningUUID(c)
	if err != nil {
		return nil, err
	}
	var action string
	switch strings.ToLower(req.Status) {
	case "acknowledged":
		action = "warning-acknowledged"
	case "new":
		action = "warning-reset"
	case "resolved":
		return nil, forbidden(`Status may only be set to "acknowledge" or "new"`)
	default:
		return nil, badRequest("Invalid warning status %q", req.Status)
	}
	s.lifecycle(action, map[string]string{"name": uuid}, project, nil, c.rq)
	return emptyOK(), nil
}

// deleteWarning answers DELETE /1.0/warnings/UUID: warning-deleted.
func (s *Server) deleteWarning(c *call) (*reply, error) {
	project, uuid, err := s.warningUUID(c)
	if err != nil {
		return nil, err
	}
	s.lifecycle("warning-deleted", map[string]string{"name": uuid}, project, nil, c.rq)
	return emptyOK(), nil
}

// --- Cluster members ---

var errNotClustered = badRequest("Server isn't part of a cluster")

// member checks that the server is clustered and the member a request
// names exists.
func (s *Server) member(c *call) (string, error) {
	if len(s.opts.Members) == 0 {
		return "", errNotClustered
	}
	name := c.r.PathValue("name")
	if s.existing(world.Key{Kind: "cluster-member", Path: name}) == nil {
		return "", notFound("Cluster member")
	}
	return name, nil
}

// postMember answers POST /1.0/cluster/members/NAME {"server_name": NEW}:
// cluster-member-renamed.
func (s *Server) postMember(c *call) (*reply, error) {
	var req struct {
		ServerName string `json:"server_name"`
	}
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	name, err := s.member(c)
	if err != nil {
		return nil, err
	}
	if req.ServerName == "" {
		return nil, badRequest("No name provided")
	}
	if s.existing(world.Key{Kind: "cluster-member", Path: req.ServerName}) != nil {
		return nil, badRequest("The cluster member %q already exists", req.ServerName)
	}
	s.lifecycle("cluster-member-renamed", map[string]string{"name": req.ServerName}, "", map[string]any{"old_name": name}, c.rq)
	return emptyOK(), nil
}

// postMemberState answers POST /1.0/cluster/members/NAME/state {"action":
// "evacuate"|"restore"}: an operation ("Evacuating cluster member",
// "Restoring cluster member") on that member (the daemon forwards the
// request to it; resources null), whose run emits cluster-member-evacuated
// or -restored where the flavour has them (LXD 6, Incus). LXD 5.0.2 sends
// the operation alone; its Success moves the member's status all the same
// (catalog.LXDMemberStatusAfter). A member already evacuated, or already
// online for a restore, fails the operation, as recorded from 5.0.2.
func (s *Server) postMemberState(c *call) (*reply, error) {
	var req struct {
		Action string `json:"action"`
		Mode   string `json:"mode"`
	}
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	name, err := s.member(c)
	if err != nil {
		return nil, err
	}
	var action, need, refusal string
	switch req.Action {
	case "evacuate":
		action, need, refusal = "cluster-member-evacuated", "Online", "Cluster member is already evacuated"
	case "restore":
		action, need, refusal = "cluster-member-restored", "Evacuated", "Cluster member is already restored"
	default:
		return nil, badRequest("Unknown action %q", req.Action)
	}
	names := map[string]string{"name": name}
	cat := s.catalog()
	op := s.newOperation("task", catalog.LXDOperation(action), "", name, cat.OperationResources(action, names, ""), nil)
	s.start(op)
	return &reply{op: op, run: func() error {
		var status string
		s.withWorld(func(w *world.World) {
			if o := w.Get(world.Key{Kind: "cluster-member", Path: name}); o != nil {
				status = o.Status
			}
		})
		if status != need {
			return errors.New(refusal)
		}
		s.lifecycleFrom(name, action, names, "", nil, c.rq, nil) // none where the flavour lacks it
		return nil
	}}, nil
}

// pemOf is a certificate's PEM, as GET /1.0/certificates/FINGERPRINT shows it.
func pemOf(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// --- Backups ---

// asyncAction is the reply of an operation whose run emits an action's
// lifecycle event: in the run, or after the Success where the daemon sends
// it then (catalog.LXDAction.LifecycleAfter).
func (s *Server) asyncAction(action, project string, resNames map[string]string, emit func()) *reply {
	op := s.startAction(action, project, resNames)
	if a := s.catalog().Action(action); a != nil && a.LifecycleAfter {
		return &reply{op: op, run: func() error { return nil }, after: emit}
	}
	return &reply{op: op, run: func() error { emit(); return nil }}
}

// postInstanceBackups answers POST /1.0/instances/NAME/backups {"name"}
// (no name: backupN): "Backing up instance", instance-backup-created.
func (s *Server) postInstanceBackups(c *call) (*reply, error) {
	var req struct {
		Name string `json:"name"`
	}
	k, _, err := s.instanceRequest(c, &req)
	if err != nil {
		return nil, err
	}
	if req.Name == "" {
		for i := 0; ; i++ {
			if n := "backup" + itoa(i); !s.hasBackup(k, n) {
				req.Name = n
				break
			}
		}
	}
	if strings.Contains(req.Name, "/") {
		return nil, badRequest("Backup names may not contain slashes")
	}
	if s.hasBackup(k, req.Name) {
		return nil, conflict("Backup %q already exists", req.Name)
	}
	names := map[string]string{"instance": k.Path, "name": req.Name}
	return s.asyncAction("instance-backup-created", k.Project, names, func() {
		s.lifecycle("instance-backup-created", names, k.Project, nil, c.rq)
	}), nil
}

// hasBackup reports whether an instance has a backup of that name.
func (s *Server) hasBackup(k world.Key, name string) bool {
	return s.existing(world.Key{Kind: "instance-backup", Project: k.Project, Path: k.Path + "/" + name}) != nil
}

// noBackup is the daemon's 404 for an unknown instance backup.
func (s *Server) noBackup() error {
	if s.flavor == catalog.Incus {
		return notFound("Instance backup")
	}
	return &apiError{http.StatusNotFound, "Load backup from database: Instance backup not found"}
}

// postInstanceBackup answers POST …/backups/NAME {"name": NEW}: "Renaming
// instance backup", instance-backup-renamed (old_name INSTANCE/NAME).
func (s *Server) postInstanceBackup(c *call) (*reply, error) {
	var req struct {
		Name string `json:"name"`
	}
	k, _, err := s.instanceRequest(c, &req)
	if err != nil {
		return nil, err
	}
	old := c.r.PathValue("child")
	if !s.hasBackup(k, old) {
		return nil, s.noBackup()
	}
	if req.Name == "" || strings.Contains(req.Name, "/") {
		return nil, badRequest("Invalid backup name %q", req.Name)
	}
	if s.hasBackup(k, req.Name) {
		return nil, conflict("Backup %q already exists", req.Name)
	}
	return s.asyncAction("instance-backup-renamed", k.Project, map[string]string{"instance": k.Path, "name": old}, func() {
		s.lifecycle("instance-backup-renamed", map[string]string{"instance": k.Path, "name": req.Name}, k.Project, map[string]any{"old_name": k.Path + "/" + old}, c.rq)
	}), nil
}

// deleteInstanceBackup answers DELETE …/backups/NAME: "Removing instance
// backup", instance-backup-deleted.
func (s *Server) deleteInstanceBackup(c *call) (*reply, error) {
	k, _, err := s.instanceRequest(c, nil)
	if err != nil {
		return nil, err
	}
	name := c.r.PathValue("child")
	if !s.hasBackup(k, name) {
		return nil, s.noBackup()
	}
	names := map[string]string{"instance": k.Path, "name": name}
	return s.asyncAction("instance-backup-deleted", k.Project, names, func() {
		s.lifecycle("instance-backup-deleted", names, k.Project, nil, c.rq)
	}), nil
}

// volumeBackupKey is a custom volume backup's world key.
func volumeBackupKey(project, pool, vol, name string) world.Key {
	return world.Key{Kind: "storage-volume-backup", Project: project, Path: pool + "/custom/" + vol + "/" + name}
}

// postVolumeBackups answers POST …/volumes/custom/NAME/backups {"name"}:
// "Creating custom volume backup", storage-volume-backup-created context
// {"type":"custom"}.
func (s *Server) postVolumeBackups(c *call) (*reply, error) {
	if err := customOnly(c); err != nil {
		return nil, err
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	pl, p, v, err := s.volume(c)
	s.rest.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if req.Name == "" {
		for i := 0; ; i++ {
			if n := "backup" + itoa(i); s.existing(volumeBackupKey(p, pl, v.Name, n)) == nil {
				req.Name = n
				break
			}
		}
	}
	if strings.Contains(req.Name, "/") {
		return nil, badRequest("Backup names may not contain slashes")
	}
	if s.existing(volumeBackupKey(p, pl, v.Name, req.Name)) != nil {
		return nil, conflict("Backup %q already exists", req.Name)
	}
	names := map[string]string{"pool": pl, "type": "custom", "volume": v.Name, "name": req.Name}
	return s.asyncAction("storage-volume-backup-created", p, names, func() {
		s.lifecycle("storage-volume-backup-created", names, p, map[string]any{"type": "custom"}, c.rq)
	}), nil
}

// deleteVolumeBackup answers DELETE …/volumes/custom/NAME/backups/BACKUP:
// "Deleting custom volume backup", storage-volume-backup-deleted.
func (s *Server) deleteVolumeBackup(c *call) (*reply, error) {
	if err := customOnly(c); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	pl, p, v, err := s.volume(c)
	s.rest.mu.Unlock()
	if err != nil {
		return nil, err
	}
	name := c.r.PathValue("backup")
	if s.existing(volumeBackupKey(p, pl, v.Name, name)) == nil {
		return nil, notFound("Storage volume backup")
	}
	names := map[string]string{"pool": pl, "type": "custom", "volume": v.Name, "name": name}
	return s.asyncAction("storage-volume-backup-deleted", p, names, func() {
		s.lifecycle("storage-volume-backup-deleted", names, p, nil, c.rq)
	}), nil
}
