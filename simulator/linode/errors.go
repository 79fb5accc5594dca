package linode

import (
	"errors"
	"net/http"
)

// Sentinel errors behind every error answer; status maps them to HTTP.
var (
	errBadRequest       = errors.New("bad request")
	errUnauthorized     = errors.New("unauthorized")
	errForbidden        = errors.New("forbidden")
	errNotFound         = errors.New("not found")
	errMethodNotAllowed = errors.New("method not allowed")
	errRateLimited      = errors.New("rate limited")
	errHeaderTooLarge   = errors.New("request header too large")
	errInjected         = errors.New("injected fault")
	errTooLarge         = errors.New("request body too large")
)

// apiError is an error answer: a sentinel kind plus what the client reads.
type apiError struct {
	kind       error
	reason     string
	field      string
	retryAfter int // seconds, for 429
	status     int // for injected faults, whose status the fault chooses
	allow      string
}

func (e *apiError) Error() string {
	if e.field != "" {
		return e.kind.Error() + ": [" + e.field + "] " + e.reason
	}
	return e.kind.Error() + ": " + e.reason
}

func (e *apiError) Unwrap() error { return e.kind }

// status maps an error to the HTTP status the real API would send.
func status(err error) int {
	switch {
	case errors.Is(err, errBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, errForbidden):
		return http.StatusForbidden
	case errors.Is(err, errNotFound):
		return http.StatusNotFound
	case errors.Is(err, errMethodNotAllowed):
		return http.StatusMethodNotAllowed
	case errors.Is(err, errRateLimited):
		return http.StatusTooManyRequests
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errHeaderTooLarge):
		return http.StatusRequestHeaderFieldsTooLarge
	case errors.Is(err, errInjected):
		var ae *apiError
		if errors.As(err, &ae) && ae.status != 0 {
			return ae.status
		}
	}
	return http.StatusInternalServerError
}
