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
// deleted with their instance or volume, Incus's name and project), and
// once more by h15lxd for unpack progress (instance.create now sends the
// instance-created event first, then create_instance_from_image_unpack
// metadata updates, and Success carries the last, as a real LXD 5.0.2
// creating an instance from an image does; every other event is the same
// but for times a microsecond later), and for lxd-cluster and
// lxd-catalogue-tour once more since, by h15lxd, because cluster-member
// operations ("Joining cluster") belong to no project, as LXD creates them
// (OperationCreate(s, "", …) and the recorded 5.0.2 evacuation); a change
// here must say which fact moved the bytes. Compressed output is compared
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
		{"demo", []string{"--scenario", "demo", "--count", "3000"}, "", "3bcc966674cb8b391d696ab8f9851a9f058e16ba96bf262914173d144068fe4f"},
		{"demo linode", []string{"--scenario", "demo", "--api", "linode", "--count", "3000"}, "", "f106b972b90e1165ca026744f88cc6e766588b2af2c0131b52dbcb7667390311"},
		{"linode-catalogue-tour", []string{"--scenario", "linode-catalogue-tour", "--count", "3000"}, "", "0bd5e5e9f782c54ff43644ab87901c8c63361522696278dd8a002b5eae72d42b"},
		{"linode-failures", []string{"--scenario", "linode-failures", "--count", "3000"}, "", "5fd906a02b6941273004de8dd92d01546c2d480e947b363ebbd97435ecd76bc6"},
		{"linode-provisioning", []string{"--scenario", "linode-provisioning", "--count", "3000"}, "", "92595851340e0fff026c52c456c69b6d1484a4da33e4d7ff1f2378060177c856"},
		{"lxd-catalogue-tour", []string{"--scenario", "lxd-catalogue-tour", "--count", "3000"}, "", "befcaae688febd96e834d3f1e7038989cd6609293809656fcbbc15897f19e2e5"},
		{"lxd-cluster", []string{"--scenario", "lxd-cluster", "--count", "3000"}, "", "0004da77a1dfe445af9e7da33ebeaaa4688d139817e5621d9f6c99e2ea8f26f4"},
		{"lxd-instance-lifecycle", []string{"--scenario", "lxd-instance-lifecycle", "--count", "3000"}, "", "580b26128f4b3d87fa16c2a1d433c63d3bafc9275db493efe4867a5111fb0e48"},
		{"lxd-projects", []string{"--scenario", "lxd-projects", "--count", "3000"}, "", "9d50d964cb2ca7b91aade539e73adf40859d67e6361bcaf4356dfd10d03886d8"},
		{"lxd-steady 3000", []string{"--scenario", "lxd-steady", "--count", "3000"}, "", "cb4cc588acc4fca39d45cecb7e43e06a26590bb58bc0e611479b4cb429612153"},
		{"lxd-steady 20000", []string{"--scenario", "lxd-steady", "--count", "20000"}, "", "40dec91f60f985ffebf1492aa5922c4ac7477d98e36402ec267215ffd537a8a7"},
		{"lxd-steady incus seed 7", []string{"--scenario", "lxd-steady", "--count", "8000", "--seed", "7", "--flavor", "incus"}, "", "c85c11069f10c4ab4cfcec5c5816fe9812a2208bb805ec6d59fecfc19c094a0e"},
		{"lxd-steady lxd-6", []string{"--scenario", "lxd-steady", "--count", "8000", "--flavor", "lxd-6"}, "", "38288b0055654046c2f7547808f14df638f156347f3cf6c311580719583a3867"},
		{"lxd-steady --shards 3", []string{"--scenario", "lxd-steady", "--count", "15000", "--shards", "3"}, "", "3005036a29588f68609569e3abd2ebc87997fd55176b012f41ad4def97fc1bec"},
		{"lxd-steady --shard 1/3", []string{"--scenario", "lxd-steady", "--count", "15000", "--shard", "1/3"}, "", "cac8160bcdd5e2b7a72af2ec8d319bc5f2e3013dfbbec30cbef4a1b05a748153"},
		{"lxd-steady --duration --shards 2", []string{"--scenario", "lxd-steady", "--duration", "8s", "--shards", "2"}, "", "ca9e4e51650cf35e2e067e58b59fe4c8c33e788587fc4d0529d9cc355f0abe3e"},
		{"lxd-steady json", []string{"--scenario", "lxd-steady", "--count", "3000", "--format", "json"}, "", "0001270e399730b61bf60d8a681f36278d7b50bc3e7a1e764a929d62c95b7834"},
		{"lxd-steady yaml", []string{"--scenario", "lxd-steady", "--count", "2000", "--format", "yaml"}, "", "4da5a8c284fc980590938bb4665cce45fbb122632ad5d09cb2b329664c518cfa"},
		{"linode-provisioning yaml", []string{"--scenario", "linode-provisioning", "--count", "1000", "--format", "yaml"}, "", "37afaf9541151f75ffce8369a3e691270c0a792a7ae8835d1ca217c4737ff891"},
		{"lxd-steady zstd", []string{"--scenario", "lxd-steady", "--count", "5000", "--compress", "zstd"}, "", "3e209a390ac801523168b7c44ccbcbef9932f11de965e56dd0e0a4666d61a705"},
		{"lxd-steady gzip", []string{"--scenario", "lxd-steady", "--count", "5000", "--compress", "gzip"}, "", "dd2910582b1971178f5ca988bbff1d12f4e19900c82f00e848c97272a5ec5423"},
		{"lxd-steady parquet", []string{"--scenario", "lxd-steady", "--count", "5000", "--format", "parquet"}, "steady.parquet", "79cb0a525bb5f3d73ce3595513638ec9727366adc46263c3f36c5861fa124fca"},
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
