package scenarios

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Fault kinds: what a fault step makes the servers do.
const (
	FaultDisconnect = "disconnect"      // close every LXD event stream (code 1001, or abruptly)
	FaultPause      = "pause"           // hold back LXD events for a while
	FaultDuplicate  = "duplicate"       // send the next Count LXD events twice
	FaultDrop       = "drop"            // never send the next Count LXD events
	FaultReorder    = "reorder"         // send the next Count LXD events in reverse order
	FaultMalformed  = "malformed"       // send one frame that is not JSON
	FaultHTTPError  = "http-error"      // answer requests (Linode's, or LXD's with api: lxd) with Status
	FaultRateLimit  = "rate-limit"      // answer Linode requests with 429 and Retry-After
	FaultLatency    = "latency"         // delay every Linode answer or LXD event by Delay
	FaultDropConn   = "drop-connection" // cut Linode connections without an answer
	// FaultOperationError fails the next Count LXD operations of a
	// Description with Error, After their start.
	FaultOperationError = "operation-error"
	// FaultStartFailure fails the next Count starts of an LXD Instance with
	// the daemon's error for a container that does not start.
	FaultStartFailure = "start-failure"
)

// FaultKinds lists every fault kind with the API it applies to.
var FaultKinds = map[string]string{
	FaultDisconnect: "lxd", FaultPause: "lxd", FaultDuplicate: "lxd", FaultDrop: "lxd",
	FaultReorder: "lxd", FaultMalformed: "lxd", FaultHTTPError: "linode",
	FaultRateLimit: "linode", FaultLatency: "both", FaultDropConn: "linode",
	FaultOperationError: "lxd", FaultStartFailure: "lxd",
}

// faultAlso names the kinds that apply to a second API when a step says
// so (api:), besides the one FaultKinds gives as their default.
var faultAlso = map[string]string{FaultHTTPError: "lxd"}

// FaultAppliesTo reports whether a fault kind may be given to api: its
// API in FaultKinds, either API for "both", or its second API.
func FaultAppliesTo(kind, api string) bool {
	def, ok := FaultKinds[kind]
	switch {
	case !ok || api != "lxd" && api != "linode":
		return false
	case def == "both" || def == api:
		return true
	}
	return faultAlso[kind] == api
}

// faultAPIs says which APIs a kind applies to, for messages.
func faultAPIs(kind string) string {
	switch def := FaultKinds[kind]; {
	case def == "both":
		return "lxd or linode"
	case faultAlso[kind] != "":
		return def + " or " + faultAlso[kind]
	default:
		return def
	}
}

// Fault is a fault step carried on the timeline for the servers to act on.
type Fault struct {
	Kind string `json:"kind"`
	// API is "lxd" or "linode": which server acts.
	API string `json:"api"`
	// Code is the WebSocket close code of a disconnect (default 1001).
	Code int `json:"code,omitempty"`
	// Abrupt closes the TCP connection with no close frame.
	Abrupt bool `json:"abrupt,omitempty"`
	// Count is how many events or requests the fault touches.
	Count int `json:"count,omitempty"`
	// For is how long the fault lasts (pause, http-error, rate-limit, latency).
	For time.Duration `json:"for,omitempty"`
	// Delay is the added latency.
	Delay time.Duration `json:"delay,omitempty"`
	// Status is the HTTP status of an http-error (500 or 503).
	Status int `json:"status,omitempty"`
	// RetryAfter is the Retry-After of a rate-limit, in seconds.
	RetryAfter int `json:"retry_after,omitempty"`
	// Method and Path choose the requests an http-error answers: "" is
	// any method; Path is a pattern as path.Match reads it ("*" stands for
	// one path segment), "" for any path.
	Method string `json:"method,omitempty"`
	Path   string `json:"path,omitempty"`
	// Error is the message an http-error answers, an operation-error's
	// operations fail with, or a start-failure's start fails with ("" for
	// the daemon's own message).
	Error string `json:"error,omitempty"`
	// Description names the operations an operation-error fails, as LXD
	// describes them ("Creating instance", "Starting instance").
	Description string `json:"description,omitempty"`
	// Instance narrows an operation-error to the operations whose resources
	// name that instance, and names the instance of a start-failure;
	// Project is its project ("" means default).
	Instance string `json:"instance,omitempty"`
	Project  string `json:"project,omitempty"`
	// After is how long a failing operation runs before it fails; 0 means
	// the operation's usual time.
	After time.Duration `json:"after,omitempty"`
}

