package lxd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/eventsim/eventsim/events"
	"github.com/eventsim/eventsim/scenarios"
)

// maxBody bounds a request body; LXD has no limit, but a fake must not be
// made to hold arbitrary amounts of memory.
const maxBody = 1 << 20

// call is one REST request being answered.
type call struct {
	s    *Server
	r    *http.Request
	body []byte
	rq   *events.LXDLifecycleRequestor
}

// reply is what a route answers: a sync body (code 200 or 201, with a
// Location for creations and renames) or an operation to run.
type reply struct {
	code     int
	meta     any
	raw      []byte   // meta already encoded (see okRaw); meta is then unused
	log      []byte   // raw's "WriteJSON" log message, when made already (Options.Logging)
	elems    [][]byte // with array, meta is a JSON array of these, arrayLen bytes long
	array    bool
	arrayLen int
	location string
	op       *operation
	run      func() error // the operation's work, run after the 202 is written; nil for a token
	// after runs once the operation has succeeded: the lifecycle events a
	// daemon sends after the Success (catalog.LXDAction.LifecycleAfter).
	after func()
	// took is how long the operation runs on the server's clock; 0 means
	// the usual time of its description (scenarios.LXDOperationTook).
	took time.Duration
	// progress, when set, is the progress the operation reports: metadata
	// updates at even points of its run, before or after its work.
	progress *scenarios.LXDProgress
	// body, when set, is written as the answer instead of the sync
	// envelope of meta (Incus's /wait of a failed operation).
	body any
}

func ok(meta any) *reply { return &reply{code: http.StatusOK, meta: meta} }

// okRaw is ok for metadata already encoded as JSON (kept with the world's
// objects, see encoded.go), written as it is.
func okRaw(b []byte) *reply { return &reply{code: http.StatusOK, raw: b} }

// emptyOK is LXD's EmptySyncResponse: 200 with metadata {}.
func emptyOK() *reply { return &reply{code: http.StatusOK, meta: map[string]any{}} }

// created is LXD's SyncResponseLocation: 201, metadata null, a Location.
func created(loc string) *reply { return &reply{code: http.StatusCreated, location: loc} }

// route is a REST handler.
type route func(c *call) (*reply, error)

// api adapts a route: it checks trust, logs the request as LXD does
// ("Handling API request", then "API Request" for a JSON body), runs the
// route and writes its answer in LXD's envelope, logging it ("WriteJSON" or
// "Error Response"). Nothing a client sends makes it panic.
func (s *Server) api(h route) http.Handler { return s.handle(h, false) }

// openAPI is api for the routes untrusted clients may use too (GET / and
// GET /1.0); as in LXD, only trusted requests are logged.
func (s *Server) openAPI(h route) http.Handler { return s.handle(h, true) }

func (s *Server) handle(h route, open bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trusted := s.isTrusted(r)
		if !trusted && !open {
			writeError(w, errNotAuthorized)
			return
		}
		if r.Method != http.MethodGet {
			s.waitForListeners(r.Context())
		}
		c := &call{s: s, r: r, rq: requestorOf(r)}
		reqCtx := s.logHandling(c.rq, r.Method, r.RequestURI, trusted)
		if err := s.requestFailure(r); err != nil {
			s.answerError(w, err)
			return
		}
		if r.Method != http.MethodGet && s.ops.full() {
			s.answerError(w, errTooManyOps)
			return
		}
		if r.Method != http.MethodGet && r.Body != nil {
			b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
			switch {
			case err != nil:
				s.answerError(w, badRequest("read request body: %v", err))
				return
			case len(b) > maxBody:
				s.answerError(w, badRequest("request body is larger than %d bytes", maxBody))
				return
			}
			c.body = b
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
				if msg, ok := scenarios.LXDIndentLog("API Request", b); ok {
					s.logEvent("debug", msg, reqCtx)
				}
			}
		}
		if r.Method != http.MethodGet { // a GET makes no events but logs, and may wait long
			defer s.makeGroup()() // the request's events go together
		}
		rep, err := h(c)
		if err != nil {
			s.answerError(w, err)
			return
		}
		if rep.op != nil {
			s.answerAsync(w, rep)
			return
		}
		if rep.location != "" {
			w.Header().Set("Location", rep.location)
		}
		if rep.raw != nil {
			s.answerRaw(w, rep.code, rep.raw, rep.log)
			return
		}
		if rep.array {
			s.answerArray(w, rep.code, rep.arrayLen, rep.elems)
			return
		}
		var env any = syncResponse{Type: "sync", Status: "Success", StatusCode: 200, Metadata: rep.meta}
		if rep.body != nil {
			env = rep.body
		}
		s.answer(w, rep.code, env)
	})
}

// logHandling emits the "Handling API request" log of a trusted request
// when Options.Logging is set, and returns the context of the request's
// later logs (nil without Logging).
func (s *Server) logHandling(rq *events.LXDLifecycleRequestor, method, uri string, trusted bool) map[string]string {
	if !s.logging() {
		return nil
	}
	reqCtx := map[string]string{"ip": rq.Address, "method": method, "protocol": rq.Protocol, "url": uri, "username": rq.Username}
	if trusted {
		s.logEvent("debug", "Handling API request", reqCtx)
	}
	return reqCtx
}

