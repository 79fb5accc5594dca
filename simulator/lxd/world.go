package lxd

import (
	"hash/fnv"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/scenarios"
	"github.com/eventsim/eventsim/world"
)

// The server's world: every event it serves, played or made by a REST
// request, is folded into it in stream order (s.seqMu held), and the REST
// reads of instances, images, networks, warnings, the cluster, certificates
// and operations answer from it.
//
// The fold runs beside the fan-out: fold queues an event and returns, and
// the queue is applied, in order and with s.worldMu held, by whoever comes
// first: withWorld before every read, or the fold's goroutine (foldLoop)
// once foldWake events wait. An event is queued before it is sent to
// anyone, so a client that received an event and then reads sees its
// effect, as with a fold done in line; and the player's goroutine, which
// sends each event, does not also fold it.

// foldWake is how many queued events wake the fold's goroutine; fewer wait
// for the next read, which applies them first.
const foldWake = 256

// foldQueueMax bounds the events queued for the fold: past it, fold applies
// the queue itself, so a fold slower than the stream costs time, not memory.
const foldQueueMax = 8192

// folder is the fold's queue. Its mutex is taken after s.worldMu, never
// before.
type folder struct {
	mu      sync.Mutex
	cond    sync.Cond // on mu: foldWake events queued, or stop
	pending []foldItem
	spare   []foldItem // the last batch applied, for reuse
	running bool       // foldLoop is running; without it fold applies in line
	idle    bool       // foldLoop waits
	stop    bool       // Close asked foldLoop to end
	done    chan struct{}
}

type foldItem struct {
	ev []byte // never changed once queued
	d  *world.Detail
}

// startFolder starts the fold's goroutine.
func (s *Server) startFolder() {
	f := &s.folder
	f.mu.Lock()
	f.cond.L = &f.mu
	f.running, f.done = true, make(chan struct{})
	f.mu.Unlock()
	go s.foldLoop()
}

// stopFolder ends the fold's goroutine once it has applied the queue; from
// then on fold applies in line.
func (s *Server) stopFolder() {
	f := &s.folder
	f.mu.Lock()
	if !f.running {
		f.mu.Unlock()
		return
	}
	f.stop = true
	f.cond.Signal()
	f.mu.Unlock()
	<-f.done
}

// foldLoop applies the queue whenever foldWake events wait in it.
func (s *Server) foldLoop() {
	f := &s.folder
	for {
		f.mu.Lock()
		for len(f.pending) < foldWake && !f.stop {
			f.idle = true
			f.cond.Wait()
			f.idle = false
		}
		stop := f.stop
		f.mu.Unlock()
		s.worldMu.Lock()
		s.drainLocked()
		if stop {
			f.mu.Lock()
			f.running = false
			f.mu.Unlock()
		}
		s.worldMu.Unlock()
		if stop {
			close(f.done)
			return
		}
	}
}

// drainLocked applies every queued event, in queue order. s.worldMu must be
// held: it orders one drain after another.
func (s *Server) drainLocked() {
	f := &s.folder
	f.mu.Lock()
	batch := f.pending
	if len(batch) == 0 {
		f.mu.Unlock()
		return
	}
	f.pending = f.spare[:0]
	f.mu.Unlock()
	for _, it := range batch {
		s.apply(it.ev, it.d)
	}
	clear(batch)
	f.mu.Lock()
	f.spare = batch[:0]
	f.mu.Unlock()
}

// apply folds one event. s.worldMu must be held.
func (s *Server) apply(ev []byte, d *world.Detail) {
	if err := s.world.ApplyWith(ev, d); err != nil {
		s.log.Debug("world: event not folded", "err", err)
	}
}

// fold queues an event the server is about to send for its world. s.seqMu
// must be held, so the world changes in the order clients see the events;
// ev must not change afterwards.
func (s *Server) fold(ev []byte, d *world.Detail) {
	f := &s.folder
	f.mu.Lock()
	if !f.running {
		f.mu.Unlock()
		s.worldMu.Lock()
		s.drainLocked()
		s.apply(ev, d)
		s.worldMu.Unlock()
		return
	}
	f.pending = append(f.pending, foldItem{ev, d})
	n := len(f.pending)
	if f.idle && n >= foldWake {
		f.cond.Signal()
	}
	f.mu.Unlock()
	if n >= foldQueueMax {
		s.worldMu.Lock()
		s.drainLocked()
		s.worldMu.Unlock()
	}
}

