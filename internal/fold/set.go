package fold

// The fold set: the files facet-split hands to facet-train. For each fold
// k, foldK.train.arrow and foldK.val.arrow (Arrow IPC files) and, for the
// set, manifest.json.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/boostershot/facet/internal/outfile"
	"github.com/boostershot/facet/internal/table"
)

// ManifestName is the fold set's manifest, the last file of a set to
// appear.
const ManifestName = "manifest.json"

// TrainFile and ValFile are the names of fold k's files in a set.
func TrainFile(k int) string { return fmt.Sprintf("fold%d.train.arrow", k) }

// ValFile: see TrainFile.
func ValFile(k int) string { return fmt.Sprintf("fold%d.val.arrow", k) }

// foldFile matches the names of fold files.
var foldFile = regexp.MustCompile(`^fold[0-9]+\.(train|val)\.arrow$`)

// Manifest describes a fold set for the trainer and for people.
type Manifest struct {
	Folds    int      `json:"folds"`
	Val      float64  `json:"val,omitempty"`
	By       string   `json:"by"`
	Stratify string   `json:"stratify"`
	Seed     uint64   `json:"seed"`
	AgeBins  string   `json:"age_bins"`
	Worst    float64  `json:"worst_share_deviation"`
	Only     []string `json:"train_only,omitempty"`
	Files    []Files  `json:"files"`
	Created  string   `json:"created"`
	Schema   []string `json:"columns"`
}

// Files are one fold's files (names in the set's folder) and row counts.
type Files struct {
	Fold      int    `json:"fold"`
	Train     string `json:"train"`
	Val       string `json:"val"`
	TrainRows int    `json:"train_rows"`
	ValRows   int    `json:"val_rows"`
}

// ReadManifest reads the manifest of the fold set in dir. A fold whose
// file names the manifest leaves out has the set's usual names.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestName)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(m.Files) == 0 {
		return nil, fmt.Errorf("%s lists no folds", path)
	}
	for i, f := range m.Files {
		if f.Train == "" {
			m.Files[i].Train = TrainFile(f.Fold)
		}
		if f.Val == "" {
			m.Files[i].Val = ValFile(f.Fold)
		}
	}
	return &m, nil
}

// Paths are the train and val files of fold k of the set in dir.
func Paths(dir string, k int) (train, val string) {
	return filepath.Join(dir, TrainFile(k)), filepath.Join(dir, ValFile(k))
}

// WriteSet writes the fold set of a table whose fold column (table.ColFold)
// says in which fold a row is validation data (-1: none): for each fold k
// of m.Folds, the rows of another fold to foldK.train.arrow, and its own
// original rows (table.Origin) to foldK.val.arrow, so a row a stage made
// is training data only. m gets the files and the table's columns and is
// written last. The files appear as one set (outfile.Set): each is
// written into a temporary folder inside dir, and only when all are whole
// do they replace the earlier set, the manifest last; fold files of an
// earlier set with more folds are removed. A failure (a full disk,
// Ctrl-C) leaves the earlier set as it was.
func WriteSet(ctx context.Context, dir string, m *Manifest, schema *arrow.Schema, recs []arrow.RecordBatch) error {
	foldCol := schema.FieldIndices(table.ColFold)
	if len(foldCol) != 1 {
		return fmt.Errorf("fold: the table has no single %s column", table.ColFold)
	}
	m.Files, m.Schema = nil, nil
	for _, f := range schema.Fields() {
		m.Schema = append(m.Schema, f.Name)
	}
	set, err := outfile.CreateSet(dir, "folds")
	if err != nil {
		return err
	}
	defer set.Abort()
	keep := map[string]bool{ManifestName: true}
	for f := range m.Folds {
		ff := Files{Fold: f, Train: TrainFile(f), Val: ValFile(f)}
		for _, side := range []struct {
			file string
			val  bool
			rows *int
		}{{ff.Train, false, &ff.TrainRows}, {ff.Val, true, &ff.ValRows}} {
			if err := ctx.Err(); err != nil {
				return err
			}
			n, err := writeSide(set, side.file, schema, recs, foldCol[0], int8(f), side.val)
			if err != nil {
				return err
			}
			*side.rows = n
			keep[side.file] = true
		}
		m.Files = append(m.Files, ff)
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	mf, err := set.Create(ManifestName)
	if err != nil {
		return err
	}
	defer mf.Abort()
	if _, err := mf.Write(append(data, '\n')); err != nil {
		return err
	}
	if err := mf.Commit(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return set.Commit(ManifestName, oldFoldFiles(dir, keep))
}

// oldFoldFiles lists the fold files in dir that the new set does not
// have (an earlier split into more folds).
func oldFoldFiles(dir string, keep map[string]bool) []string {
	entries, _ := os.ReadDir(dir)
	var gone []string
	for _, e := range entries {
		if foldFile.MatchString(e.Name()) && !keep[e.Name()] {
			gone = append(gone, e.Name())
		}
	}
	return gone
}

// writeSide writes the rows whose fold is (val) or is not (!val) f to the
// set's file name; a val file holds original rows only.
func writeSide(set *outfile.Set, name string, schema *arrow.Schema, recs []arrow.RecordBatch, foldCol int, f int8, val bool) (int, error) {
	out, err := set.Create(name)
	if err != nil {
		return 0, err
	}
	defer out.Abort()
	w, err := table.NewWriter(out, schema, table.File)
	if err != nil {
		return 0, err
	}
	rows := 0
	for _, rec := range recs {
		folds, ok := rec.Column(foldCol).(*array.Int8)
		if !ok {
			return 0, fmt.Errorf("fold: column %s is %s, want int8", table.ColFold, rec.Column(foldCol).DataType())
		}
		origins := table.Origins(rec)
		keep := make([]bool, folds.Len())
		for i := range keep {
			keep[i] = (folds.Value(i) == f) == val && (!val || origins[i].IsOriginal())
		}
		sel, err := table.Filter(rec, keep)
		if err != nil {
			return 0, fmt.Errorf("selecting fold rows: %w", err)
		}
		rows += int(sel.NumRows())
		err = w.Write(sel)
		sel.Release()
		if err != nil {
			return 0, err
		}
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	return rows, out.Commit()
}
