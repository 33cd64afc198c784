package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/fold"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// mixedTable is persons x 7 competition rows with extra one-photo persons
// of source "aaf" placed before and among them, as an Arrow stream. With
// shared > 0, that many competition persons also get one aaf row.
func mixedTable(t *testing.T, persons, extra, shared int, withExtra bool) []byte {
	t.Helper()
	bins := label.DefaultBins
	var samples []table.Sample
	addExtra := func(id, person string, n int) {
		if !withExtra {
			return
		}
		s := table.NewSample(id, "/x.jpg", person, "aaf", "train")
		s.SetLabels(label.NoMask, int8(n%2), 5+n*13%70, bins)
		samples = append(samples, s)
	}
	for n := range extra / 2 {
		addExtra(fmt.Sprintf("aaf/%05d", n), fmt.Sprintf("aaf/%05d", n), n)
	}
	for p := range persons {
		for i, m := range []int8{0, 0, 0, 0, 0, 1, 2} {
			s := table.NewSample(fmt.Sprintf("%06d/%d", p, i), "/x.jpg", fmt.Sprintf("%06d", p), "competition", "train")
			s.SetLabels(m, int8(p%2), 20+p*7%50, bins)
			samples = append(samples, s)
		}
		if p < shared {
			addExtra(fmt.Sprintf("aaf/shared%d", p), fmt.Sprintf("%06d", p), p)
		}
		if n := extra/2 + p; n < extra {
			addExtra(fmt.Sprintf("aaf/%05d", n), fmt.Sprintf("aaf/%05d", n), n)
		}
	}
	for n := extra/2 + persons; n < extra; n++ {
		addExtra(fmt.Sprintf("aaf/%05d", n), fmt.Sprintf("aaf/%05d", n), n)
	}
	return streamOf(t, samples, bins)
}

// rowFolds reads id -> fold, and id -> column value, from a table.
func rowFolds(t *testing.T, data []byte, column string) (map[string]int8, map[string]string) {
	t.Helper()
	r, err := table.NewReader(bytes.NewReader(data), "id", "fold", column)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	folds, values := map[string]int8{}, map[string]string{}
	for r.Next() {
		rec := r.RecordBatch()
		ids := rec.Column(rec.Schema().FieldIndices("id")[0]).(*array.String)
		fs := rec.Column(rec.Schema().FieldIndices("fold")[0]).(*array.Int8)
		col := rec.Column(rec.Schema().FieldIndices(column)[0])
		for i := range ids.Len() {
			folds[ids.Value(i)] = fs.Value(i)
			values[ids.Value(i)] = col.ValueStr(i)
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return folds, values
}

func TestTrainOnly(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		shared int    // competition persons that also have an aaf row
		only   string // the column --train-only matches
		isOnly func(value string) bool
		kept   string // in the report
	}{
		{"k folds, utf8 column", []string{"-k", "5", "--train-only", "source=aaf"}, 0, "source",
			func(v string) bool { return v == "aaf" }, "120 rows (120 groups) kept out of validation"},
		{"val share, utf8 column", []string{"--val", "0.2", "--stratify", "mask,gender,age_group", "--train-only", "source=aaf"}, 0, "source",
			func(v string) bool { return v == "aaf" }, "120 rows (120 groups) kept out of validation"},
		{"integer column, two values", []string{"-k", "3", "--stratify", "mask,gender", "--train-only", " age_group = 02 ,age_group=1"}, 0, "age_group",
			func(v string) bool { return v == "1" || v == "2" }, "kept out of validation"},
		{"repeated flag", []string{"-k", "3", "--train-only", "source=aaf", "--train-only", "gender=1"}, 0, "source",
			nil, "kept out of validation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := mixedTable(t, 60, 120, tc.shared, true)
			dir := t.TempDir()
			out, stderr, err := runSplit(t, in, append(tc.args, "--seed", "5", "--out", dir)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if !strings.Contains(stderr, tc.kept) {
				t.Errorf("report lacks %q:\n%s", tc.kept, stderr)
			}
			folds, values := rowFolds(t, out, tc.only)
			only := map[string]bool{}
			for id, v := range values {
				if tc.isOnly != nil && tc.isOnly(v) {
					only[id] = true
					if folds[id] != -1 {
						t.Errorf("training-only row %s in fold %d", id, folds[id])
					}
				}
			}
			// Every fold file: training-only rows in train, none in val.
			var m fold.Manifest
			data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
			if err != nil || json.Unmarshal(data, &m) != nil || len(m.Only) == 0 {
				t.Fatalf("manifest %s, %v", data, err)
			}
			minus := 0
			for _, f := range folds {
				if f == -1 {
					minus++
				}
			}
			for _, f := range m.Files {
				tr, _ := os.ReadFile(filepath.Join(dir, f.Train))
				va, _ := os.ReadFile(filepath.Join(dir, f.Val))
				trainFolds, _ := rowFolds(t, tr, "id")
				valFolds, _ := rowFolds(t, va, "id")
				for id := range only {
					if _, ok := trainFolds[id]; !ok {
						t.Errorf("fold %d: training-only row %s not in %s", f.Fold, id, f.Train)
					}
				}
				for id, fv := range valFolds {
					if fv == -1 || only[id] {
						t.Errorf("fold %d: training-only row %s in %s", f.Fold, id, f.Val)
					}
				}
				if len(trainFolds)+len(valFolds) != len(folds) || len(valFolds) == 0 {
					t.Errorf("fold %d: %d train + %d val rows of %d", f.Fold, len(trainFolds), len(valFolds), len(folds))
				}
				if got := countFold(trainFolds, -1); got != minus {
					t.Errorf("fold %d: %d rows of fold -1 in train, want all %d", f.Fold, got, minus)
				}
			}
		})
	}
}

func countFold(folds map[string]int8, f int8) int {
	n := 0
	for _, v := range folds {
		if v == f {
			n++
		}
	}
	return n
}

// The folds of the other rows are exactly the folds of a table without
// the training-only rows: they take no part in the split or its targets.
func TestTrainOnlyLeavesTheRestAsItWas(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"k folds", []string{"-k", "5"}},
		{"val share", []string{"--val", "0.2", "--stratify", "mask,gender,age_group"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			with, stderr, err := runSplit(t, mixedTable(t, 80, 300, 0, true), append(tc.args, "--seed", "9", "--train-only", "source=aaf")...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			without, stderr2, err := runSplit(t, mixedTable(t, 80, 300, 0, false), append(tc.args, "--seed", "9")...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr2)
			}
			a, _ := rowFolds(t, with, "id")
			b, _ := rowFolds(t, without, "id")
			for id, f := range b {
				if a[id] != f {
					t.Errorf("row %s: fold %d with the training-only rows, %d without", id, a[id], f)
				}
			}
			if len(a) != len(b)+300 {
				t.Errorf("%d rows with, %d without", len(a), len(b))
			}
			// The report's shares are those of the other rows.
			tail := func(s string) string { return s[strings.Index(s, "worst share deviation"):] }
			if tail(stderr) != tail(stderr2) {
				t.Errorf("reports differ:\n%s\n---\n%s", stderr, stderr2)
			}
		})
	}
}