// withWorld runs f with the world locked, once every event queued before
// the call has been folded.
func (s *Server) withWorld(fn func(w *world.World)) {
	s.worldMu.Lock()
	defer s.worldMu.Unlock()
	s.drainLocked()
	fn(s.world)
}

// seedWorld folds the objects a new server has (Options.Projects, Pools,
// Profiles, Members) into the world as the events that would have made
// them, without sending them to anyone.
func (s *Server) seedWorld() {
	at := s.clock()
	seed := func(action string, names map[string]string, project string) {
		a := s.catalog().Action(action)
		if a == nil {
			return
		}
		lc := events.LXDLifecycle{Action: action, Source: a.SourcePath(names, project)}
		s.fold(scenarios.LXDEventJSON(events.LXDTypeLifecycle, at, scenarios.LXDLifecycleJSON(&lc), s.location(), project), nil)
	}
	s.rest.mu.Lock()
	for _, p := range s.rest.pools {
		seed("storage-pool-created", map[string]string{"name": p.Name}, "default")
	}
	s.rest.mu.Unlock()
	for _, p := range s.opts.Profiles {
		if p != "" && p != "default" {
			seed("profile-created", map[string]string{"name": p}, "default")
		}
	}
	for _, m := range s.opts.Members {
		seed("cluster-member-added", map[string]string{"name": m}, "default")
	}
}

// seedProject folds a project made through AddProject into the world.
func (s *Server) seedProject(name string) {
	a := s.catalog().Action("project-created")
	lc := events.LXDLifecycle{Action: a.Name, Source: a.SourcePath(map[string]string{"name": name}, name)}
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	s.fold(scenarios.LXDEventJSON(events.LXDTypeLifecycle, s.clock(), scenarios.LXDLifecycleJSON(&lc), s.location(), name), nil)
}

// lxdTime writes a time as LXD does; the zero time is LXD's zero time.
type lxdTime = time.Time

// instanceStatusCode maps instance statuses to LXD's status codes.
var instanceStatusCode = map[string]int{
	"Running": events.OpRunning, "Stopped": events.OpStopped, "Frozen": events.OpFrozen, "Error": events.OpError,
}

// instanceObj is GET /1.0/instances/NAME's answer, fields in LXD's order.
type instanceObj struct {
	Architecture    string                       `json:"architecture"`
	Config          map[string]string            `json:"config"`
	Devices         map[string]map[string]string `json:"devices"`
	Ephemeral       bool                         `json:"ephemeral"`
	Profiles        []string                     `json:"profiles"`
	Stateful        bool                         `json:"stateful"`
	Description     string                       `json:"description"`
	CreatedAt       lxdTime                      `json:"created_at"`
	ExpandedConfig  map[string]string            `json:"expanded_config"`
	ExpandedDevices map[string]map[string]string `json:"expanded_devices"`
	Name            string                       `json:"name"`
	Status          string                       `json:"status"`
	StatusCode      int                          `json:"status_code"`
	LastUsedAt      lxdTime                      `json:"last_used_at"`
	Location        string                       `json:"location"`
	Type            string                       `json:"type"`
	Project         string                       `json:"project"`
}

// instanceFull is the instance with recursion=2 (lxc list) or, for one
// instance, recursion=1 (lxc info): its state, snapshots and backups.
type instanceFull struct {
	instanceObj
	Backups   []backupObj    `json:"backups"`
	State     *instanceState `json:"state"`
	Snapshots []snapshotObj  `json:"snapshots"`
}

// instanceState is GET …/state's answer.
type instanceState struct {
	Status     string                  `json:"status"`
	StatusCode int                     `json:"status_code"`
	Disk       map[string]diskState    `json:"disk"`
	Memory     memoryState             `json:"memory"`
	Network    map[string]networkState `json:"network"`
	Pid        int64                   `json:"pid"`
	Processes  int64                   `json:"processes"`
	CPU        struct {
		Usage int64 `json:"usage"`
	} `json:"cpu"`
}

type diskState struct {
	Usage int64 `json:"usage"`
}

