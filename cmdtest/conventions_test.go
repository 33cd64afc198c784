package cmdtest

// The conventions every program keeps (README, "Conventions"): help on
// stdout, --version, -q, the table format by the output's name, folder
// flags that refuse file names, one meaning per flag name, and exit
// status 130 on Ctrl-C with nothing half-written.

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/table"
)

// commands are the programs and merge's commands, by the name their
// help and version give, with the folder of their doc.go.
var commands = []struct{ name, dir string }{
	{"facet-prep", "prep"},
	{"facet-crop", "crop"},
	{"facet-split", "split"},
	{"facet-augment", "augment"},
	{"facet-train", "train"},
	{"facet-infer", "infer"},
	{"facet-demodata", "demodata"},
	{"facet-merge", "merge"},
	{"facet-merge vote", "merge"},
	{"facet-merge join", "merge"},
	{"facet-merge suspects", "merge"},
	{"facet-merge score", "merge"},
}

// run runs a program (its name and arguments as words) in dir, without
// a shell, with stdin empty.
func run(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	name, rest, _ := strings.Cut(args[0], " ")
	if rest != "" {
		args = append([]string{name, rest}, args[1:]...)
	}
	cmd := exec.Command(filepath.Join(bin, args[0]), args[1:]...)
	cmd.Dir = dir
	out, errs, code := runCmd(t, cmd)
	return string(out), errs, code
}

// docText is the help text of a command in its doc.go.
func docText(t *testing.T, name, dir string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", dir, "doc.go"))
	if err != nil {
		t.Fatal(err)
	}
	text, err := cli.Help(string(doc), name)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// flagBlock matches the flag list a help puts into its doc text.
var flagBlock = regexp.MustCompile(`(?s)\nFlags:\n\n.*?\n\n`)

// helpFlags are the flags a help lists, by long name, with their
// shorthands ("" for none).
func helpFlags(help string) map[string]string {
	flags := map[string]string{}
	m := flagBlock.FindString(help + "\n")
	for _, line := range strings.Split(m, "\n") {
		if f := regexp.MustCompile(`^\s+(?:-(\w), )?--([\w-]+)`).FindStringSubmatch(line); f != nil {
			flags[f[2]] = f[1]
		}
	}
	return flags
}

// --help and -h print the program's doc.go text (with the flags) on
// stdout and exit 0; a bad flag still gives a short usage error on
// stderr, exit 2.
func TestHelpOnStdout(t *testing.T) {
	for _, c := range commands {
		want := docText(t, c.name, c.dir)
		for _, arg := range []string{"--help", "-h"} {
			stdout, stderr, code := run(t, t.TempDir(), c.name, arg)
			if code != 0 || stderr != "" {
				t.Errorf("%s %s: exit %d, stderr %q", c.name, arg, code, stderr)
			}
			if got := flagBlock.ReplaceAllString(stdout, "\n"); got != want && got != want+"\n" {
				t.Errorf("%s %s does not print its doc.go: got\n%s\nwant\n%s", c.name, arg, got, want)
			}
			if c.name != "facet-merge" {
				flags := helpFlags(stdout)
				for _, f := range []string{"help", "quiet", "version"} {
					if _, ok := flags[f]; !ok {
						t.Errorf("%s %s lists no --%s:\n%s", c.name, arg, f, stdout)
					}
				}
			}
		}
		stdout, stderr, code := run(t, t.TempDir(), c.name, "--no-such-flag")
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") > 2 || !strings.Contains(stderr, "--help") {
			t.Errorf("%s --no-such-flag: exit %d, stdout %d bytes, stderr:\n%s", c.name, code, len(stdout), stderr)
		}
	}
}

