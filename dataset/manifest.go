package dataset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Manifest describes a dataset written as shards, possibly on many
// machines: what made it and, for every shard, where it is and what it
// holds. Manifests of some shards each (one per machine) merge into the
// manifest of the dataset.
type Manifest struct {
	Dataset
	// Shards lists the shards this manifest knows, in shard order.
	Shards []Shard `json:"shards"`
}

// Dataset is what every manifest of one dataset says alike.
type Dataset struct {
	// EventsimVersion is the version of eventsim that wrote the shards.
	EventsimVersion string `json:"eventsim_version"`
	Scenario        string `json:"scenario"`
	Seed            int64  `json:"seed"`
	Flavor          string `json:"flavor"`
	API             string `json:"api"`
	Format          string `json:"format"`
	Compression     string `json:"compression"`
	// Count or Duration is what the whole dataset was asked for.
	Count    int64  `json:"count,omitempty"`
	Duration string `json:"duration,omitempty"`
	// ShardCount is how many shards the dataset has.
	ShardCount int `json:"shard_count"`
}

// WriteManifest writes m as indented JSON to path.
func WriteManifest(path string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadManifest reads a manifest file.
func ReadManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", path, err)
	}
	if m.ShardCount < 1 {
		return nil, fmt.Errorf("read manifest %s: shard_count %d, must be 1 or more", path, m.ShardCount)
	}
	for _, sh := range m.Shards {
		if sh.Index < 0 || sh.Index >= m.ShardCount {
			return nil, fmt.Errorf("read manifest %s: shard index %d, must be 0 to %d", path, sh.Index, m.ShardCount-1)
		}
		if sh.File == "" || filepath.IsAbs(sh.File) || strings.Contains(filepath.ToSlash(sh.File), "/") {
			return nil, fmt.Errorf("read manifest %s: shard %d: file %q, must be a file name beside the manifest", path, sh.Index, sh.File)
		}
	}
	return &m, nil
}

// ManifestFile is a manifest read from a file, with the folder its shards'
// files are in.
type ManifestFile struct {
	Path string
	*Manifest
}

// Problem is one thing wrong with an assembled dataset.
type Problem struct {
	// Shard is the shard it is about, -1 for none.
	Shard int
	Msg   string
}

func (p Problem) String() string {
	if p.Shard < 0 {
		return p.Msg
	}
	return fmt.Sprintf("shard %d: %s", p.Shard, p.Msg)
}

// Located is a shard with the path of its file.
type Located struct {
	Shard
	Path string
}

// CheckManifests merges manifests of one dataset and checks the files they
// name: every shard is listed and there, with the size and SHA-256 listed,
// and no shard file of the dataset is there that no manifest lists. It
// returns the merged manifest, the shards found intact in shard order, and
// the problems, each naming its shard or file; err is for manifests that
// cannot be merged.
func CheckManifests(files []ManifestFile) (*Manifest, []Located, []Problem, error) {
	if len(files) == 0 {
		return nil, nil, nil, errors.New("no manifest")
	}
	merged := Manifest{Dataset: files[0].Dataset}
	byIndex := map[int]Located{}
	var problems []Problem
	for _, f := range files {
		if f.Dataset != merged.Dataset {
			return nil, nil, nil, fmt.Errorf("manifest %s describes another dataset than %s: %s", f.Path, files[0].Path, describeDiff(merged.Dataset, f.Dataset))
		}
		dir := filepath.Dir(f.Path)
		for _, sh := range f.Shards {
			loc := Located{Shard: sh, Path: filepath.Join(dir, sh.File)}
			if prev, ok := byIndex[sh.Index]; ok && !sameShard(prev.Shard, sh) {
				problems = append(problems, Problem{sh.Index, fmt.Sprintf("listed twice, differently (%s and %s)", prev.Path, loc.Path)})
				continue
			}
			byIndex[sh.Index] = loc
		}
	}
	var intact []Located
	ends := map[string]int64{} // file: where its last listed shard ends
	for i := range merged.ShardCount {
		loc, ok := byIndex[i]
		if !ok {
			problems = append(problems, Problem{i, fmt.Sprintf("missing: no manifest lists shard %d of %d", i, merged.ShardCount)})
			continue
		}
		merged.Shards = append(merged.Shards, loc.Shard)
		ends[loc.Path] = max(ends[loc.Path], loc.Offset+loc.Bytes)
		if p := checkShard(loc); p != "" {
			problems = append(problems, Problem{i, p})
			continue
		}
		intact = append(intact, loc)
	}
	problems = append(problems, extras(files, byIndex, ends)...)
	return &merged, intact, problems, nil
}

func sameShard(a, b Shard) bool {
	a.First, a.Last, b.First, b.Last = nil, nil, nil, nil
	return a == b
}

func describeDiff(a, b Dataset) string {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return fmt.Sprintf("%s, not %s", jb, ja)
}

// checkShard says what is wrong with a shard's bytes, or "".
func checkShard(loc Located) string {
	f, err := os.Open(loc.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Sprintf("missing: file %s does not exist", loc.Path)
	}
	if err != nil {
		return fmt.Sprintf("cannot be read: %v", err)
	}
	defer f.Close()
	if _, err := f.Seek(loc.Offset, io.SeekStart); err != nil {
		return fmt.Sprintf("cannot be read: %v", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, loc.Bytes))
	if err != nil {
		return fmt.Sprintf("cannot be read: %v", err)
	}
	if n != loc.Bytes {
		return fmt.Sprintf("changed: %s holds %d bytes from offset %d, the manifest lists %d", loc.Path, n, loc.Offset, loc.Bytes)
	}
	if got := hex.EncodeToString(h.Sum(nil)); loc.SHA256 != "" && got != loc.SHA256 {
		return fmt.Sprintf("changed: %s has SHA-256 %s, the manifest lists %s", loc.Path, got, loc.SHA256)
	}
	return ""
}

var shardName = regexp.MustCompile(`^(.*)-(\d{5,})-of-(\d{5,})(\..*)?$`)

// extras finds what the dataset has beyond its shards: bytes after the
// last shard of a file, and shard files beside a manifest (named as
// ShardFile names them, for the same dataset name) that no manifest lists.
func extras(files []ManifestFile, listed map[int]Located, ends map[string]int64) []Problem {
	var problems []Problem
	paths := make([]string, 0, len(ends))
	for p := range ends {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Size() > ends[p] {
			problems = append(problems, Problem{-1, fmt.Sprintf("extra: %s has %d bytes after its last shard", p, fi.Size()-ends[p])})
		}
	}
	known := map[string]bool{}
	stems := map[string]bool{} // dir + dataset name + extension
	for _, loc := range listed {
		known[loc.Path] = true
		if m := shardName.FindStringSubmatch(filepath.Base(loc.Path)); m != nil {
			stems[filepath.Join(filepath.Dir(loc.Path), m[1])+"\x00"+m[4]] = true
		}
	}
	dirs := map[string]bool{}
	for _, f := range files {
		dirs[filepath.Dir(f.Path)] = true
	}
	var found []string
	for dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			m := shardName.FindStringSubmatch(e.Name())
			p := filepath.Join(dir, e.Name())
			if m == nil || known[p] || !stems[filepath.Join(dir, m[1])+"\x00"+m[4]] {
				continue
			}
			found = append(found, p)
		}
	}
	sort.Strings(found)
	for _, p := range found {
		problems = append(problems, Problem{-1, fmt.Sprintf("extra: %s is a shard file that no manifest lists", p)})
	}
	return problems
}
