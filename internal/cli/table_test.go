package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/boostershot/facet/internal/testdata"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/spf13/pflag"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

func samples(n int) []table.Sample {
	var out []table.Sample
	for i := range n {
		out = append(out, table.NewSample("id"+string(rune('a'+i%26)), "x.jpg", "p", "test", "train"))
	}
	return out
}

// writeTable writes n rows through a TableOutput set by the flags args.
func writeTable(t *testing.T, args []string, stdout *bytes.Buffer, n int) error {
	t.Helper()
	var out TableOutput
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	out.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := out.Open(stdout); err != nil {
		return err
	}
	defer out.Abort()
	schema := table.NewSchema(label.DefaultBins)
	recs := table.Records(memory.DefaultAllocator, schema, samples(n))
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	if err := out.WriteAll(schema, recs...); err != nil {
		return err
	}
	if out.Rows() != int64(n) {
		t.Errorf("Rows = %d, want %d", out.Rows(), n)
	}
	return out.Commit()
}

func TestTableOutputFormats(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string // the start of what is written
	}{
		{[]string{"-o", filepath.Join(dir, "t.arrow")}, "ARROW1"},
		{[]string{"-o", filepath.Join(dir, "t.arrows")}, "\xff\xff\xff\xff"},
		{[]string{"-o", filepath.Join(dir, "t.csv"), "--csv"}, "id,path"},
		{nil, "\xff\xff\xff\xff"},
		{[]string{"--csv"}, "id,path"},
	} {
		var stdout bytes.Buffer
		if err := writeTable(t, tc.args, &stdout, 3); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		got := stdout.Bytes()
		if len(tc.args) > 1 {
			var err error
			if got, err = os.ReadFile(tc.args[1]); err != nil {
				t.Fatal(err)
			}
		}
		if !strings.HasPrefix(string(got), tc.want) {
			t.Errorf("%v: wrote %q..., want %q...", tc.args, got[:min(8, len(got))], tc.want)
		}
	}
}

// A file name that says another format is refused before anything is
// written.
func TestTableOutputNameSaysTheFormat(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"-o", filepath.Join(dir, "t.parquet"), "--csv"},
		{"-o", filepath.Join(dir, "t.arrow"), "--csv"},
		{"-o", filepath.Join(dir, "t.json")},
		{"-o", filepath.Join(dir, "t.png")},
		{"-o", filepath.Join(dir, "t.txt")},
	} {
		var usage UsageError
		if err := writeTable(t, args, nil, 3); !errors.As(err, &usage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %s", entries[0].Name())
	}
	for _, args := range [][]string{{"-o", filepath.Join(dir, "t.txt"), "--csv"}, {"-o", filepath.Join(dir, "t.v2")}} {
		if err := writeTable(t, args, nil, 3); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}

// A full disk (a file size limit) fails the table: an error naming the
// file, and the earlier file at that name as it was.
func TestTableOutputFullDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.arrow")
	if err := os.WriteFile(path, []byte("earlier"), 0o644); err != nil {
		t.Fatal(err)
	}
	restore := testdata.LimitFileSize(t, 4096)
	err := writeTable(t, []string{"-o", path}, nil, 2000)
	restore()
	if err == nil || !strings.Contains(err.Error(), "writing "+path) {
		t.Errorf("err %v, want a write error naming %s", err, path)
	}
	if b, _ := os.ReadFile(path); string(b) != "earlier" {
		t.Errorf("the earlier file became %d bytes", len(b))
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("left %d files", len(entries))
	}
}

// -o onto a FIFO writes into it; the FIFO stays.
func TestTableOutputFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	got := make(chan int)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- -1
			return
		}
		defer f.Close()
		r, err := table.NewReader(f)
		if err != nil {
			got <- -1
			return
		}
		defer r.Release()
		for r.Next() {
		}
		got <- int(r.Rows())
	}()
	if err := writeTable(t, []string{"-o", fifo}, nil, 5); err != nil {
		t.Fatal(err)
	}
	if n := <-got; n != 5 {
		t.Errorf("the reader got %d rows", n)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO is now %v", fi.Mode())
	}
}

func TestMaxFailed(t *testing.T) {
	for _, tc := range []struct {
		limit         string
		failed, rows  int
		fails, parses bool
	}{
		{"10%", 1, 10, false, true}, {"10%", 2, 10, true, true}, {"0", 1, 100, true, true}, {"0", 0, 100, false, true},
		{"3", 3, 4, false, true}, {"3", 4, 4, true, true}, {"100%", 5, 5, false, true}, {"0%", 1, 1000, true, true},
		{"-1", 0, 0, false, false}, {"101%", 0, 0, false, false}, {"NaN%", 0, 0, false, false}, {"x", 0, 0, false, false},
		{"1.5", 0, 0, false, false}, {"", 0, 0, false, false},
	} {
		m := NewMaxFailed(DefaultMaxFailed)
		err := m.Set(tc.limit)
		if (err == nil) != tc.parses {
			t.Errorf("Set(%q) = %v", tc.limit, err)
			continue
		}
		if !tc.parses {
			continue
		}
		err = m.Check(tc.failed, tc.rows, "photos", []string{"a: bad", "b: worse"})
		if (err != nil) != tc.fails {
			t.Errorf("%s with %d of %d failed: %v", tc.limit, tc.failed, tc.rows, err)
		}
		if err != nil && !strings.Contains(err.Error(), "first: a: bad; b: worse") {
			t.Errorf("the error lacks the first reasons: %v", err)
		}
	}
}
