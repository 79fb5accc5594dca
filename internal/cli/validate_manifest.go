package cli

import (
	"fmt"

	"github.com/eventsim/eventsim/dataset"
)

// validateManifestRun checks a dataset assembled from shards against its
// manifests: each shard listed and intact, nothing extra; then the events
// of the files holding the intact shards.
func validateManifestRun(opts *ValidateOptions) error {
	var files []dataset.ManifestFile
	for _, p := range opts.Manifests {
		m, err := dataset.ReadManifest(p)
		if err != nil {
			return &UsageError{Err: err}
		}
		files = append(files, dataset.ManifestFile{Path: p, Manifest: m})
	}
	m, intact, problems, err := dataset.CheckManifests(files)
	if err != nil {
		return &UsageError{Err: err}
	}
	for _, p := range problems {
		fmt.Fprintf(opts.IO.Out, "manifest: %s\n", p)
	}
	fmt.Fprintf(opts.IO.Err, "%d of %d shards intact, %d problems\n", len(intact), m.ShardCount, len(problems))

	// The events themselves: validate reads NDJSON and JSON, compressed
	// or not; Parquet and YAML shards are checked by their hashes alone.
	var total, bad int
	if m.Format == "ndjson" || m.Format == "json" {
		var paths []string
		seen := map[string]bool{}
		for _, loc := range intact {
			if !seen[loc.Path] {
				seen[loc.Path] = true
				paths = append(paths, loc.Path)
			}
		}
		total, bad, err = validateFiles(opts, m.API, paths)
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.Err, "%d records checked, %d invalid\n", total, bad)
	}
	if len(problems) > 0 || bad > 0 {
		return ErrFailed
	}
	return nil
}
