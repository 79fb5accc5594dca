package simulator

import (
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
func (s *Server) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /eventsim/v1/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("POST /eventsim/v1/run", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		// The check a scenario gets before it plays is bounded in work and
		// time, and ends with the request.
		var scen *scenarios.Scenario
		lim := scenarios.Limits{Time: controlCheckTime}
		if len(body) > 0 {
			scen, err = scenarios.ParseContext(r.Context(), "request body", body, lim)
		} else {
			scen, err = scenarios.LoadContext(r.Context(), r.URL.Query().Get("scenario"), lim)
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
		rec, err := s.recordFromBody(r)
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
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			controlError(w, http.StatusBadRequest, fmt.Errorf("fault body: %w", err))
			return
		}
		fl := f.Fault
		for _, d := range []struct {
			name, s string
			dst     *time.Duration
		}{{"for", f.For, &fl.For}, {"delay", f.Delay, &fl.Delay}} {
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
		case api != "both" && fl.API != api:
			controlError(w, http.StatusBadRequest, fmt.Errorf("fault %s applies to %s, got api %q", fl.Kind, api, fl.API))
			return
		case fl.API != "lxd" && fl.API != "linode":
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
	return mux
}

// recordFromBody turns an emit request into a record.
func (s *Server) recordFromBody(r *http.Request) (*scenarios.Record, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
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
