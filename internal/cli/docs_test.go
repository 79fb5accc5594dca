package cli_test

// The documentation's examples are tests. Every `eventsim ...` command in a
// ```sh block of README.md and docs/*.md is parsed by the real command
// tree, so a renamed or removed flag fails here rather than in a reader's
// shell. A block marked with an HTML comment on the line before it,
//
//	<!-- doctest: run -->         every command must exit 0
//	<!-- doctest: run follow -->  the same, but the last one streams: it
//	                              must print a line, then it is stopped
//
// is run with bash, the freshly built eventsim first on PATH. A command
// ending in & runs in the background for the rest of the block; an
// `eventsim serve` so started is waited for through its --ready-file.
// Paths under /tmp/ and loopback ports are rewritten to private ones, so
// tests can run beside each other and beside a reader's own server.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventsim/eventsim/internal/cli"
)

// docBlock is one ```sh block of a document.
type docBlock struct {
	file   string
	line   int    // of the opening fence
	marker string // the doctest comment's words: "run", "run follow"; "" unmarked
	text   string
	goCode bool // a ```go block; the others are shell
}

var doctestRE = regexp.MustCompile(`^<!--\s*doctest:\s*(.*?)\s*-->$`)

// docFiles are the documents whose examples are tested.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"../../README.md"}, files...)
}

// shellBlocks reads the ```sh and ```bash blocks of a Markdown file.
func shellBlocks(t *testing.T, file string) []docBlock {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []docBlock
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "```") {
			continue
		}
		lang := strings.Fields(strings.TrimPrefix(l, "```") + " ")
		start := i
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		if len(lang) == 0 || (lang[0] != "sh" && lang[0] != "bash" && lang[0] != "go") {
			continue
		}
		if lang[0] == "go" {
			lang[0] = "go:" // kept apart from shell blocks below
		}
		blk := docBlock{file: file, line: start + 1, text: strings.Join(body, "\n"), goCode: lang[0] == "go:"}
		if start > 0 {
			if m := doctestRE.FindStringSubmatch(strings.TrimSpace(lines[start-1])); m != nil {
				blk.marker = m[1]
			}
		}
		out = append(out, blk)
	}
	return out
}

// shellCommands turns a block into commands: continuation lines (ending in
// \, or indented under a command) joined, comments and blank lines dropped.
func shellCommands(text string) []string {
	var out []string
	cont := false
	for _, l := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(stripComment(l))
		if trimmed == "" {
			cont = false
			continue
		}
		indented := len(l) > 0 && (l[0] == ' ' || l[0] == '\t')
		if (cont || indented) && len(out) > 0 {
			out[len(out)-1] += " " + strings.TrimSuffix(trimmed, "\\")
		} else {
			out = append(out, strings.TrimSpace(strings.TrimSuffix(trimmed, "\\")))
		}
		cont = strings.HasSuffix(trimmed, "\\")
	}
	return out
}

// stripComment drops a # comment that starts a word outside quotes.
func stripComment(l string) string {
	var quote byte
	for i := 0; i < len(l); i++ {
		switch c := l[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '#' && (i == 0 || l[i-1] == ' ' || l[i-1] == '\t'):
			return l[:i]
		}
	}
	return l
}