// Every flag a program has is in its README section (or, for the flags
// many programs share, in the README's Conventions), and every --flag
// a help text names is a flag of some program.
func TestFlagsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := func(title string) string {
		_, after, ok := strings.Cut(string(readme), "\n"+title+"\n")
		if !ok {
			t.Fatalf("README has no section %q", title)
		}
		if i := strings.Index(after, "\n## "); i >= 0 {
			after = after[:i]
		}
		return after
	}
	conventions := section("## Conventions")
	all := map[string]bool{}
	helps := map[string]string{}
	for _, c := range commands {
		stdout, _, _ := run(t, t.TempDir(), c.name, "--help")
		helps[c.name] = stdout
		prog, _, _ := strings.Cut(c.name, " ")
		sec := section("## " + prog)
		for long, short := range helpFlags(stdout) {
			all[long] = true
			mentioned := func(text string) bool {
				return regexp.MustCompile(`--`+regexp.QuoteMeta(long)+`\b`).MatchString(text) ||
					(short != "" && regexp.MustCompile(`(^|[\s\x60(\[|])-`+short+`\b`).MatchString(text))
			}
			if !mentioned(sec) && !mentioned(conventions) {
				t.Errorf("%s --%s is in neither the README's %s section nor its Conventions", c.name, long, prog)
			}
		}
	}
	named := regexp.MustCompile(`(^|[\s(\[|,])--([a-z][\w-]*)`)
	for _, c := range commands {
		for _, line := range strings.Split(docText(t, c.name, c.dir), "\n") {
			line, _, _ = strings.Cut(line, " -- ") // the arguments of a backend command
			for _, m := range named.FindAllStringSubmatch(line, -1) {
				if !all[m[2]] {
					t.Errorf("%s's doc.go names --%s, which no program has: %q", c.name, m[2], line)
				}
			}
		}
	}
}

// --version prints "facet-x VERSION (COMMIT[, modified])" from the build
// information on stdout and exits 0.
func TestVersion(t *testing.T) {
	head, _ := exec.Command("git", "rev-parse", "HEAD").Output()
	line := regexp.MustCompile(`^(facet-[a-z]+) (\S+) \((unknown commit|[0-9a-f]{40}(, modified)?)\)\n$`)
	for _, c := range commands {
		stdout, stderr, code := run(t, t.TempDir(), c.name, "--version")
		m := line.FindStringSubmatch(stdout)
		prog, _, _ := strings.Cut(c.name, " ")
		if code != 0 || stderr != "" || m == nil || m[1] != prog {
			t.Errorf("%s --version: exit %d, stdout %q, stderr %q", c.name, code, stdout, stderr)
			continue
		}
		info, _ := exec.Command("go", "version", "-m", filepath.Join(bin, prog)).Output()
		rev := regexp.MustCompile(`vcs\.revision=([0-9a-f]+)`).FindSubmatch(info)
		switch {
		case rev == nil && m[3] != "unknown commit":
			t.Errorf("%s --version names commit %s; the build has none", c.name, m[3])
		case rev != nil && !strings.HasPrefix(m[3], string(rev[1])):
			t.Errorf("%s --version names commit %s; the build has %s", c.name, m[3], rev[1])
		case rev != nil && len(head) > 0 && !strings.HasPrefix(string(head), string(rev[1])):
			t.Errorf("%s was built from %s, not HEAD %s", c.name, rev[1], head)
		}
	}
}

// step is one stage of a small run of the whole recipe.
type step struct {
	args  []string // {Q} is where -q goes
	talks bool     // writes a report or warnings without -q
}

