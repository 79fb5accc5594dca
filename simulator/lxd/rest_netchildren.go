package lxd

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/world"
)

// Network load balancers, network peers and cluster groups are read from
// the world: those played events and REST requests made. Load balancers
// can be made, changed and deleted through REST on lxd-6 and incus (below);
// peers and cluster groups cannot yet.

// loadBalancerObj is GET /1.0/networks/NET/load-balancers/ADDR's answer,
// fields in LXD's order.
type loadBalancerObj struct {
	Description   string            `json:"description"`
	Config        map[string]string `json:"config"`
	Backends      json.RawMessage   `json:"backends"`
	Ports         json.RawMessage   `json:"ports"`
	ListenAddress string            `json:"listen_address"`
	Location      string            `json:"location"`
}

func loadBalancerOf(o *world.Object) any {
	d := detail(o)
	return loadBalancerObj{Description: d.Description, Config: orEmpty(d.Config), Backends: rawList(d, "backends"), Ports: rawList(d, "ports"), ListenAddress: o.Name}
}

// peerObj is GET /1.0/networks/NET/peers/NAME's answer, fields in LXD's
// order. A peer the fake knows only from its event is "Pending": the
// target network has not peered back, as far as the fake can tell.
type peerObj struct {
	Description   string            `json:"description"`
	Config        map[string]string `json:"config"`
	Name          string            `json:"name"`
	TargetProject string            `json:"target_project"`
	TargetNetwork string            `json:"target_network"`
	Status        string            `json:"status"`
	UsedBy        []string          `json:"used_by"`
}

func peerOf(o *world.Object) any {
	d := detail(o)
	return peerObj{Description: d.Description, Config: orEmpty(d.Config), Name: o.Name,
		TargetProject: d.Extra["target_project"], TargetNetwork: d.Extra["target_network"],
		Status: cmp.Or(d.Extra["status"], "Pending"), UsedBy: []string{}}
}

// networkChildScope checks a request under a network: the flavour has
// the API extension (lacks does not; without it the path is unknown: 404
// "not found"), the network exists (404 as LXD's forwards answer it).
func (s *Server) networkChildScope(c *call, lacks catalog.Flavor) (string, string, error) {
	if s.flavor == lacks {
		return "", "", errNotFound
	}
	return s.forwardScope(c)
}

// peerScope checks a request for network peers, which every flavour has.
func (s *Server) peerScope(c *call) (string, string, error) { return s.networkChildScope(c, "") }

// loadBalancerScope checks a load balancer request as LXD 6.1 and Incus
// 6.0 do: the route exists (not on LXD 5.0.2: 404 "not found"), the
// network exists (404 "Failed loading network: Network not found"), and
// its driver has load balancers: only OVN's does, so a network of another
// known type is 400 `Network driver "bridge" does not support load
// balancers` (recorded from Incus 6.0.4). A network the fake knows only
// from events, of no known type, is taken to have them.
func (s *Server) loadBalancerScope(c *call) (string, string, error) {
	p, network, err := s.networkChildScope(c, catalog.LXD50)
	if err != nil {
		return "", "", err
	}
	var typ string
	s.withWorld(func(w *world.World) {
		if o := w.Get(networkKey(p, network)); o != nil {
			typ = cmp.Or(detail(o).Type, o.Type)
		}
	})
	if typ != "" && typ != "ovn" {
		return "", "", badRequest("Network driver %q does not support load balancers", typ)
	}
	return p, network, nil
}

func loadBalancerKey(project, network, addr string) world.Key {
	return world.Key{Kind: "network-load-balancer", Project: project, Path: network + "/" + addr}
}

