package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/augment"
	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/crop"
	"github.com/boostershot/facet/internal/croptable"
	"github.com/boostershot/facet/internal/cvimage"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/outfile"
	"github.com/boostershot/facet/internal/shard"
	"github.com/boostershot/facet/internal/table"
	"github.com/boostershot/facet/internal/work"
)

type options struct {
	out, ops, balance, masks, sheet string
	shard                           string
	copies, workers, quality        int
	seed                            uint64
	table                           cli.TableOutput
	maxFailed                       *cli.MaxFailed
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o := options{maxFailed: cli.NewMaxFailed(cli.DefaultMaxFailed)}
	fs := cli.NewFlags("facet-augment", doc, stdout, stderr)
	cli.DirVar(fs, &o.out, "out", "", "write new images under `DIR` (required)")
	fs.StringVar(&o.ops, "ops", augment.DefaultSpec, "augmentation pipeline `SPEC`")
	cli.IntVar(fs, &o.copies, "copies", 0, 0, 100, "augmented copies of every row")
	fs.StringVar(&o.balance, "balance", "", "oversample the classes of `COLUMN[=TARGET]` up to TARGET rows (a count, or a share of the largest class; default the largest)")
	fs.StringVar(&o.masks, "masks", "", "draw synthetic masks on unmasked faces: wear, incorrect or both (comma separated)")
	fs.StringVar(&o.sheet, "sheet", "", "write a contact sheet of faces next to the new images made from them (synthetic masks first) to `FILE.png`")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed")
	cli.IntVar(fs, &o.quality, "quality", 95, 1, 100, "JPEG quality of the new images")
	cli.WorkersVar(fs, &o.workers, "parallel workers")
	o.table.AddFlags(fs)
	fs.Var(o.maxFailed, "max-failed", "fail the run (exit 1, no table) when more new images than this could not be made: a count, or a percentage of them")
	fs.StringVar(&o.shard, "shard", "", "write only part `i/n` of the rows (by id hash) and their new rows; the plan (balancing) still sees the whole table")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	stderr = cli.Stderr(fs, stderr)
	name, err := cli.InputTable(fs.Args())
	if err != nil {
		return err
	}
	pipe, masks, bal, err := o.check()
	if err != nil {
		return err
	}
	part, err := shard.Parse(o.shard)
	if err != nil {
		return cli.UsageError{Err: err}
	}
	r, err := table.Open(name, stdin, table.ColID, table.ColPath)
	if err != nil {
		return err
	}
	defer r.Release()
	recs, err := table.ReadAll(r)
	if err != nil {
		return err
	}
	if r.Rows() == 0 {
		for _, rec := range recs {
			rec.Release()
		}
		return errors.New("the table has no rows")
	}
	all, err := concat(r.Schema(), recs)
	for _, rec := range recs {
		rec.Release()
	}
	if err != nil {
		return err
	}
	defer all.Release()
	src, err := newSource(all, bal, croptable.TableDir(name))
	if err != nil {
		return err
	}
	if len(masks) > 0 && !src.hasLandmarks {
		return errors.New("--masks needs the landmarks column facet-crop writes (run facet-crop first)")
	}
	jobs := plan(src.rows, o.copies, masks, bal, o.seed, stderr)
	if err := uniqueIDs(src.rows, jobs); err != nil {
		return err
	}
	if !part.All() {
		jobs = slices.DeleteFunc(jobs, func(j job) bool { return !part.Has(src.rows[j.parent].id) })
	}
	kept, err := part.Filter(all)
	if err != nil {
		return err
	}
	defer kept.Release()
	if err := o.table.Open(stdout); err != nil {
		return err
	}
	defer o.table.Abort()
	dir, err := outfile.OpenDir(o.out)
	if err != nil {
		return err
	}
	defer dir.Close()

	start := time.Now()
	update, finish := cli.Progress(stderr, "augment")
	results, err := process(ctx, src, jobs, pipe, o, dir, update)
	finish()
	if err != nil {
		return err
	}
	outSchema := table.ExtendSchema(all.Schema(), extraFields)
	newRows, err := src.newRows(outSchema, jobs, results)
	if err != nil {
		return err
	}
	defer newRows.Release()
	failed, first := report(stderr, jobs, results, time.Since(start))
	if err := o.maxFailed.Check(failed, len(jobs), "new images", first); err != nil {
		return err
	}
	if err := writeTable(&o.table, outSchema, kept, newRows); err != nil {
		return err
	}
	if o.sheet != "" {
		if err := writeSheet(o.sheet, src, jobs, results); err != nil {
			return err
		}
	}
	return o.table.Commit()
}

