package simulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/scenarios"
)

// controlCheckTime bounds the check of a scenario sent to the control API.
const controlCheckTime = 2 * time.Second

// The control API, under /eventsim/v1/ on both servers' listeners (no clash
// with LXD's /1.0 or Linode's /v4). See docs/control-api.md.
//
//	GET  /eventsim/v1/stats                 counts of clients, events, faults
//	POST /eventsim/v1/run?scenario=NAME     play a built-in scenario or, with a YAML body, that scenario
//	POST /eventsim/v1/emit?api=lxd|linode   deliver one event (JSON body) now
//	POST /eventsim/v1/fault                 inject a fault (JSON body, as a fault step)
//	POST /eventsim/v1/reset                 play the scenario again from the start, Linode store emptied
//
// guardControl (guard.go) says who may call it. run never opens a path on
// the server's machine, and bodies are capped (413 past the cap).
func (s *Server) controlHandler() http.Handler {
	mux := http.NewServeMux()
	handle(mux, "GET /eventsim/v1/stats", http.StatusOK, 0, func(*http.Request, []byte) (any, error) {
		return s.Stats(), nil
	})
	handle(mux, "POST /eventsim/v1/run", http.StatusAccepted, maxBody, s.controlRun)
	handle(mux, "POST /eventsim/v1/emit", http.StatusAccepted, maxBody, func(r *http.Request, body []byte) (any, error) {
		rec, err := s.recordFromBody(r, body)
		if err != nil {
			return nil, &controlErr{errBadRequest, err}
		}
		if err := s.Deliver(r.Context(), rec); err != nil {
			return nil, &controlErr{errUnavailable, err}
		}
		return map[string]any{"api": rec.API}, nil
	})
	handle(mux, "POST /eventsim/v1/fault", http.StatusAccepted, maxFaultBody, s.controlFault)
	handle(mux, "POST /eventsim/v1/reset", http.StatusOK, 0, func(*http.Request, []byte) (any, error) {
		if err := s.Reset(); err != nil {
			return nil, err
		}
		return map[string]string{"status": "reset"}, nil
	})
	mux.HandleFunc("/eventsim/v1/", func(w http.ResponseWriter, r *http.Request) {
		controlError(w, &controlErr{errNotFound, fmt.Errorf("no control route %s %s", r.Method, r.URL.Path)})
	})
	// Logged outside the guard, so refused calls are in the log too.
	return s.logControl(s.guardControl(mux))
}

// controlFunc answers a control call, given its body, with a value the
// adapter writes as JSON, or an error it turns into the error envelope.
type controlFunc func(r *http.Request, body []byte) (any, error)

// handle registers f for pattern behind the one adapter of the control
// API: it reads the body (at most limit bytes; 0 reads none), and answers
// with status ok and f's value, or with f's error as controlError does.
func handle(mux *http.ServeMux, pattern string, ok int, limit int64, f controlFunc) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		var err error
		if limit > 0 {
			body, err = readBody(w, r, limit)
		}
		var v any
		if err == nil {
			v, err = f(r, body)
		}
		if err != nil {
			controlError(w, err)
			return
		}
		writeJSON(w, ok, v)
	})
}

// controlRun plays a built-in scenario (?scenario=NAME) or the scenario
// sent as the body.
func (s *Server) controlRun(r *http.Request, body []byte) (any, error) {
	// The check a scenario gets before it plays is bounded in work and
	// time, and ends with the request.
	var scen *scenarios.Scenario
	var err error
	lim := scenarios.Limits{Time: controlCheckTime}
	if len(body) > 0 {
		scen, err = scenarios.ParseContext(r.Context(), "request body", body, lim)
	} else {
		scen, err = builtinScenario(r.URL.Query().Get("scenario"))
	}
	if err == nil {
		err = s.Run(scen)
	}
	if err != nil {
		return nil, &controlErr{errBadRequest, err}
	}
	return map[string]string{"scenario": scen.Name}, nil
}

// controlFault injects the fault the body describes, as a fault step.
func (s *Server) controlFault(r *http.Request, body []byte) (any, error) {
	var f struct {
		scenarios.Fault
		For   string `json:"for"`
		Delay string `json:"delay"`
		After string `json:"after"`
	}
	bad := func(format string, args ...any) error { return &controlErr{errBadRequest, fmt.Errorf(format, args...)} }
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, bad("fault body: %w", err)
	}
	fl := f.Fault
	for _, d := range []struct {
		name, s string
		dst     *time.Duration
	}{{"for", f.For, &fl.For}, {"delay", f.Delay, &fl.Delay}, {"after", f.After, &fl.After}} {
		if d.s != "" {
			v, err := time.ParseDuration(d.s)
			if err != nil || v < 0 {
				return nil, bad("fault %s: %s: invalid duration %q, must be like 500ms or 2s", fl.Kind, d.name, d.s)
			}
			*d.dst = v
		}
	}
	api, ok := scenarios.FaultKinds[fl.Kind]
	if !ok {
		kinds := make([]string, 0, len(scenarios.FaultKinds))
		for k := range scenarios.FaultKinds {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		return nil, bad("unknown fault %q, must be one of %s", fl.Kind, strings.Join(kinds, ", "))
	}
	switch {
	case fl.API == "" && api == "both":
		return nil, bad("fault %s needs api: lxd or linode", fl.Kind)
	case fl.API == "":
		fl.API = api
	case api != "both" && !scenarios.FaultAppliesTo(fl.Kind, fl.API) && (fl.API == "lxd" || fl.API == "linode"):
		return nil, bad("fault %s applies to %s, got api %q", fl.Kind, api, fl.API)
	case !scenarios.FaultAppliesTo(fl.Kind, fl.API):
		return nil, bad("fault %s applies to lxd or linode, got api %q", fl.Kind, fl.API)
	}
	if field, err := fl.Normalize(); err != nil {
		return nil, bad("fault %s: %s: %w", fl.Kind, field, err)
	}
	if err := s.Deliver(r.Context(), &scenarios.Record{API: fl.API, Time: s.Now(), Fault: &fl}); err != nil {
		return nil, &controlErr{errUnavailable, err}
	}
	return fl, nil
}

