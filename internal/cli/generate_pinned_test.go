package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventsim/eventsim/dataset"
)

// TestGenerateBytesArePinned holds `eventsim generate` to the exact bytes
// it wrote before the session that made it faster: each SHA-256 below was
// computed by running main's binary at 5aa8d4b (before that work) with the
// same arguments, so any change to a single byte of any scenario, flavour,
// seed, shard split or format fails here. The LXD sums were recomputed once
// since, by h14writes, for facts the real daemons showed (operation
// resources with ?project=, storage-volume-restored synchronous, snapshots
// deleted with their instance or volume, Incus's name and project); a
// change here must say which fact moved the bytes. Compressed output is compared
// decompressed (what a reader gets): the zstd level is a speed choice, its
// frames are not part of the contract.
func TestGenerateBytesArePinned(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		// file writes to a file of this name in dir instead of stdout.
		file   string
		sha256 string
	}{
		{"demo", []string{"--scenario", "demo", "--count", "3000"}, "", "934721c7727480d1820fea3806e58e04f7f717652aed2ea3cda83ca8b9e6f5a3"},
		{"demo linode", []string{"--scenario", "demo", "--api", "linode", "--count", "3000"}, "", "f106b972b90e1165ca026744f88cc6e766588b2af2c0131b52dbcb7667390311"},
		{"linode-catalogue-tour", []string{"--scenario", "linode-catalogue-tour", "--count", "3000"}, "", "0bd5e5e9f782c54ff43644ab87901c8c63361522696278dd8a002b5eae72d42b"},
		{"linode-failures", []string{"--scenario", "linode-failures", "--count", "3000"}, "", "5fd906a02b6941273004de8dd92d01546c2d480e947b363ebbd97435ecd76bc6"},
		{"linode-provisioning", []string{"--scenario", "linode-provisioning", "--count", "3000"}, "", "92595851340e0fff026c52c456c69b6d1484a4da33e4d7ff1f2378060177c856"},
		{"lxd-catalogue-tour", []string{"--scenario", "lxd-catalogue-tour", "--count", "3000"}, "", "10fa25818fb84d02d8dddb7fb53aec1123e616f8936de4d7214e28152307753a"},
		{"lxd-cluster", []string{"--scenario", "lxd-cluster", "--count", "3000"}, "", "9acf1a97048de45a7e0e656d120fc90bfceea1d5582fed97545071541e6507c0"},
		{"lxd-instance-lifecycle", []string{"--scenario", "lxd-instance-lifecycle", "--count", "3000"}, "", "1df721a5cf798a9a37690dbad92ce892018b9bc31d5842aa06680a0d3eb9305c"},
		{"lxd-projects", []string{"--scenario", "lxd-projects", "--count", "3000"}, "", "a2241b6e877e4ef227afdb40ff6fb9e35cdac17f14fa9b90150e8f635db90799"},
		{"lxd-steady 3000", []string{"--scenario", "lxd-steady", "--count", "3000"}, "", "45d7ac45c22c605bb5550f9f021fbe5f108413792a7321257f7079f3124bf759"},
		{"lxd-steady 20000", []string{"--scenario", "lxd-steady", "--count", "20000"}, "", "4886745fa8d267bcd6d309cb8eb126a7d88237b5f1f81f20af5f1a328a3a7d38"},
		{"lxd-steady incus seed 7", []string{"--scenario", "lxd-steady", "--count", "8000", "--seed", "7", "--flavor", "incus"}, "", "05df3aac217a8218690dbb48366455704b2a6ff3fda8cebe16d92f8fa4edda38"},
		{"lxd-steady lxd-6", []string{"--scenario", "lxd-steady", "--count", "8000", "--flavor", "lxd-6"}, "", "6d9523cefd158d3056ec8cacd0d9f0acc14bd4b665c12d8eee9eff8831fb682e"},
		{"lxd-steady --shards 3", []string{"--scenario", "lxd-steady", "--count", "15000", "--shards", "3"}, "", "bb00b97e8f6649803ed7269b0a12f79776c14fcb19aeec1211409e251e0c95f8"},
		{"lxd-steady --shard 1/3", []string{"--scenario", "lxd-steady", "--count", "15000", "--shard", "1/3"}, "", "1c9fd07a3ad1231bdcf7e22620ed27932b90cd8f99d65f59dfd0ace2d12b35c1"},
		{"lxd-steady --duration --shards 2", []string{"--scenario", "lxd-steady", "--duration", "8s", "--shards", "2"}, "", "b31c38fc82469ddefa596cd67f1ab36af55be9d543e4d89983f2502c07dee650"},
		{"lxd-steady json", []string{"--scenario", "lxd-steady", "--count", "3000", "--format", "json"}, "", "8ce312bc00d9bd69e0bd89775adb85e70138c8ded6193e306daf4ed9861f9582"},
		{"lxd-steady yaml", []string{"--scenario", "lxd-steady", "--count", "2000", "--format", "yaml"}, "", "1eba7dfeae5badaa11861b2b0a65baea22e1fe09be818210224008eec8b56852"},
		{"linode-provisioning yaml", []string{"--scenario", "linode-provisioning", "--count", "1000", "--format", "yaml"}, "", "37afaf9541151f75ffce8369a3e691270c0a792a7ae8835d1ca217c4737ff891"},
		{"lxd-steady zstd", []string{"--scenario", "lxd-steady", "--count", "5000", "--compress", "zstd"}, "", "5d39b7c18ad2044edd9c400352fc353bd259474acecec8922046d0a1749c7482"},
		{"lxd-steady gzip", []string{"--scenario", "lxd-steady", "--count", "5000", "--compress", "gzip"}, "", "e649170ba46a30b2a7c8c97e5ca71dbdff6728f3c628c068fc794daf13baf4e7"},
		{"lxd-steady parquet", []string{"--scenario", "lxd-steady", "--count", "5000", "--format", "parquet"}, "steady.parquet", "40a41bf92c8912397fc91c0c5a591c8221003c0de89d5434f322e28ac456af29"},
		{"linode-provisioning parquet", []string{"--scenario", "linode-provisioning", "--count", "5000", "--format", "parquet"}, "linode.parquet", "fe89a5e1dbcd0af8cc512549bd4298582cece38d00e6c64fc83b72fcf4ba24e3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"generate"}, c.args...)
			var got []byte
			if c.file != "" {
				path := filepath.Join(dir, c.file)
				mustRun(t, "", append(args, "-o", path)...)
				var err error
				if got, err = os.ReadFile(path); err != nil {
					t.Fatal(err)
				}
			} else {
				got = []byte(mustRun(t, "", args...))
			}
			if strings.Contains(c.name, "zstd") {
				got = decompressed(t, got)
			}
			sum := sha256.Sum256(got)
			if h := hex.EncodeToString(sum[:]); h != c.sha256 {
				t.Errorf("eventsim %s: SHA-256 %s, want %s (the bytes main wrote before generate was made faster)", strings.Join(args, " "), h, c.sha256)
			}
		})
	}
}

func decompressed(t *testing.T, b []byte) []byte {
	t.Helper()
	r, err := dataset.Decompress(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out strings.Builder
	if _, err := io.Copy(&out, r); err != nil {
		t.Fatal(err)
	}
	return []byte(out.String())
}
