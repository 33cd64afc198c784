// Package cmdtest runs the built facet programs as a user does, from a
// shell: bad input must give a clear error on stderr and a non-zero exit,
// leave no output file behind, and a failure in the middle of a pipe must
// fail the pipe instead of passing on a shorter table.
package cmdtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/nntest"
	"github.com/boostershot/facet/internal/table"
)

// bin is the folder the programs are built into by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "facet-cmdtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = dir
	code := func() int {
		defer os.RemoveAll(dir)
		root, err := filepath.Abs("..")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		progs, _ := filepath.Glob(filepath.Join(root, "*", "main.go"))
		for _, p := range progs {
			name := filepath.Base(filepath.Dir(p))
			cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "facet-"+name), "./"+name)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "building facet-%s: %v\n%s", name, err, out)
				return 1
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

// sh runs a bash command line with pipefail and the programs on PATH.
func sh(t *testing.T, dir, script string, stdin []byte) (stdout []byte, stderr string, code int) {
	t.Helper()
	cmd := exec.Command("bash", "-o", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.Stdin = bytes.NewReader(stdin)
	return runCmd(t, cmd)
}

// runCmd runs cmd and returns its output and exit status.
func runCmd(t *testing.T, cmd *exec.Cmd) (stdout []byte, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("%s: %v", cmd.Args, err)
	}
	return out.Bytes(), errb.String(), code
}

// sampleTable is a valid Arrow stream of n rows whose images do not
// exist (enough for every stage to start reading), in batches of 50 rows.
// Without end the end-of-stream marker is left out: the stream of the
// first rows is then a prefix of the whole table's.
func sampleTable(t *testing.T, n int, end bool) []byte {
	t.Helper()
	schema := table.NewSchema(label.DefaultBins)
	var ss []table.Sample
	for i := range n {
		s := table.NewSample(fmt.Sprintf("train/%05d", i), fmt.Sprintf("/nonexistent/%05d.jpg", i), fmt.Sprintf("p%d", i/3), "competition", "train")
		s.Mask, s.Gender, s.AgeGroup = int8(i%3), int8(i/3%2), int8(i/6%3)
		s.Relabel()
		ss = append(ss, s)
	}
	var buf bytes.Buffer
	w, err := table.NewWriter(&buf, schema, table.Stream)
	if err != nil {
		t.Fatal(err)
	}
	for lo := 0; lo < n; lo += 50 { // several batches, so a cut falls between them
		for _, rec := range table.Records(memory.DefaultAllocator, schema, ss[lo:min(lo+50, n)]) {
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
			rec.Release()
		}
	}
	if !end {
		return buf.Bytes()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// modelDir saves a small untrained model as a run folder.
func modelDir(t *testing.T) string {
	t.Helper()
	dir, _ := nntest.Dir(t, nntest.Tiny())
	return dir
}

// tableReaders are the programs that read a sample table, each with the
// flags it needs besides its input; OUT is a fresh folder.
func tableReaders(t *testing.T) map[string]string {
	return map[string]string{
		"facet-crop":    "--out OUT --detectors center",
		"facet-split":   "-k 2",
		"facet-augment": "--out OUT --copies 1",
		"facet-infer":   "--model " + modelDir(t),
		"facet-merge":   "join -",
	}
}

// checkFailure asserts a failed run: exit status want, stderr ending in
// one error line naming the program (warnings about single rows may come
// before it; a usage error adds a pointer to --help), and no output file.
func checkFailure(t *testing.T, what, prog string, code, want int, stderr, outFile string) {
	t.Helper()
	if code != want {
		t.Errorf("%s: exit status %d, want %d; stderr:\n%s", what, code, want, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code == 2 && len(lines) > 1 && strings.Contains(lines[len(lines)-1], "--help") {
		lines = lines[:len(lines)-1]
	}
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, prog+": ") || strings.HasPrefix(last, prog+": warning") {
		t.Errorf("%s: want a one-line error from %s, got:\n%s", what, prog, stderr)
	}
	if outFile != "" {
		if _, err := os.Stat(outFile); !os.IsNotExist(err) {
			t.Errorf("%s: left its output file %s", what, outFile)
		}
		dir := filepath.Dir(outFile)
		if tmp, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(tmp) > 0 {
			t.Errorf("%s: left temporary files %v", what, tmp)
		}
	}
}

func TestBadTableInput(t *testing.T) {
	good := sampleTable(t, 200, true)
	inputs := []struct {
		name, want string
		data       []byte
	}{
		{"empty input", "empty input", nil},
		{"text", "not an Arrow table", []byte("name,file\nx,y.jpg\n")}, // a CSV table needs an id column
		{"binary garbage", "not an Arrow", bytes.Repeat([]byte{0xde, 0xad}, 100)},
		{"cut mid-stream", "stopped part way", good[:len(good)*2/3]},
		{"cut between batches", "stopped part way", good[:len(sampleTable(t, 100, false))]},
	}
	for prog, flags := range tableReaders(t) {
		for _, in := range inputs {
			dir := t.TempDir()
			out := filepath.Join(dir, "result.arrow")
			script := fmt.Sprintf("%s %s -o %s", prog, strings.ReplaceAll(flags, "OUT", filepath.Join(dir, "out")), out)
			_, stderr, code := sh(t, dir, script, in.data)
			what := prog + " on " + in.name
			checkFailure(t, what, prog, code, 1, stderr, out)
			if !strings.Contains(stderr, in.want) {
				t.Errorf("%s: stderr does not say %q:\n%s", what, in.want, stderr)
			}
		}
	}
}

// A stage that dies in the middle of a pipe fails the pipe: the next
// stage sees a cut stream and says so instead of writing a shorter table.
func TestPipeFailsWhenAStageFails(t *testing.T) {
	good := sampleTable(t, 200, true)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "good.arrows"), good, 0o644); err != nil {
		t.Fatal(err)
	}
	// head stops the stream in the middle (as a crashed stage would) and
	// exits 0: only the reader can tell.
	script := fmt.Sprintf("head -c %d good.arrows | facet-split -k 2 | facet-split -k 3 -o final.arrow", len(good)/2)
	_, stderr, code := sh(t, dir, script, nil)
	checkFailure(t, "a cut stream through two stages", "facet-split", code, 1, strings.SplitN(stderr, "\n", 2)[0], filepath.Join(dir, "final.arrow"))
	if !strings.Contains(stderr, "stopped part way") {
		t.Errorf("stderr does not name the cut:\n%s", stderr)
	}
	// a first stage that fails outright
	_, stderr, code = sh(t, dir, "facet-prep csv:missing.csv | facet-split -k 2 -o final.arrow", nil)
	if code == 0 || !strings.Contains(stderr, "facet-prep: ") {
		t.Errorf("failing facet-prep in a pipe: exit %d, stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "final.arrow")); !os.IsNotExist(err) {
		t.Error("the pipe left final.arrow")
	}
	// and the whole pipe works on good input
	if _, stderr, code := sh(t, dir, "facet-split -k 2 good.arrows | facet-split -k 3 -o final.arrow", nil); code != 0 {
		t.Fatalf("good pipe: exit %d\n%s", code, stderr)
	}
}

func TestBadUsage(t *testing.T) {
	progs, _ := filepath.Glob(filepath.Join(bin, "facet-*"))
	if len(progs) < 7 {
		t.Fatalf("only %d programs built", len(progs))
	}
	for _, p := range progs {
		prog := filepath.Base(p)
		_, stderr, code := sh(t, t.TempDir(), prog+" --no-such-flag", nil)
		checkFailure(t, prog+" --no-such-flag", prog, code, 2, stderr, "")
		out, _, code := sh(t, t.TempDir(), prog+" --help", nil)
		if code != 0 || len(out) == 0 {
			t.Errorf("%s --help: exit %d, %d bytes on stdout (help asked for goes to stdout)", prog, code, len(out))
		}
	}
}

// Usage errors that only the table shows: still exit status 2, one line
// naming what is wrong, no output file.
func TestBadUsageOfTheTable(t *testing.T) {
	good := sampleTable(t, 20, true)
	for _, tc := range []struct{ name, prog, flags, want string }{
		{"train-only column missing", "facet-split", "-k 2 --train-only family=x", `"family"`},
		{"train-only integer column, text value", "facet-split", "-k 2 --train-only mask=wear", `"wear" is not an integer`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "result.arrow")
			_, stderr, code := sh(t, dir, tc.prog+" "+tc.flags+" -o "+out, good)
			checkFailure(t, tc.name, tc.prog, code, 2, stderr, out)
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, stderr)
			}
		})
	}
}

