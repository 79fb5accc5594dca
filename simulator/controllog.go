package simulator

import (
	"net/http"
	"time"
)

// logControl logs each control call once answered: who asked for what, and
// the answer's status. Operators read these to tell a test's resets and
// injected faults from the scenario's own.
func (s *Server) logControl(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		h.ServeHTTP(sw, r)
		s.log.Info("control call", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery,
			"remote", r.RemoteAddr, "status", sw.status, "took", time.Since(start))
	})
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
