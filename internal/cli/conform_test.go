package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eventsim/eventsim/catalog"
	"github.com/eventsim/eventsim/conformance"
	"github.com/eventsim/eventsim/simulator"
)

// runMain runs eventsim with args and returns the exit code, stdout and stderr.
func runMain(t *testing.T, args ...string) (ExitCode, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// shortTempDir is a directory for unix sockets, whose paths must stay under
// 108 bytes (t.TempDir's names grow with the test's name).
func shortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "esconf")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestConformParsing(t *testing.T) {
	t.Setenv(TokenEnv, "")
	tests := []struct {
		name  string
		args  []string
		env   string
		check func(*testing.T, *ConformOptions)
	}{
		{"lxd, every flag", []string{"lxd", "--target", "https://10.0.0.5:8443", "--cert", "c.pem", "--key", "k.pem", "--insecure",
			"--project", "p1", "--duration", "30s", "--min-events", "7", "--exercise", "--report", "junit", "--output", "r.xml",
			"--strict", "--flavor", "incus", "--clock-tolerance", "3s"},
			"", func(t *testing.T, o *ConformOptions) {
				want := conformance.LXDOptions{Target: "https://10.0.0.5:8443", Cert: "c.pem", Key: "k.pem", Insecure: true,
					Project: "p1", Duration: 30 * time.Second, MinEvents: 7, Exercise: true, Strict: true,
					Flavor: catalog.Flavor("incus"), ClockTolerance: 3 * time.Second}
				if o.Suite != "lxd" || !reflect.DeepEqual(o.LXD, want) || o.Report != "junit" || o.Output != "r.xml" {
					t.Errorf("got %+v, want LXD %+v, report junit, output r.xml", o, want)
				}
			}},
		{"lxd defaults", []string{"lxd", "--target", "unix:///var/lib/lxd/unix.socket"}, "", func(t *testing.T, o *ConformOptions) {
			want := conformance.LXDOptions{Target: "unix:///var/lib/lxd/unix.socket", Project: "default",
				Flavor: catalog.DefaultFlavor, ClockTolerance: 10 * time.Second}
			if !reflect.DeepEqual(o.LXD, want) || o.Report != "text" || o.Output != "" {
				t.Errorf("got %+v, want %+v, text on standard output", o, want)
			}
		}},
		{"linode, every flag", []string{"linode", "--target", "https://api.linode.com/v4", "--token", "T", "--mutate",
			"--insecure", "--strict", "--retries", "2", "--report", "json", "-o", "r.json"}, "", func(t *testing.T, o *ConformOptions) {
			l := o.Linode
			if o.Suite != "linode" || l.Target != "https://api.linode.com/v4" || l.Token != "T" || !l.Mutate || !l.Insecure ||
				!l.Strict || l.Retries != 2 || o.Report != "json" || o.Output != "r.json" {
				t.Errorf("got %+v", o)
			}
		}},
		{"linode token from the environment, retries off", []string{"linode", "--target", "http://127.0.0.1:8080/v4", "--retries", "0"}, "envtoken",
			func(t *testing.T, o *ConformOptions) {
				if o.Linode.Token != "envtoken" || o.Linode.Retries >= 0 {
					t.Errorf("token %q retries %d, want the environment's token and no retries", o.Linode.Token, o.Linode.Retries)
				}
			}},
		{"--token wins over the environment", []string{"linode", "--target", "http://h/v4", "--token", "flag"}, "envtoken",
			func(t *testing.T, o *ConformOptions) {
				if o.Linode.Token != "flag" || o.Linode.Retries != 10 {
					t.Errorf("token %q retries %d, want flag and 10", o.Linode.Token, o.Linode.Retries)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(TokenEnv, tc.env)
			var got *ConformOptions
			cmd := NewCmdConform(&IO{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}, func(_ context.Context, o *ConformOptions) error {
				got = o
				return nil
			})
			cmd.SetArgs(tc.args)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			if err := cmd.ExecuteContext(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatal("the run function was not called")
			}
			tc.check(t, got)
		})
	}
}

func TestConformUsageErrors(t *testing.T) {
	t.Setenv(TokenEnv, "")
	sock := filepath.Join(shortTempDir(t), "none.socket")
	tests := []struct {
		name string
		args []string
		want string // in the one-line message
	}{
		{"no suite", []string{"conform"}, "conform needs a suite"},
		{"unknown suite", []string{"conform", "openstack"}, `unknown suite "openstack", must be lxd or linode`},
		{"unknown flag", []string{"conform", "lxd", "--target", "unix:///x", "--colour"}, "unknown flag: --colour"},
		{"missing target", []string{"conform", "lxd"}, "missing --target, must be unix:///path/unix.socket, https://HOST:PORT or http://HOST:PORT"},
		{"bad scheme", []string{"conform", "lxd", "--target", "ftp://h"}, `scheme "ftp", must be unix:///path/unix.socket`},
		{"unix without a path", []string{"conform", "lxd", "--target", "unix://"}, "no socket path"},
		{"https without a host", []string{"conform", "lxd", "--target", "https://"}, "no host"},
		{"cert without key", []string{"conform", "lxd", "--target", "https://h:8443", "--cert", "c.pem"}, "--cert and --key go together"},
		{"cert over http", []string{"conform", "lxd", "--target", "http://h:8443", "--cert", "c", "--key", "k"}, "need an https:// target"},
		{"missing cert file", []string{"conform", "lxd", "--target", "https://127.0.0.1:1", "--cert", "/nonexistent/c", "--key", "/nonexistent/k"}, "invalid cert"},
		{"bad report", []string{"conform", "lxd", "--target", "unix:///x", "--report", "xml"}, `invalid --report "xml", must be one of text, json, junit`},
		{"bad flavor", []string{"conform", "lxd", "--target", "unix:///x", "--flavor", "lxd-4"}, `invalid flavor "lxd-4"`},
		{"negative duration", []string{"conform", "lxd", "--target", "unix:///x", "--duration", "-1s"}, "invalid --duration -1s"},
		{"negative min-events", []string{"conform", "lxd", "--target", "unix:///x", "--min-events", "-1"}, "invalid --min-events -1"},
		{"zero clock tolerance", []string{"conform", "lxd", "--target", "unix:///x", "--clock-tolerance", "0s"}, "invalid --clock-tolerance"},
		{"positional argument", []string{"conform", "lxd", "--target", "unix:///x", "extra"}, "takes no arguments"},
		{"unreachable socket", []string{"conform", "lxd", "--target", "unix://" + sock}, "target unusable: GET /1.0"},
		{"unreachable http", []string{"conform", "lxd", "--target", "http://127.0.0.1:1"}, "target unusable"},
		{"linode without token", []string{"conform", "linode", "--target", "http://127.0.0.1:1/v4"}, "missing token: give --token or set LINODE_TOKEN"},
		{"linode bad scheme", []string{"conform", "linode", "--target", "unix:///x", "--token", "t"}, `scheme "unix", must be http(s)://HOST/v4`},
		{"linode insecure over http", []string{"conform", "linode", "--target", "http://h/v4", "--token", "t", "--insecure"}, "--insecure needs an https:// target"},
		{"linode negative retries", []string{"conform", "linode", "--target", "http://h/v4", "--token", "t", "--retries", "-1"}, "invalid --retries -1"},
		{"linode unreachable", []string{"conform", "linode", "--target", "http://127.0.0.1:1/v4", "--token", "t"}, "target unusable: GET http://127.0.0.1:1/v4/account/events"},
		{"output in a missing directory", []string{"conform", "linode", "--target", "http://127.0.0.1:1/v4", "--token", "t", "--output", "/nonexistent/dir/r.json"}, "--output"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runMain(t, tc.args...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d; stderr %q", code, ExitUsage, errOut)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			first, _, _ := strings.Cut(errOut, "\n")
			if !strings.HasPrefix(first, "eventsim: ") || !strings.Contains(first, tc.want) {
				t.Errorf("stderr %q, want one line starting \"eventsim: \" containing %q", errOut, tc.want)
			}
		})
	}
}

// startSim starts the composition `eventsim serve` uses, without listeners
// of its own, and serves each API's handler behind wrap (nil: as is): LXD
// on a unix socket, Linode on TCP. It returns the LXD target, the Linode
// target and token.
func startSim(t *testing.T, opts simulator.Options, wrap func(*simulator.Server, http.Handler) http.Handler) (string, string, string) {
	t.Helper()
	if wrap == nil {
		wrap = func(_ *simulator.Server, h http.Handler) http.Handler { return h }
	}
	opts.LXD.Addr = "-"
	srv := simulator.NewServer(t, opts)
	sock := serveUnix(t, wrap(srv, srv.LXD().Handler()))
	ln2 := httptest.NewServer(wrap(srv, srv.Linode().Handler()))
	t.Cleanup(ln2.Close)
	return "unix://" + sock, ln2.URL + "/v4", srv.Linode().Token()
}

// serveUnix serves h on a unix socket until the test ends and returns the
// socket's path.
func serveUnix(t testing.TB, h http.Handler) string {
	t.Helper()
	sock := filepath.Join(shortTempDir(t), "unix.socket")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(h)
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	t.Cleanup(hs.Close)
	return sock
}

// idleSim starts the composition serve uses, playing nothing (and logging
// nothing) until it is told to Run a scenario, its LXD on a unix socket.
func idleSim(t testing.TB, speed float64) (*simulator.Server, string) {
	t.Helper()
	idle := filepath.Join(t.TempDir(), "idle.yaml")
	if err := os.WriteFile(idle, []byte("name: idle\napi: lxd\nlxd:\n  logging: false\nsteps:\n  - wait: 1h\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := simulator.Options{Scenario: idle, Speed: speed}
	opts.LXD.Addr = "-"
	srv := simulator.NewServer(t, opts)
	return srv, serveUnix(t, srv.LXD().Handler())
}

// linodeOnly plays a Linode scenario at once (speed 0); lxdLive plays an
// LXD scenario in real time, again and again.
var (
	linodeOnly = simulator.Options{Scenario: "linode-provisioning", Speed: 0}
	lxdLive    = simulator.Options{Scenario: "lxd-projects", Speed: 1, Loop: true}
)

func TestConformExitCodes(t *testing.T) {
	t.Parallel()
	// An LXD that answers an unknown event type with 500, as LXD 5.0.2
	// does: a warning, a failure with --strict.
	status500 := func(_ *simulator.Server, h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Query().Get("type"), "eventsim-bogus-") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(500)
				io.WriteString(w, `{"type":"error","status":"","status_code":0,"operation":"","error_code":500,"error":"\"bogus\" isn't a supported event type","metadata":null}`+"\n")
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	// An LXD that ignores unknown projects and serves the default one.
	anyProject := func(_ *simulator.Server, h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Query().Get("project"), "eventsim-missing-") {
				r.URL.RawQuery = "project=default"
			}
			h.ServeHTTP(w, r)
		})
	}

	t.Run("linode passes: 0", func(t *testing.T) {
		t.Parallel()
		_, u, tok := startSim(t, linodeOnly, nil)
		code, out, errOut := runMain(t, "conform", "linode", "--target", u, "--token", tok, "--mutate")
		if code != ExitOK || !strings.Contains(out, "result  PASSED") {
			t.Errorf("exit %d, want 0\n%s%s", code, out, errOut)
		}
	})
	t.Run("linode broken: 1", func(t *testing.T) {
		t.Parallel()
		_, u, tok := startSim(t, linodeOnly, noAuth)
		code, out, errOut := runMain(t, "conform", "linode", "--target", u, "--token", tok)
		if code != ExitFailed || !strings.Contains(out, "FAIL linode.auth") || errOut != "" {
			t.Errorf("exit %d, want 1 with linode.auth failed and nothing on stderr\n%s%s", code, out, errOut)
		}
	})
	t.Run("lxd broken: 1", func(t *testing.T) {
		t.Parallel()
		target, _, _ := startSim(t, lxdLive, anyProject)
		code, out, errOut := runMain(t, "conform", "lxd", "--target", target, "--duration", "1s")
		if code != ExitFailed || !strings.Contains(out, "FAIL lxd.filter.project-unknown") {
			t.Errorf("exit %d, want 1 with lxd.filter.project-unknown failed\n%s%s", code, out, errOut)
		}
	})
	t.Run("lxd quirk: 0, and 1 with --strict", func(t *testing.T) {
		t.Parallel()
		target, _, _ := startSim(t, lxdLive, status500)
		code, out, errOut := runMain(t, "conform", "lxd", "--target", target, "--duration", "1s")
		if code != ExitOK || !strings.Contains(out, "WARN lxd.filter.type-invalid") {
			t.Errorf("exit %d, want 0 with a warning\n%s%s", code, out, errOut)
		}
		code, out, errOut = runMain(t, "conform", "lxd", "--target", target, "--duration", "1s", "--strict")
		if code != ExitFailed || !strings.Contains(out, "FAIL lxd.filter.type-invalid") {
			t.Errorf("--strict: exit %d, want 1\n%s%s", code, out, errOut)
		}
	})
}

