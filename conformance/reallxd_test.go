package conformance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/internal/realdaemon"
)

// TestRealLXD runs RunLXD with Exercise against a real LXD daemon started in
// a temporary LXD_DIR. It needs the Debian package lxd (5.0.2) and root; set
// EVENTSIM_SKIP_REAL_LXD=1 (or run with -short) to leave it out.
func TestRealLXD(t *testing.T) { realDaemonPasses(t, realdaemon.LXD, "") }

// TestRealIncus is TestRealLXD against a real Incus 6.0 daemon (Debian
// bookworm-backports incus) in a temporary INCUS_DIR, checked as --flavor
// incus.
func TestRealIncus(t *testing.T) { realDaemonPasses(t, realdaemon.Incus, catalog.Incus) }

func realDaemonPasses(t *testing.T, kind realdaemon.Kind, flavor catalog.Flavor) {
	d := realdaemon.Start(t, kind)
	// A dir storage pool, so the volume and instance exercises run too.
	d.AddDirPool(t, "eventsim")

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	rep, err := RunLXD(ctx, LXDOptions{Target: d.Target(), Exercise: true, MinEvents: 10, Flavor: flavor})
	if err != nil {
		t.Fatal(err)
	}
	logReport(t, rep)
	for _, r := range rep.Results {
		if r.Status == Fail {
			t.Errorf("%s failed against real %s: %+v", r.ID, kind, r.Findings)
		}
	}
	for _, id := range []string{IDExerciseProfile, IDExerciseProject, IDExerciseVolume, IDExerciseInstance, IDFilterType, IDFilterProject, IDFilterGlobal} {
		if r := rep.Result(id); r == nil || r.Status != Pass {
			t.Errorf("%s: %+v, want pass", id, r)
		}
	}
}

func logReport(t *testing.T, rep *Report) {
	t.Helper()
	var b strings.Builder
	if err := WriteReport(&b, "text", rep); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
}
