package cmdtest

// Hostile values, signals and resume (issue 14, classes 4 and 5): every
// numeric flag refuses NaN, infinities and values out of its range; a
// model whose weights are not finite is refused; labels out of range are
// refused as tables are read; names that are not UTF-8 stay out of utf8
// columns; a program blocked on stdin ends on SIGINT and SIGTERM; and
// facet-crop --resume crops a replaced photo again and never crops its
// own output.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/nn"
	"github.com/boostershot/facet/internal/nntest"
	"github.com/boostershot/facet/internal/table"
	"github.com/boostershot/facet/internal/testdata"
)

// numericFlag is a numeric flag of a program with the range it documents.
type numericFlag struct {
	prog, flag     string // prog may hold a subcommand: "facet-merge vote"
	float          bool
	lo, hi         float64
	openLo, openHi bool
}

// numericFlags lists every numeric flag of every program (seeds, which
// take any uint64, aside).
var numericFlags = []numericFlag{
	{prog: "facet-prep", flag: "workers", lo: 1, hi: 256},

	{prog: "facet-crop", flag: "size", lo: 8, hi: 4096},
	{prog: "facet-crop", flag: "margin", float: true, lo: 0, hi: 2},
	{prog: "facet-crop", flag: "quality", lo: 1, hi: 100},
	{prog: "facet-crop", flag: "detect-side", lo: 0, hi: 16384},
	{prog: "facet-crop", flag: "upsample", lo: 0, hi: 2},
	{prog: "facet-crop", flag: "dlib-adjust", float: true, lo: -3, hi: 3},
	{prog: "facet-crop", flag: "dnn-threshold", float: true, lo: 0, hi: 1},
	{prog: "facet-crop", flag: "workers", lo: 1, hi: 256},

	{prog: "facet-split", flag: "num-folds", lo: 2, hi: 100},
	{prog: "facet-split", flag: "val-share", float: true, lo: 0, hi: 1, openLo: true, openHi: true},
	{prog: "facet-split", flag: "dup-distance", lo: 0, hi: 16},

	{prog: "facet-augment", flag: "copies", lo: 0, hi: 100},
	{prog: "facet-augment", flag: "quality", lo: 1, hi: 100},
	{prog: "facet-augment", flag: "workers", lo: 1, hi: 256},

	{prog: "facet-train", flag: "fold", lo: 0, hi: 99},
	{prog: "facet-train", flag: "epochs", lo: 1, hi: 10000},
	{prog: "facet-train", flag: "batch", lo: 1, hi: 4096},
	{prog: "facet-train", flag: "size", lo: 4, hi: 1024},
	{prog: "facet-train", flag: "width", lo: 1, hi: 256},
	{prog: "facet-train", flag: "lr", float: true, lo: 0, hi: 10, openLo: true},
	{prog: "facet-train", flag: "lr-decay", float: true, lo: 0, hi: 1, openLo: true},
	{prog: "facet-train", flag: "warmup", lo: 0, hi: 10000},
	{prog: "facet-train", flag: "weight-decay", float: true, lo: 0, hi: 1},
	{prog: "facet-train", flag: "age-smoothing", float: true, lo: 0, hi: 1, openHi: true},
	{prog: "facet-train", flag: "label-smoothing", float: true, lo: 0, hi: 1, openHi: true},
	{prog: "facet-train", flag: "patience", lo: 0, hi: 10000},
	{prog: "facet-train", flag: "workers", lo: 1, hi: 256},
	{prog: "facet-train", flag: "protocol", lo: 1, hi: 2},

	{prog: "facet-infer", flag: "pseudo", float: true, lo: 0, hi: 1, openLo: true},
	{prog: "facet-infer", flag: "workers", lo: 1, hi: 256},
	{prog: "facet-infer", flag: "chunk", lo: 1, hi: 4096},
	{prog: "facet-infer", flag: "fallback", lo: 0, hi: 17},

	{prog: "facet-merge vote", flag: "pseudo", float: true, lo: 0, hi: 1, openLo: true},
	{prog: "facet-merge suspects", flag: "sheet-count", lo: 1, hi: 1000},
	{prog: "facet-merge suspects", flag: "dup-distance", lo: 0, hi: 16},

	{prog: "facet-demodata", flag: "persons", lo: 0, hi: 100000},
	{prog: "facet-demodata", flag: "eval-persons", lo: 0, hi: 100000},
	{prog: "facet-demodata", flag: "aaf", lo: 0, hi: 13322},
	{prog: "facet-demodata", flag: "workers", lo: 1, hi: 256},
}

