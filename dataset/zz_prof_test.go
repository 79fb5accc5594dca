package dataset

import (
	"io"
	"os"
	"strconv"
	"testing"
)

func TestZZProf(t *testing.T) {
	f := os.Getenv("ZZ_FORMAT")
	if f == "" {
		t.Skip()
	}
	n, _ := strconv.Atoi(os.Getenv("ZZ_N"))
	sh, _ := strconv.Atoi(os.Getenv("ZZ_SHARDS"))
	s := load(t, "lxd-steady")
	o := &Options{Scenario: s, API: "lxd", Count: int64(n), Format: f, Compression: os.Getenv("ZZ_COMP")}
	var err error
	if sh > 0 {
		_, err = o.WriteShards(t.Context(), sh, io.Discard, t.TempDir())
	} else {
		_, err = o.WriteShard(t.Context(), Part{}, io.Discard)
	}
	if err != nil {
		t.Fatal(err)
	}
}
