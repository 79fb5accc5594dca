package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstallAsTheREADMESays runs the README's install block in a fresh
// clone of this repository, as a new user would, and checks that the
// binaries it makes say which commit they were built from.
func TestInstallAsTheREADMESays(t *testing.T) {
	var install []string
	for _, blk := range shellBlocks(t, "../../README.md") {
		if strings.Contains(blk.text, "go install ./cmd/eventsim") {
			install = shellCommands(blk.text)
			break
		}
	}
	if strings.Join(install, "\n") != "go install ./cmd/eventsim\nmake build" {
		t.Fatalf("the README's install block is %q, want go install ./cmd/eventsim and make build", install)
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not in a git checkout, so there is no commit to expect: %v", err)
	}
	dir := t.TempDir()
	// In a checkout go can stamp (a .git directory), the README's commands
	// run in place, as a user runs them, and reuse the build cache. go does
	// not stamp in a git worktree (.git is a file there): use a clone.
	src := strings.TrimSpace(string(top))
	if fi, err := os.Stat(filepath.Join(src, ".git")); err != nil || !fi.IsDir() {
		src = filepath.Join(dir, "eventsim")
		if out, err := exec.Command("git", "clone", "-q", strings.TrimSpace(string(top)), src).CombinedOutput(); err != nil {
			t.Fatalf("git clone: %v\n%s", err, out)
		}
	}
	clone := src
	rev, err := exec.Command("git", "-C", clone, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	status, err := exec.Command("git", "-C", clone, "status", "--porcelain").Output()
	if err != nil {
		t.Fatal(err)
	}
	modified := len(status) > 0
	gobin := filepath.Join(dir, "gobin")
	// A fresh machine's go stamps the VCS revision (-buildvcs=auto); say so
	// in case this machine's go env turns it off.
	env := append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-buildvcs=auto")
	for _, c := range install {
		cmd := exec.CommandContext(t.Context(), "bash", "-c", c)
		cmd.Dir, cmd.Env = clone, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", c, err, out)
		}
	}
	for _, bin := range []string{filepath.Join(gobin, "eventsim"), filepath.Join(clone, "bin", "eventsim")} {
		out, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil {
			t.Fatalf("%s version: %v\n%s", bin, err, out)
		}
		v := string(out)
		if !strings.Contains(v, "\nrevision "+strings.TrimSpace(string(rev))) || strings.Contains(v, "(modified)") != modified || !strings.HasPrefix(v, "eventsim v") {
			t.Errorf("%s version:\n%s\nwant the pseudo-version and revision %s, modified %v", bin, v, rev, modified)
		}
	}
}
