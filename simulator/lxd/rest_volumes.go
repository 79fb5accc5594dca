package lxd

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/eventsim/eventsim/catalog"
)

// REST requests on storage pools, custom volumes and their snapshots:
// the requests and their events are described in docs/lxd-server.md.

// getPools answers GET /1.0/storage-pools.
func (s *Server) getPools(c *call) (*reply, error) {
	if _, err := c.project(); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	if c.recursion() {
		out := make([]pool, len(s.rest.pools))
		for i, p := range s.rest.pools {
			out[i] = *p
		}
		return ok(out), nil
	}
	out := make([]string, len(s.rest.pools))
	for i, p := range s.rest.pools {
		out[i] = "/1.0/storage-pools/" + url.PathEscape(p.Name)
	}
	return ok(out), nil
}

// getPool answers GET /1.0/storage-pools/NAME.
func (s *Server) getPool(c *call) (*reply, error) {
	if _, err := c.project(); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	p := s.rest.pool(c.r.PathValue("pool"))
	if p == nil {
		return nil, notFound("Storage pool")
	}
	return ok(*p), nil
}

// volumeTypes are the volume types of LXD's paths; only custom volumes can
// be made through the API.
var volumeTypes = []string{"custom", "container", "virtual-machine", "image"}

// volScope resolves the pool and project of a volume request. s.rest.mu
// must be held.
func (s *Server) volScope(c *call) (poolName, project string, err error) {
	p, err := c.project()
	if err != nil {
		return "", "", err
	}
	poolName = c.r.PathValue("pool")
	if s.rest.pool(poolName) == nil {
		return "", "", notFound("Storage pool")
	}
	if t := c.r.PathValue("type"); t != "" && !slices.Contains(volumeTypes, t) {
		return "", "", badRequest("Invalid storage volume type %q, must be one of %s", t, strings.Join(volumeTypes, ", "))
	}
	return poolName, s.rest.featureProject(p, "storage.volumes"), nil
}

// customOnly refuses changes to volumes other than custom ones.
func customOnly(c *call) error {
	if t := c.r.PathValue("type"); t != "custom" {
		return badRequest("Storage volumes of type %q cannot be changed through this API; only custom volumes can", t)
	}
	return nil
}

func volumeURL(pool, typ, name, project string) string {
	return withProject("/1.0/storage-pools/"+url.PathEscape(pool)+"/volumes/"+typ+"/"+url.PathEscape(name), project)
}

// volNames are the names a volume's lifecycle source is built from: LXD
// 5.0.2 names a custom volume by its storage name PROJECT_NAME.
func (s *Server) volNames(action, pool, project, name, snap string) map[string]string {
	stored := name
	if a := s.catalog().Action(action); a != nil && a.PrefixVolume {
		stored = project + "_" + name
	}
	if snap != "" {
		return map[string]string{"pool": pool, "type": "custom", "volume": stored, "name": snap}
	}
	return map[string]string{"pool": pool, "type": "custom", "name": stored}
}

