package lxd

import (
	"log/slog"
	"net/http"
)

// logRequests logs each request at debug level as it arrives, before h
// answers it (an events request then lives as long as its client).
func (s *Server) logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.log.Enabled(r.Context(), slog.LevelDebug) {
			s.log.Debug("lxd request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery, "remote", r.RemoteAddr)
		}
		h.ServeHTTP(w, r)
	})
}