// Sentinel errors behind the control API's error answers; controlStatus
// maps them to statuses.
var (
	errBadRequest   = errors.New("bad request")
	errUnauthorized = errors.New("unauthorized")
	errForbidden    = errors.New("forbidden")
	errNotFound     = errors.New("not found")
	errMediaType    = errors.New("unsupported media type")
	errUnavailable  = errors.New("unavailable")
)

// controlErr is an error answer: the sentinel kind behind its status, and
// the error the client reads.
type controlErr struct{ kind, err error }

func (e *controlErr) Error() string   { return e.err.Error() }
func (e *controlErr) Unwrap() []error { return []error{e.kind, e.err} }

// controlStatus maps a control error to its status: 500 for one of no
// known kind.
func controlStatus(err error) int {
	switch {
	case errors.Is(err, errBodyTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, errForbidden):
		return http.StatusForbidden
	case errors.Is(err, errNotFound):
		return http.StatusNotFound
	case errors.Is(err, errMediaType):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, errUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

var errBodyTooLarge = errors.New("request body too large")

// Limits of request bodies: a scenario or an event, and a fault.
const (
	maxBody      = 1 << 20
	maxFaultBody = 64 << 10
)

// readBody reads a request body of at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		size := fmt.Sprintf("%d KiB", limit>>10)
		if limit >= 1<<20 {
			size = fmt.Sprintf("%d MiB", limit>>20)
		}
		return nil, fmt.Errorf("%w: the limit is %s", errBodyTooLarge, size)
	}
	if err != nil {
		// Cut short, or too slow.
		return nil, &controlErr{errBadRequest, fmt.Errorf("read request body: %w", err)}
	}
	return body, nil
}

// builtinScenario loads a built-in scenario by name. The control API never
// opens a path on the server's machine: a scenario of the client's own
// comes as the request body.
func builtinScenario(name string) (*scenarios.Scenario, error) {
	if name == "" {
		return nil, errors.New("run needs ?scenario=NAME (a built-in scenario) or a scenario's YAML as the request body")
	}
	src, err := scenarios.Source(name)
	if err != nil {
		list, _ := scenarios.List()
		names := make([]string, len(list))
		for i, b := range list {
			names[i] = b.Name
		}
		if len(name) > 64 {
			name = name[:64] + "…"
		}
		return nil, fmt.Errorf("%w: %q is not a built-in scenario (%s); to play another, send its YAML as the request body", scenarios.ErrNotFound, name, strings.Join(names, ", "))
	}
	return scenarios.Parse("builtin:"+name, src)
}

// recordFromBody turns an emit request into a record.
func (s *Server) recordFromBody(r *http.Request, body []byte) (*scenarios.Record, error) {
	now := s.Now()
	switch api := r.URL.Query().Get("api"); api {
	case "lxd":
		var ev struct {
			Type      string          `json:"type"`
			Timestamp *time.Time      `json:"timestamp"`
			Metadata  json.RawMessage `json:"metadata"`
			Location  string          `json:"location"`
			Project   string          `json:"project"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			return nil, fmt.Errorf("event body: %w", err)
		}
		if ev.Type == "" || len(ev.Metadata) == 0 || ev.Metadata[0] != '{' { // metadata is an object, never null
			return nil, errors.New("event body needs type and metadata")
		}
		if ev.Location == "" {
			ev.Location = "none"
		}
		ts := now
		if ev.Timestamp != nil {
			ts = *ev.Timestamp
		}
		out, _ := json.Marshal(events.LXDEvent{Type: ev.Type, Timestamp: ts.UTC(), Metadata: ev.Metadata, Location: ev.Location, Project: ev.Project})
		r := &scenarios.Record{API: "lxd", Time: ts, JSON: out, Type: ev.Type, Project: ev.Project, Location: ev.Location}
		if ev.Type == events.LXDTypeLifecycle {
			var lc events.LXDLifecycle
			if json.Unmarshal(ev.Metadata, &lc) == nil {
				r.Action = lc.Action
				r.OldName, _ = lc.Context["old_name"].(string)
			}
		}
		return r, nil
	case "linode":
		var ev events.LinodeEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			return nil, fmt.Errorf("event body: %w", err)
		}
		if ev.ID <= 0 || ev.Action == "" || ev.Status == "" {
			return nil, errors.New("event body needs id, action and status")
		}
		if time.Time(ev.Created).IsZero() {
			ev.Created = events.LinodeTime(now)
		}
		out, _ := json.Marshal(ev)
		return &scenarios.Record{API: "linode", Time: now, JSON: out, Linode: &ev}, nil
	default:
		return nil, fmt.Errorf("invalid api %q, must be lxd or linode", api)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// controlError writes err in the control API's error envelope with the
// status controlStatus maps it to.
func controlError(w http.ResponseWriter, err error) {
	writeJSON(w, controlStatus(err), map[string]string{"error": err.Error()})
}
