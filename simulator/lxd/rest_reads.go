package lxd

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/world"
)

// REST reads answered from the world: instances, images, networks,
// warnings, the cluster, certificates and operations. See
// docs/lxd-server.md.

// listOf answers a list of world objects of a kind in the request's scope:
// URLs, or with recursion objects built by obj. url builds an object's URL.
func (s *Server) listOf(c *call, kind string, url func(o *world.Object) string, obj func(o *world.Object) any) (*reply, error) {
	project, err := c.scope()
	if err != nil {
		return nil, err
	}
	if kind == "certificate" || kind == "cluster-member" {
		project = ""
	}
	rec := c.level() > 0
	var out []any
	var urls []string
	s.withWorld(func(w *world.World) {
		for _, o := range w.List(kind, project) {
			if rec {
				out = append(out, obj(o))
			} else {
				urls = append(urls, url(o))
			}
		}
	})
	if rec {
		if out == nil {
			out = []any{}
		}
		return ok(out), nil
	}
	if urls == nil {
		urls = []string{}
	}
	return ok(urls), nil
}

// oneOf answers one world object, or 404 "<what> not found".
func (s *Server) oneOf(c *call, k world.Key, what string, obj func(o *world.Object) any) (*reply, error) {
	var out any
	s.withWorld(func(w *world.World) {
		if o := w.Get(k); o != nil {
			out = obj(o)
		}
	})
	if out == nil {
		return nil, notFound(what)
	}
	return ok(out), nil
}

// getInstances answers GET /1.0/instances: URLs; objects with recursion=1;
// with recursion=2 each with its state, snapshots and backups, as lxc list
// asks; ?filter= as LXD's API filtering reads it.
func (s *Server) getInstances(c *call) (*reply, error) {
	project, err := c.scope()
	if err != nil {
		return nil, err
	}
	f, err := parseFilter(c.r.URL.Query().Get("filter"))
	if err != nil {
		if ae, ok := err.(*apiError); ok && s.flavor == catalog.Incus {
			return nil, badRequest("%s", ae.msg) // Incus answers a bad filter 400
		}
		return nil, err
	}
	level := c.level()
	if level == 0 {
		var urls []string
		s.withWorld(func(w *world.World) {
			for _, o := range w.List("instance", project) {
				if inst := s.instanceOf(o); f.match(&inst) {
					urls = append(urls, instanceURL(o.Project, o.Name))
				}
			}
		})
		if urls == nil {
			urls = []string{}
		}
		return ok(urls), nil
	}
	// Objects: each instance's encoding, kept with it (encoded.go); the
	// whole list too when there is no filter.
	enc := s.instanceJSON
	if level > 1 {
		enc = s.fullJSON
	}
	var whole []byte
	var elems [][]byte
	n := 0
	s.withWorld(func(w *world.World) {
		k := listKey{"instance", project, level}
		if f.empty() {
			if whole = s.cachedList(w, k); whole != nil {
				return
			}
		}
		for _, o := range w.List("instance", project) {
			if !f.empty() {
				if inst := s.instanceOf(o); !f.match(&inst) {
					continue
				}
			}
			elems = append(elems, enc(o))
		}
		n, whole = jsonArray(elems, s.lists.keepMax)
		if whole != nil && f.empty() {
			s.keepList(w, k, whole)
		}
	})
	if whole != nil {
		return okRaw(whole), nil
	}
	// Too large to keep whole: written from the encodings, which are
	// never changed once made.
	return &reply{code: http.StatusOK, array: true, arrayLen: n, elems: elems}, nil
}

// instanceKey is the instance a request names.
func (c *call) instanceKey() (world.Key, error) {
	p, err := c.project()
	if err != nil {
		return world.Key{}, err
	}
	return world.Key{Kind: "instance", Project: p, Path: c.r.PathValue("name")}, nil
}

// getInstance answers GET /1.0/instances/NAME; with recursion=1 the
// instance comes with its state, snapshots and backups (lxc info).
func (s *Server) getInstance(c *call) (*reply, error) {
	body, log, err := s.instanceBody(c.projectName(), c.r.PathValue("name"), c.level() > 0)
	if err != nil {
		return nil, err
	}
	rep := okRaw(body)
	rep.log = log
	return rep, nil
}