func (o *options) check() (augment.Pipeline, []string, *balanceSpec, error) {
	switch {
	case o.out == "":
		return nil, nil, nil, cli.Usagef("--out DIR is required: the folder new images go to")
	case o.sheet != "" && !strings.HasSuffix(strings.ToLower(o.sheet), ".png"):
		return nil, nil, nil, cli.Usagef("--sheet %s: want a .png file", o.sheet)
	}
	pipe, err := augment.Parse(o.ops)
	if err != nil {
		return nil, nil, nil, cli.UsageError{Err: err}
	}
	var masks []string
	if o.masks != "" {
		for _, m := range strings.Split(o.masks, ",") {
			m = strings.TrimSpace(m)
			if m != "wear" && m != "incorrect" {
				return nil, nil, nil, cli.Usagef("--masks: %q is not wear or incorrect", m)
			}
			masks = append(masks, m)
		}
	}
	var bal *balanceSpec
	if o.balance != "" {
		b, err := parseBalance(o.balance)
		if err != nil {
			return nil, nil, nil, cli.UsageError{Err: err}
		}
		bal = &b
	}
	if o.copies == 0 && len(masks) == 0 && bal == nil {
		return nil, nil, nil, cli.Usagef("nothing to do: give --copies, --balance or --masks")
	}
	return pipe, masks, bal, nil
}

// concat joins the input batches into one record batch.
func concat(schema *arrow.Schema, recs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, schema.NumFields())
	var rows int64
	for _, rec := range recs {
		rows += rec.NumRows()
	}
	for i := range cols {
		parts := make([]arrow.Array, len(recs))
		for j, rec := range recs {
			parts[j] = rec.Column(i)
		}
		c, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			for _, done := range cols[:i] {
				done.Release()
			}
			return nil, err
		}
		cols[i] = c
	}
	rec := array.NewRecordBatch(schema, cols, rows)
	for _, c := range cols {
		c.Release()
	}
	return rec, nil
}

// source is the input table and what jobs need of it.
type source struct {
	rec          arrow.RecordBatch
	rows         []rowInfo
	crops        []croptable.Row // each row's photo, crop and crop geometry
	dir          string          // the table's folder, for relative paths (croptable.Resolve)
	hasLandmarks bool
}

func newSource(rec arrow.RecordBatch, bal *balanceSpec, dir string) (*source, error) {
	crops, err := croptable.Read(rec)
	if err != nil {
		return nil, err
	}
	s := &source{rec: rec, rows: make([]rowInfo, len(crops)), crops: crops, dir: dir,
		hasLandmarks: rec.Schema().HasField(croptable.ColLandmarks)}
	var balCol arrow.Array
	if bal != nil {
		idx := rec.Schema().FieldIndices(bal.column)
		if len(idx) != 1 {
			return nil, fmt.Errorf("--balance: the table has no single %q column", bal.column)
		}
		balCol = rec.Column(idx[0])
	}
	for i, smp := range table.Samples(rec) {
		s.rows[i] = rowInfo{id: smp.ID, mask: smp.Mask, gender: smp.Gender, ageGroup: smp.AgeGroup}
		if balCol != nil && balCol.IsValid(i) {
			if v := balCol.ValueStr(i); v != "-1" && v != "" {
				s.rows[i].class = v
			}
		}
		// Landmarks can carry a mask only where they map onto the image.
		c := crops[i]
		s.rows[i].landmarks = c.Landmarks != nil && (!c.Cropped() || !c.Region.Empty())
	}
	return s, nil
}

// image is the file row p's new images start from.
func (s *source) image(p int) string { return s.crops[p].Image(s.dir) }

// result is what became of a job.
type result struct {
	path string // the new image, "" on failure
	ops  string // the ops applied or the mask drawn
	err  string
}

// process runs the jobs on workers and returns their results in order.
// An image that cannot be made from its row is the row's failure (its
// result says why); one that cannot be written (no space, no permission,
// I/O) is the machine's: no new job starts and process returns that
// error.
func process(ctx context.Context, s *source, jobs []job, pipe augment.Pipeline, o options, dir *outfile.Dir, update func(int, int)) ([]result, error) {
	results := make([]result, len(jobs))
	done := 0
	err := work.Try(ctx, len(jobs), o.workers, func(_, i int) error {
		var fatal error
		results[i], fatal = one(s, jobs[i], pipe, o, dir)
		return fatal
	}, func() { done++; update(done, len(jobs)) })
	if outfile.IsError(err) {
		return nil, err
	}
	return results, err
}

