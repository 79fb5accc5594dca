package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShardsFromSeparateRunsEqualOneRun writes a dataset as N --shard runs
// and as one --shards N run, through the command line, and holds the
// concatenation of the first to the second, byte for byte.
func TestShardsFromSeparateRunsEqualOneRun(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
	}{
		{"count", []string{"--scenario", "lxd-steady", "--count", "2001"}},
		{"duration zstd by name", []string{"--scenario", "lxd-steady", "--duration", "3s"}},
		{"linode gzip", []string{"--scenario", "linode-provisioning", "--count", "301", "--compress", "gzip"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ext := ".ndjson"
			if strings.Contains(c.name, "zstd") {
				ext += ".zst"
			}
			var cat []byte
			for i := range 3 {
				out := filepath.Join(dir, "part"+ext)
				mustRun(t, "", append([]string{"generate", "--shard", []string{"0/3", "1/3", "2/3"}[i], "-o", out}, c.args...)...)
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				cat = append(cat, b...)
			}
			all := filepath.Join(dir, "all"+ext)
			mustRun(t, "", append([]string{"generate", "--shards", "3", "-o", all}, c.args...)...)
			b, err := os.ReadFile(all)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, cat) {
				t.Fatalf("--shards 3 wrote %d bytes, the three --shard runs %d: not the same bytes", len(b), len(cat))
			}
			if ext != ".ndjson" && bytes.HasPrefix(b, []byte("{")) {
				t.Fatal("an output named .zst was written uncompressed")
			}
			kind := "lxd"
			if strings.Contains(c.name, "linode") {
				kind = "linode"
			}
			// validate reads it, compressed or not.
			_, errOut := mustRunErr(t, "validate", "--kind", kind, all)
			if !strings.Contains(errOut, " 0 invalid") {
				t.Errorf("validate: %s", errOut)
			}
		})
	}
}

func mustRunErr(t *testing.T, args ...string) (string, string) {
	t.Helper()
	out, errOut, code := run(t, "", args...)
	if code != ExitOK {
		t.Fatalf("eventsim %s: exit %d, stdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out, errOut
}

// TestValidateManifestNamesWhatIsWrong assembles a dataset from shard runs
// with a manifest each, as machines of a batch job would, then breaks it:
// a shard missing, one changed, one extra, a manifest missing.
func TestValidateManifestNamesWhatIsWrong(t *testing.T) {
	src := t.TempDir()
	// Four "machines", each writing its shard and its manifest.
	for i, p := range []string{"0/4", "1/4", "2/4", "3/4"} {
		name := filepath.Join(src, "steady-0000"+string(rune('0'+i))+"-of-00004.ndjson.zst")
		mustRun(t, "", "generate", "--scenario", "lxd-steady", "--count", "1000", "--shard", p, "-o", name,
			"--manifest", filepath.Join(src, "manifest-"+string(rune('0'+i))+".json"))
	}
	manifests := func(dir string) string {
		m, err := filepath.Glob(filepath.Join(dir, "manifest-*.json"))
		if err != nil || len(m) == 0 {
			t.Fatalf("no manifests in %s: %v", dir, err)
		}
		return strings.Join(m, ",")
	}
	_, errOut := mustRunErr(t, "validate", "--manifest", manifests(src))
	if !strings.Contains(errOut, "4 of 4 shards intact, 0 problems") || !strings.Contains(errOut, "1000 records checked, 0 invalid") {
		t.Fatalf("intact dataset: %s", errOut)
	}

	copyDir := func(t *testing.T) string {
		t.Helper()
		dst := t.TempDir()
		entries, _ := os.ReadDir(src)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dst
	}
	for _, c := range []struct {
		name   string
		break_ func(t *testing.T, dir string)
		want   string
	}{
		{"missing shard file", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "steady-00002-of-00004.ndjson.zst"))
		}, "manifest: shard 2: missing: file "},
		{"missing manifest", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "manifest-1.json"))
		}, "manifest: shard 1: missing: no manifest lists shard 1 of 4"},
		{"changed shard", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "steady-00003-of-00004.ndjson.zst")
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 0x40
			os.WriteFile(p, b, 0o644)
		}, "manifest: shard 3: changed: "},
		{"extra shard file", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "steady-00000-of-00004.ndjson.zst"))
			os.WriteFile(filepath.Join(dir, "steady-00004-of-00004.ndjson.zst"), b, 0o644)
		}, "steady-00004-of-00004.ndjson.zst is a shard file that no manifest lists"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := copyDir(t)
			c.break_(t, dir)
			out, errOut, code := run(t, "", "validate", "--manifest", manifests(dir))
			if code != ExitFailed {
				t.Fatalf("exit %d, want 1; stdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("report does not say %q:\n%s", c.want, out)
			}
		})
	}
}

// TestValidateManifestOfOneFile checks a dataset written by --shards into
// one file: extra bytes after the last shard are an error.
func TestValidateManifestOfOneFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "all.ndjson")
	m := filepath.Join(dir, "m.json")
	mustRun(t, "", "generate", "--scenario", "linode-provisioning", "--count", "500", "--shards", "3", "-o", out, "--manifest", m)
	mustRunErr(t, "validate", "--manifest", m)
	f, err := os.OpenFile(out, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"id":1}` + "\n")
	f.Close()
	stdout, _, code := run(t, "", "validate", "--manifest", m)
	if code != ExitFailed || !strings.Contains(stdout, "all.ndjson has 9 bytes after its last shard") {
		t.Fatalf("exit %d, report:\n%s", code, stdout)
	}
}

func TestShardUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--scenario", "lxd-steady", "--shard", "4/4", "--count", "10"}, "index must be 0 to 3"},
		{[]string{"--scenario", "lxd-steady", "--shard", "x", "--count", "10"}, "must be I/N"},
		{[]string{"--scenario", "lxd-steady", "--shards", "0", "--count", "10"}, "invalid --shards 0"},
		{[]string{"--scenario", "lxd-steady", "--shard", "0/2", "--shards", "2", "--count", "10"}, "cannot be used together"},
		{[]string{"--scenario", "lxd-instance-lifecycle", "--shard", "0/2"}, "needs --count N or --duration D"},
		{[]string{"--scenario", "lxd-steady", "--shards", "2", "--count", "10", "--format", "json"}, "use --output-dir"},
		{[]string{"--scenario", "lxd-steady", "--count", "10", "--output-dir", "x"}, "--output-dir needs --shards"},
		{[]string{"--scenario", "lxd-steady", "--count", "10", "--manifest", "m.json"}, "--manifest needs --output"},
		{[]string{"--scenario", "lxd-steady", "--count", "10", "--compress", "lz4"}, `invalid --compress "lz4"`},
		{[]string{"--scenario", "lxd-steady", "--count", "10", "--format", "csv"}, "must be one of ndjson, json, yaml, parquet"},
	} {
		_, errOut, code := run(t, "", append([]string{"generate"}, c.args...)...)
		if code != ExitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("generate %v: exit %d, stderr %q; want exit 2 saying %q", c.args, code, errOut, c.want)
		}
	}
}