// instanceBody is GET /1.0/instances/NAME's metadata, encoded (full: with
// its state, snapshots and backups), and with Options.Logging the
// answer's "WriteJSON" log message when kept (not full); the fast path
// answers from it too.
func (s *Server) instanceBody(project, name string, full bool) (body, log []byte, err error) {
	err = s.withInstance(project, name, func(o *world.Object) {
		switch {
		case full:
			body = s.fullJSON(o)
		case s.logging():
			body, log = s.instanceJSON(o), s.instanceLogJSON(o)
		default:
			body = s.instanceJSON(o)
		}
	})
	return body, log, err
}

// getInstanceState answers GET /1.0/instances/NAME/state.
func (s *Server) getInstanceState(c *call) (*reply, error) {
	st, err := s.readState(c.projectName(), c.r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return ok(st), nil
}

// readState is GET /1.0/instances/NAME/state's metadata; the fast path
// answers from it too.
func (s *Server) readState(project, name string) (*instanceState, error) {
	var st *instanceState
	err := s.withInstance(project, name, func(o *world.Object) { st = stateOf(o) })
	return st, err
}

// withInstance runs read on an instance with the world held. The error is
// the daemon's: "Project not found" for a project that does not exist,
// its 404 for an instance that does not.
func (s *Server) withInstance(project, name string, read func(o *world.Object)) error {
	var err error
	s.withWorld(func(w *world.World) {
		if w.Project(project) == nil {
			err = errNoProject
			return
		}
		o := w.Instance(project, name)
		if o == nil {
			err = s.noInstance(project, name)
			return
		}
		read(o)
	})
	return err
}

// getInstanceChildren answers GET /1.0/instances/NAME/snapshots and
// …/backups: URLs, or objects with recursion.
func (s *Server) getInstanceChildren(kind, seg string) route {
	return func(c *call) (*reply, error) {
		k, err := c.instanceKey()
		if err != nil {
			return nil, err
		}
		rec := c.level() > 0
		var out any
		s.withWorld(func(w *world.World) {
			o := w.Get(k)
			if o == nil {
				return
			}
			if rec {
				if kind == "instance-snapshot" {
					out = s.snapshotsOf(o)
				} else {
					out = s.backupsOf(o)
				}
				return
			}
			urls := []string{}
			for _, ch := range w.Children(o, kind) {
				urls = append(urls, withProject("/1.0/instances/"+url.PathEscape(o.Name)+"/"+seg+"/"+url.PathEscape(ch.Name), o.Project))
			}
			out = urls
		})
		if out == nil {
			return nil, notFound("Instance")
		}
		return ok(out), nil
	}
}

// getInstanceChild answers GET /1.0/instances/NAME/snapshots/SNAP and
// …/backups/BACKUP.
func (s *Server) getInstanceChild(kind string) route {
	return func(c *call) (*reply, error) {
		k, err := c.instanceKey()
		if err != nil {
			return nil, err
		}
		child := c.r.PathValue("child")
		var out any
		what := "Instance"
		s.withWorld(func(w *world.World) {
			o := w.Get(k)
			if o == nil {
				return
			}
			what = "Snapshot"
			list := any(s.snapshotsOf(o))
			if kind == "instance-backup" {
				what = "Instance backup"
				for _, b := range s.backupsOf(o) {
					if b.Name == o.Name+"/"+child {
						out = b
					}
				}
				return
			}
			for _, sn := range list.([]snapshotObj) {
				if sn.Name == child {
					out = sn
				}
			}
		})
		if out == nil {
			return nil, notFound(what)
		}
		return ok(out), nil
	}
}

// imageObj is GET /1.0/images/FINGERPRINT's answer, fields in LXD's order.
type imageObj struct {
	AutoUpdate   bool              `json:"auto_update"`
	Properties   map[string]string `json:"properties"`
	Public       bool              `json:"public"`
	ExpiresAt    time.Time         `json:"expires_at"`
	Profiles     []string          `json:"profiles"`
	Aliases      []imageAliasRef   `json:"aliases"`
	Architecture string            `json:"architecture"`
	Cached       bool              `json:"cached"`
	Filename     string            `json:"filename"`
	Fingerprint  string            `json:"fingerprint"`
	Size         int64             `json:"size"`
	Type         string            `json:"type"`
	CreatedAt    time.Time         `json:"created_at"`
	LastUsedAt   time.Time         `json:"last_used_at"`
	UploadedAt   time.Time         `json:"uploaded_at"`
	Project      string            `json:"project,omitempty"` // Incus's (projectField)
}

type imageAliasRef struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// imageAliasObj is GET /1.0/images/aliases/NAME's answer.
type imageAliasObj struct {
	Description string `json:"description"`
	Target      string `json:"target"`
	Name        string `json:"name"`
	Type        string `json:"type"`
}

// aliasTarget is the fingerprint an alias points at.
func aliasTarget(o *world.Object) string {
	if t := detail(o).Extra["target"]; t != "" {
		return t
	}
	return o.Context["target"]
}

// imageOf builds an image's answer. s.worldMu must be held.
func (s *Server) imageOf(o *world.Object) imageObj {
	d := detail(o)
	typ := o.Type
	if typ == "" {
		typ = "container"
	}
	img := imageObj{
		Properties: orEmpty(d.Config), Public: d.Extra["public"] == "true", Profiles: []string{"default"}, Aliases: []imageAliasRef{},
		Architecture: architecture(d), Filename: d.Extra["filename"], Fingerprint: o.Name, Type: typ,
		CreatedAt: o.CreatedAt, UploadedAt: o.CreatedAt, LastUsedAt: o.LastUsedAt, Project: s.projectField(o.Project),
	}
	if d.Profiles != nil {
		img.Profiles = slices.Clone(d.Profiles)
	}
	if n, err := json.Number(d.Extra["size"]).Int64(); err == nil {
		img.Size = n
	}
	for _, a := range s.world.List("image-alias", o.Project) {
		if t := aliasTarget(a); t == o.Name {
			img.Aliases = append(img.Aliases, imageAliasRef{Name: a.Name, Description: detail(a).Description})
		}
	}
	return img
}

func (s *Server) aliasOf(o *world.Object) imageAliasObj {
	return imageAliasObj{Description: detail(o).Description, Target: aliasTarget(o), Name: o.Name, Type: "container"}
}

// findImage finds an image by its fingerprint or a unique prefix of it, as
// LXD does. s.worldMu must be held.
func (s *Server) findImage(project, fp string) *world.Object {
	if o := s.world.Get(world.Key{Kind: "image", Project: project, Path: fp}); o != nil {
		return o
	}
	var found *world.Object
	for _, o := range s.world.List("image", project) {
		if strings.HasPrefix(o.Name, fp) {
			if found != nil {
				return nil // ambiguous
			}
			found = o
		}
	}
	return found
}

func (s *Server) getImages(c *call) (*reply, error) {
	return s.listOf(c, "image", func(o *world.Object) string {
		return withProject("/1.0/images/"+url.PathEscape(o.Name), o.Project)
	}, func(o *world.Object) any { return s.imageOf(o) })
}

func (s *Server) getImage(c *call) (*reply, error) {
	p, err := c.project()
	if err != nil {
		return nil, err
	}
	var out any
	s.withWorld(func(w *world.World) {
		if fp := c.r.PathValue("fingerprint"); fp != "" {
			if o := s.findImage(p, fp); o != nil {
				out = s.imageOf(o)
			}
		}
	})
	if out == nil {
		return nil, notFound("Image")
	}
	return ok(out), nil
}

func (s *Server) getAliases(c *call) (*reply, error) {
	return s.listOf(c, "image-alias", func(o *world.Object) string {
		return withProject("/1.0/images/aliases/"+url.PathEscape(o.Name), o.Project)
	}, func(o *world.Object) any { return s.aliasOf(o) })
}

func (s *Server) getAlias(c *call) (*reply, error) {
	p, err := c.project()
	if err != nil {
		return nil, err
	}
	return s.oneOf(c, world.Key{Kind: "image-alias", Project: p, Path: c.r.PathValue("name")}, "Image alias", func(o *world.Object) any { return s.aliasOf(o) })
}

// networkObj is GET /1.0/networks/NAME's answer.
type networkObj struct {
	Config      map[string]string `json:"config"`
	Description string            `json:"description"`
	Name        string            `json:"name"`
	Type        string            `json:"type"`
	UsedBy      []string          `json:"used_by"`
	Managed     bool              `json:"managed"`
	Status      string            `json:"status"`
	Locations   []string          `json:"locations"`
	Project     string            `json:"project,omitempty"` // Incus's (projectField)
}

func (s *Server) networkOf(o *world.Object) networkObj {
	d := detail(o)
	typ := d.Type
	if typ == "" {
		typ = o.Type
	}
	if typ == "" {
		typ = "bridge"
	}
	return networkObj{Config: orEmpty(d.Config), Description: d.Description, Name: o.Name, Type: typ, UsedBy: []string{},
		Managed: true, Status: "Created", Locations: []string{s.location()}, Project: s.projectField(o.Project)}
}

func (s *Server) getNetworks(c *call) (*reply, error) {
	return s.listOf(c, "network", func(o *world.Object) string {
		return withProject("/1.0/networks/"+url.PathEscape(o.Name), o.Project)
	}, func(o *world.Object) any { return s.networkOf(o) })
}

func (s *Server) getNetwork(c *call) (*reply, error) {
	p, err := c.project()
	if err != nil {
		return nil, err
	}
	return s.oneOf(c, world.Key{Kind: "network", Project: p, Path: c.r.PathValue("name")}, "Network", func(o *world.Object) any { return s.networkOf(o) })
}

func (s *Server) getNamedList(kind, prefix string, obj func(o *world.Object) any) route {
	return func(c *call) (*reply, error) {
		return s.listOf(c, kind, func(o *world.Object) string { return withProject(prefix+url.PathEscape(o.Name), o.Project) }, obj)
	}
}

func (s *Server) getNamed(kind, what string, obj func(o *world.Object) any) route {
	return func(c *call) (*reply, error) {
		p, err := s.networkScope(c)
		if err != nil {
			return nil, err
		}
		return s.oneOf(c, world.Key{Kind: kind, Project: p, Path: c.r.PathValue("name")}, what, obj)
	}
}

// warningObj is GET /1.0/warnings/UUID's answer, fields in LXD's order.
type warningObj struct {
	Status      string    `json:"status"`
	UUID        string    `json:"uuid"`
	Location    string    `json:"location"`
	Project     string    `json:"project"`
	Type        string    `json:"type"`
	Count       int       `json:"count"`
	FirstSeenAt time.Time `json:"first_seen_at"`
	LastSeenAt  time.Time `json:"last_seen_at"`
	LastMessage string    `json:"last_message"`
	Severity    string    `json:"severity"`
	EntityURL   string    `json:"entity_url"`
}

func (s *Server) warningOf(o *world.Object) warningObj {
	d := detail(o)
	typ, msg := d.Extra["type"], d.Extra["message"]
	if typ == "" {
		typ = "Couldn't find the CGroup network priority controller"
	}
	if msg == "" {
		msg = "per-instance network priority will be ignored. Please use per-device limits.priority instead"
	}
	loc := o.Location
	if loc == "" {
		loc = s.location()
	}
	return warningObj{Status: o.Status, UUID: o.Name, Location: loc, Project: o.Project, Type: typ, Count: 1,
		FirstSeenAt: o.CreatedAt, LastSeenAt: o.UpdatedAt, LastMessage: msg, Severity: "low"}
}

func (s *Server) getWarnings(c *call) (*reply, error) {
	// LXD lists every project's warnings unless ?project= is given.
	if c.r.URL.Query().Get("project") == "" {
		q := c.r.URL.Query()
		q.Set("all-projects", "true")
		c.r.URL.RawQuery = q.Encode()
	}
	return s.listOf(c, "warning", func(o *world.Object) string { return "/1.0/warnings/" + url.PathEscape(o.Name) },
		func(o *world.Object) any { return s.warningOf(o) })
}

func (s *Server) getWarning(c *call) (*reply, error) {
	name := c.r.PathValue("name")
	var out any
	s.withWorld(func(w *world.World) {
		for _, o := range w.List("warning", "") {
			if o.Name == name {
				out = s.warningOf(o)
			}
		}
	})
	if out == nil {
		return nil, notFound("Warning")
	}
	return ok(out), nil
}

// clusterObj is GET /1.0/cluster's answer.
type clusterObj struct {
	ServerName   string `json:"server_name"`
	Enabled      bool   `json:"enabled"`
	MemberConfig []any  `json:"member_config"`
}

// memberObj is GET /1.0/cluster/members/NAME's answer.
type memberObj struct {
	Config        map[string]string `json:"config"`
	Description   string            `json:"description"`
	Groups        []string          `json:"groups"`
	Roles         []string          `json:"roles"`
	FailureDomain string            `json:"failure_domain"`
	ServerName    string            `json:"server_name"`
	URL           string            `json:"url"`
	Database      bool              `json:"database"`
	Status        string            `json:"status"`
	Message       string            `json:"message"`
	Architecture  string            `json:"architecture"`
}

func (s *Server) memberOf(o *world.Object) any {
	i := slices.Index(s.opts.Members, o.Name)
	if i < 0 {
		i = len(s.opts.Members)
	}
	db := i < 3
	roles := []string{}
	if db {
		roles = []string{"database"}
	}
	msg := "Fully operational"
	if o.Status == "Evacuated" {
		msg = "Unavailable due to maintenance"
	}
	return memberObj{Config: map[string]string{}, Groups: []string{"default"}, Roles: roles, FailureDomain: "default",
		ServerName: o.Name, URL: "https://10.0.0." + itoa(i+1) + ":8443", Database: db, Status: o.Status, Message: msg, Architecture: "x86_64"}
}

func (s *Server) getCluster(c *call) (*reply, error) {
	name := ""
	if len(s.opts.Members) > 0 {
		name = s.opts.Members[0]
	}
	return ok(clusterObj{ServerName: name, Enabled: len(s.opts.Members) > 0, MemberConfig: []any{}}), nil
}

func (s *Server) getMembers(c *call) (*reply, error) {
	if len(s.opts.Members) == 0 {
		return nil, badRequest("Server isn't part of a cluster")
	}
	return s.listOf(c, "cluster-member", func(o *world.Object) string { return "/1.0/cluster/members/" + url.PathEscape(o.Name) }, s.memberOf)
}

func (s *Server) getMember(c *call) (*reply, error) {
	if len(s.opts.Members) == 0 {
		return nil, badRequest("Server isn't part of a cluster")
	}
	return s.oneOf(c, world.Key{Kind: "cluster-member", Path: c.r.PathValue("name")}, "Cluster member", s.memberOf)
}

// certificateObj is GET /1.0/certificates/FINGERPRINT's answer.
type certificateObj struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Restricted  bool     `json:"restricted"`
	Projects    []string `json:"projects"`
	Certificate string   `json:"certificate"`
	Fingerprint string   `json:"fingerprint"`
}

func certificateOf(o *world.Object) any {
	d := detail(o)
	return certificateObj{Name: d.Extra["name"], Type: "client", Projects: []string{}, Certificate: d.Extra["certificate"], Fingerprint: o.Name}
}

func (s *Server) getCertificates(c *call) (*reply, error) {
	return s.listOf(c, "certificate", func(o *world.Object) string { return "/1.0/certificates/" + url.PathEscape(o.Name) }, certificateOf)
}

func (s *Server) getCertificate(c *call) (*reply, error) {
	return s.oneOf(c, world.Key{Kind: "certificate", Path: c.r.PathValue("name")}, "Certificate", certificateOf)
}