// recipe runs every program once on the demo data: 4 persons, 2 eval
// persons, one epoch of a tiny network.
var recipe = []step{
	{[]string{"facet-demodata", "{Q}", "--out", "data", "--persons", "4", "--eval-persons", "2", "--aaf", "0", "--workers", "2"}, true},
	{[]string{"facet-prep", "{Q}", "-o", "train.arrow", "competition:data/train"}, true},
	{[]string{"facet-prep", "{Q}", "-o", "eval.arrow", "competition:data/eval"}, true},
	{[]string{"facet-crop", "{Q}", "--out", "crops", "--detectors", "center", "--size", "32", "--workers", "2", "-o", "cropped.arrow", "train.arrow"}, true},
	{[]string{"facet-split", "{Q}", "-k", "2", "--out", "folds", "-o", "split.arrow", "cropped.arrow"}, true},
	{[]string{"facet-augment", "{Q}", "--out", "aug", "--copies", "1", "--workers", "2", "-o", "aug.arrow", "split.arrow"}, true},
	{[]string{"facet-train", "{Q}", "--out", "run", "--folds", "folds", "--fold", "0", "--epochs", "1", "--size", "16", "--width", "4", "--batch", "8", "--workers", "2", "--ops", ""}, true},
	{[]string{"facet-infer", "{Q}", "--model", "run", "--workers", "2", "-o", "pred-a.arrow", "eval.arrow"}, true},
	{[]string{"facet-infer", "{Q}", "--model", "run", "--workers", "2", "--tta", "flip", "-o", "pred-b.arrow", "eval.arrow"}, true},
	{[]string{"facet-merge vote", "{Q}", "-o", "vote.arrow", "pred-a.arrow", "pred-b.arrow"}, true},
	{[]string{"facet-merge join", "{Q}", "-o", "joined.arrow", "train.arrow", "eval.arrow"}, true},
	{[]string{"facet-merge suspects", "{Q}", "-o", "suspects.csv", "run/oof.arrow"}, true},
	{[]string{"facet-merge score", "{Q}", "--json", "run/oof.arrow"}, false},
}

// -q leaves stderr empty on a successful run of every program (which
// without it reports, warns or shows its progress), and changes nothing
// else: the outputs are the same.
func TestQuiet(t *testing.T) {
	loud, quiet := t.TempDir(), t.TempDir()
	for _, s := range recipe {
		var outs [2]string
		for i, dir := range []string{loud, quiet} {
			args := slices.Clone(s.args)
			q := slices.Index(args, "{Q}")
			if dir == quiet {
				args[q] = "-q"
			} else {
				args = slices.Delete(args, q, q+1)
			}
			stdout, stderr, code := run(t, dir, args...)
			if code != 0 {
				t.Fatalf("%s: exit %d\n%s", args, code, stderr)
			}
			switch {
			case dir == quiet && stderr != "":
				t.Errorf("%s: stderr is not empty:\n%s", args, stderr)
			case dir == loud && s.talks && stderr == "":
				t.Errorf("%s: says nothing without -q: the quiet run shows nothing", args)
			}
			outs[i] = stdout
		}
		if outs[0] != outs[1] {
			t.Errorf("%s: stdout differs with -q:\n%s\n---\n%s", s.args, outs[0], outs[1])
		}
	}
	// facet-split's per-class warnings are warnings: -q silences them too.
	_, stderr, _ := run(t, loud, "facet-split", "-k", "3", "-o", "s.arrow", "cropped.arrow")
	if !strings.Contains(stderr, "facet-split: warning: class") {
		t.Fatalf("no class warning to silence:\n%s", stderr)
	}
	if _, stderr, code := run(t, loud, "facet-split", "-q", "-k", "3", "-o", "s.arrow", "cropped.arrow"); code != 0 || stderr != "" {
		t.Errorf("facet-split -q with thin classes: exit %d, stderr:\n%s", code, stderr)
	}
}

// demoTables writes the demo data's training photos (4 persons) in dir
// and their table, cropped: dir/cropped.arrow.
func demoTables(t *testing.T, dir string) {
	t.Helper()
	for _, args := range [][]string{
		{"facet-demodata", "--out", "data", "--persons", "4", "--eval-persons", "0", "--aaf", "0", "--workers", "2"},
		{"facet-prep", "-o", "train.arrow", "competition:data/train"},
		{"facet-crop", "--out", "crops", "--detectors", "center", "--size", "32", "--workers", "2", "-o", "cropped.arrow", "train.arrow"},
		{"facet-infer", "--model", modelDir(t), "--workers", "2", "-o", "pred.arrow", "cropped.arrow"},
	} {
		if _, stderr, code := run(t, dir, args...); code != 0 {
			t.Fatalf("%s: exit %d\n%s", args, code, stderr)
		}
	}
}

