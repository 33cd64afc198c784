// Package submission writes the mask competition's submission file: the
// eval set's info.csv with its ans column filled, "ImageID,ans", one line
// per row of info.csv in its order, ans the 18-class prediction.
//
// Predictions are matched to info.csv rows by the table's id or image
// path, never by position: facet-prep names an eval image "eval/<ImageID>"
// (path .../eval/images/<ImageID>), and later stages may reorder or drop
// rows. An info.csv row without a prediction is an error, so a submission
// is never shorter than info.csv.
package submission

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/outfile"
)

// Row is one prediction: the table row's id and image path (either may
// be empty) and its predicted class.
type Row struct {
	ID, Path string
	Class    int
}

// Write writes the submission for infoCSV (the competition's
// eval/info.csv) to path, atomically. Each ImageID takes the prediction
// of the row whose id is "eval/<ImageID>" or "<ImageID>", else of the one
// row whose path has the base name ImageID. unused counts the rows that
// no info.csv line took (training rows in the same table, say). An
// ImageID without a prediction, or matched by two rows' paths and no id,
// is an error naming it; nothing is written then.
func Write(path, infoCSV string, rows []Row) (unused int, err error) {
	f, err := os.Open(infoCSV)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var buf bytes.Buffer
	unused, err = Build(&buf, f, rows)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", infoCSV, err)
	}
	return unused, outfile.WriteFile(path, buf.Bytes())
}

// Build writes the submission for the info.csv read from info to w; see
// Write.
func Build(w io.Writer, info io.Reader, rows []Row) (unused int, err error) {
	byID := map[string]int{}
	byBase := map[string]int{} // base name -> row, -1 when two rows share it
	for i, r := range rows {
		if r.Class < 0 || r.Class >= label.NumClasses {
			return 0, fmt.Errorf("row %q: class %d is not 0..%d", r.ID, r.Class, label.NumClasses-1)
		}
		if r.ID != "" {
			if _, dup := byID[r.ID]; dup {
				return 0, fmt.Errorf("id %q has two predictions", r.ID)
			}
			byID[r.ID] = i
		}
		if r.Path != "" {
			base := filepath.Base(r.Path)
			if _, dup := byBase[base]; dup {
				byBase[base] = -1
			} else {
				byBase[base] = i
			}
		}
	}
	cr := csv.NewReader(info)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err == io.EOF {
		return 0, errors.New("empty file, want an ImageID column")
	}
	if err != nil {
		return 0, err
	}
	col := -1
	for i, h := range head {
		if strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")), "ImageID") {
			col = i
		}
	}
	if col < 0 {
		return 0, fmt.Errorf("no ImageID column (header: %s)", strings.Join(head, ","))
	}
	used := make([]bool, len(rows))
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"ImageID", "ans"}); err != nil {
		return 0, err
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		line, _ := cr.FieldPos(0)
		if col >= len(rec) || strings.TrimSpace(rec[col]) == "" {
			return 0, fmt.Errorf("line %d has no ImageID", line)
		}
		id := strings.TrimSpace(rec[col])
		i, ok := byID["eval/"+id]
		if !ok {
			i, ok = byID[id]
		}
		if !ok {
			i, ok = byBase[id]
			if ok && i < 0 {
				return 0, fmt.Errorf("line %d: ImageID %s: two rows have an image of that name and neither has the id eval/%s", line, id, id)
			}
		}
		if !ok {
			return 0, fmt.Errorf("line %d: ImageID %s has no prediction (no row with id eval/%s or an image named so)", line, id, id)
		}
		used[i] = true
		if err := cw.Write([]string{id, strconv.Itoa(rows[i].Class)}); err != nil {
			return 0, err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return 0, err
	}
	for _, u := range used {
		if !u {
			unused++
		}
	}
	return unused, nil
}