// bad is what each flag is tried with: NaN, infinity, the nearest value
// below its range (negative for most) and a huge number. (Other spellings
// of NaN and infinity, numbers that overflow and the values just above
// a range are internal/cli's unit tests: every flag has the one parser.)
func (f numericFlag) bad() []string {
	if f.float {
		below := strconv.FormatFloat(f.lo-0.5, 'g', -1, 64)
		if f.openLo {
			below = strconv.FormatFloat(f.lo, 'g', -1, 64)
		}
		return []string{"NaN", "Inf", below, "1e300"}
	}
	return []string{"NaN", "Inf", strconv.Itoa(int(f.lo) - 1), "999999999999"}
}

// Every numeric flag refuses NaN, infinity, a value below its range and
// a huge one: exit status 2, and the message names the flag. The
// programs with OpenCV take a while to start, hence the parallel runs.
func TestNumericFlagsRefuseHostileValues(t *testing.T) {
	for _, f := range numericFlags {
		t.Run(f.prog+" --"+f.flag, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for _, v := range f.bad() {
				script := fmt.Sprintf("%s --%s=%s", f.prog, f.flag, v)
				_, stderr, code := sh(t, dir, script, nil)
				checkFailure(t, script, strings.Fields(f.prog)[0], code, 2, stderr, "")
				if !strings.Contains(stderr, "--"+f.flag+`"`) {
					t.Errorf("%s: the error does not name --%s:\n%s", script, f.flag, stderr)
				}
			}
		})
	}
}

// --help shows each numeric flag's range, the bounds this file lists.
func TestNumericFlagsShowTheirRange(t *testing.T) {
	help := map[string]string{}
	for _, f := range numericFlags {
		if _, ok := help[f.prog]; !ok {
			stdout, _, code := sh(t, t.TempDir(), f.prog+" --help", nil)
			if code != 0 {
				t.Fatalf("%s --help: exit %d", f.prog, code)
			}
			help[f.prog] = string(stdout)
		}
		g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
		want := g(f.lo) + ".." + g(f.hi)
		if f.openLo || f.openHi {
			lo, hi := " <= ", " <= "
			if f.openLo {
				lo = " < "
			}
			if f.openHi {
				hi = " < "
			}
			want = g(f.lo) + lo + "x" + hi + g(f.hi)
		}
		line := ""
		for _, l := range strings.Split(help[f.prog], "\n") {
			// the flag's own line: "      --size int ..." or "  -k, --folds int ..."
			l = strings.TrimSpace(l)
			if len(l) > 4 && l[0] == '-' && l[2] == ',' {
				l = l[4:]
			}
			// the flag list's line, not prose of the help text that starts
			// with the flag too
			if strings.HasPrefix(l, "--"+f.flag+" ") && (line == "" || strings.Contains(l, "("+want+")")) {
				line = l
			}
		}
		if !strings.Contains(line, "("+want+")") {
			t.Errorf("%s --help: --%s does not show (%s): %q", f.prog, f.flag, want, line)
		}
	}
}

