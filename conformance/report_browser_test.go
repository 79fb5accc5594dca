//go:build unix

package conformance

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// cdp is a minimal Chrome DevTools Protocol client over one page's WebSocket.
type cdp struct {
	conn    *websocket.Conn
	mu      sync.Mutex
	next    int
	waiting map[int]chan json.RawMessage
	events  chan cdpEvent
}

type cdpEvent struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

func (c *cdp) read() {
	defer close(c.events)
	for {
		var m struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
			cdpEvent
		}
		if err := c.conn.ReadJSON(&m); err != nil {
			return
		}
		if m.ID != 0 {
			c.mu.Lock()
			ch := c.waiting[m.ID]
			delete(c.waiting, m.ID)
			c.mu.Unlock()
			if m.Error != nil {
				m.Result = json.RawMessage(fmt.Sprintf(`{"cdp_error":%s}`, m.Error))
			}
			ch <- m.Result
			continue
		}
		select {
		case c.events <- m.cdpEvent:
		default: // nobody listening that closely; the test reads what it needs
		}
	}
}

// call sends a command and waits for its result.
func (c *cdp) call(t *testing.T, method string, params any) json.RawMessage {
	t.Helper()
	c.mu.Lock()
	c.next++
	id := c.next
	ch := make(chan json.RawMessage, 1)
	c.waiting[id] = ch
	c.mu.Unlock()
	if params == nil {
		params = map[string]any{}
	}
	if err := c.conn.WriteJSON(map[string]any{"id": id, "method": method, "params": params}); err != nil {
		t.Fatalf("cdp %s: %v", method, err)
	}
	select {
	case r := <-ch:
		if strings.HasPrefix(string(r), `{"cdp_error"`) {
			t.Fatalf("cdp %s: %s", method, r)
		}
		return r
	case <-time.After(30 * time.Second):
		t.Fatalf("cdp %s: no answer in 30s", method)
	}
	return nil
}

// startChromium starts headless Chromium with remote debugging on a free
// port and returns a CDP client on a new blank page. Nothing is downloaded.
func startChromium(t *testing.T) *cdp {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (apt-get install -y chromium): %v", err)
	}
	// The profile is not a t.TempDir: Chromium's helper processes may
	// still write to it as they die, which would fail the test's own
	// clean-up; the one below waits for them.
	profile, err := os.MkdirTemp("", "eventsim-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--user-data-dir="+profile, "--remote-debugging-port=0", "about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its helpers die with it
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("chromium's profile %s could not be removed", profile)
	})
	found := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`DevTools listening on (ws://\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	var browserWS string
	select {
	case browserWS = <-found:
	case <-time.After(30 * time.Second):
		t.Fatal("chromium did not say where DevTools listens within 30s")
	}
	// The page targets are listed over HTTP on the same port.
	host := strings.TrimPrefix(browserWS, "ws://")
	host = host[:strings.IndexByte(host, '/')]
	var pageWS string
	for deadline := time.Now().Add(10 * time.Second); pageWS == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + host + "/json/list")
		if err != nil {
			continue
		}
		var targets []struct {
			Type string `json:"type"`
			WS   string `json:"webSocketDebuggerUrl"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&targets)
		resp.Body.Close()
		for _, tg := range targets {
			if tg.Type == "page" {
				pageWS = tg.WS
			}
		}
	}
	if pageWS == "" {
		t.Fatal("chromium lists no page target")
	}
	conn, _, err := websocket.DefaultDialer.DialContext(context.Background(), pageWS, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(64 << 20)
	t.Cleanup(func() { conn.Close() })
	c := &cdp{conn: conn, waiting: map[int]chan json.RawMessage{}, events: make(chan cdpEvent, 1024)}
	go c.read()
	return c
}