type memoryState struct {
	Usage         int64 `json:"usage"`
	UsagePeak     int64 `json:"usage_peak"`
	SwapUsage     int64 `json:"swap_usage"`
	SwapUsagePeak int64 `json:"swap_usage_peak"`
}

type networkState struct {
	Addresses []networkAddress `json:"addresses"`
	Counters  networkCounters  `json:"counters"`
	Hwaddr    string           `json:"hwaddr"`
	HostName  string           `json:"host_name"`
	Mtu       int              `json:"mtu"`
	State     string           `json:"state"`
	Type      string           `json:"type"`
}

type networkAddress struct {
	Family  string `json:"family"`
	Address string `json:"address"`
	Netmask string `json:"netmask"`
	Scope   string `json:"scope"`
}

type networkCounters struct {
	BytesReceived   int64 `json:"bytes_received"`
	BytesSent       int64 `json:"bytes_sent"`
	PacketsReceived int64 `json:"packets_received"`
	PacketsSent     int64 `json:"packets_sent"`
}

// snapshotObj is GET …/snapshots/NAME's answer.
type snapshotObj struct {
	Architecture    string                       `json:"architecture"`
	Config          map[string]string            `json:"config"`
	CreatedAt       lxdTime                      `json:"created_at"`
	Devices         map[string]map[string]string `json:"devices"`
	Ephemeral       bool                         `json:"ephemeral"`
	ExpandedConfig  map[string]string            `json:"expanded_config"`
	ExpandedDevices map[string]map[string]string `json:"expanded_devices"`
	LastUsedAt      lxdTime                      `json:"last_used_at"`
	Name            string                       `json:"name"`
	Profiles        []string                     `json:"profiles"`
	Stateful        bool                         `json:"stateful"`
	Size            int64                        `json:"size"`
	ExpiresAt       lxdTime                      `json:"expires_at"`
}

// backupObj is GET …/backups/NAME's answer.
type backupObj struct {
	Name             string  `json:"name"`
	CreatedAt        lxdTime `json:"created_at"`
	ExpiresAt        lxdTime `json:"expires_at"`
	InstanceOnly     bool    `json:"instance_only"`
	ContainerOnly    bool    `json:"container_only"`
	OptimizedStorage bool    `json:"optimized_storage"`
}

// detail returns an object's detail, or an empty one.
func detail(o *world.Object) *world.Detail {
	if o.Detail != nil {
		return o.Detail
	}
	return &world.Detail{}
}

func orEmpty[M ~map[K]V, K comparable, V any](m M) M {
	if m == nil {
		return M{}
	}
	return maps.Clone(m)
}

// architecture is what the fake's instances and images run on.
func architecture(d *world.Detail) string {
	if d.Architecture != "" {
		return d.Architecture
	}
	return "x86_64"
}

// instanceOf builds an instance's answer. s.worldMu must be held.
func (s *Server) instanceOf(o *world.Object) instanceObj {
	d := detail(o)
	profiles := d.Profiles
	if profiles == nil {
		profiles = []string{"default"}
	}
	typ := o.Type
	if typ == "" {
		typ = "container"
	}
	loc := o.Location
	if loc == "" {
		loc = s.location()
	}
	devices := orEmpty(d.Devices)
	expanded := orEmpty(d.Devices)
	if _, ok := expanded["root"]; !ok {
		pool := "default"
		if p := o.Context["storage-pool"]; p != "" {
			pool = p
		}
		expanded["root"] = map[string]string{"path": "/", "pool": pool, "type": "disk"}
	}
	return instanceObj{
		Architecture: architecture(d), Config: orEmpty(d.Config), Devices: devices, Ephemeral: d.Ephemeral,
		Profiles: slices.Clone(profiles), Stateful: d.Stateful, Description: d.Description, CreatedAt: o.CreatedAt,
		ExpandedConfig: orEmpty(d.Config), ExpandedDevices: expanded, Name: o.Name, Status: o.Status,
		StatusCode: instanceStatusCode[o.Status], LastUsedAt: o.LastUsedAt, Location: loc, Type: typ, Project: o.Project,
	}
}

