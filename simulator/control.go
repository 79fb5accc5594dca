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
	mux.HandleFunc("GET /eventsim/v1/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("POST /eventsim/v1/run", func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(w, r, maxBody)
		if err != nil {
			controlError(w, bodyStatus(err), err)
			return
		}
		// The check a scenario gets before it plays is bounded in work and
		// time, and ends with the request.
		var scen *scenarios.Scenario
		lim := scenarios.Limits{Time: controlCheckTime}
		if len(body) > 0 {
			scen, err = scenarios.ParseContext(r.Context(), "request body", body, lim)
		} else {
			scen, err = builtinScenario(r.URL.Query().Get("scenario"))
		}
		if err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.Run(scen); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"scenario": scen.Name})
	})
	mux.HandleFunc("POST /eventsim/v1/emit", func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(w, r, maxBody)
		if err != nil {
			controlError(w, bodyStatus(err), err)
			return
		}
		rec, err := s.recordFromBody(r, body)
		if err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.Deliver(r.Context(), rec); err != nil {
			controlError(w, http.StatusServiceUnavailable, err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"api": rec.API})
	})
	mux.HandleFunc("POST /eventsim/v1/fault", func(w http.ResponseWriter, r *http.Request) {
		var f struct {
			scenarios.Fault
			For   string `json:"for"`
			Delay string `json:"delay"`
			After string `json:"after"`
		}
		body, err := readBody(w, r, maxFaultBody)
		if err != nil {
			controlError(w, bodyStatus(err), err)
			return
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			controlError(w, http.StatusBadRequest, fmt.Errorf("fault body: %w", err))
			return
		}
		fl := f.Fault
		for _, d := range []struct {
			name, s string
			dst     *time.Duration
		}{{"for", f.For, &fl.For}, {"delay", f.Delay, &fl.Delay}, {"after", f.After, &fl.After}} {
			if d.s != "" {
				v, err := time.ParseDuration(d.s)
				if err != nil || v < 0 {
					controlError(w, http.StatusBadRequest, fmt.Errorf("fault %s: %s: invalid duration %q, must be like 500ms or 2s", fl.Kind, d.name, d.s))
					return
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
			controlError(w, http.StatusBadRequest, fmt.Errorf("unknown fault %q, must be one of %s", fl.Kind, strings.Join(kinds, ", ")))
			return
		}
		switch {
		case fl.API == "" && api == "both":
			controlError(w, http.StatusBadRequest, fmt.Errorf("fault %s needs api: lxd or linode", fl.Kind))
			return
		case fl.API == "":
			fl.API = api
		case api != "both" && !scenarios.FaultAppliesTo(fl.Kind, fl.API) && (fl.API == "lxd" || fl.API == "linode"):
			controlError(w, http.StatusBadRequest, fmt.Errorf("fault %s applies to %s, got api %q", fl.Kind, api, fl.API))
			return
		case !scenarios.FaultAppliesTo(fl.Kind, fl.API):
			controlError(w, http.StatusBadRequest, fmt.Errorf("fault %s applies to lxd or linode, got api %q", fl.Kind, fl.API))
			return
		}
		if field, err := fl.Normalize(); err != nil {
			controlError(w, http.StatusBadRequest, fmt.Errorf("fault %s: %s: %w", fl.Kind, field, err))
			return
		}
		if err := s.Deliver(r.Context(), &scenarios.Record{API: fl.API, Time: s.Now(), Fault: &fl}); err != nil {
			controlError(w, http.StatusServiceUnavailable, err)
			return
		}
		writeJSON(w, http.StatusAccepted, fl)
	})
	mux.HandleFunc("POST /eventsim/v1/reset", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Reset(); err != nil {
			controlError(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "reset"})
	})
	mux.HandleFunc("/eventsim/v1/", func(w http.ResponseWriter, r *http.Request) {
		controlError(w, http.StatusNotFound, fmt.Errorf("no control route %s %s", r.Method, r.URL.Path))
	})
	// Logged outside the guard, so refused calls are in the log too.
	return s.logControl(s.guardControl(mux))
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
		return nil, fmt.Errorf("read request body: %w", err)
	}
	return body, nil
}

// bodyStatus is the status of a readBody error: 413 for a body over its
// limit, 400 for one that could not be read (cut short, or too slow).
func bodyStatus(err error) int {
	if errors.Is(err, errBodyTooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
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
		return &scenarios.Record{API: "lxd", Time: ts, JSON: out, Type: ev.Type, Project: ev.Project, Location: ev.Location}, nil
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

func controlError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
