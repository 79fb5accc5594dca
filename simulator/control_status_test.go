package simulator

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

// TestControlStatus: the control API's one mapping from errors to statuses,
// through wrapping, with the client reading the wrapped error's own text.
func TestControlStatus(t *testing.T) {
	inner := errors.New("fault latency: delay: must be at most 10m")
	for _, tt := range []struct {
		name string
		err  error
		want int
	}{
		{"bad request", &controlErr{errBadRequest, inner}, http.StatusBadRequest},
		{"wrapped again", fmt.Errorf("run: %w", &controlErr{errBadRequest, inner}), http.StatusBadRequest},
		{"body too large", fmt.Errorf("%w: the limit is 1 MiB", errBodyTooLarge), http.StatusRequestEntityTooLarge},
		{"unauthorized", &controlErr{errUnauthorized, inner}, http.StatusUnauthorized},
		{"forbidden", &controlErr{errForbidden, inner}, http.StatusForbidden},
		{"no route", &controlErr{errNotFound, inner}, http.StatusNotFound},
		{"media type", &controlErr{errMediaType, inner}, http.StatusUnsupportedMediaType},
		{"server closing", &controlErr{errUnavailable, inner}, http.StatusServiceUnavailable},
		{"anything else", inner, http.StatusInternalServerError},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := controlStatus(tt.err); got != tt.want {
				t.Errorf("controlStatus = %d, want %d", got, tt.want)
			}
		})
	}
	e := &controlErr{errBadRequest, inner}
	if e.Error() != inner.Error() || !errors.Is(e, inner) {
		t.Errorf("controlErr reads %q, want the wrapped error's own %q", e.Error(), inner.Error())
	}
}