func TestTrainOnlyMixedGroups(t *testing.T) {
	// 4 competition persons also have an aaf row: the whole person is
	// training-only, and the report says so.
	out, stderr, err := runSplit(t, mixedTable(t, 40, 20, 4, true), "-k", "4", "--train-only", "source=aaf")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{
		"52 rows (24 groups) kept out of validation", // 20 + 4 aaf rows, 4 x 7 competition rows
		"4 groups (person) held training-only and other rows: all their rows are training-only, 28 of them only because of their group",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("report lacks %q:\n%s", want, stderr)
		}
	}
	folds, persons := rowFolds(t, out, "person")
	for id, f := range folds {
		p := persons[id]
		if mixed := p < "000004" && !strings.HasPrefix(p, "aaf/"); mixed && f != -1 {
			t.Errorf("row %s of mixed person %s in fold %d", id, p, f)
		}
	}
	if n := countFold(folds, -1); n != 52 {
		t.Errorf("%d rows of fold -1, want 52", n)
	}
}

func TestTrainOnlyBadSpecs(t *testing.T) {
	in := mixedTable(t, 10, 10, 0, true)
	for _, tc := range []struct {
		name  string
		spec  string
		want  string
		usage bool
	}{
		{"no value", "source", "want COLUMN=VALUE", true},
		{"empty value", "source=", "want COLUMN=VALUE", true},
		{"empty column", "=aaf", "want COLUMN=VALUE", true},
		{"empty term", "source=aaf,", "want COLUMN=VALUE", true},
		{"missing column", "family=x", `no single "family" column`, true},
		{"missing column after a good one", "source=aaf,family=x", `"family"`, true},
		{"integer column, text value", "mask=wear", `"mask" is an integer column and "wear" is not an integer`, true},
		{"integer overflow", "age=99999999999999999999", "not an integer", true},
		{"every row", "subset=train", "every row is training-only", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runSplit(t, in, "-k", "3", "--train-only", tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			var usage cli.UsageError
			if errors.As(err, &usage) != tc.usage {
				t.Errorf("err = %v: usage error %v, want %v", err, !tc.usage, tc.usage)
			}
		})
	}
	// Too few ordinary groups for the folds, once the rest is training-only.
	_, _, err := runSplit(t, mixedTable(t, 2, 10, 0, true), "-k", "3", "--train-only", "source=aaf")
	if err == nil || !strings.Contains(err.Error(), "2 groups (person) cannot fill 3 folds") {
		t.Errorf("err = %v", err)
	}
}