// Numbers inside other flags' values go through the same check.
func TestNumbersInsideFlagsRefuseHostileValues(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		prog string
		args []string
		want string
	}{
		{"facet-augment", []string{"--out", "o", "--balance", "age_group=NaN"}, "--balance"},
		{"facet-augment", []string{"--out", "o", "--balance", "age_group=Inf"}, "--balance"},
		{"facet-augment", []string{"--out", "o", "--balance", "age_group=1e300"}, "--balance"},
		{"facet-augment", []string{"--out", "o", "--balance", "age_group=999999999"}, "--balance"},
		{"facet-augment", []string{"--out", "o", "--balance", "age_group=-3"}, "--balance"},
		{"facet-augment", []string{"--out", "o", "--copies", "1", "--ops", "flip:NaN"}, "probability"},
		{"facet-augment", []string{"--out", "o", "--copies", "1", "--ops", "blur(s=NaN)"}, "blur"},
		{"facet-augment", []string{"--out", "o", "--copies", "1", "--ops", "noise(s=1..Inf)"}, "noise"},
		{"facet-train", []string{"--out", "o", "--train", "a", "--val", "b", "--ops", "jitter(b=NaN)"}, "jitter"},
		{"facet-crop", []string{"--out", "o", "--center", "NaN,0,1,1"}, "center box"},
		{"facet-crop", []string{"--out", "o", "--center", "0,0,Inf,1"}, "center box"},
		{"facet-merge vote", []string{"--weights", "NaN,1", "a", "b"}, "--weights"},
		{"facet-merge vote", []string{"--weights", "1e400,1", "a", "b"}, "--weights"},
		{"facet-merge vote", []string{"--weights", "1e300,1", "a", "b"}, "--weights"},
	} {
		script := tc.prog + " '" + strings.Join(tc.args, "' '") + "'"
		_, stderr, code := sh(t, dir, script, nil)
		checkFailure(t, script, strings.Fields(tc.prog)[0], code, 2, stderr, "")
		if !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: stderr does not say %q:\n%s", script, tc.want, stderr)
		}
	}
}

// photoJPEG is a small portrait, grey above and black or white below.
func photoJPEG(t *testing.T, below uint8) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 96, 128))
	for y := range 128 {
		for x := range 96 {
			v := uint8(128)
			if y >= 64 {
				v = below
			}
			img.Set(x, y, color.RGBA{v, v, v, 255})
		}
	}
	return testdata.JPEG(t, img)
}

// writeTable writes samples as an Arrow stream.
func writeTable(t *testing.T, samples []table.Sample) []byte {
	t.Helper()
	schema := table.NewSchema(label.DefaultBins)
	data, err := table.Encode(schema, samples, table.Stream)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// A checkpoint of NaN weights is refused by facet-infer (it used to
// predict class 0 for every row), and so is one whose finite weights
// overflow on the probe image.
func TestNonFiniteModelRefused(t *testing.T) {
	dir := t.TempDir()
	var samples []table.Sample
	for i := range 4 {
		p := filepath.Join(dir, fmt.Sprintf("%d.jpg", i))
		if err := os.WriteFile(p, photoJPEG(t, uint8(60*i)), 0o644); err != nil {
			t.Fatal(err)
		}
		samples = append(samples, table.NewSample(fmt.Sprint(i), p, fmt.Sprint(i), "test", "eval"))
	}
	in := writeTable(t, samples)
	for _, tc := range []struct {
		name string
		v    float32
		want string
	}{{"NaN", float32(math.NaN()), "not finite"}, {"overflow", 3e38, "model outputs are not finite"}} {
		m, err := nn.New(nntest.Tiny())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Params() {
			if strings.HasPrefix(p.Name, "head.") {
				for i := range p.Data {
					p.Data[i] = tc.v
				}
			}
		}
		run := filepath.Join(dir, tc.name)
		nntest.Save(t, run, m)
		out := filepath.Join(dir, "pred.arrow")
		_, stderr, code := sh(t, dir, "facet-infer --model "+run+" -o "+out, in)
		checkFailure(t, tc.name+" weights", "facet-infer", code, 1, stderr, out)
		if !strings.Contains(stderr, tc.want) {
			t.Errorf("%s weights: stderr does not say %q:\n%s", tc.name, tc.want, stderr)
		}
	}
	// A model config asking for absurd sizes is refused before allocating.
	run := modelDir(t)
	cfgPath := filepath.Join(run, "best.json")
	orig, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	for key, v := range map[string]int{"input_size": 100000, "predict_batch": 1000000000, "width": 100000, "blocks": -1} {
		var doc map[string]any
		if err := json.Unmarshal(orig, &doc); err != nil {
			t.Fatal(err)
		}
		doc[key] = v
		if key == "blocks" {
			doc[key] = []int{1, v}
		}
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "p.arrow")
		_, stderr, code := sh(t, dir, "facet-infer --model "+run+" -o "+out, in)
		checkFailure(t, fmt.Sprintf("model config %s %d", key, v), "facet-infer", code, 1, stderr, out)
		if !strings.Contains(stderr, key) {
			t.Errorf("model config %s %d: stderr does not name %s:\n%s", key, v, key, stderr)
		}
	}
}