// -o NAME writes the format NAME says: .csv CSV, .parquet Parquet, .arrow
// an Arrow file, else an Arrow stream; a name of another kind of file is
// refused before any work.
func TestOutputFormatByName(t *testing.T) {
	dir := t.TempDir()
	demoTables(t, dir)
	writers := map[string][]string{
		"facet-prep":       {"competition:data/train"},
		"facet-crop":       {"--out", "crops2", "--detectors", "center", "--size", "32", "cropped.arrow"},
		"facet-split":      {"-k", "2", "cropped.arrow"},
		"facet-augment":    {"--out", "aug", "--copies", "1", "cropped.arrow"},
		"facet-infer":      {"--model", modelDir(t), "cropped.arrow"},
		"facet-merge vote": {"pred.arrow", "pred.arrow"},
		"facet-merge join": {"cropped.arrow"},
	}
	for prog, args := range writers {
		for _, f := range []struct {
			ext, magic string
		}{{".csv", "id,"}, {".parquet", "PAR1"}, {".arrow", "ARROW1"}, {".arrows", "\xff\xff\xff\xff"}} {
			out := "out" + f.ext
			_, stderr, code := run(t, dir, append([]string{prog, "-o", out}, args...)...)
			if code != 0 {
				t.Errorf("%s -o %s: exit %d\n%s", prog, out, code, stderr)
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, out))
			if err != nil || !strings.HasPrefix(string(data), f.magic) || (f.ext == ".parquet" && !strings.HasSuffix(string(data), "PAR1")) {
				t.Errorf("%s -o %s wrote %q...: want %q", prog, out, data[:min(8, len(data))], f.magic)
				continue
			}
			if f.ext != ".csv" {
				r, err := table.Open(filepath.Join(dir, out), nil)
				if err != nil {
					t.Errorf("%s -o %s: reading it back: %v", prog, out, err)
					continue
				}
				if _, err := table.ReadAll(r); err != nil || r.Rows() == 0 {
					t.Errorf("%s -o %s: read back %d rows, %v", prog, out, r.Rows(), err)
				}
				r.Release()
			}
		}
		for _, bad := range []string{"out.json", "out.png"} {
			_, stderr, code := run(t, dir, append([]string{prog, "-o", bad}, args...)...)
			checkFailure(t, prog+" -o "+bad, strings.Fields(prog)[0], code, 2, stderr, filepath.Join(dir, bad))
		}
		_, stderr, code := run(t, dir, append([]string{prog, "--csv", "-o", "out2.parquet"}, args...)...)
		checkFailure(t, prog+" --csv -o out2.parquet", strings.Fields(prog)[0], code, 2, stderr, filepath.Join(dir, "out2.parquet"))
	}
}

// A folder flag (--out DIR) refuses a name that is a file, or looks like
// one, and makes nothing.
func TestOutFolderRefusesFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "in.arrows"), sampleTable(t, 20, true), 0o644); err != nil {
		t.Fatal(err)
	}
	for prog, args := range map[string][]string{
		"facet-crop":     {"--detectors", "center", "in.arrows"},
		"facet-augment":  {"--copies", "1", "in.arrows"},
		"facet-split":    {"-k", "2", "-o", "split.arrow", "in.arrows"},
		"facet-train":    {"--train", "in.arrows", "--val", "in.arrows"},
		"facet-demodata": {"--persons", "1"},
	} {
		for _, out := range []string{"folds.arrow", "x.parquet", "faces.jpg", "table.csv", "notes"} {
			_, stderr, code := run(t, dir, append([]string{prog, "--out", out}, args...)...)
			checkFailure(t, prog+" --out "+out, prog, code, 2, stderr, "")
			if !strings.Contains(stderr, "not a folder") {
				t.Errorf("%s --out %s does not say it wants a folder:\n%s", prog, out, stderr)
			}
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 2 {
			t.Errorf("%s: the refusals left %d entries in the folder", prog, len(entries))
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "notes")); string(b) != "mine" {
			t.Errorf("%s --out notes changed the file", prog)
		}
	}
}