func (p *parser) faultStep(n *yaml.Node, path string, st *Step) error {
	f, err := p.fields(n, path, "fault", "api", "code", "abrupt", "count", "for", "delay", "status", "retry_after",
		"method", "path", "error", "description", "instance", "project", "after")
	if err != nil {
		return err
	}
	fl := &Fault{}
	fp := join(path, "fault")
	if fl.Kind, err = p.str(f["fault"], fp); err != nil {
		return err
	}
	api, ok := FaultKinds[fl.Kind]
	if !ok {
		kinds := sortedKeys(FaultKinds)
		return p.errf(f["fault"], fp, "unknown fault %q, must be one of %s%s", fl.Kind, strings.Join(kinds, ", "), suggest(fl.Kind, kinds))
	}
	fl.API = api
	if v := f["api"]; v != nil {
		if fl.API, err = p.str(v, join(path, "api")); err != nil {
			return err
		}
		if !FaultAppliesTo(fl.Kind, fl.API) {
			return p.errf(v, join(path, "api"), "fault %s applies to %s, got %q", fl.Kind, faultAPIs(fl.Kind), fl.API)
		}
	} else if api == "both" {
		return p.errf(n, join(path, "api"), "missing: fault %s needs api: lxd or linode", fl.Kind)
	}
	ints := map[string]*int{"code": &fl.Code, "count": &fl.Count, "status": &fl.Status, "retry_after": &fl.RetryAfter}
	for k, dst := range ints {
		if v := f[k]; v != nil {
			x, err := p.int(v, join(path, k), 0)
			if err != nil {
				return err
			}
			*dst = int(x)
		}
	}
	if v := f["abrupt"]; v != nil {
		if fl.Abrupt, err = p.bool(v, join(path, "abrupt")); err != nil {
			return err
		}
	}
	strs := map[string]*string{"method": &fl.Method, "path": &fl.Path, "error": &fl.Error, "description": &fl.Description, "instance": &fl.Instance, "project": &fl.Project}
	for k, dst := range strs {
		if v := f[k]; v != nil {
			if *dst, err = p.str(v, join(path, k)); err != nil {
				return err
			}
		}
	}
	for k, dst := range map[string]*time.Duration{"for": &fl.For, "delay": &fl.Delay, "after": &fl.After} {
		if v := f[k]; v != nil {
			if *dst, err = p.duration(v, join(path, k)); err != nil {
				return err
			}
		}
	}
	if field, err := fl.Normalize(); err != nil {
		at := n
		if v := f[field]; v != nil {
			at = v
		}
		return p.errf(at, join(path, field), "%v", err)
	}
	st.Fault = fl
	return nil
}

// String describes the fault for logs.
func (f *Fault) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", f.API, f.Kind)
	if f.Count > 0 {
		fmt.Fprintf(&b, " count=%d", f.Count)
	}
	if f.For > 0 {
		fmt.Fprintf(&b, " for=%s", f.For)
	}
	for _, kv := range [][2]string{{"method", f.Method}, {"path", f.Path}, {"description", f.Description}, {"instance", f.Instance}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, " %s=%q", kv[0], kv[1])
		}
	}
	return b.String()
}

// Bounds of a fault's parameters: past them a fault would hold a stream or
// its memory for good.
const (
	maxFaultCount = 1_000_000
	maxReorder    = 10_000
	maxFaultFor   = 24 * time.Hour
	maxFaultDelay = 10 * time.Minute
	maxRetryAfter = 3600
	maxFaultAfter = time.Hour
	maxFaultText  = 1024 // bytes of a fault's error, description, path and names
)

