package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/boostershot/facet/internal/augment"
	"github.com/boostershot/facet/internal/croptable"
	"github.com/boostershot/facet/internal/cvimage"
	"github.com/boostershot/facet/internal/outfile"
	"github.com/boostershot/facet/internal/table"
	"github.com/boostershot/facet/internal/work"
)

// dataset is one table (train or validation) with its images decoded and
// resized to the model's input size once, so every epoch only augments
// small images.
type dataset struct {
	path   string
	schema *arrow.Schema
	recs   []arrow.RecordBatch // the table as read, kept for oof.arrow
	ids    []string
	images []string // the file each row's image comes from
	mask   []int8
	gender []int8
	age    []int8
	pix    []*augment.Image // S x S, filled by load
}

func (d *dataset) Len() int { return len(d.ids) }

func (d *dataset) Release() {
	for _, r := range d.recs {
		r.Release()
	}
	d.recs = nil
}

// readTable reads an Arrow table (file or stream) and its label columns.
// The image of a row is its crop, else its photo (croptable.Row.Image). A validation table (val) keeps its
// original rows only (table.Origin): what a stage made (augmented copies,
// synthetic masks, pseudo labels) is never scored nor written to
// oof.arrow; made counts the rows left out.
func readTable(path string, val bool) (d *dataset, made int, err error) {
	schema, recs, err := table.ReadFile(path, table.ColID, table.ColPath, table.ColMask, table.ColGender, table.ColAgeGroup)
	if err != nil {
		return nil, 0, err
	}
	d = &dataset{path: path, schema: schema, recs: recs}
	if val {
		if made, err = d.originalOnly(); err != nil {
			d.Release()
			return nil, 0, fmt.Errorf("%s: %w", path, err)
		}
	}
	dir := croptable.TableDir(path)
	for _, rec := range d.recs {
		crops, err := croptable.ReadImages(rec)
		if err != nil {
			d.Release()
			return nil, made, fmt.Errorf("%s: %w", path, err)
		}
		for i, s := range table.Samples(rec) {
			img := crops[i].Image(dir)
			d.ids = append(d.ids, s.ID)
			d.images = append(d.images, img)
			d.mask = append(d.mask, s.Mask)
			d.gender = append(d.gender, s.Gender)
			d.age = append(d.age, s.AgeGroup)
		}
	}
	if len(d.ids) == 0 {
		d.Release()
		what := "rows"
		if made > 0 {
			what = "original rows (origin 0) to validate on"
		}
		return nil, made, fmt.Errorf("%s: the table has no %s", path, what)
	}
	return d, made, nil
}

// originalOnly drops the rows of d.recs that are not original, and
// returns how many it dropped.
func (d *dataset) originalOnly() (int, error) {
	made := 0
	for i, rec := range d.recs {
		origins := table.Origins(rec)
		keep := make([]bool, len(origins))
		for j, o := range origins {
			keep[j] = o.IsOriginal()
			if !keep[j] {
				made++
			}
		}
		sel, err := table.Filter(rec, keep)
		if err != nil {
			return made, err
		}
		rec.Release()
		d.recs[i] = sel
	}
	return made, nil
}

// load decodes every image and resizes it to size x size on workers
// goroutines. progress is called after each image.
func (d *dataset) load(ctx context.Context, size, workers int, progress func(done, total int)) error {
	d.pix = make([]*augment.Image, d.Len())
	errs := make([]error, d.Len())
	var done atomic.Int64
	err := work.Each(ctx, d.Len(), workers, func(_, i int) {
		d.pix[i], errs[i] = cvimage.Load(d.images[i], size)
	}, func() { progress(int(done.Add(1)), d.Len()) })
	if err != nil {
		return err
	}
	for i, e := range errs {
		if e != nil {
			return fmt.Errorf("%s: row %s: %w", d.path, d.ids[i], e)
		}
	}
	return nil
}

// writeCSV writes the rows as id,image,mask,gender,age_group with image
// the absolute path of the file the row's image comes from: the table in
// a form any language reads without an Arrow library (the exec backend's
// train_csv and val_csv).
func (d *dataset) writeCSV(path string) error {
	return outfile.WriteWith(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{"id", "image", "mask", "gender", "age_group"})
		for i, id := range d.ids {
			img, err := filepath.Abs(d.images[i])
			if err != nil {
				return err
			}
			cw.Write([]string{id, img, strconv.Itoa(int(d.mask[i])), strconv.Itoa(int(d.gender[i])), strconv.Itoa(int(d.age[i]))})
		}
		cw.Flush()
		return cw.Error()
	})
}