// stateOf builds an instance's state: a running instance has a process and
// an address in each scope, derived from its name so that they are stable.
func stateOf(o *world.Object) *instanceState {
	st := &instanceState{Status: o.Status, StatusCode: instanceStatusCode[o.Status]}
	if o.Status != "Running" && o.Status != "Frozen" {
		return st
	}
	h := fnv.New32a()
	h.Write([]byte(o.Project + "/" + o.Name))
	n := h.Sum32()
	st.Pid = int64(1000 + n%60000)
	st.Processes = int64(5 + n%20)
	st.Memory = memoryState{Usage: int64(20+n%200) << 20, UsagePeak: int64(40+n%200) << 20}
	st.Disk = map[string]diskState{"root": {Usage: int64(300+n%500) << 20}}
	st.CPU.Usage = int64(n%100_000) * 1_000_000
	a, b := byte(n>>8), byte(n)
	if b == 0 || b == 255 {
		b = 7
	}
	mac := "00:16:3e:" + hex2(byte(n>>16)) + ":" + hex2(a) + ":" + hex2(b)
	st.Network = map[string]networkState{
		"eth0": {
			Addresses: []networkAddress{
				{Family: "inet", Address: "10.158." + itoa(int(a)) + "." + itoa(int(b)), Netmask: "24", Scope: "global"},
				{Family: "inet6", Address: "fd42:4242:4242:1010:216:3eff:fe" + hex2(a) + ":" + hex2(b) + "00", Netmask: "64", Scope: "global"},
				{Family: "inet6", Address: "fe80::216:3eff:fe" + hex2(a) + ":" + hex2(b) + "00", Netmask: "64", Scope: "link"},
			},
			Hwaddr: mac, HostName: "veth" + hex2(a) + hex2(b) + "a1", Mtu: 1500, State: "up", Type: "broadcast",
		},
		"lo": {
			Addresses: []networkAddress{
				{Family: "inet", Address: "127.0.0.1", Netmask: "8", Scope: "local"},
				{Family: "inet6", Address: "::1", Netmask: "128", Scope: "local"},
			},
			Mtu: 65536, State: "up", Type: "loopback",
		},
	}
	return st
}

func hex2(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}

func itoa(n int) string { return strconv.Itoa(n) }

// snapshotsOf builds an instance's snapshots. s.worldMu must be held.
func (s *Server) snapshotsOf(o *world.Object) []snapshotObj {
	out := []snapshotObj{}
	inst := s.instanceOf(o)
	for _, sn := range s.world.Children(o, "instance-snapshot") {
		out = append(out, snapshotObj{
			Architecture: inst.Architecture, Config: inst.Config, CreatedAt: sn.CreatedAt, Devices: inst.Devices,
			ExpandedConfig: inst.ExpandedConfig, ExpandedDevices: inst.ExpandedDevices, Name: sn.Name,
			Profiles: inst.Profiles, Stateful: detail(sn).Stateful,
		})
	}
	return out
}

// backupsOf builds an instance's backups. s.worldMu must be held.
func (s *Server) backupsOf(o *world.Object) []backupObj {
	out := []backupObj{}
	for _, b := range s.world.Children(o, "instance-backup") {
		out = append(out, backupObj{Name: o.Name + "/" + b.Name, CreatedAt: b.CreatedAt, ExpiresAt: b.CreatedAt.Add(24 * time.Hour)})
	}
	return out
}

// fullOf builds an instance with its state, snapshots and backups.
// s.worldMu must be held.
func (s *Server) fullOf(o *world.Object) instanceFull {
	return instanceFull{instanceObj: s.instanceOf(o), Backups: s.backupsOf(o), State: stateOf(o), Snapshots: s.snapshotsOf(o)}
}

// instanceURL is an instance's URL as LXD lists it.
func instanceURL(project, name string) string {
	return withProject("/1.0/instances/"+url.PathEscape(name), project)
}

// scope reads ?project= and ?all-projects= as LXD does: the project (which
// must exist), or "" for every project.
func (c *call) scope() (string, error) {
	q := c.r.URL.Query()
	if all := q.Get("all-projects"); all == "true" || all == "1" {
		if q.Get("project") != "" {
			return "", errBothProjects
		}
		return "", nil
	}
	return c.project()
}

// level reads ?recursion= as LXD does: a number, anything else is 0;
// more than 2 is 2.
func (c *call) level() int {
	n, err := strconv.Atoi(c.r.URL.Query().Get("recursion"))
	if err != nil || n < 0 {
		return 0
	}
	return min(n, 2)
}