// httpMethods are the methods an http-error may name.
var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// Normalize fills in a fault's defaults and checks its parameters. On a
// problem it names the field at fault. The parser and the control API both
// use it, so a fault means the same wherever it comes from.
func (fl *Fault) Normalize() (field string, err error) {
	switch {
	case fl.Count < 0 || fl.Count > maxFaultCount:
		return "count", fmt.Errorf("must be from 0 to %d, got %d", maxFaultCount, fl.Count)
	case fl.Kind == FaultReorder && fl.Count > maxReorder:
		return "count", fmt.Errorf("a reorder holds its events in memory: at most %d, got %d", maxReorder, fl.Count)
	case fl.For < 0 || fl.For > maxFaultFor:
		return "for", fmt.Errorf("must be from 0 to %s, got %s", maxFaultFor, fl.For)
	case fl.Delay < 0 || fl.Delay > maxFaultDelay:
		return "delay", fmt.Errorf("must be from 0 to %s, got %s", maxFaultDelay, fl.Delay)
	case fl.RetryAfter < 0 || fl.RetryAfter > maxRetryAfter:
		return "retry_after", fmt.Errorf("must be from 0 to %d seconds, got %d", maxRetryAfter, fl.RetryAfter)
	case fl.After < 0 || fl.After > maxFaultAfter:
		return "after", fmt.Errorf("must be from 0 to %s, got %s", maxFaultAfter, fl.After)
	}
	for _, t := range []struct{ field, v string }{{"error", fl.Error}, {"description", fl.Description}, {"path", fl.Path}, {"instance", fl.Instance}, {"project", fl.Project}} {
		if len(t.v) > maxFaultText {
			return t.field, fmt.Errorf("at most %d bytes, got %d", maxFaultText, len(t.v))
		}
	}
	if fl.Method != "" && !slices.Contains(httpMethods, fl.Method) {
		return "method", fmt.Errorf("must be one of %s, got %q", strings.Join(httpMethods, ", "), fl.Method)
	}
	if fl.Path != "" {
		if _, err := path.Match(fl.Path, ""); err != nil || fl.Path[0] != '/' {
			return "path", fmt.Errorf("must be a path pattern starting with / (\"*\" for one segment, as in /1.0/instances/*/state), got %q", fl.Path)
		}
	}
	switch fl.Kind {
	case FaultDisconnect:
		if fl.Code == 0 {
			fl.Code = 1001
		}
		if fl.Code < 1000 || fl.Code > 4999 {
			return "code", fmt.Errorf("must be a WebSocket close code from 1000 to 4999, got %d", fl.Code)
		}
	case FaultDuplicate, FaultDrop, FaultReorder:
		if fl.Count == 0 {
			fl.Count = 1
		}
		if fl.Kind == FaultReorder && fl.Count < 2 {
			fl.Count = 2
		}
	case FaultPause:
		if fl.For == 0 {
			return "for", fmt.Errorf("missing: a pause needs for: DURATION")
		}
	case FaultHTTPError:
		if fl.Status == 0 {
			fl.Status = 500
		}
		if fl.API == "lxd" {
			if fl.Status < 400 || fl.Status > 599 {
				return "status", fmt.Errorf("must be an error status from 400 to 599, got %d", fl.Status)
			}
		} else if fl.Status != 500 && fl.Status != 502 && fl.Status != 503 && fl.Status != 504 {
			return "status", fmt.Errorf("must be 500, 502, 503 or 504, got %d", fl.Status)
		}
		if fl.Count == 0 && fl.For == 0 {
			fl.Count = 1
		}
	case FaultRateLimit:
		if fl.RetryAfter == 0 {
			fl.RetryAfter = 1
		}
		if fl.Count == 0 && fl.For == 0 {
			fl.Count = 1
		}
	case FaultLatency:
		if fl.Delay == 0 {
			return "delay", fmt.Errorf("missing: latency needs delay: DURATION")
		}
		if fl.Count == 0 && fl.For == 0 {
			return "for", fmt.Errorf("missing: latency needs for: DURATION or count: N")
		}
	case FaultDropConn:
		if fl.Count == 0 {
			fl.Count = 1
		}
	case FaultOperationError:
		if fl.Description == "" {
			return "description", fmt.Errorf(`missing: an operation-error needs description: the operations to fail, as LXD describes them (such as "Creating instance")`)
		}
		if fl.Error == "" {
			return "error", fmt.Errorf("missing: an operation-error needs error: the message its operations fail with")
		}
		if fl.Count == 0 {
			fl.Count = 1
		}
	case FaultStartFailure:
		if fl.Instance == "" {
			return "instance", fmt.Errorf("missing: a start-failure needs instance: the instance that fails to start")
		}
		if fl.Description != "" && fl.Description != startDescription {
			return "description", fmt.Errorf("a start-failure fails %q operations, got %q", startDescription, fl.Description)
		}
		fl.Description = startDescription
		if fl.Count == 0 {
			fl.Count = 1
		}
	}
	return "", nil
}

// startDescription is the description of LXD's instance start operation.
const startDescription = "Starting instance"

// MatchesRequest reports whether an http-error answers a request with this
// method and URL path: Method "" is any method, Path "" any path, else a
// path.Match pattern.
func (fl *Fault) MatchesRequest(method, urlPath string) bool {
	if fl.Method != "" && fl.Method != method {
		return false
	}
	if fl.Path == "" {
		return true
	}
	ok, _ := path.Match(fl.Path, urlPath)
	return ok
}

// FaultUse is how long a fault put in force on a server stays: for Count
// requests (or operations), for For, or both, whichever ends first; a fault
// with neither is used once. The servers that keep faults in force share
// these rules.
type FaultUse struct {
	left  int       // uses still to come; -1 when only until bounds it
	until time.Time // when it ends; zero when only left bounds it
}

// StartFault is the use of f put in force at now (on whichever clock the
// server counts faults).
func StartFault(f *Fault, now time.Time) FaultUse {
	u := FaultUse{left: f.Count}
	if f.For > 0 {
		u.until = now.Add(f.For)
		if f.Count == 0 {
			u.left = -1
		}
	} else if u.left <= 0 {
		u.left = 1
	}
	return u
}

// Over reports whether the fault is used up or past its time at now.
func (u *FaultUse) Over(now time.Time) bool {
	return u.left == 0 || !u.until.IsZero() && !now.Before(u.until)
}

// Use counts one use, and reports whether that was the last.
func (u *FaultUse) Use() (spent bool) {
	if u.left > 0 {
		u.left--
	}
	return u.left == 0
}