// one makes one new image; fatal is a failure to write it.
func one(s *source, j job, pipe augment.Pipeline, o options, dir *outfile.Dir) (r result, fatal error) {
	id := s.rows[j.parent].id + j.suffix
	dst, err := crop.Path(o.out, id, ".jpg")
	if err != nil {
		return result{err: err.Error()}, nil
	}
	rel, err := filepath.Rel(o.out, dst)
	if err != nil {
		return result{err: err.Error()}, nil
	}
	img, err := cvimage.Load(s.image(j.parent), 0)
	if err != nil {
		return result{err: err.Error()}, nil
	}
	rng := rand.New(rand.NewPCG(j.seed, 0x5eed))
	var ops string
	if j.masked {
		c := s.crops[j.parent]
		lm := c.Landmarks
		if c.Cropped() {
			lm = make([]image.Point, len(lm))
			for k, p := range c.Landmarks {
				x, y := crop.ToCrop(p, c.Box, c.Region, c.Angle, img.W)
				lm[k] = image.Pt(int(x+0.5), int(y+0.5))
			}
		}
		desc, err := augment.DrawMask(img, lm, j.fit, rng)
		if err != nil {
			return result{err: err.Error()}, nil
		}
		ops = "mask:" + j.fit.String() + ":" + desc
	} else {
		var ran []string
		img, ran = pipe.Apply(img, rng)
		ops = strings.Join(ran, ",")
	}
	buf, err := cvimage.EncodeJPEG(img, o.quality)
	if err != nil {
		return result{err: "encoding: " + err.Error()}, nil
	}
	if err := dir.WriteFile(rel, buf); err != nil {
		return result{}, err
	}
	return result{path: dst, ops: ops}, nil
}

// extraFields are the columns facet-augment adds: each new row's parent
// and ops, and every row's origin (table.Origin).
var extraFields = []arrow.Field{
	{Name: "parent_id", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "aug_ops", Type: arrow.BinaryTypes.String, Nullable: true},
	table.OriginField,
}

// newRows builds the rows of the successful jobs, in outSchema: the
// parent row with id, source, image, mask and label replaced, landmarks
// and crop geometry cleared where the image moved, parent_id, aug_ops and
// origin (augmented, or synthetic mask) set. Every other column is the
// parent's.
func (s *source) newRows(outSchema *arrow.Schema, jobs []job, results []result) (arrow.RecordBatch, error) {
	mem := memory.DefaultAllocator
	var ok []int
	for i, r := range results {
		if r.err == "" {
			ok = append(ok, i)
		}
	}
	ib := array.NewInt64Builder(mem)
	for _, i := range ok {
		ib.Append(int64(jobs[i].parent))
	}
	indices := ib.NewArray()
	ib.Release()
	defer indices.Release()
	cols := make([]arrow.Array, outSchema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	parent := array.NewStringBuilder(mem)
	ops := array.NewStringBuilder(mem)
	origin := array.NewInt8Builder(mem)
	for _, i := range ok {
		parent.Append(s.rows[jobs[i].parent].id)
		ops.Append(results[i].ops)
		o := table.Augmented
		if jobs[i].masked {
			o = table.SyntheticMask
		}
		origin.Append(int8(o))
	}
	extra := map[string]arrow.Array{"parent_id": parent.NewArray(), "aug_ops": ops.NewArray(), table.ColOrigin: origin.NewArray()}
	parent.Release()
	ops.Release()
	origin.Release()
	in := s.rec.Schema()
	for i, f := range outSchema.Fields() {
		if a, isExtra := extra[f.Name]; isExtra {
			cols[i], extra[f.Name] = a, nil
			continue
		}
		var err error
		switch f.Name {
		case table.ColID, table.ColSource, croptable.ColCrop, table.ColPath, table.ColMask, table.ColLabel,
			croptable.ColLandmarks, croptable.ColRegionX0, croptable.ColRegionY0, croptable.ColSide, croptable.ColAngle:
			cols[i], err = s.replace(f, ok, jobs, results)
		default:
			cols[i], err = compute.TakeArray(context.Background(), s.rec.Column(in.FieldIndices(f.Name)[0]), indices)
		}
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", f.Name, err)
		}
	}
	return array.NewRecordBatch(outSchema, cols, int64(len(ok))), nil
}