// noAuth serves requests without a token as if they had one: a Linode
// whose linode.auth check fails.
func noAuth(srv *simulator.Server, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			r.Header.Set("Authorization", "Bearer "+srv.Linode().Token())
		}
		h.ServeHTTP(w, r)
	})
}

func TestConformReportFormats(t *testing.T) {
	t.Parallel()
	_, u, tok := startSim(t, linodeOnly, nil)
	dir := t.TempDir()
	for _, format := range ReportFormats {
		t.Run(format, func(t *testing.T) {
			file := filepath.Join(dir, "report."+format)
			code, out, errOut := runMain(t, "conform", "linode", "--target", u, "--token", tok, "--report", format, "--output", file)
			if code != ExitOK {
				t.Fatalf("exit %d\n%s", code, errOut)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing with --output", out)
			}
			if !passedSummary.MatchString(errOut) || !strings.HasSuffix(strings.TrimSpace(errOut), "report written to "+file) {
				t.Errorf("stderr %q, want a summary line naming the file", errOut)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			switch format {
			case "json":
				var rep conformance.Report
				if err := json.Unmarshal(b, &rep); err != nil {
					t.Fatal(err)
				}
				if rep.Suite != "linode" || len(rep.Results) != 16 || rep.Result(conformance.IDLinodeWalk) == nil || rep.Events == 0 {
					t.Errorf("decoded %+v, want the linode suite with 16 results", rep)
				}
			case "junit":
				var doc struct {
					XMLName xml.Name `xml:"testsuites"`
					Suites  []struct {
						Tests    int `xml:"tests,attr"`
						Failures int `xml:"failures,attr"`
						Cases    []struct {
							Name    string    `xml:"name,attr"`
							Failure *struct{} `xml:"failure"`
						} `xml:"testcase"`
					} `xml:"testsuite"`
				}
				if err := xml.Unmarshal(b, &doc); err != nil {
					t.Fatal(err)
				}
				if len(doc.Suites) != 1 || doc.Suites[0].Tests != 16 || len(doc.Suites[0].Cases) != 16 || doc.Suites[0].Failures != 0 {
					t.Fatalf("decoded %+v, want one suite of 16 test cases", doc)
				}
				seen := map[string]bool{}
				for _, c := range doc.Suites[0].Cases {
					if !strings.HasPrefix(c.Name, "linode.") || seen[c.Name] {
						t.Errorf("test case %q: want one per check id", c.Name)
					}
					seen[c.Name] = true
				}
			case "text":
				s := string(b)
				if strings.Contains(s, "\x1b[") {
					t.Error("colour codes in a file")
				}
				for _, want := range []string{"PASS linode.page.walk", "STATUS  CHECKS", "result  PASSED"} {
					if !strings.Contains(s, want) {
						t.Errorf("text report lacks %q:\n%s", want, s)
					}
				}
			}
		})
	}
}

var passedSummary = regexp.MustCompile(`passed \(\d+ pass, 0 warn, 0 fail, \d+ skip\); report written to `)

var failedSummary = regexp.MustCompile(`FAILED \(\d+ pass, \d+ warn, 1 fail, \d+ skip\)`)

func TestConformFailedReportGoesToOutput(t *testing.T) {
	t.Parallel()
	_, u, tok := startSim(t, linodeOnly, noAuth)
	file := filepath.Join(t.TempDir(), "r.json")
	code, _, errOut := runMain(t, "conform", "linode", "--target", u, "--token", tok, "--report", "json", "-o", file)
	// How many checks pass or skip depends on how many events the playing
	// scenario has stored when the runner lists them; the one failure does not.
	if code != ExitFailed || !failedSummary.MatchString(errOut) {
		t.Errorf("exit %d, stderr %q; want 1 and a summary naming the failure", code, errOut)
	}
	var rep conformance.Report
	b, _ := os.ReadFile(file)
	if err := json.Unmarshal(b, &rep); err != nil || rep.Result(conformance.IDLinodeAuth).Status != conformance.Fail {
		t.Errorf("report %s (%v): want linode.auth failed", b, err)
	}
}

// An --output that already exists (an earlier report, or /dev/null) is
// neither truncated nor removed when the run cannot take place: only a
// file the run created itself is cleaned up.
func TestConformUnusableTargetLeavesExistingOutput(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.json")
	if err := os.WriteFile(old, []byte("earlier report\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(dir, "fresh.json")
	for _, file := range []string{old, fresh} {
		code, _, errOut := runMain(t, "conform", "lxd", "--target", "http://127.0.0.1:1", "--output", file)
		if code != ExitUsage {
			t.Errorf("--output %s: exit %d, want %d; stderr %q", file, code, ExitUsage, errOut)
		}
	}
	if b, err := os.ReadFile(old); err != nil || string(b) != "earlier report\n" {
		t.Errorf("existing --output after an unusable target: %q, %v; want it untouched", b, err)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("new --output after an unusable target: stat %v, want it removed", err)
	}
}

// A report shorter than what the --output file held replaces it whole.
func TestConformOutputReplacesLongerFile(t *testing.T) {
	t.Parallel()
	_, u, tok := startSim(t, linodeOnly, nil)
	file := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(file, bytes.Repeat([]byte("x"), 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runMain(t, "conform", "linode", "--target", u, "--token", tok, "--report", "json", "-o", file)
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var rep conformance.Report
	if b, _ := os.ReadFile(file); json.Unmarshal(b, &rep) != nil {
		t.Errorf("report file is not the JSON report alone: %.200s", b)
	}
}

// A run cut short (SIGINT, SIGTERM: the command's context is cancelled)
// did not check what it was asked to: it must not exit 0 as a pass, even
// though the checks it got through passed. The partial report is written.
func TestConformInterruptedIsNotAPass(t *testing.T) {
	t.Parallel()
	lx, _, _ := startSim(t, lxdLive, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	opts := &ConformOptions{IO: &IO{Out: &out, Err: &errOut}, Suite: "lxd", Report: conformance.FormatText}
	opts.LXD.Target = lx
	opts.LXD.Duration = 30 * time.Second
	start := time.Now()
	err := conformRun(ctx, opts)
	if time.Since(start) > 20*time.Second {
		t.Errorf("the run took %v after its context was cancelled", time.Since(start))
	}
	if err == nil || errors.Is(err, ErrFailed) {
		t.Errorf("conformRun after cancellation: %v, want an error that is not a plain check failure; report:\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "lxd.events.frames") {
		t.Errorf("no partial report written:\n%s", out.String())
	}
}
