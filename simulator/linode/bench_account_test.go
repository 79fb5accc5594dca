package linode

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventsim/eventsim/internal/cputime"
	"github.com/eventsim/eventsim/internal/loadclient"
)

// instancesN is how many Linodes the account benchmarks hold: the issue's
// 10,000, each with one of 10 team tags.
const instancesN = 10_000

// fillInstances creates n Linodes through the REST handler at speed 0 and
// returns their ids.
func fillInstances(tb testing.TB, s *Server, n int) []int {
	tb.Helper()
	ids, err := createLinodes(s, n)
	if err != nil {
		tb.Fatal(err)
	}
	return ids
}

func createLinodes(s *Server, n int) ([]int, error) {
	h := s.Handler()
	ids := make([]int, 0, n)
	for i := range n {
		body := fmt.Sprintf(`{"type":"g6-nanode-1","region":"us-east","label":"node-%d","tags":["team-%d"]}`, i, i%10)
		req := httptest.NewRequest(http.MethodPost, "/v4/linode/instances", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+s.Token())
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			return nil, fmt.Errorf("create %d: %d %s", i, w.Code, w.Body)
		}
		var o struct{ ID int }
		if err := json.Unmarshal(w.Body.Bytes(), &o); err != nil {
			return nil, err
		}
		ids = append(ids, o.ID)
	}
	return ids, nil
}

var accountBench struct {
	once sync.Once
	s    *Server
	ids  []int
}

func accountServer(b *testing.B) (*Server, []int) {
	accountBench.once.Do(func() {
		s, err := New(Options{RateLimit: -1})
		if err != nil {
			b.Fatal(err)
		}
		accountBench.s, accountBench.ids = s, fillInstances(b, s, instancesN)
	})
	return accountBench.s, accountBench.ids
}

// BenchmarkGetInstance: GET /v4/linode/instances/{id} over 10,000 Linodes.
func BenchmarkGetInstance(b *testing.B) {
	s, ids := accountServer(b)
	reqs := make([][]byte, 4096)
	rng := rand.New(rand.NewSource(2))
	for i := range reqs {
		reqs[i] = request(s, "/v4/linode/instances/"+strconv.Itoa(ids[rng.Intn(len(ids))]), "")
	}
	loadParallel(b, s, func(rng *rand.Rand) []byte { return reqs[rng.Intn(len(reqs))] })
}

// BenchmarkListInstancesByTag: the cloud controller manager's list, a tag's
// 1,000 Linodes among 10,000, a page of 100.
func BenchmarkListInstancesByTag(b *testing.B) {
	s, _ := accountServer(b)
	for _, bc := range []struct{ name, filter string }{
		{"equal", `{"tags":"team-3"}`},
		{"contains", `{"tags":{"+contains":"team-3"}}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := request(s, "/v4/linode/instances?page=1&page_size=100", bc.filter)
			loadParallel(b, s, func(*rand.Rand) []byte { return req })
		})
	}
}

// BenchmarkLifecycle: create → boot → shutdown → delete through REST at
// speed 0 (every event stored), reported in cycles/s; 8 clients at once.
func BenchmarkLifecycle(b *testing.B) {
	s := NewServer(b, Options{RateLimit: -1})
	var seq sync.Mutex
	n := 0
	b.SetParallelism(4)
	b.ResetTimer()
	start, cpu0 := time.Now(), cputime.Used()
	b.RunParallel(func(pb *testing.PB) {
		rc := dialRaw(b, s)
		defer rc.Close()
		tok := s.Token()
		for pb.Next() {
			seq.Lock()
			n++
			label := "cycle-" + strconv.Itoa(n)
			seq.Unlock()
			body := `{"type":"g6-nanode-1","region":"us-east","label":"` + label + `"}`
			resp := roundTrip(b, rc, "POST /v4/linode/instances HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+tok+
				"\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
			i := strings.Index(resp, `"id":`)
			if i < 0 {
				b.Fatalf("create: %s", resp)
			}
			id := resp[i+5 : i+5+strings.IndexByte(resp[i+5:], ',')]
			for _, verb := range []string{"boot", "shutdown"} {
				roundTrip(b, rc, "POST /v4/linode/instances/"+id+"/"+verb+" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+tok+"\r\nContent-Length: 0\r\n\r\n")
			}
			roundTrip(b, rc, "DELETE /v4/linode/instances/"+id+" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+tok+"\r\n\r\n")
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "cycles/s")
	// CPU per cycle, client and server together: what bounds cycles/s on
	// a machine whose cores are shared.
	b.ReportMetric(float64(cputime.Used()-cpu0)/float64(time.Microsecond)/float64(b.N), "µs-cpu/cycle")
	if st := s.Stats(); b.N > 0 && st.Events < 4*b.N {
		b.Fatalf("%d events stored for %d cycles", st.Events, b.N)
	}
}

// roundTrip sends a request over rc and returns the body of its 200 answer.
func roundTrip(tb testing.TB, rc *loadclient.Conn, req string) string {
	code, body, err := rc.Do([]byte(req))
	if err != nil || code != http.StatusOK {
		tb.Fatalf("%.60s: %d %v %s", req, code, err, body)
	}
	return string(body)
}