// The renamed flags (one meaning per name across programs) keep their
// old spelling for a release, with a warning.
func TestRenamedFlags(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.arrows"), sampleTable(t, 60, true), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args         []string
		warn, column string
	}{
		{[]string{"facet-split", "-q", "--folds", "3", "-o", "a.arrow", "in.arrows"}, "--folds is now -k/--num-folds", ""},
		{[]string{"facet-split", "-q", "--val", "0.2", "-o", "b.arrow", "in.arrows"}, "--val is now --val-share", ""},
	} {
		_, stderr, code := run(t, dir, tc.args...)
		if code != 0 || !strings.Contains(stderr, "facet-split: warning: "+tc.warn) {
			t.Errorf("%s: exit %d, stderr:\n%s", tc.args, code, stderr)
		}
	}
	// the same folds from the old and the new names
	run(t, dir, "facet-split", "-q", "--num-folds", "3", "--csv", "-o", "new.csv", "in.arrows")
	run(t, dir, "facet-split", "-q", "--folds", "3", "--csv", "-o", "old.csv", "in.arrows")
	a, _ := os.ReadFile(filepath.Join(dir, "new.csv"))
	b, _ := os.ReadFile(filepath.Join(dir, "old.csv"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("--folds 3 and --num-folds 3 split differently")
	}
	_, stderr, code := run(t, dir, "facet-train", "--heads", "single18", "--out", "run")
	if code != 2 || !strings.Contains(stderr, "--heads is now --head-layout") || strings.Contains(stderr, "unknown flag") {
		t.Errorf("facet-train --heads: exit %d, stderr:\n%s", code, stderr)
	}
	// --head-layout and facet-merge suspects --heads are two names now
	for _, c := range []struct{ prog, flag string }{{"facet-train", "head-layout"}, {"facet-merge suspects", "heads"}} {
		stdout, _, _ := run(t, dir, c.prog, "--help")
		if _, ok := helpFlags(stdout)[c.flag]; !ok {
			t.Errorf("%s has no --%s", c.prog, c.flag)
		}
	}
	stdout, _, _ := run(t, dir, "facet-train", "--help")
	if _, ok := helpFlags(stdout)["heads"]; ok {
		t.Error("facet-train --help still lists --heads")
	}
}

// bigPhoto writes a 2400x2400 JPEG (slow enough to decode that a run over
// many rows of it is still busy when interrupted) and a table of n rows
// of it, returning the table's path.
func bigPhoto(t *testing.T, dir string, n int) string {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 2400, 2400))
	for i := range img.Pix {
		img.Pix[i] = uint8(i*7 + i/2400*13)
	}
	photo := filepath.Join(dir, "big.jpg")
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(photo, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var ss []table.Sample
	for i := range n {
		s := table.NewSample(fmt.Sprintf("big/%05d", i), photo, fmt.Sprintf("p%d", i/2), "test", "train")
		s.Mask, s.Gender, s.AgeGroup = int8(i%3), int8(i/3%2), int8(i/6%3)
		s.Relabel()
		ss = append(ss, s)
	}
	path := filepath.Join(dir, "big.arrows")
	if err := os.WriteFile(path, hostileStream(t, ss), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "big.csv"), []byte(csvOf(ss)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func csvOf(ss []table.Sample) string {
	var b strings.Builder
	b.WriteString("id,path,person\n")
	for _, s := range ss {
		fmt.Fprintf(&b, "%s,%s,%s\n", strings.TrimPrefix(s.ID, "big/"), s.Path, s.Person)
	}
	return b.String()
}

// exists is a readiness test: a file matching the pattern in dir exists.
func exists(dir, pattern string) func() bool {
	return func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		return len(m) > 0
	}
}

// interrupt starts prog in dir with stdin a pipe it keeps open (after
// writing input), waits until ready says the program is at work, sends
// sig (times times, 200 ms apart) and returns the exit status, stderr and
// how long the program took to end.
func interrupt(t *testing.T, dir string, args []string, input []byte, ready func() bool, sig syscall.Signal, times int) (int, string, time.Duration) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, args[0]), args[1:]...)
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go stdin.Write(input)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for !ready() {
		select {
		case err := <-done:
			t.Fatalf("%s ended before it was interrupted (%v):\n%s", args, err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("%s never got to work:\n%s", args, stderr.String())
		}
	}
	// A signal before the program catches it would kill it outright (a
	// loaded machine can take longer to start a cgo program than ready
	// needs): wait until /proc says it catches sig.
	for !catches(cmd.Process.Pid, sig) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("%s never caught %v:\n%s", args, sig, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // at work, not at its first step
	select {
	case err := <-done:
		t.Fatalf("%s ended before it was interrupted (%v):\n%s", args, err, stderr.String())
	default:
	}
	sent := time.Now()
	cmd.Process.Signal(sig)
	for range times - 1 {
		time.Sleep(200 * time.Millisecond)
		cmd.Process.Signal(sig)
	}
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Errorf("%s: still running 10 s after %v", args, sig)
		return -1, stderr.String(), time.Since(sent)
	}
	took := time.Since(sent)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stderr.String(), took
	case errors.As(err, &ee):
		return ee.ExitCode(), stderr.String(), took
	}
	t.Fatal(err)
	return 0, "", 0
}