// answer writes a body and logs it as LXD's debug mode does.
func (s *Server) answer(w http.ResponseWriter, code int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		s.answerError(w, fmt.Errorf("encode response: %w", err))
		return
	}
	s.logWriteJSON(code, b)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// logWriteJSON emits the "WriteJSON" log of an answer's body when
// Options.Logging is set.
func (s *Server) logWriteJSON(code int, b []byte) {
	if !s.logging() {
		return
	}
	if msg, ok := scenarios.LXDIndentLog("WriteJSON", b); ok {
		s.logEvent("debug", msg, map[string]string{"http_code": strconv.Itoa(code)})
	}
}

// answerError writes LXD's error envelope and logs it ("Error Response").
func (s *Server) answerError(w http.ResponseWriter, err error) {
	s.logErrorResponse(err)
	writeError(w, err)
}

// logErrorResponse emits the "Error Response" log of an error answer when
// Options.Logging is set.
func (s *Server) logErrorResponse(err error) {
	code := status(err)
	s.logEvent("debug", scenarios.LXDErrorResponseLog(code, err.Error()), map[string]string{"http_code": strconv.Itoa(code)})
}

// asyncResponse is LXD's envelope for a request answered by an operation.
type asyncResponse = events.LXDResponse[events.LXDOperation]

// answerAsync answers 202 with the running operation, then runs it: at
// once at speed 0, on the clock otherwise (runOperation).
func (s *Server) answerAsync(w http.ResponseWriter, rep *reply) {
	op := rep.op
	u := "/1.0/operations/" + op.id()
	w.Header().Set("Location", u)
	s.answer(w, http.StatusAccepted, asyncResponse{Type: "async", Status: "Operation created", StatusCode: 100, Operation: u, Metadata: op.snapshot()})
	s.runOperation(rep)
}

// badRequest is a 400 with LXD's wording style.
func badRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func notFound(what string) error { return &apiError{http.StatusNotFound, what + " not found"} }
func conflict(format string, args ...any) error {
	return &apiError{http.StatusConflict, fmt.Sprintf(format, args...)}
}
func forbidden(format string, args ...any) error {
	return &apiError{http.StatusForbidden, fmt.Sprintf(format, args...)}
}

// decode reads the request's JSON body into v. An empty body, broken JSON
// or a field of the wrong type is a 400 saying what is wrong.
func (c *call) decode(v any) error {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return badRequest("request body is empty; a JSON object is required")
	}
	dec := json.NewDecoder(bytes.NewReader(c.body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return badRequest("invalid request body: field %q must be %s, not %s", te.Field, te.Type, te.Value)
		}
		return badRequest("invalid request body: %v", err)
	}
	if dec.More() {
		return badRequest("invalid request body: more than one JSON value")
	}
	return nil
}

// newName reads a rename body, {"name": NEW}, and checks the name as a
// name of kind.
func (c *call) newName(kind string) (string, error) {
	var req struct {
		Name string `json:"name"`
	}
	if err := c.decode(&req); err != nil {
		return "", err
	}
	if err := validName(kind, req.Name); err != nil {
		return "", err
	}
	return req.Name, nil
}

// project is the request's ?project=, "default" when absent; it must exist.
func (c *call) project() (string, error) {
	p := c.projectName()
	if !c.s.hasProject(p) {
		return "", errNoProject
	}
	return p, nil
}

// projectName is the request's ?project=, "default" when absent, whether
// it exists or not.
func (c *call) projectName() string {
	if p := c.r.URL.Query().Get("project"); p != "" {
		return p
	}
	return "default"
}

// recursion reports whether the request asks for objects rather than URLs.
func (c *call) recursion() bool {
	v := c.r.URL.Query().Get("recursion")
	return v != "" && v != "0"
}

// withProject appends ?project=P to a URL for projects other than default,
// as LXD's URL builder does.
func withProject(u, project string) string {
	if project == "" || project == "default" {
		return u
	}
	return u + "?project=" + url.QueryEscape(project)
}

// validName checks an object name as LXD does for profiles, projects and
// volumes: not empty, no slash, no whitespace or control characters, not
// "." or "..".
func validName(kind, name string) error {
	if name == "" {
		return badRequest("No name provided")
	}
	if name == "." || name == ".." {
		return badRequest("Invalid %s name %q", kind, name)
	}
	for _, r := range name {
		if r == '/' || r == '\\' || r <= ' ' || r == 0x7f {
			return badRequest("Invalid %s name %q: it may not contain slashes, spaces or control characters", kind, name)
		}
	}
	return nil
}

// waitTimeout reads /wait's ?timeout= in seconds; -1 (or absent) is
// forever, as in LXD.
func waitTimeout(r *http.Request) (time.Duration, error) {
	v := r.URL.Query().Get("timeout")
	if v == "" {
		return -1, nil
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, badRequest("invalid timeout %q, must be a number of seconds", v)
	}
	if n < 0 {
		return -1, nil
	}
	return time.Duration(n * float64(time.Second)), nil
}