// volumes lists a project's volumes on a pool, by name. s.rest.mu must be held.
func (s *Server) volumes(pool, project string) []*volume {
	var out []*volume
	for k, v := range s.rest.volumes {
		if k.pool == pool && k.project == project {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// getVolumes answers GET /1.0/storage-pools/POOL/volumes[/TYPE].
func (s *Server) getVolumes(c *call) (*reply, error) {
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	pl, p, err := s.volScope(c)
	if err != nil {
		return nil, err
	}
	var vols []*volume
	if t := c.r.PathValue("type"); t == "" || t == "custom" {
		vols = s.volumes(pl, p)
	}
	if c.recursion() {
		out := make([]volume, len(vols))
		for i, v := range vols {
			out[i] = v.clone()
		}
		return ok(out), nil
	}
	out := make([]string, len(vols))
	for i, v := range vols {
		out[i] = volumeURL(pl, "custom", v.Name, p)
	}
	return ok(out), nil
}

// volume finds the volume a request names. s.rest.mu must be held.
func (s *Server) volume(c *call) (pl, p string, v *volume, err error) {
	if pl, p, err = s.volScope(c); err != nil {
		return "", "", nil, err
	}
	if c.r.PathValue("type") == "custom" {
		v = s.rest.volumes[volKey{pl, p, c.r.PathValue("vol")}]
	}
	if v == nil {
		return "", "", nil, notFound("Storage volume")
	}
	return pl, p, v, nil
}

// getVolume answers GET …/volumes/TYPE/NAME.
func (s *Server) getVolume(c *call) (*reply, error) {
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	_, _, v, err := s.volume(c)
	if err != nil {
		return nil, err
	}
	return ok(v.clone()), nil
}

// clone copies a volume for an answer, which is encoded after s.rest.mu is
// released: its config map must not be the one later requests change.
// s.rest.mu must be held.
func (v *volume) clone() volume {
	c := *v
	c.Config = maps.Clone(v.Config)
	return c
}

type volumePut struct {
	Config      map[string]string `json:"config"`
	Description *string           `json:"description"`
	Restore     string            `json:"restore"`
}

type volumesPost struct {
	Name        string            `json:"name"`
	Type        string            `json:"type"`
	Config      map[string]string `json:"config"`
	Description string            `json:"description"`
	ContentType string            `json:"content_type"`
}

// postVolumes answers POST /1.0/storage-pools/POOL/volumes[/custom]:
// synchronous, 200 with metadata {} as in LXD; storage-volume-created
// between the driver's "CreateCustomVolume started" and "finished" logs.
func (s *Server) postVolumes(c *call) (*reply, error) {
	var req volumesPost
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	typ := c.r.PathValue("type")
	if typ == "" {
		typ = req.Type
	}
	if req.Type != "" && req.Type != typ {
		return nil, badRequest("Volume type %q in the body differs from %q in the URL", req.Type, typ)
	}
	if typ == "" {
		typ = "custom"
	}
	if typ != "custom" {
		return nil, badRequest("Currently not allowed to create storage volumes of type %q", typ)
	}
	if err := validName("storage volume", req.Name); err != nil {
		return nil, err
	}
	switch req.ContentType {
	case "":
		req.ContentType = "filesystem"
	case "filesystem", "block":
	default:
		return nil, badRequest("Invalid content type %q, must be filesystem or block", req.ContentType)
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	pl, p, err := s.volScope(c)
	if err != nil {
		return nil, err
	}
	k := volKey{pl, p, req.Name}
	if s.rest.volumes[k] != nil {
		return nil, conflict("Volume by that name already exists")
	}
	v := &volume{
		Config: maps.Clone(req.Config), Description: req.Description, Name: req.Name, Type: "custom",
		UsedBy: []string{}, Location: s.location(), ContentType: req.ContentType, Project: p, CreatedAt: s.clock(),
	}
	if v.Config == nil {
		v.Config = map[string]string{}
	}
	s.rest.volumes[k] = v
	logCtx := map[string]string{"config": fmt.Sprint(v.Config), "contentType": v.ContentType, "desc": v.Description, "project": p, "volName": v.Name}
	s.logEvent("debug", "CreateCustomVolume started", logCtx)
	s.lifecycle("storage-volume-created", s.volNames("storage-volume-created", pl, p, v.Name, ""), p, map[string]any{"type": "custom"}, c.rq)
	s.logEvent("debug", "CreateCustomVolume finished", logCtx)
	return emptyOK(), nil
}

// putVolume answers PUT and PATCH …/volumes/custom/NAME: storage-volume-updated,
// or with "restore" storage-volume-restored.
func (s *Server) putVolume(c *call) (*reply, error) {
	if err := customOnly(c); err != nil {
		return nil, err
	}
	var req volumePut
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	pl, p, v, err := s.volume(c)
	if err != nil {
		return nil, err
	}
	if req.Restore != "" {
		if !slices.ContainsFunc(v.snapshots, func(sn *volumeSnapshot) bool { return sn.Name == req.Restore }) {
			return nil, notFound("Storage volume snapshot")
		}
		logCtx := map[string]string{"project": p, "snapshotName": req.Restore, "volName": v.Name}
		s.logEvent("debug", "RestoreCustomVolume started", logCtx)
		s.lifecycle("storage-volume-restored", s.volNames("storage-volume-restored", pl, p, v.Name, ""), p, map[string]any{"snapshot": req.Restore}, c.rq)
		s.logEvent("debug", "RestoreCustomVolume finished", logCtx)
		return emptyOK(), nil
	}
	if c.r.Method == http.MethodPut {
		v.Config, v.Description = map[string]string{}, ""
	}
	maps.Copy(v.Config, req.Config)
	if req.Description != nil {
		v.Description = *req.Description
	}
	s.lifecycle("storage-volume-updated", s.volNames("storage-volume-updated", pl, p, v.Name, ""), p, nil, c.rq)
	return emptyOK(), nil
}

// postVolume answers POST …/volumes/custom/NAME {"name": NEW}: synchronous,
// 201; storage-volume-renamed names the new volume, old_name the bare old name.
func (s *Server) postVolume(c *call) (*reply, error) {
	if err := customOnly(c); err != nil {
		return nil, err
	}
	var req struct {
		Name string `json:"name"`
		Pool string `json:"pool"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := validName("storage volume", req.Name); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	pl, p, v, err := s.volume(c)
	if err != nil {
		return nil, err
	}
	if req.Pool != "" && req.Pool != pl {
		return nil, badRequest("Moving a volume to another pool is not supported by eventsim")
	}
	to := volKey{pl, p, req.Name}
	if s.rest.volumes[to] != nil {
		return nil, conflict("Volume by that name already exists")
	}
	old := v.Name
	delete(s.rest.volumes, volKey{pl, p, old})
	v.Name = req.Name
	s.rest.volumes[to] = v
	logCtx := map[string]string{"newVolName": req.Name, "project": p, "volName": old}
	s.logEvent("debug", "RenameCustomVolume started", logCtx)
	s.lifecycle("storage-volume-renamed", s.volNames("storage-volume-renamed", pl, p, req.Name, ""), p, map[string]any{"old_name": old}, c.rq)
	s.logEvent("debug", "RenameCustomVolume finished", logCtx)
	return created(volumeURL(pl, "custom", req.Name, p)), nil
}

// deleteVolume answers DELETE …/volumes/custom/NAME: synchronous; one
// storage-volume-snapshot-deleted per snapshot, then storage-volume-deleted.
func (s *Server) deleteVolume(c *call) (*reply, error) {
	if err := customOnly(c); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	pl, p, v, err := s.volume(c)
	if err != nil {
		return nil, err
	}
	delete(s.rest.volumes, volKey{pl, p, v.Name})
	logCtx := map[string]string{"project": p, "volName": v.Name}
	s.logEvent("debug", "DeleteCustomVolume started", logCtx)
	for _, sn := range v.snapshots {
		sctx := map[string]string{"project": p, "volName": v.Name + "/" + sn.Name}
		s.logEvent("debug", "DeleteCustomVolumeSnapshot started", sctx)
		child := catalog.LXDCascade("storage-volume-deleted")
		s.lifecycle(child, s.volNames(child, pl, p, v.Name, sn.Name), p, nil, c.rq)
		s.logEvent("debug", "DeleteCustomVolumeSnapshot finished", sctx)
	}
	s.lifecycle("storage-volume-deleted", s.volNames("storage-volume-deleted", pl, p, v.Name, ""), p, nil, c.rq)
	s.logEvent("debug", "DeleteCustomVolume finished", logCtx)
	return emptyOK(), nil
}

func snapshotURL(pool, vol, snap, project string) string {
	return withProject("/1.0/storage-pools/"+url.PathEscape(pool)+"/volumes/custom/"+url.PathEscape(vol)+"/snapshots/"+url.PathEscape(snap), project)
}

// getSnapshots answers GET …/volumes/custom/NAME/snapshots.
func (s *Server) getSnapshots(c *call) (*reply, error) {
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	pl, p, v, err := s.volume(c)
	if err != nil {
		return nil, err
	}
	if c.recursion() {
		out := make([]volumeSnapshot, len(v.snapshots))
		for i, sn := range v.snapshots {
			out[i] = *sn
		}
		return ok(out), nil
	}
	out := make([]string, len(v.snapshots))
	for i, sn := range v.snapshots {
		out[i] = snapshotURL(pl, v.Name, sn.Name, p)
	}
	return ok(out), nil
}

func (v *volume) snapshot(name string) *volumeSnapshot {
	for _, sn := range v.snapshots {
		if sn.Name == name {
			return sn
		}
	}
	return nil
}

// getSnapshot answers GET …/snapshots/NAME.
func (s *Server) getSnapshot(c *call) (*reply, error) {
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	_, _, v, err := s.volume(c)
	if err != nil {
		return nil, err
	}
	sn := v.snapshot(c.r.PathValue("snap"))
	if sn == nil {
		return nil, notFound("Storage volume snapshot")
	}
	return ok(*sn), nil
}

// postSnapshots answers POST …/volumes/custom/NAME/snapshots: an operation
// "Creating storage volume snapshot" whose run emits
// storage-volume-snapshot-created.
func (s *Server) postSnapshots(c *call) (*reply, error) {
	if err := customOnly(c); err != nil {
		return nil, err
	}
	var req struct {
		Name      string     `json:"name"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	pl, p, v, err := s.volume(c)
	if err != nil {
		return nil, err
	}
	if req.Name == "" {
		for i := 0; ; i++ {
			if n := fmt.Sprintf("snap%d", i); v.snapshot(n) == nil {
				req.Name = n
				break
			}
		}
	}
	if err := validName("snapshot", req.Name); err != nil {
		return nil, err
	}
	if v.snapshot(req.Name) != nil {
		return nil, conflict("Snapshot %q already in use", req.Name)
	}
	op := s.startAction("storage-volume-snapshot-created", p, map[string]string{"pool": pl, "volume": v.Name, "name": req.Name})
	return &reply{op: op, run: func() error {
		s.rest.mu.Lock()
		defer s.rest.mu.Unlock()
		if s.rest.volumes[volKey{pl, p, v.Name}] != v {
			return errors.New("Storage volume not found")
		}
		if v.snapshot(req.Name) != nil {
			return fmt.Errorf("Snapshot %q already in use", req.Name)
		}
		expiry := "0001-01-01 00:00:00 +0000 UTC"
		if req.ExpiresAt != nil {
			expiry = req.ExpiresAt.String()
		}
		logCtx := map[string]string{"newExpiryDate": expiry, "newSnapshotName": req.Name, "project": p, "volName": v.Name}
		s.logEvent("debug", "CreateCustomVolumeSnapshot started", logCtx)
		v.snapshots = append(v.snapshots, &volumeSnapshot{
			Config: maps.Clone(v.Config), Description: v.Description, Name: req.Name, ContentType: v.ContentType,
			CreatedAt: s.clock(), ExpiresAt: req.ExpiresAt,
		})
		s.lifecycle("storage-volume-snapshot-created", s.volNames("storage-volume-snapshot-created", pl, p, v.Name, req.Name), p, map[string]any{"type": "custom"}, c.rq)
		s.logEvent("debug", "CreateCustomVolumeSnapshot finished", logCtx)
		return nil
	}}, nil
}

// postSnapshot answers POST …/snapshots/NAME {"name": NEW}: an operation
// "Renaming storage volume snapshot"; storage-volume-snapshot-renamed.
func (s *Server) postSnapshot(c *call) (*reply, error) {
	if err := customOnly(c); err != nil {
		return nil, err
	}
	newName, err := c.newName("snapshot")
	if err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	pl, p, v, err := s.volume(c)
	if err != nil {
		return nil, err
	}
	old := c.r.PathValue("snap")
	sn := v.snapshot(old)
	if sn == nil {
		return nil, notFound("Storage volume snapshot")
	}
	if v.snapshot(newName) != nil {
		return nil, conflict("Snapshot %q already in use", newName)
	}
	op := s.startAction("storage-volume-snapshot-renamed", p, map[string]string{"pool": pl, "volume": v.Name, "name": old})
	return &reply{op: op, run: func() error {
		s.rest.mu.Lock()
		defer s.rest.mu.Unlock()
		if v.snapshot(old) != sn || v.snapshot(newName) != nil {
			return fmt.Errorf("Snapshot %q cannot be renamed to %q", old, newName)
		}
		sn.Name = newName
		s.lifecycle("storage-volume-snapshot-renamed", s.volNames("storage-volume-snapshot-renamed", pl, p, v.Name, newName), p, map[string]any{"old_name": old}, c.rq)
		return nil
	}}, nil
}

// deleteSnapshot answers DELETE …/snapshots/NAME: an operation "Deleting
// storage volume snapshot" whose resources name the parent volume, as in
// LXD; storage-volume-snapshot-deleted.
func (s *Server) deleteSnapshot(c *call) (*reply, error) {
	if err := customOnly(c); err != nil {
		return nil, err
	}
	s.rest.mu.Lock()
	defer s.rest.mu.Unlock()
	pl, p, v, err := s.volume(c)
	if err != nil {
		return nil, err
	}
	name := c.r.PathValue("snap")
	if v.snapshot(name) == nil {
		return nil, notFound("Storage volume snapshot")
	}
	op := s.startAction("storage-volume-snapshot-deleted", p, map[string]string{"pool": pl, "volume": v.Name, "name": name})
	return &reply{op: op, run: func() error {
		s.rest.mu.Lock()
		defer s.rest.mu.Unlock()
		if v.snapshot(name) == nil {
			return errors.New("Storage volume snapshot not found")
		}
		logCtx := map[string]string{"project": p, "volName": v.Name + "/" + name}
		s.logEvent("debug", "DeleteCustomVolumeSnapshot started", logCtx)
		v.snapshots = slices.DeleteFunc(v.snapshots, func(sn *volumeSnapshot) bool { return sn.Name == name })
		s.lifecycle("storage-volume-snapshot-deleted", s.volNames("storage-volume-snapshot-deleted", pl, p, v.Name, name), p, nil, c.rq)
		s.logEvent("debug", "DeleteCustomVolumeSnapshot finished", logCtx)
		return nil
	}}, nil
}
