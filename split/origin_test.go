package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// madeTable is persons x 7 competition rows and, with made, what stages
// add after them: an augmented copy of each person's first photo, a
// synthetic mask on its unmasked photo (a mask label that shifts the
// classes), and 5 pseudo-labelled persons of 3 rows, with an origin
// column. Made rows' ids end in /aug, /mask or start with pseudo.
func madeTable(t *testing.T, persons int, made bool) []byte {
	t.Helper()
	bins := label.DefaultBins
	var samples []table.Sample
	add := func(s table.Sample, o table.Origin) {
		s.Origin = o
		s.Relabel()
		samples = append(samples, s)
	}
	for p := range persons {
		for i, m := range []int8{0, 0, 0, 0, 0, 1, 2} {
			s := table.NewSample(fmt.Sprintf("%06d/%d", p, i), "/x.jpg", fmt.Sprintf("%06d", p), "competition", "train")
			s.Mask, s.Gender = m, int8(p%2)
			s.SetAge(20+p*7%50, bins)
			add(s, table.Original)
		}
	}
	if made {
		for p := range persons {
			first, normal := samples[p*7], samples[p*7+6]
			first.ID += "/aug"
			add(first, table.Augmented)
			normal.ID, normal.Mask = normal.ID+"/mask", label.Incorrect
			add(normal, table.SyntheticMask)
		}
		for p := range 5 {
			for i := range 3 {
				s := table.NewSample(fmt.Sprintf("pseudo%d/%d", p, i), "/x.jpg", fmt.Sprintf("pseudo%d", p), "pseudo", "eval")
				s.Mask, s.Gender, s.AgeGroup = 2, 0, 0
				add(s, table.PseudoLabel)
			}
		}
	}
	return streamOf(t, samples, bins)
}

// isMade tells made rows by madeTable's ids.
func isMade(id string) bool {
	return strings.HasSuffix(id, "/aug") || strings.HasSuffix(id, "/mask") || strings.HasPrefix(id, "pseudo")
}

// personOf is the person of a madeTable id.
func personOf(id string) string { return id[:strings.Index(id, "/")] }

// Rows that stages made are never validation data, follow their person's
// fold, and do not change the split of the original rows.
func TestMadeRowsNeverValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		k    int
	}{
		{"k folds", []string{"-k", "5"}, 5},
		{"val share", []string{"--val", "0.2", "--stratify", "mask,gender,age_group"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			with, stderr, err := runSplit(t, madeTable(t, 60, true), append(tc.args, "--seed", "4", "--out", dir)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			without, stderr2, err := runSplit(t, madeTable(t, 60, false), append(tc.args, "--seed", "4")...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr2)
			}
			a, _ := rowFolds(t, with, "id")
			b, _ := rowFolds(t, without, "id")
			if len(a) != len(b)+2*60+15 {
				t.Fatalf("%d rows with the made rows, %d without", len(a), len(b))
			}
			for id, f := range b {
				if a[id] != f {
					t.Errorf("row %s: fold %d with the made rows, %d without", id, a[id], f)
				}
			}
			for id, f := range a {
				switch {
				case strings.HasPrefix(id, "pseudo"):
					if f != -1 {
						t.Errorf("pseudo label %s of a person of its own: fold %d, want -1", id, f)
					}
				case isMade(id):
					if parent := b[personOf(id)+"/0"]; f != parent {
						t.Errorf("made row %s: fold %d, its person's %d", id, f, parent)
					}
				}
			}
			tail := func(s string) string { return s[strings.Index(s, "worst share deviation"):] }
			if !strings.HasPrefix(tail(stderr), tail(stderr2)) {
				t.Errorf("the made rows changed the shares:\n%s\n---\n%s", stderr, stderr2)
			}
			if !strings.Contains(stderr, "135 rows made by facet stages (origin: 60 augmented, 60 synthetic mask, 15 pseudo label)") {
				t.Errorf("report does not count the made rows:\n%s", stderr)
			}
			for f := range tc.k {
				fold := int8(f)
				val, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("fold%d.val.arrow", f)))
				tr, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("fold%d.train.arrow", f)))
				vf, _ := rowFolds(t, val, "id")
				tf, _ := rowFolds(t, tr, "id")
				if len(vf) == 0 {
					t.Fatalf("fold %d: no val rows", f)
				}
				for id := range vf {
					if isMade(id) {
						t.Errorf("fold %d: made row %s is validation data", f, id)
					}
				}
				made := 0
				for id, rf := range tf {
					if rf == fold {
						t.Errorf("fold %d: row %s of the fold's validation persons in its train file", f, id)
					}
					if isMade(id) {
						made++
					}
				}
				for id, rf := range a {
					if _, in := tf[id]; isMade(id) && rf != fold && !in {
						t.Errorf("fold %d: made row %s (fold %d) missing from the train file", f, id, rf)
					}
				}
				if made == 0 {
					t.Errorf("fold %d: no made row in the train file", f)
				}
			}
		})
	}
}

func TestOnlyMadeRows(t *testing.T) {
	in := madeTable(t, 10, true)
	// Every original row training-only: what is left was made.
	_, stderr, err := runSplit(t, in, "-k", "2", "--train-only", "source=competition")
	if err == nil {
		t.Fatalf("a table whose validation rows would all be made split:\n%s", stderr)
	}
}