// artefactDir is where the screenshot is kept: $EVENTSIM_ARTIFACTS, or
// the test's temporary directory.
func artefactDir(t *testing.T) string {
	if d := os.Getenv("EVENTSIM_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestHTMLReportInBrowser opens the HTML report of a failing run (a broken
// LXD server that sends Running with status_code 105) in headless Chromium:
// no console error, no request leaves the file, the verdict comes first,
// the failing check is there with its finding, and its operation has a row
// on the timeline with a failure mark linking back to the finding. The
// screenshot is kept.
func TestHTMLReportInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test left out with -short")
	}
	target := startMiniLXD(t, &miniLXD{wrongStatusCode: true})
	rep, err := RunLXD(t.Context(), LXDOptions{Target: target, Exercise: true, Settle: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Result(IDOperationStatus); r == nil || r.Status != Fail {
		t.Fatalf("%s: %+v, want the broken server to fail it", IDOperationStatus, r)
	}
	dir := artefactDir(t)
	page := filepath.Join(dir, "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteReport(f, FormatHTML, rep); err != nil {
		t.Fatal(err)
	}
	f.Close()

	c := startChromium(t)
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable", "Network.enable"} {
		c.call(t, m, nil)
	}
	c.call(t, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 1280, "height": 1600, "deviceScaleFactor": 1, "mobile": false})
	c.call(t, "Page.navigate", map[string]any{"url": "file://" + page})
	var problems, requests []string
	loaded := false
	for timeout := time.After(30 * time.Second); !loaded; {
		select {
		case ev, ok := <-c.events:
			if !ok {
				t.Fatal("chromium went away")
			}
			switch ev.Method {
			case "Page.loadEventFired":
				loaded = true
			case "Runtime.exceptionThrown", "Runtime.consoleAPICalled", "Log.entryAdded":
				var p struct {
					Type  string `json:"type"`
					Entry struct {
						Level, Text string
					} `json:"entry"`
				}
				_ = json.Unmarshal(ev.Params, &p)
				if ev.Method == "Runtime.exceptionThrown" || p.Type == "error" || p.Entry.Level == "error" {
					problems = append(problems, ev.Method+" "+string(ev.Params))
				}
			case "Network.requestWillBeSent":
				var p struct {
					Request struct{ URL string } `json:"request"`
				}
				_ = json.Unmarshal(ev.Params, &p)
				requests = append(requests, p.Request.URL)
			}
		case <-timeout:
			t.Fatal("the report did not load within 30s")
		}
	}
	// Late console errors would come within a moment.
	for drain := time.After(300 * time.Millisecond); ; {
		select {
		case ev := <-c.events:
			if ev.Method == "Runtime.exceptionThrown" || ev.Method == "Log.entryAdded" {
				problems = append(problems, ev.Method+" "+string(ev.Params))
			}
			continue
		case <-drain:
		}
		break
	}
	if len(problems) > 0 {
		t.Errorf("console errors: %v", problems)
	}
	for _, u := range requests {
		if !strings.HasPrefix(u, "file://") {
			t.Errorf("the report fetched %s; it must be self-contained", u)
		}
	}

	const probe = `(() => {
  const q = s => document.querySelector(s);
  const check = q('details.check[data-check="lxd.operation.status"]');
  const finding = check && check.querySelector('.finding[data-op]');
  const op = finding && finding.dataset.op;
  const row = op && document.getElementById('op-' + op);
  const mark = row && row.querySelector('a.mk.fail');
  const first = document.body.firstElementChild;
  return JSON.stringify({
    firstID: first && first.id,
    verdict: q('#verdict h1') && q('#verdict h1').textContent,
    status: check && check.dataset.status,
    open: check && check.open,
    problem: finding && finding.querySelector('p').textContent,
    op: op,
    rowLabel: row && row.querySelector('.label').textContent,
    spans: row ? row.querySelectorAll('.span').length : 0,
    markHref: mark && mark.getAttribute('href'),
    findingID: finding && finding.id,
    seenCells: document.querySelectorAll('#coverage .cell.seen').length,
    missingCells: document.querySelectorAll('#coverage .cell.missing').length,
    projectRows: document.querySelectorAll('.row.project').length,
    markVisible: mark ? mark.getBoundingClientRect().width > 0 : false,
  });
})()`
	var ev struct {
		Result struct {
			Value string `json:"value"`
		} `json:"result"`
	}
	if err := json.Unmarshal(c.call(t, "Runtime.evaluate", map[string]any{"expression": probe, "returnByValue": true}), &ev); err != nil {
		t.Fatal(err)
	}
	var got struct {
		FirstID, Verdict, Status, Problem, Op, RowLabel, MarkHref, FindingID string
		Open, MarkVisible                                                    bool
		Spans, SeenCells, MissingCells, ProjectRows                          int
	}
	if err := json.Unmarshal([]byte(ev.Result.Value), &got); err != nil {
		t.Fatalf("%v: %s", err, ev.Result.Value)
	}
	t.Logf("page: %+v", got)
	switch {
	case got.FirstID != "verdict" || got.Verdict != "FAILED":
		t.Errorf("the page does not open with the verdict: first element %q, verdict %q", got.FirstID, got.Verdict)
	case got.Status != "fail" || !got.Open || !strings.Contains(got.Problem, "does not agree with status_code"):
		t.Errorf("the failing check: status %q open %v finding %q", got.Status, got.Open, got.Problem)
	case got.Op == "" || got.RowLabel == "" || got.Spans < 2:
		t.Errorf("the failing operation %q has no row on the timeline (label %q, %d spans)", got.Op, got.RowLabel, got.Spans)
	case got.MarkHref != "#"+got.FindingID || !got.MarkVisible:
		t.Errorf("the operation's row has no visible failure mark linking to the finding: %q, want #%s", got.MarkHref, got.FindingID)
	case got.SeenCells == 0 || got.MissingCells == 0 || got.ProjectRows == 0:
		t.Errorf("coverage grid or project rows missing: %+v", got)
	}

	// Scroll the operation's row into view for the screenshot's second half.
	var shot struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal(c.call(t, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}), &shot); err != nil {
		t.Fatal(err)
	}
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil || len(png) < 1000 {
		t.Fatalf("screenshot: %v, %d bytes", err, len(png))
	}
	out := filepath.Join(dir, "report.png")
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot kept at %s (report at %s)", out, page)
	_ = io.Discard
}