// shellWords splits a command into words, honouring quotes and keeping
// $(...) whole; it is enough for the documentation's examples.
func shellWords(s string) []string {
	var (
		out   []string
		cur   strings.Builder
		quote byte
		depth int
		in    bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case depth > 0:
			cur.WriteByte(c)
			if c == '(' {
				depth++
			} else if c == ')' {
				depth--
			}
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == '$' && i+1 < len(s) && s[i+1] == '(':
			cur.WriteString("$(")
			i++
			depth, in = 1, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

var redirRE = regexp.MustCompile(`^[0-9]*(>>?|<)(&[0-9]+)?`)

// dropRedirections removes "> FILE", "2>FILE", "2>&1" and the like.
func dropRedirections(w []string) []string {
	out := w[:0:0]
	for i := 0; i < len(w); i++ {
		m := redirRE.FindString(w[i])
		switch {
		case m == "":
			out = append(out, w[i])
		case m == w[i] && !strings.Contains(m, "&"):
			i++ // the file is the next word
		}
	}
	return out
}

var envAssignRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// eventsimArgs returns the arguments of each eventsim invocation in a
// concrete command line (pipelines, && lists and & included).
func eventsimArgs(cmd string) [][]string {
	var out [][]string
	for _, seg := range regexp.MustCompile(`\s(?:\|\||&&|\||;|&)\s|\s&$|;$`).Split(cmd+" ", -1) {
		w := dropRedirections(shellWords(seg))
		for len(w) > 0 && envAssignRE.MatchString(w[0]) {
			w = w[1:]
		}
		switch {
		case len(w) >= 1 && w[0] == "eventsim":
			out = append(out, w[1:])
		case len(w) >= 3 && w[0] == "go" && w[1] == "run" && w[2] == "./cmd/eventsim":
			out = append(out, w[3:])
		}
	}
	return out
}

// synopsis tells a usage line ("eventsim serve [--seed N] ...") from a
// command to run.
func synopsis(cmd string) bool {
	return strings.ContainsAny(cmd, "[]") || strings.Contains(cmd, "...") ||
		regexp.MustCompile(`\S\|\S`).MatchString(cmd) || regexp.MustCompile(`\s\|\s+[a-z]+ [A-Z]`).MatchString(cmd)
}

func newRoot() *cobra.Command {
	root := cli.NewRootCmd(&cli.IO{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	// cobra adds these two when it executes; the docs show them.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	return root
}

// hasFlag reports whether c takes --name, its own or inherited.
func hasFlag(c *cobra.Command, name string) bool {
	return c.Flags().Lookup(name) != nil || c.InheritedFlags().Lookup(name) != nil
}

// checkCommand parses one documented eventsim command line against the
// real command tree: the command must exist and take every flag shown, and
// a concrete command must parse, values included.
func checkCommand(cmdLine string) error {
	if synopsis(cmdLine) {
		// A usage line is one command; its " | " are alternatives.
		w := shellWords(cmdLine)
		for len(w) > 0 && envAssignRE.MatchString(w[0]) {
			w = w[1:]
		}
		if len(w) == 0 || w[0] != "eventsim" {
			return nil
		}
		return checkSynopsis(w[1:])
	}
	for _, args := range eventsimArgs(cmdLine) {
		c, rest, err := newRoot().Find(args)
		if err != nil {
			return err
		}
		if c == c.Root() && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			return fmt.Errorf("no command %q", args[0])
		}
		if err := c.ParseFlags(rest); err != nil {
			return fmt.Errorf("%s: %w", c.CommandPath(), err)
		}
		if err := c.ValidateArgs(c.Flags().Args()); err != nil {
			return fmt.Errorf("%s: %w", c.CommandPath(), err)
		}
		if len(c.Commands()) > 0 && c.Runnable() && len(c.Flags().Args()) > 0 {
			return fmt.Errorf("%s has no subcommand %q", c.CommandPath(), c.Flags().Args()[0])
		}
	}
	return nil
}

var flagWordRE = regexp.MustCompile(`^\[?(--[a-z][a-z0-9-]*)`)

// checkSynopsis checks a usage line: its leading words name a command (with
// a|b naming alternatives, each of which must exist), every --flag shown is
// a flag of the command (of one of the alternatives), and each word after a
// " | " that names a command is a sibling.
func checkSynopsis(args []string) error {
	root := newRoot()
	cmds := []*cobra.Command{root}
	i := 0
	for ; i < len(args); i++ {
		var next []*cobra.Command
		for _, alt := range strings.Split(args[i], "|") {
			for _, c := range cmds {
				for _, sub := range c.Commands() {
					if sub.Name() == alt {
						next = append(next, sub)
					}
				}
			}
		}
		if len(next) == 0 {
			break
		}
		if len(next) != len(strings.Split(args[i], "|")) {
			return fmt.Errorf("%q: not every alternative is a command", args[i])
		}
		cmds = next
	}
	if cmds[0] == root {
		return fmt.Errorf("no command %q", strings.Join(args, " "))
	}
	afterBar := false
	for _, w := range args[i:] {
		if w == "|" {
			afterBar = true
			continue
		}
		if afterBar && regexp.MustCompile(`^[a-z]+$`).MatchString(w) {
			found := false
			for _, sib := range cmds[0].Parent().Commands() {
				found = found || sib.Name() == w
			}
			if !found {
				return fmt.Errorf("%s has no subcommand %q", cmds[0].Parent().CommandPath(), w)
			}
		}
		afterBar = false
		for _, part := range strings.Split(w, "|") {
			m := flagWordRE.FindStringSubmatch(part)
			if m == nil {
				continue
			}
			name := strings.TrimPrefix(m[1], "--")
			ok := false
			for _, c := range cmds {
				ok = ok || hasFlag(c, name)
			}
			if !ok {
				return fmt.Errorf("%s has no flag --%s", cmds[0].CommandPath(), name)
			}
		}
	}
	return nil
}

// TestDocsCommandsParse: every eventsim command in the documentation
// exists and takes the flags and values it is shown with.
func TestDocsCommandsParse(t *testing.T) {
	n := 0
	for _, file := range docFiles(t) {
		for _, blk := range shellBlocks(t, file) {
			if blk.goCode {
				continue
			}
			for _, c := range shellCommands(blk.text) {
				if len(eventsimArgs(c)) == 0 {
					continue
				}
				n++
				if err := checkCommand(c); err != nil {
					t.Errorf("%s:%d: %s\n\t%v", filepath.Base(file), blk.line, c, err)
				}
			}
		}
	}
	if n < 15 {
		t.Errorf("only %d eventsim commands found in the docs; the extraction is broken", n)
	}
}

// TestDocsCheckerCatchesStaleExamples holds the checker to what it is for:
// it refuses what the command tree refuses.
func TestDocsCheckerCatchesStaleExamples(t *testing.T) {
	for _, tt := range []struct {
		line string
		ok   bool
	}{
		{"eventsim serve --lxd-socket /tmp/lxd/unix.socket &", true},
		{"LINODE_TOKEN=T eventsim conform linode --target http://127.0.0.1:8080/v4 --mutate", true},
		{"eventsim generate --scenario lxd-steady --count 100000 | eventsim validate --kind lxd -", true},
		{"go run ./cmd/eventsim serve          # the main job", true},
		{"eventsim serve [--scenario NAME|FILE] [--seed N] [--speed X] [--loop]", true},
		{"eventsim conform lxd|linode --target T [--report text|json|junit]", true},
		{"eventsim scenarios list | show NAME | validate FILE...", true},
		{"eventsim serve --port 8443", false},
		{"eventsim serve --speed fast", false},
		{"eventsim generate --count lots", false},
		{"eventsim generate --scenario demo | eventsim validate --knd lxd -", false},
		{"eventsim frobnicate", false},
		{"eventsim conform lxd|windows --target T", false},
		{"eventsim serve [--scenario NAME] [--colour]", false},
		{"eventsim scenarios list | show NAME | explode FILE...", false},
		{"eventsim version extra", false},
		{"eventsim serve --log-format json 2> /tmp/serve.log &", true},
		{"eventsim completion bash > /tmp/eventsim.bash", true},
		{"eventsim completion tcsh", false},
	} {
		err := checkCommand(stripComment(tt.line))
		if (err == nil) != tt.ok {
			t.Errorf("%q: %v, want ok=%v", tt.line, err, tt.ok)
		}
	}
}

var (
	tmpPathRE  = regexp.MustCompile(`/tmp/`)
	loopPortRE = regexp.MustCompile(`127\.0\.0\.1:([1-9][0-9]*)`)
)

// freePort returns a loopback port nobody listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// TestDocsExamplesRun runs every block marked <!-- doctest: run -->.
func TestDocsExamplesRun(t *testing.T) {
	bin := eventsimBin(t)
	var blocks []docBlock
	for _, file := range docFiles(t) {
		for _, blk := range shellBlocks(t, file) {
			if !blk.goCode && strings.HasPrefix(blk.marker, "run") {
				blocks = append(blocks, blk)
			}
		}
	}
	if len(blocks) < 4 {
		t.Fatalf("only %d runnable blocks in the docs", len(blocks))
	}
	for _, blk := range blocks {
		t.Run(fmt.Sprintf("%s:%d", filepath.Base(blk.file), blk.line), func(t *testing.T) {
			t.Parallel()
			runBlock(t, bin, blk)
		})
	}
}

func runBlock(t *testing.T, bin string, blk docBlock) {
	dir := shortDir(t)
	text := tmpPathRE.ReplaceAllString(blk.text, dir+"/")
	ports := map[string]string{}
	text = loopPortRE.ReplaceAllStringFunc(text, func(m string) string {
		p := strings.TrimPrefix(m, "127.0.0.1:")
		if ports[p] == "" {
			ports[p] = freePort(t)
		}
		return "127.0.0.1:" + ports[p]
	})
	env := append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"), "TMPDIR="+dir)
	cmds := shellCommands(text)
	follow := strings.Contains(blk.marker, "follow")
	// Commands in the foreground between background ones run as one
	// script, so that what one defines (a variable, a function) the next
	// can use, as in a reader's shell.
	var batch []string
	flush := func() {
		if len(batch) == 0 {
			return
		}
		where := fmt.Sprintf("%s:%d: %s", filepath.Base(blk.file), blk.line, strings.Join(batch, "\n\t"))
		ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-c", "set -eo pipefail\n"+strings.Join(batch, "\n"))
		cmd.Env, cmd.Dir = env, dir
		batch = nil
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s\n%v\n%s", where, err, out)
		}
	}
	for i, c := range cmds {
		where := fmt.Sprintf("%s:%d: %s", filepath.Base(blk.file), blk.line, c)
		if bg, ok := strings.CutSuffix(c, "&"); ok {
			flush()
			bg = strings.TrimSpace(bg)
			ready := ""
			if strings.HasPrefix(bg, "eventsim serve") {
				if m := regexp.MustCompile(`--ready-file[ =](\S+)`).FindStringSubmatch(bg); m != nil {
					ready = m[1] // the example's own
				} else {
					ready = filepath.Join(dir, fmt.Sprintf("ready-%d.json", i))
					bg += " --ready-file " + ready
				}
			}
			startBackground(t, where, bg, env, ready)
			continue
		}
		if follow && i == len(cmds)-1 {
			flush()
			runFollow(t, where, c, env)
			continue
		}
		batch = append(batch, c)
	}
	flush()
}

// startBackground runs a command for the rest of the test, waiting for its
// ready file when it has one.
func startBackground(t *testing.T, where, c string, env []string, ready string) {
	t.Helper()
	cmd := exec.Command("bash", "-c", c)
	cmd.Env = env
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	if ready == "" {
		return
	}
	deadline := time.After(20 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			return
		}
		select {
		case <-exited:
			t.Fatalf("%s: ended before it was ready:\n%s", where, out.String())
		case <-deadline:
			t.Fatalf("%s: not ready in 20s:\n%s", where, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// runFollow runs a command that streams until stopped: it must print a
// line within 20 s.
func runFollow(t *testing.T, where, c string, env []string) {
	t.Helper()
	cmd := exec.Command("bash", "-c", c)
	cmd.Env = env
	var errOut lockedBuffer
	cmd.Stderr = &errOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}()
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
	}()
	select {
	case l, ok := <-line:
		if !ok {
			t.Fatalf("%s: ended without output:\n%s", where, errOut.String())
		}
		t.Logf("%s: first line %s", where, l)
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no output in 20s:\n%s", where, errOut.String())
	}
}

// TestDocsGoExcerpts: a ```go block marked <!-- doctest: go FILE --> is an
// excerpt of a runnable example: each of its code lines appears in FILE, in
// order (comment lines may differ), so the snippet stays what go test runs.
func TestDocsGoExcerpts(t *testing.T) {
	n := 0
	for _, file := range docFiles(t) {
		for _, blk := range shellBlocks(t, file) {
			src, ok := strings.CutPrefix(blk.marker, "go ")
			if !blk.goCode || !ok {
				continue
			}
			n++
			b, err := os.ReadFile(src)
			if err != nil {
				t.Errorf("%s:%d: %v", filepath.Base(file), blk.line, err)
				continue
			}
			have := strings.Split(string(b), "\n")
			at := 0
			for _, l := range strings.Split(blk.text, "\n") {
				l = strings.TrimSpace(l)
				if l == "" || strings.HasPrefix(l, "//") {
					continue
				}
				found := false
				for ; at < len(have); at++ {
					if strings.TrimSpace(have[at]) == l {
						found = true
						break
					}
				}
				if !found {
					t.Errorf("%s:%d: %q is not in %s (after the lines before it)", filepath.Base(file), blk.line, l, src)
					break
				}
			}
		}
	}
	if n == 0 {
		t.Error("no Go excerpt checked")
	}
}

// TestREADMEFirstScreen: the quick start is two commands, the main job and
// the tests, and the test command is what CI runs; the first screen says
// how to install, run, point lxc at it and test.
func TestREADMEFirstScreen(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	blocks := shellBlocks(t, "../../README.md")
	quick := shellCommands(blocks[0].text)
	if len(quick) != 2 || !strings.HasPrefix(quick[0], "go run ./cmd/eventsim serve") || quick[1] != "bash .ci/run" {
		t.Errorf("quick start %q, want go run ./cmd/eventsim serve and bash .ci/run", quick)
	}
	if err := checkCommand(quick[0]); err != nil {
		t.Errorf("quick start: %v", err)
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	ciLines := strings.Split(strings.TrimSpace(string(ci)), "\n")
	if last := ciLines[len(ciLines)-1]; last != "make test" {
		t.Errorf(".ci/run ends with %q, the README says it runs make test", last)
	}
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	target := regexp.MustCompile(`(?m)^test:\n((?:\t.*\n)+)`).FindStringSubmatch(string(mk))
	if target == nil {
		t.Fatal("no test target in the Makefile")
	}
	for _, l := range strings.Split(strings.TrimSpace(target[1]), "\n") {
		// As make runs it: $(GO) is go, $$ is $.
		cmd := strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(l), "$(GO)", "go"), "$$", "$")
		if !strings.Contains(readme, "`"+cmd+"`") {
			t.Errorf("make test runs %q; the README does not say so", cmd)
		}
	}
	// The first screen: about 60 lines hold install, run, lxc and test.
	first := strings.Join(strings.SplitN(readme, "\n", 60)[:59], "\n")
	for _, want := range []string{"go install ./cmd/eventsim", "make build", "bin/eventsim", "eventsim serve", "LXD_SOCKET=", "lxc monitor", "bash .ci/run"} {
		if !strings.Contains(first, want) {
			t.Errorf("the README's first 60 lines lack %q", want)
		}
	}
}

// TestLicense: the project is Apache-2.0, as LXD is, and says so.
func TestLicense(t *testing.T) {
	b, err := os.ReadFile("../../LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	l := string(b)
	for _, want := range []string{"Apache License", "Version 2.0, January 2004", "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION", "END OF TERMS AND CONDITIONS"} {
		if !strings.Contains(l, want) {
			t.Errorf("LICENSE lacks %q", want)
		}
	}
	if len(l) < 11000 {
		t.Errorf("LICENSE is %d bytes; the Apache-2.0 text is about 11,350", len(l))
	}
	readme, _ := os.ReadFile("../../README.md")
	if !strings.Contains(string(readme), "Apache-2.0 licensed ([LICENSE](LICENSE))") {
		t.Error("the README does not name the license")
	}
}

// TestHelpExamplesParse: the examples `--help` shows parse too.
func TestHelpExamplesParse(t *testing.T) {
	n := 0
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		var ex []string // cobra indents examples; each line is a command
		for _, l := range strings.Split(c.Example, "\n") {
			ex = append(ex, strings.TrimSpace(l))
		}
		for _, cmd := range shellCommands(strings.Join(ex, "\n")) {
			if len(eventsimArgs(cmd)) == 0 {
				continue
			}
			n++
			if err := checkCommand(cmd); err != nil {
				t.Errorf("%s --help: %s\n\t%v", c.CommandPath(), cmd, err)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot())
	if n < 10 {
		t.Errorf("only %d examples in --help", n)
	}
}