// catches reports whether process pid has a handler for sig (the SigCgt
// mask of /proc/PID/status); true where /proc cannot tell.
func catches(pid int, sig syscall.Signal) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return true
	}
	for _, line := range strings.Split(string(data), "\n") {
		if mask, ok := strings.CutPrefix(line, "SigCgt:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(mask), 16, 64)
			return err != nil || m&(1<<(uint(sig)-1)) != 0
		}
	}
	return true
}

// Ctrl-C (SIGINT) ends every program promptly with exit status 130 and
// nothing half-written: no output under its name, no temporary file;
// SIGTERM gives 143. Programs at work notice the cancelled context;
// programs blocked reading a pipe that sends nothing are ended after the
// grace period.
func TestInterrupt(t *testing.T) {
	dir := t.TempDir()
	big := bigPhoto(t, dir, 3000)
	model := modelDir(t)
	partial := sampleTable(t, 100, false) // no end marker: the reader waits for more
	small := filepath.Join(dir, "small.arrows")
	if err := os.WriteFile(small, sampleTable(t, 20, true), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := func(d string) func() bool { // a FIFO output nobody reads: open(2) waits
		if err := syscall.Mkfifo(filepath.Join(d, "out.fifo"), 0o644); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		return func() bool { return true }
	}
	now := func(string) func() bool { return func() bool { return true } }
	// How a program ends: by itself (its loops see the cancelled
	// context), by force after the grace period or at a second signal
	// (blocked where no context reaches: opening a FIFO for its
	// output), or either (blocked reading a pipe, which a reader that
	// watches the context may leave at once).
	const (
		itself = "itself"
		grace  = "grace"
		second = "second signal"
		either = "either"
	)
	type tc struct {
		name  string
		args  []string
		input []byte
		ready func(dir string) func() bool
		sig   syscall.Signal
		gone  []string // what must not exist afterwards
		ends  string
	}
	for _, c := range []tc{
		{"prep verifying", []string{"facet-prep", "--verify", "--workers", "1", "-o", "out.arrow", "csv:" + filepath.Join(dir, "big.csv")}, nil,
			func(d string) func() bool { return exists(d, ".out.arrow.*tmp*") }, syscall.SIGINT, []string{"out.arrow"}, itself},
		{"crop cropping", []string{"facet-crop", "--out", "crops", "--detectors", "center", "--workers", "2", "-o", "out.arrow", big}, nil,
			func(d string) func() bool { return exists(d, "crops/*/*") }, syscall.SIGINT, []string{"out.arrow"}, itself},
		{"augment augmenting", []string{"facet-augment", "--out", "aug", "--copies", "2", "--workers", "2", "-o", "out.arrow", big}, nil,
			func(d string) func() bool { return exists(d, "aug/*/*") }, syscall.SIGINT, []string{"out.arrow"}, itself},
		{"train loading", []string{"facet-train", "--out", "run", "--train", big, "--val", big, "--size", "16", "--width", "4", "--workers", "2"}, nil,
			func(d string) func() bool { return exists(d, "run") }, syscall.SIGINT, []string{"run/config.json", "run/best.safetensors", "run/oof.arrow"}, itself},
		{"infer predicting", []string{"facet-infer", "--model", model, "--workers", "2", "--chunk", "16", "-o", "out.arrow", big}, nil,
			func(d string) func() bool { return exists(d, ".out.arrow.*tmp*") }, syscall.SIGINT, []string{"out.arrow"}, itself},
		{"demodata drawing", []string{"facet-demodata", "--out", "demo", "--persons", "3000", "--workers", "2"}, nil,
			func(d string) func() bool { return exists(d, ".demo.partial-*") }, syscall.SIGINT, []string{"demo", ".demo.partial-*"}, itself},
		{"split reading a pipe", []string{"facet-split", "-k", "2", "--out", "folds", "-o", "out.arrow"}, partial,
			now, syscall.SIGINT, []string{"out.arrow", "folds"}, either},
		{"merge join reading a pipe", []string{"facet-merge", "join", "-o", "out.arrow", "-"}, partial,
			now, syscall.SIGINT, []string{"out.arrow"}, either},
		{"split terminated opening a FIFO", []string{"facet-split", "-k", "2", "-o", "out.fifo", small}, nil,
			fifo, syscall.SIGTERM, nil, grace},
		{"crop interrupted twice opening a FIFO", []string{"facet-crop", "--out", "crops", "--detectors", "center", "--max-failed", "100%", "-o", "out.fifo", small}, nil,
			fifo, syscall.SIGINT, nil, second},
	} {
		t.Run(c.name, func(t *testing.T) {
			wd := t.TempDir()
			times := 1
			if c.ends == second {
				times = 2
			}
			code, stderr, took := interrupt(t, wd, c.args, c.input, c.ready(wd), c.sig, times)
			want := 128 + int(c.sig)
			if code != want {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, want, stderr)
			}
			if limit := cli.Grace + 3*time.Second; took > limit {
				t.Errorf("took %v to stop, more than %v", took.Round(time.Millisecond), limit)
			}
			word := map[syscall.Signal]string{syscall.SIGINT: "interrupted", syscall.SIGTERM: "terminated"}[c.sig]
			if !strings.Contains(stderr, c.args[0]+": ") || !strings.Contains(stderr, word) {
				t.Errorf("stderr does not say %s:\n%s", word, stderr)
			}
			ended := itself
			switch {
			case strings.Contains(stderr, "ended at a second signal"):
				ended = second
			case strings.Contains(stderr, "after the signal"):
				ended = grace
			}
			if ended != c.ends && !(c.ends == either && ended != second) {
				t.Errorf("ended %s, want %s; stderr:\n%s", ended, c.ends, stderr)
			}
			if ended == second && took > time.Second {
				t.Errorf("a second signal ended it only after %v", took)
			}
			if fi, err := os.Lstat(filepath.Join(wd, "out.fifo")); err == nil && fi.Mode()&os.ModeNamedPipe == 0 {
				t.Errorf("the FIFO became a %v", fi.Mode())
			}
			for _, p := range c.gone {
				if m, _ := filepath.Glob(filepath.Join(wd, p)); len(m) > 0 {
					t.Errorf("left %v", m)
				}
			}
			if tmp := hostileTemps(t, wd); len(tmp) > 0 {
				t.Errorf("left temporary files %v", tmp)
			}
			t.Logf("%s: exit %d %v after %v", c.args[0], code, took.Round(time.Millisecond), c.sig)
		})
	}
}
