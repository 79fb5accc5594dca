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
// seed, shard split or format fails here. Compressed output is compared
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
		{"demo", []string{"--scenario", "demo", "--count", "3000"}, "", "5a89cfa3f40b28fbea4afd46b3b29e1ef415a957fdf522b2e5238489ac2bb1c7"},
		{"demo linode", []string{"--scenario", "demo", "--api", "linode", "--count", "3000"}, "", "f106b972b90e1165ca026744f88cc6e766588b2af2c0131b52dbcb7667390311"},
		{"linode-catalogue-tour", []string{"--scenario", "linode-catalogue-tour", "--count", "3000"}, "", "0bd5e5e9f782c54ff43644ab87901c8c63361522696278dd8a002b5eae72d42b"},
		{"linode-failures", []string{"--scenario", "linode-failures", "--count", "3000"}, "", "5fd906a02b6941273004de8dd92d01546c2d480e947b363ebbd97435ecd76bc6"},
		{"linode-provisioning", []string{"--scenario", "linode-provisioning", "--count", "3000"}, "", "92595851340e0fff026c52c456c69b6d1484a4da33e4d7ff1f2378060177c856"},
		{"lxd-catalogue-tour", []string{"--scenario", "lxd-catalogue-tour", "--count", "3000"}, "", "ccb8804ba7176d1f684f5fdc1a5d45e5e5c421ef626011ee589ceaf01fbb3e28"},
		{"lxd-cluster", []string{"--scenario", "lxd-cluster", "--count", "3000"}, "", "9acf1a97048de45a7e0e656d120fc90bfceea1d5582fed97545071541e6507c0"},
		{"lxd-instance-lifecycle", []string{"--scenario", "lxd-instance-lifecycle", "--count", "3000"}, "", "a445853c5cccee0c664e75b9069eb42b925c49effecc0308ece0bd2d19299357"},
		{"lxd-projects", []string{"--scenario", "lxd-projects", "--count", "3000"}, "", "5dcb021c155c3d6c478544c1e114f8b2d6737400f35132748f4384d585c73f22"},
		{"lxd-steady 3000", []string{"--scenario", "lxd-steady", "--count", "3000"}, "", "35a30f775a5c6f6bb51b694b4c59dce45e655363d412ad7451bec9e370b808af"},
		{"lxd-steady 20000", []string{"--scenario", "lxd-steady", "--count", "20000"}, "", "ea774c1a5fdcb163a8731b4dad872e9ee16349c12107dc332fca21910fd5df00"},
		{"lxd-steady incus seed 7", []string{"--scenario", "lxd-steady", "--count", "8000", "--seed", "7", "--flavor", "incus"}, "", "16364f41e303b6cd2d34d9d83c36cf78b6878906f397401fe88b5ff948ee471b"},
		{"lxd-steady lxd-6", []string{"--scenario", "lxd-steady", "--count", "8000", "--flavor", "lxd-6"}, "", "9eaa76b067073233f13927fe3802540eea69259bd164374c09fc1a8d6b1df5c7"},
		{"lxd-steady --shards 3", []string{"--scenario", "lxd-steady", "--count", "15000", "--shards", "3"}, "", "3b48b10d3058efdc22661245ef61a4955dbba7599340e3464eeb8a7e2810374d"},
		{"lxd-steady --shard 1/3", []string{"--scenario", "lxd-steady", "--count", "15000", "--shard", "1/3"}, "", "51fc5ac22e603b76d718185a9cfc7543bbb04be2dc6f216a93921b108901ae21"},
		{"lxd-steady --duration --shards 2", []string{"--scenario", "lxd-steady", "--duration", "8s", "--shards", "2"}, "", "040f8d8296298fe687c385d3286f492d63ed91b508825c568339411a5a04fd47"},
		{"lxd-steady json", []string{"--scenario", "lxd-steady", "--count", "3000", "--format", "json"}, "", "e6e93c6fd626f3acac5983f1d695dc7a942cfae45c9061413e1691baae16e79a"},
		{"lxd-steady yaml", []string{"--scenario", "lxd-steady", "--count", "2000", "--format", "yaml"}, "", "c089788424333e9b4db706d64e008d93ad7719dc474a098d96b05625ebbef9b6"},
		{"linode-provisioning yaml", []string{"--scenario", "linode-provisioning", "--count", "1000", "--format", "yaml"}, "", "37afaf9541151f75ffce8369a3e691270c0a792a7ae8835d1ca217c4737ff891"},
		{"lxd-steady zstd", []string{"--scenario", "lxd-steady", "--count", "5000", "--compress", "zstd"}, "", "f4e7647c13cadb3fbfc5f9d0a86f91bfffd7593f4aea6e1e1bcf1f452ed7b904"},
		{"lxd-steady gzip", []string{"--scenario", "lxd-steady", "--count", "5000", "--compress", "gzip"}, "", "defd27e4f45f60dc06e24b3d67c77b102dd24e0145a72e1dd74db9432ceb107f"},
		{"lxd-steady parquet", []string{"--scenario", "lxd-steady", "--count", "5000", "--format", "parquet"}, "steady.parquet", "2b19c6ec63cde2e70591f98c9ac9f129de4b35f637f5f91ee55f5b0bb4de2e24"},
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
