package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/boostershot/facet/internal/fold"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// sampleTable is persons x 7 competition-style rows as an Arrow stream.
func sampleTable(t *testing.T, persons int) []byte {
	t.Helper()
	bins := label.DefaultBins
	var samples []table.Sample
	for p := range persons {
		for i, m := range []int8{0, 0, 0, 0, 0, 1, 2} {
			s := table.NewSample(fmt.Sprintf("%06d/%d", p, i), "/x.jpg", fmt.Sprintf("%06d", p), "competition", "train")
			s.SetLabels(m, int8(p%2), 20+p*7%50, bins)
			samples = append(samples, s)
		}
	}
	return streamOf(t, samples, bins)
}

func runSplit(t *testing.T, stdin []byte, args ...string) ([]byte, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, bytes.NewReader(stdin), &stdout, &stderr)
	return stdout.Bytes(), stderr.String(), err
}

// folds reads person -> set of folds from a split table or fold file.
func folds(t *testing.T, data []byte) (map[string]map[int8]bool, int) {
	t.Helper()
	r, err := table.NewReader(bytes.NewReader(data), "person", "fold")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	out := map[string]map[int8]bool{}
	rows := 0
	for r.Next() {
		rec := r.RecordBatch()
		persons := rec.Column(rec.Schema().FieldIndices("person")[0]).(*array.String)
		fs := rec.Column(rec.Schema().FieldIndices("fold")[0]).(*array.Int8)
		for i := range persons.Len() {
			if out[persons.Value(i)] == nil {
				out[persons.Value(i)] = map[int8]bool{}
			}
			out[persons.Value(i)][fs.Value(i)] = true
			rows++
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out, rows
}

func TestSplitFolds(t *testing.T) {
	in := sampleTable(t, 100)
	dir := t.TempDir()
	out, stderr, err := runSplit(t, in, "-k", "5", "--seed", "3", "--out", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	byPerson, rows := folds(t, out)
	if rows != 700 || len(byPerson) != 100 {
		t.Fatalf("%d rows, %d persons", rows, len(byPerson))
	}
	for p, fs := range byPerson {
		if len(fs) != 1 {
			t.Errorf("person %s in folds %v", p, fs)
		}
	}
	if !strings.Contains(stderr, "worst share deviation") || !strings.Contains(stderr, "100 groups") {
		t.Errorf("report:\n%s", stderr)
	}
	var m fold.Manifest
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil || json.Unmarshal(data, &m) != nil || m.Folds != 5 || len(m.Files) != 5 {
		t.Fatalf("manifest %s, %v", data, err)
	}
	for _, f := range m.Files {
		tr, _ := os.ReadFile(filepath.Join(dir, f.Train))
		va, _ := os.ReadFile(filepath.Join(dir, f.Val))
		trainP, trainRows := folds(t, tr)
		valP, valRows := folds(t, va)
		if trainRows+valRows != 700 || trainRows != f.TrainRows || valRows != f.ValRows {
			t.Errorf("fold %d: %d + %d rows (manifest %d + %d)", f.Fold, trainRows, valRows, f.TrainRows, f.ValRows)
		}
		for p, fs := range valP {
			if !fs[int8(f.Fold)] || len(fs) != 1 {
				t.Errorf("fold %d val holds person %s of folds %v", f.Fold, p, fs)
			}
			if trainP[p] != nil {
				t.Errorf("fold %d: person %s on both sides", f.Fold, p)
			}
		}
	}
	// Same seed, same table; another seed, another split.
	again, _, _ := runSplit(t, in, "-k", "5", "--seed", "3")
	if !bytes.Equal(again, out) {
		t.Error("same seed gave a different table")
	}
	other, _, _ := runSplit(t, in, "-k", "5", "--seed", "4")
	if bytes.Equal(other, out) {
		t.Error("another seed gave the same table")
	}
}

func TestSplitVal(t *testing.T) {
	out, stderr, err := runSplit(t, sampleTable(t, 50), "--val", "0.2", "--stratify", "mask,gender,age_group")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	byPerson, _ := folds(t, out)
	val := 0
	for _, fs := range byPerson {
		if fs[0] {
			val++
		}
		if len(fs) != 1 || !(fs[0] || fs[-1]) {
			t.Errorf("person folds %v, want only 0 (val) or -1 (train)", fs)
		}
	}
	if val < 8 || val > 12 {
		t.Errorf("%d of 50 persons in validation, want about 10", val)
	}
}

func TestSplitBadInput(t *testing.T) {
	in := sampleTable(t, 4)
	for _, tc := range []struct {
		name string
		in   []byte
		args []string
		want string
	}{
		{"k over groups", in, []string{"-k", "5"}, "4 groups (person) cannot fill 5 folds"},
		{"missing group column", in, []string{"--by", "family"}, `no "family" column`},
		{"missing stratify column", in, []string{"--stratify", "mood"}, `no "mood" column`},
		{"empty input", nil, nil, "empty input"},
		{"k and val", in, []string{"-k", "3", "--val", "0.2"}, "not both"},
		{"bad val", in, []string{"--val", "1.5"}, "0 < x < 1"},
		{"k of one", in, []string{"-k", "1"}, "2..100"},
		{"truncated", in[:len(in)-8], nil, "end-of-stream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runSplit(t, tc.in, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// A class with fewer groups than folds is a warning, not an error.
	_, stderr, err := runSplit(t, sampleTable(t, 12), "-k", "5")
	if err != nil || !strings.Contains(stderr, "warning: class") {
		t.Errorf("thin class: err %v, stderr:\n%s", err, stderr)
	}
}

// streamOf writes samples as an Arrow IPC stream, with an origin column
// when a sample is not original.
func streamOf(t testing.TB, samples []table.Sample, bins label.Bins) []byte {
	t.Helper()
	schema := table.NewSchema(bins)
	for _, s := range samples {
		if !s.Origin.IsOriginal() {
			schema = table.NewSchema(bins, table.OriginField)
		}
	}
	data, err := table.Encode(schema, samples, table.Stream)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