// Programs that take paths fail cleanly on missing ones.
func TestMissingFiles(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "result.arrow")
	cases := map[string]string{
		"facet-prep":  "facet-prep utkface:" + filepath.Join(dir, "nope") + " -o " + out,
		"facet-split": "facet-split " + filepath.Join(dir, "nope.arrow") + " -o " + out,
		"facet-infer": "facet-infer --model " + filepath.Join(dir, "nope") + " -o " + out,
		"facet-train": "facet-train --out " + filepath.Join(dir, "run") + " --train " + filepath.Join(dir, "a.arrow") + " --val " + filepath.Join(dir, "b.arrow"),
	}
	for prog, script := range cases {
		_, stderr, code := sh(t, dir, script, nil)
		checkFailure(t, prog+" on a missing file", prog, code, 1, stderr, out)
		if !strings.Contains(stderr, "nope") && !strings.Contains(stderr, "a.arrow") {
			t.Errorf("%s: the error does not name the missing file:\n%s", prog, stderr)
		}
	}
}

// facet-split and facet-merge are pure Go (DESIGN.md), built with
// CGO_ENABLED=0 so they run anywhere: the only cgo packages they may
// depend on are the standard library's, which such a build drops.
func TestPureGoPrograms(t *testing.T) {
	for _, prog := range []string{"split", "merge"} {
		cmd := exec.Command("go", "list", "-deps", "-f", "{{if .CgoFiles}}{{if not .Standard}}{{.ImportPath}}{{end}}{{end}}", "./"+prog)
		cmd.Dir = ".."
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go list: %v\n%s", err, out)
		}
		if s := strings.TrimSpace(string(out)); s != "" {
			t.Errorf("facet-%s depends on cgo packages:\n%s", prog, s)
		}
	}
}
