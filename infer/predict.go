package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/boostershot/facet/internal/augment"
	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/croptable"
	"github.com/boostershot/facet/internal/cvimage"
	"github.com/boostershot/facet/internal/model"
	"github.com/boostershot/facet/internal/pred"
	"github.com/boostershot/facet/internal/prefetch"
	"github.com/boostershot/facet/internal/shard"
	"github.com/boostershot/facet/internal/table"
	"github.com/boostershot/facet/internal/work"
)

// chunk is a run of rows of the input with their images as model input.
type chunk struct {
	rec       arrow.RecordBatch // the rows (a slice of an input batch)
	images    []float32         // n x 3 x S x S; with flip, n mirrored copies after them
	errs      []string          // why row i has no image ("" when it has one)
	fromPhoto []bool            // row i's crop could not be read; its photo was used
}

// usable reports which rows have an image of their own.
func (c *chunk) usable() []bool {
	ok := make([]bool, len(c.errs))
	for i, e := range c.errs {
		ok[i] = e == ""
	}
	return ok
}

// predictor turns chunks of rows into predictions.
type predictor struct {
	m        model.Model
	flip     bool
	workers  int
	dir      string // the input table's folder, for relative paths; "" for stdin
	fallback int
	stderr   io.Writer

	mu       sync.Mutex
	warnings int
}

// maxWarnings is how many rows a run names on stderr before it only
// counts them.
const maxWarnings = 10

func (p *predictor) warnf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.warnings++
	if p.warnings <= maxWarnings {
		cli.Printf(p.stderr, program, "warning: "+format, args...)
	} else if p.warnings == maxWarnings+1 {
		cli.Printf(p.stderr, program, "warning: more rows with unreadable images; the summary counts them")
	}
}

// load decodes the images of rec's rows into a chunk (rec is kept).
func (p *predictor) load(ctx context.Context, rec arrow.RecordBatch) (*chunk, error) {
	n := int(rec.NumRows())
	in := p.m.Input()
	size, per := in.Size, in.Len()
	copies := 1
	if p.flip {
		copies = 2
	}
	c := &chunk{rec: rec, images: make([]float32, copies*n*per), errs: make([]string, n), fromPhoto: make([]bool, n)}
	ids := rec.Column(rec.Schema().FieldIndices(table.ColID)[0]).(*array.String)
	rows, err := croptable.ReadImages(rec)
	if err != nil {
		return nil, err
	}
	err = work.Each(ctx, n, p.workers, func(_, i int) {
		img, fromPhoto, err := p.image(rows[i], size)
		if err != nil {
			c.errs[i] = err.Error()
			p.warnf("row %s: no prediction of its own: %v", ids.Value(i), err)
			return
		}
		if fromPhoto {
			c.fromPhoto[i] = true
			p.warnf("row %s: crop %s could not be read, predicted from the photo", ids.Value(i), rows[i].Crop)
		}
		if err := in.Tensor(img, c.images[i*per:(i+1)*per]); err != nil {
			c.errs[i] = err.Error()
			return
		}
		if p.flip {
			mirror := augment.Flip{}.Apply(img, nil)
			if err := in.Tensor(mirror, c.images[(n+i)*per:(n+i+1)*per]); err != nil {
				c.errs[i] = err.Error()
			}
		}
	}, nil)
	return c, err
}

// image decodes a row's image at size x size: the crop when it has one
// and it can be read, else the photo.
func (p *predictor) image(r croptable.Row, size int) (img *augment.Image, fromPhoto bool, err error) {
	if r.Cropped() {
		img, err = cvimage.Load(r.Image(p.dir), size)
		if err == nil {
			return img, false, nil
		}
		if r.Photo == "" || r.Photo == r.Crop {
			return nil, false, fmt.Errorf("crop: %w", err)
		}
		img, err2 := cvimage.Load(croptable.Resolve(r.Photo, p.dir), size)
		if err2 != nil {
			return nil, false, fmt.Errorf("crop: %w; photo: %w", err, err2)
		}
		return img, true, nil
	}
	if r.Photo == "" {
		return nil, false, errors.New("no path and no crop_path")
	}
	img, err = cvimage.Load(r.Image(p.dir), size)
	return img, false, err
}

// predict runs the model on a chunk. With flip, each head's probabilities
// are the mean over the image and its mirror image. Rows without an image
// get uniform probabilities and the fallback class.
func (p *predictor) predict(c *chunk) (*pred.Probs, error) {
	all, err := p.m.Predict(c.images)
	if err != nil {
		return nil, err
	}
	n := len(c.errs)
	out := all
	if p.flip {
		out = pred.New(n)
		for _, v := range []struct {
			dst, src []float32
		}{{out.Mask, all.Mask}, {out.Gender, all.Gender}, {out.Age, all.Age}, {out.Class18, all.Class18}} {
			k := len(v.dst) / n
			for j := range v.dst {
				v.dst[j] = (v.src[j] + v.src[n*k+j]) / 2
			}
		}
		if p.m.Single18() {
			out.Marginalise()
		} else {
			out.CombineHeads()
		}
	}
	for i, e := range c.errs {
		if e == "" {
			continue
		}
		pm, pg, pa, c18 := out.Row(i)
		for _, v := range [][]float32{pm, pg, pa, c18} {
			for j := range v {
				v[j] = 1 / float32(len(v))
			}
		}
		out.Pred18[i] = p.fallback
	}
	return out, nil
}

// eachChunk reads r's batches, keeps part's rows, in slices of at most
// size rows, loads each slice while the previous one is predicted
// (internal/prefetch), and calls fn for each in order. The first error
// stops both sides.
func eachChunk(ctx context.Context, r *table.Reader, part shard.Shard, size int, load func(context.Context, arrow.RecordBatch) (*chunk, error), fn func(*chunk) error) error {
	return prefetch.Run(ctx, 1, func(ctx context.Context, send func(*chunk) error) error {
		for r.Next() {
			rec, err := part.Filter(r.RecordBatch())
			if err != nil {
				return err
			}
			err = sendSlices(ctx, rec, size, load, send)
			rec.Release()
			if err != nil {
				return err
			}
		}
		return r.Err()
	}, fn, func(c *chunk) { c.rec.Release() })
}

// sendSlices loads rec's rows in slices of at most size rows and sends
// them on.
func sendSlices(ctx context.Context, rec arrow.RecordBatch, size int, load func(context.Context, arrow.RecordBatch) (*chunk, error), send func(*chunk) error) error {
	for lo := int64(0); lo < rec.NumRows(); lo += int64(size) {
		slice := rec.NewSlice(lo, min(lo+int64(size), rec.NumRows()))
		c, err := load(ctx, slice)
		if err != nil {
			slice.Release()
			return err
		}
		if err := send(c); err != nil {
			slice.Release()
			return err
		}
	}
	return nil
}