// postLoadBalancers answers POST /1.0/networks/NET/load-balancers
// {"listen_address","description","config","backends","ports"} as the
// daemons' OVN driver does: network-load-balancer-created, 201 with
// Location; 409 "Failed creating load balancer: A load balancer for that
// listen address already exists"; a listen address that is no IP, 500
// "Failed creating load balancer: Failed parsing …" (LXD 6.1's and Incus
// 6.0.4's source: no OVN runs here to record).
func (s *Server) postLoadBalancers(c *call) (*reply, error) {
	var req struct {
		ListenAddress string `json:"listen_address"`
		objectPut
	}
	if err := c.decodeRaw(&req); err != nil {
		return nil, err
	}
	p, network, err := s.loadBalancerScope(c)
	if err != nil {
		return nil, err
	}
	if s.existing(loadBalancerKey(p, network, req.ListenAddress)) != nil {
		return nil, conflict("Failed creating load balancer: A load balancer for that listen address already exists")
	}
	bits := 32
	if strings.Contains(req.ListenAddress, ":") {
		bits = 128
	}
	if _, _, err := net.ParseCIDR(fmt.Sprintf("%s/%d", req.ListenAddress, bits)); err != nil {
		return nil, &apiError{http.StatusInternalServerError, fmt.Sprintf("Failed creating load balancer: Failed parsing %q: %v", req.ListenAddress, err)}
	}
	return s.createObject(c, p, loadBalancerKey(p, network, req.ListenAddress), nil, req.objectPut,
		"network-load-balancer-created", map[string]string{"network": network, "name": req.ListenAddress},
		"/1.0/networks/"+url.PathEscape(network)+"/load-balancers/"+url.PathEscape(req.ListenAddress))
}

// putLoadBalancer answers PUT and PATCH …/load-balancers/ADDR:
// network-load-balancer-updated; 404 "Network load balancer not found".
func (s *Server) putLoadBalancer(c *call) (*reply, error) { return s.updateNetChild(c, loadBalancers) }

// deleteLoadBalancer answers DELETE …/load-balancers/ADDR:
// network-load-balancer-deleted; 404 "Failed deleting load balancer:
// Network load balancer not found".
func (s *Server) deleteLoadBalancer(c *call) (*reply, error) {
	return s.deleteNetChild(c, loadBalancers)
}

// getNetworkChildren answers GET /1.0/networks/NET/SEGMENT for a kind the
// world keeps under networks: URLs, or objects with recursion. scope
// checks the request first (networkChildScope, loadBalancerScope).
func (s *Server) getNetworkChildren(kind, segment string, scope func(*call) (string, string, error), obj func(o *world.Object) any) route {
	return func(c *call) (*reply, error) {
		p, network, err := scope(c)
		if err != nil {
			return nil, err
		}
		return s.childrenOf(c, kind, "Network", networkKey(p, network), func(o *world.Object) string {
			return withProject("/1.0/networks/"+url.PathEscape(network)+"/"+segment+"/"+url.PathEscape(o.Name), p)
		}, obj)
	}
}

// getNetworkChild answers GET /1.0/networks/NET/SEGMENT/NAME.
func (s *Server) getNetworkChild(kind, what string, scope func(*call) (string, string, error), obj func(o *world.Object) any) route {
	return func(c *call) (*reply, error) {
		p, network, err := scope(c)
		if err != nil {
			return nil, err
		}
		return s.oneOf(c, world.Key{Kind: kind, Project: p, Path: network + "/" + c.r.PathValue("child")}, what, obj)
	}
}

// clusterGroupObj is GET /1.0/cluster/groups/NAME's answer, fields in
// LXD's order.
type clusterGroupObj struct {
	Description string   `json:"description"`
	Members     []string `json:"members"`
	Name        string   `json:"name"`
}

// defaultGroup is the group a real cluster always has, holding every
// member (memberOf answers each member in it).
const defaultGroup = "default"

func (s *Server) clusterGroupOf(o *world.Object) clusterGroupObj {
	d := detail(o)
	return clusterGroupObj{Description: d.Description, Members: []string{}, Name: o.Name}
}

