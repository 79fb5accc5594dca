package lxd

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// Serving for an outside load tool: the test binary, run with -load-serve,
// fills a server's world with instances (a quarter of them running, as
// withInstances makes them) and serves them over plain HTTP instead of
// running tests:
//
//	go test -c -o /tmp/lxd.test ./simulator/lxd
//	/tmp/lxd.test -load-serve 127.0.0.1:8443 -load-instances 10000 -load-for 5m &
//	# wait for its "serving" line
//	wrk -t1 -c16 -d10s http://127.0.0.1:8443/1.0/instances/c4242
//	wrk -t1 -c16 -d10s 'http://127.0.0.1:8443/1.0/instances?filter=&recursion=2'
var (
	loadServe     = flag.String("load-serve", "", "serve a world of instances at `ADDR` for a load tool instead of running tests")
	loadFor       = flag.Duration("load-for", time.Minute, "how long -load-serve serves (SIGINT stops it sooner)")
	loadInstances = flag.Int("load-instances", 10_000, "with -load-serve, how many instances the world holds")
)

func TestMain(m *testing.M) {
	flag.Parse()
	if *loadServe != "" {
		if err := serveForLoad(*loadServe, *loadInstances, *loadFor); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func serveForLoad(addr string, n int, d time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := New(Options{Addr: addr})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := fillInstances(ctx, s, n); err != nil {
		return err
	}
	runtime.GC()
	fmt.Fprintf(os.Stderr, "serving %d instances at %s for %v\n", n, s.URL(), d)
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
	return nil
}
