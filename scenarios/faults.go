package scenarios

import (
	"fmt"
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
	FaultHTTPError  = "http-error"      // answer Linode requests with Status (500 or 503)
	FaultRateLimit  = "rate-limit"      // answer Linode requests with 429 and Retry-After
	FaultLatency    = "latency"         // delay every Linode answer or LXD event by Delay
	FaultDropConn   = "drop-connection" // cut Linode connections without an answer
)

// FaultKinds lists every fault kind with the API it applies to.
var FaultKinds = map[string]string{
	FaultDisconnect: "lxd", FaultPause: "lxd", FaultDuplicate: "lxd", FaultDrop: "lxd",
	FaultReorder: "lxd", FaultMalformed: "lxd", FaultHTTPError: "linode",
	FaultRateLimit: "linode", FaultLatency: "both", FaultDropConn: "linode",
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
}

func (p *parser) faultStep(n *yaml.Node, path string, st *Step) error {
	f, err := p.fields(n, path, "fault", "api", "code", "abrupt", "count", "for", "delay", "status", "retry_after")
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
		if api != "both" && fl.API != api || fl.API != "lxd" && fl.API != "linode" {
			allowed := api
			if api == "both" {
				allowed = "lxd or linode"
			}
			return p.errf(v, join(path, "api"), "fault %s applies to %s, got %q", fl.Kind, allowed, fl.API)
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
	for k, dst := range map[string]*time.Duration{"for": &fl.For, "delay": &fl.Delay} {
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
)

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
		if fl.Status != 500 && fl.Status != 502 && fl.Status != 503 && fl.Status != 504 {
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
	}
	return "", nil
}