// clusterGroups is every group: the world's, and "default" with every
// member unless the world has its own; sorted by name.
func (s *Server) clusterGroups() []clusterGroupObj {
	var out []clusterGroupObj
	s.withWorld(func(w *world.World) {
		for _, o := range w.List("cluster-group", "") {
			out = append(out, s.clusterGroupOf(o))
		}
		if !slices.ContainsFunc(out, func(g clusterGroupObj) bool { return g.Name == defaultGroup }) {
			members := []string{}
			for _, m := range w.List("cluster-member", "") {
				members = append(members, m.Name)
			}
			out = append(out, clusterGroupObj{Description: "Default cluster group", Members: members, Name: defaultGroup})
		}
	})
	slices.SortFunc(out, func(a, b clusterGroupObj) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// getClusterGroups answers GET /1.0/cluster/groups: URLs, or objects with
// recursion; 400 "This server is not clustered" on a lone server, as LXD.
func (s *Server) getClusterGroups(c *call) (*reply, error) {
	if len(s.opts.Members) == 0 {
		return nil, badRequest("This server is not clustered")
	}
	groups := s.clusterGroups()
	if c.level() > 0 {
		return ok(groups), nil
	}
	urls := make([]string, len(groups))
	for i, g := range groups {
		urls[i] = "/1.0/cluster/groups/" + url.PathEscape(g.Name)
	}
	return ok(urls), nil
}

// postClusterGroups answers POST /1.0/cluster/groups on a lone server as
// LXD 5.0.2 and Incus 6.0.4 do (recorded): 400 "This server is not
// clustered". Making a group in a cluster is not built: 501.
func (s *Server) postClusterGroups(c *call) (*reply, error) {
	if len(s.opts.Members) == 0 {
		return nil, badRequest("This server is not clustered")
	}
	return nil, errNotImplemented
}

// getClusterGroup answers GET /1.0/cluster/groups/NAME.
func (s *Server) getClusterGroup(c *call) (*reply, error) {
	if len(s.opts.Members) == 0 {
		return nil, badRequest("This server is not clustered")
	}
	name := c.r.PathValue("name")
	for _, g := range s.clusterGroups() {
		if g.Name == name {
			return ok(g), nil
		}
	}
	return nil, notFound("Cluster group")
}

// volumeBackupObj is GET …/volumes/custom/VOL/backups/NAME's answer,
// fields in LXD's order; the name is the backup's own, without the volume.
type volumeBackupObj struct {
	Name             string  `json:"name"`
	CreatedAt        lxdTime `json:"created_at"`
	ExpiresAt        lxdTime `json:"expires_at"`
	VolumeOnly       bool    `json:"volume_only"`
	OptimizedStorage bool    `json:"optimized_storage"`
}

func volumeBackupOf(o *world.Object) any {
	return volumeBackupObj{Name: o.Name, CreatedAt: o.CreatedAt, ExpiresAt: o.CreatedAt.Add(24 * time.Hour)}
}

// volumeBackupScope checks a custom volume backup request as the writes
// do: a custom volume that exists; and returns its world key.
func (s *Server) volumeBackupScope(c *call) (world.Key, error) {
	if err := customOnly(c); err != nil {
		return world.Key{}, err
	}
	s.rest.mu.Lock()
	pl, p, v, err := s.volume(c)
	s.rest.mu.Unlock()
	if err != nil {
		return world.Key{}, err
	}
	return world.Key{Kind: "storage-volume", Project: p, Path: pl + "/custom/" + v.Name}, nil
}

// getVolumeBackups answers GET …/volumes/custom/VOL/backups: URLs, or
// objects with recursion.
func (s *Server) getVolumeBackups(c *call) (*reply, error) {
	k, err := s.volumeBackupScope(c)
	if err != nil {
		return nil, err
	}
	base := "/1.0/storage-pools/" + url.PathEscape(c.r.PathValue("pool")) + "/volumes/custom/" + url.PathEscape(c.r.PathValue("vol")) + "/backups/"
	return s.listUnder(c, "storage-volume-backup", k, func(o *world.Object) string {
		return withProject(base+url.PathEscape(o.Name), k.Project)
	}, volumeBackupOf), nil
}

// getVolumeBackup answers GET …/volumes/custom/VOL/backups/NAME.
func (s *Server) getVolumeBackup(c *call) (*reply, error) {
	k, err := s.volumeBackupScope(c)
	if err != nil {
		return nil, err
	}
	k.Kind, k.Path = "storage-volume-backup", k.Path+"/"+c.r.PathValue("backup")
	return s.oneOf(c, k, "Storage volume backup", volumeBackupOf)
}