// Labels out of range are refused as the table is read, by facet-split and
// facet-train alike, naming the column, the row and the value.
func TestHostileLabelsRefused(t *testing.T) {
	dir := t.TempDir()
	good := func() []table.Sample {
		var ss []table.Sample
		for i := range 40 {
			s := table.NewSample(fmt.Sprintf("p%d/%d", i/4, i), filepath.Join(dir, "x.jpg"), fmt.Sprintf("p%d", i/4), "test", "train")
			s.SetLabels(int8(i%3), int8(i/4%2), 20+i, label.DefaultBins)
			ss = append(ss, s)
		}
		return ss
	}
	goodFile := filepath.Join(dir, "good.arrow")
	if err := os.WriteFile(goodFile, writeTable(t, good()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		set  func(*table.Sample)
		want string
	}{
		{"mask 7", func(s *table.Sample) { s.Mask = 7 }, `column "mask", row 13: 7 is not a mask class`},
		{"gender 3", func(s *table.Sample) { s.Gender = 3 }, `column "gender", row 13: 3 is not a gender class`},
		{"label 50", func(s *table.Sample) { s.Label = 50 }, `column "label", row 13: 50 is not a label class`},
		{"age 999", func(s *table.Sample) { s.Age = 999 }, `column "age", row 13: 999 is not an age`},
		{"age 200", func(s *table.Sample) { s.Age = 200 }, `column "age", row 13: 200 is not an age`},
	} {
		ss := good()
		tc.set(&ss[12])
		bad := writeTable(t, ss)
		badFile := filepath.Join(dir, "bad.arrow")
		if err := os.WriteFile(badFile, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "split.arrow")
		_, stderr, code := sh(t, dir, "facet-split -k 2 --stratify mask,gender -o "+out, bad)
		checkFailure(t, "facet-split, "+tc.name, "facet-split", code, 1, stderr, out)
		if !strings.Contains(stderr, tc.want) {
			t.Errorf("facet-split, %s: stderr does not say %q:\n%s", tc.name, tc.want, stderr)
		}
		run := filepath.Join(dir, "run")
		_, stderr, code = sh(t, dir, fmt.Sprintf("facet-train --out %s --train %s --val %s --epochs 1 --size 16 --width 4", run, badFile, goodFile), nil)
		checkFailure(t, "facet-train, "+tc.name, "facet-train", code, 1, stderr, "")
		if !strings.Contains(stderr, tc.want) {
			t.Errorf("facet-train, %s: stderr does not say %q:\n%s", tc.name, tc.want, stderr)
		}
	}
}

// facet-prep leaves names that are not UTF-8 out of its utf8 columns,
// naming them escaped; ages out of range and persons with two genders
// are reported.
func TestPrepHostileNamesAndLabels(t *testing.T) {
	dir := t.TempDir()
	badName := "face\xff.jpg"
	files := map[string][]byte{
		"set/wear/a.jpg": photoJPEG(t, 0), "set/wear/" + badName: photoJPEG(t, 0), "set/none/b.jpg": photoJPEG(t, 255),
		"utk/26_0_2_2017.jpg": photoJPEG(t, 0), "utk/999_0_2_2017.jpg": photoJPEG(t, 0),
		"list.csv": []byte("path,person,gender\nset/wear/a.jpg,p1,male\nset/none/b.jpg,p1,female\n"),
	}
	for p, data := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			if p == "set/wear/"+badName {
				t.Skipf("this file system refuses names that are not UTF-8: %v", err)
			}
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "samples.arrow")
	_, stderr, code := sh(t, dir, "facet-prep imagefolder:mask=set utkface:utk csv:list.csv -o "+out, nil)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	for _, want := range []string{`wear/face\xff.jpg`, "not valid UTF-8", "999 is not an age", "person p1 has 1 male and 1 female rows"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := table.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	rows := 0
	for r.Next() {
		rec := r.RecordBatch()
		for c := range int(rec.NumCols()) {
			if s, ok := rec.Column(c).(*array.String); ok {
				for i := range s.Len() {
					if !utf8.ValidString(s.Value(i)) {
						t.Errorf("column %s holds %q, not UTF-8", rec.Schema().Field(c).Name, s.Value(i))
					}
				}
			}
		}
		rows += int(rec.NumRows())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if rows != 5 { // a, b (imagefolder), 26 (utkface), a, b (csv)
		t.Errorf("%d rows, want 5", rows)
	}
}

// A program blocked reading stdin (a pipe held open, no input) ends
// within a couple of seconds of SIGINT or SIGTERM, saying it was
// interrupted.
func TestSignalEndsABlockedRead(t *testing.T) {
	for prog, flags := range tableReaders(t) {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(prog+" "+sig.String(), func(t *testing.T) {
				dir := t.TempDir()
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close() // held open until the end: the program sees no EOF
				args := strings.Fields(strings.ReplaceAll(flags, "OUT", filepath.Join(dir, "out")))
				cmd := exec.Command(filepath.Join(bin, prog), append(args, "-o", filepath.Join(dir, "result.arrow"))...)
				cmd.Dir = dir
				cmd.Stdin = r
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				r.Close()
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				select {
				case err := <-done:
					t.Fatalf("ended before the signal (%v):\n%s", err, stderr.String())
				case <-time.After(1500 * time.Millisecond): // started, and waiting for input
				}
				for start := time.Now(); !catches(cmd.Process.Pid, sig) && time.Since(start) < 30*time.Second; {
					time.Sleep(20 * time.Millisecond) // a slow start: not yet catching signals
				}
				sent := time.Now()
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				select {
				case err := <-done:
					if took := time.Since(sent); took > 2*time.Second {
						t.Errorf("ended %v after the signal", took)
					}
					// 128 + the signal's number, as a shell reports it.
					if code := cmd.ProcessState.ExitCode(); code != 128+int(sig) {
						t.Errorf("exit %v, want %d; stderr:\n%s", err, 128+int(sig), stderr.String())
					}
				case <-time.After(5 * time.Second):
					cmd.Process.Kill()
					<-done
					t.Fatalf("still running 5s after %v", sig)
				}
				if _, err := os.Stat(filepath.Join(dir, "result.arrow")); !os.IsNotExist(err) {
					t.Error("left its output file")
				}
			})
		}
	}
}

// facet-crop --resume crops a photo again when it was replaced, and --out
// inside --in is never cropped again on the next run.
func TestCropResumeAndOutputInsideInput(t *testing.T) {
	dir := t.TempDir()
	photos := filepath.Join(dir, "photos")
	for i, name := range []string{"a.jpg", "b.jpg", "sub/c.jpg"} {
		p := filepath.Join(photos, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, photoJPEG(t, uint8(100*i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	crop := "facet-crop --in photos --out photos/crops --detectors center --size 32 --resume --csv"
	summary := func(stderr string) string {
		for _, l := range strings.Split(stderr, "\n") {
			if strings.Contains(l, "reused from an earlier run") {
				return l
			}
		}
		return stderr
	}
	countRows := func(out []byte) int { return strings.Count(strings.TrimSpace(string(out)), "\n") }
	out, stderr, code := sh(t, dir, crop, nil)
	if code != 0 || countRows(out) != 3 || !strings.Contains(summary(stderr), "3 cropped, 0 reused") {
		t.Fatalf("first run: exit %d, %d rows:\n%s", code, countRows(out), stderr)
	}
	out, stderr, code = sh(t, dir, crop, nil)
	if code != 0 || countRows(out) != 3 || !strings.Contains(summary(stderr), "3 reused") {
		t.Errorf("second run (crops inside the photos): exit %d, %d rows, want 3 reused:\n%s", code, countRows(out), stderr)
	}
	// b.jpg is replaced by another photo: its crop is made again.
	if err := os.WriteFile(filepath.Join(photos, "b.jpg"), photoJPEG(t, 255), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	os.Chtimes(filepath.Join(photos, "b.jpg"), later, later)
	out, stderr, code = sh(t, dir, crop, nil)
	if code != 0 || countRows(out) != 3 || !strings.Contains(summary(stderr), "2 reused") {
		t.Errorf("after replacing b.jpg: exit %d, %d rows, want 2 reused:\n%s", code, countRows(out), stderr)
	}
	if _, err := os.Stat(filepath.Join(photos, "crops", "crops")); err == nil {
		t.Error("crops of crops were written")
	}
	_, stderr, code = sh(t, dir, "facet-crop --in photos --out photos --detectors center --csv", nil)
	checkFailure(t, "--out equal to --in", "facet-crop", code, 2, stderr, "")
}