// replace builds the new rows' values of one column that changes.
func (s *source) replace(f arrow.Field, ok []int, jobs []job, results []result) (arrow.Array, error) {
	mem := memory.DefaultAllocator
	b := array.NewBuilder(mem, f.Type)
	defer b.Release()
	for _, i := range ok {
		j, p := jobs[i], jobs[i].parent
		c := s.crops[p]
		moved := !j.masked // the ops move pixels; a drawn mask does not
		switch f.Name {
		case table.ColID:
			b.(*array.StringBuilder).Append(s.rows[p].id + j.suffix)
		case table.ColSource:
			b.(*array.StringBuilder).Append("augment")
		case table.ColPath:
			if c.Cropped() {
				b.(*array.StringBuilder).Append(c.Photo) // the photo stays; the crop is new
				continue
			}
			b.(*array.StringBuilder).Append(results[i].path)
		case croptable.ColCrop:
			if c.Cropped() {
				b.(*array.StringBuilder).Append(results[i].path)
			} else {
				b.AppendNull()
			}
		case table.ColMask:
			m := s.rows[p].mask
			if j.masked {
				m = maskLabel(j.fit)
			}
			b.(*array.Int8Builder).Append(m)
		case table.ColLabel:
			m := s.rows[p].mask
			if j.masked {
				m = maskLabel(j.fit)
			}
			b.(*array.Int8Builder).Append(label.Join(m, s.rows[p].gender, s.rows[p].ageGroup))
		case croptable.ColLandmarks:
			lb, okType := b.(*array.ListBuilder)
			vb, okVals := lb.ValueBuilder().(*array.Int16Builder)
			if !okType || !okVals {
				return nil, errors.New("want list<int16>")
			}
			if moved || c.Landmarks == nil {
				lb.AppendNull()
				continue
			}
			lb.Append(true)
			for _, pt := range c.Landmarks {
				vb.Append(int16(pt.X))
				vb.Append(int16(pt.Y))
			}
		case croptable.ColRegionX0, croptable.ColRegionY0, croptable.ColSide:
			ib, okType := b.(*array.Int32Builder)
			if !okType {
				return nil, errors.New("want int32")
			}
			r, v := c.Region, -1
			switch {
			case moved || r.Empty():
			case f.Name == croptable.ColRegionX0:
				v = r.Min.X
			case f.Name == croptable.ColRegionY0:
				v = r.Min.Y
			default: // croptable.ColSide
				v = r.Dx()
			}
			ib.Append(int32(v))
		case croptable.ColAngle:
			fb, okType := b.(*array.Float32Builder)
			if !okType {
				return nil, errors.New("want float32")
			}
			fb.Append(float32(c.Angle))
		}
	}
	return b.NewArray(), nil
}

// writeTable writes the input rows and then the new rows. The input rows
// keep their origin (table.Origins: original unless the table says
// otherwise) and, from an earlier pass, their parent_id and aug_ops (null
// otherwise).
func writeTable(out *cli.TableOutput, outSchema *arrow.Schema, all, newRows arrow.RecordBatch) error {
	mem := memory.DefaultAllocator
	cols := make([]arrow.Array, len(extraFields))
	for i, f := range extraFields {
		idx := all.Schema().FieldIndices(f.Name)
		switch {
		case f.Name == table.ColOrigin:
			b := array.NewInt8Builder(mem)
			for _, o := range table.Origins(all) {
				b.Append(int8(o))
			}
			cols[i] = b.NewArray()
			b.Release()
		case len(idx) == 1 && arrow.TypeEqual(all.Schema().Field(idx[0]).Type, f.Type):
			cols[i] = all.Column(idx[0])
			cols[i].Retain()
		default:
			cols[i] = array.MakeArrayOfNull(mem, f.Type, int(all.NumRows()))
		}
		defer cols[i].Release()
	}
	orig, err := table.Extend(all, outSchema, extraFields, cols)
	if err != nil {
		return err
	}
	defer orig.Release()
	return out.WriteAll(outSchema, orig, newRows)
}

// report prints what the run made and what failed, and returns the
// number failed and the first reasons.
func report(w io.Writer, jobs []job, results []result, took time.Duration) (failed int, first []string) {
	made := 0
	var examples []string
	for i, r := range results {
		if r.err == "" {
			made++
			continue
		}
		if len(examples) < 5 {
			examples = append(examples, "row "+strconv.Itoa(jobs[i].parent)+jobs[i].suffix+": "+r.err)
		}
	}
	cli.Printf(w, program, "%d new rows in %.1fs (%.0f images/s), %d failed", made, took.Seconds(), float64(len(jobs))/max(took.Seconds(), 1e-9), len(jobs)-made)
	for _, e := range examples {
		fmt.Fprintf(w, "  %s\n", e)
	}
	return len(jobs) - made, examples[:min(3, len(examples))]
}
