package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/model"
	"github.com/boostershot/facet/internal/pred"
	"github.com/boostershot/facet/internal/shard"
	"github.com/boostershot/facet/internal/table"
)

const synopsis = "facet-infer --model RUNDIR_OR_CHECKPOINT [--tta flip] [--submission FILE --info eval/info.csv] [--pseudo 0.9 --pseudo-out FILE] [TABLE]"

const help = `Reads a sample table (stdin when no TABLE or -), predicts every row with a
trained model and writes the table on with the prediction columns:
  prob_mask, prob_gender, prob_age   each head's probabilities (list<float32>)
  prob18                             the 18 class probabilities (list<float32>)
  pred                               the 18-class prediction (mask*6 + gender*3 + age)
  pred_mask, pred_gender, pred_age_group   each head's prediction
  infer_error                        why a row has no prediction of its own (null when it has)

--model is a facet-train RUNDIR (its best.safetensors or best.onnx), a
.safetensors checkpoint of facet's network or a .onnx model (any network
a plugin trained; run by OpenCV's DNN module), each with its .json config
beside it (see train/PROTOCOL.md). A RUNDIR of --all-folds holds one
model per fold: predict with each (--model RUNDIR/foldK) and combine them
with facet-merge vote.

The image of a row is its crop (crop_path) when the table has one, else the
photo (path); a crop that cannot be read falls back to the photo, with a
warning. A row with no readable image keeps its row with the reason in
infer_error, uniform probabilities and pred = --fallback (default 0, "mask
worn, male, under 30"); the run counts such rows.

--tta flip averages each head's probabilities over the image and its
mirror image.

--submission FILE --info eval/info.csv writes the competition's submission:
ImageID,ans with one line per row of info.csv, in its order.

--pseudo T --pseudo-out FILE writes the rows whose 18-class confidence (the
largest of prob18) is at least T as labelled rows ready to join the
training data (facet-merge join): the input's columns with mask, gender,
age_group and label set from the prediction, source = pseudo, the person
kept, and a pseudo_confidence column.

examples:
  facet-infer --model runs/f0 eval.arrow > eval.pred.arrow
  facet-prep competition:data/eval | facet-crop --out crops | facet-infer --model runs/f0 --tta flip -o eval.pred.arrow
  facet-infer --model runs/resnet/best.onnx --tta flip eval.arrow > eval.pred.arrow
  facet-infer --model runs/f0/best.safetensors --pseudo 0.9 --pseudo-out pseudo.arrow eval.arrow > /dev/null
  facet-infer --model runs/f0 --shard 2/8 -o eval.part2.arrow eval.arrow   # one of 8 machines
`

// errField is the column that says why a row has no prediction of its own.
var errField = arrow.Field{Name: "infer_error", Type: arrow.BinaryTypes.String, Nullable: true}

type options struct {
	model, tta, submission, info, pseudoOut string
	pseudo                                  float64
	workers, chunk, fallback                int
	table                                   cli.TableOutput
	shard                                   string
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var o options
	fs := cli.NewFlags("facet-infer", synopsis, help, stderr)
	fs.StringVar(&o.model, "model", "", "a facet-train `RUNDIR`, a .safetensors checkpoint or a .onnx model (required)")
	fs.StringVar(&o.tta, "tta", "", "test-time augmentation: '' (none) or flip")
	fs.StringVar(&o.submission, "submission", "", "write the competition submission CSV to `FILE` (needs --info)")
	fs.StringVar(&o.info, "info", "", "the competition's eval/info.csv: the rows and order of --submission")
	fs.Float64Var(&o.pseudo, "pseudo", 0, "write rows with 18-class confidence >= `T` (0 < T <= 1) to --pseudo-out")
	fs.StringVar(&o.pseudoOut, "pseudo-out", "", "the pseudo-label table `FILE` (Arrow IPC file; .csv for CSV)")
	o.table.AddFlags(fs)
	fs.IntVar(&o.workers, "workers", runtime.NumCPU(), "image decoding workers")
	fs.IntVar(&o.chunk, "chunk", 256, "rows decoded and predicted at a time")
	fs.IntVar(&o.fallback, "fallback", 0, "the 18-class prediction of rows without a readable image")
	fs.StringVar(&o.shard, "shard", "", "predict only part `i/n` of the rows (by id hash); facet-merge join puts the parts together")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if err := o.check(fs.Args()); err != nil {
		return err
	}
	part, err := shard.Parse(o.shard)
	if err != nil {
		return cli.UsageError{Err: err}
	}
	if !part.All() && o.submission != "" {
		return cli.Usagef("--submission needs every row: write it with facet-merge after joining the shards")
	}
	m, err := model.Open(o.model)
	if err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	defer m.Close()

	name := "-"
	if fs.NArg() == 1 {
		name = fs.Arg(0)
	}
	r, err := table.Open(name, stdin, table.ColID, table.ColPath)
	if err != nil {
		return err
	}
	defer r.Release()
	dir := ""
	if name != "-" {
		dir = filepath.Dir(name)
	}

	w := &o.table
	if err := w.Open(stdout); err != nil {
		return err
	}
	defer w.Abort()
	schema := table.ExtendSchema(r.Schema(), append(append([]arrow.Field(nil), pred.Fields...), errField))
	if err := w.Begin(schema); err != nil {
		return err
	}
	var ps *pred.PseudoWriter
	if o.pseudoOut != "" {
		if ps, err = pred.NewPseudoWriter(o.pseudoOut, r.Schema(), o.pseudo); err != nil {
			return err
		}
		defer ps.Abort()
	}
	var sub *submissionRows
	if o.submission != "" {
		sub = &submissionRows{}
	}

	p := &predictor{m: m, flip: o.tta == "flip", workers: o.workers, dir: dir, fallback: o.fallback, stderr: stderr}
	update, finish := cli.Progress(stderr, "infer")
	start := time.Now()
	var st stats
	err = eachChunk(ctx, r, part, o.chunk, p.load, func(c *chunk) error {
		probs, err := p.predict(c)
		if err != nil {
			return err
		}
		st.add(c)
		update(st.rows, -1)
		if err := writeChunk(w, schema, c, probs); err != nil {
			return err
		}
		if sub != nil {
			sub.add(c.rec, probs)
		}
		if ps != nil {
			return ps.Add(c.rec, probs, c.usable())
		}
		return nil
	})
	finish()
	if err != nil {
		return err
	}
	if sub != nil {
		if err := sub.write(o.submission, o.info, stderr); err != nil {
			return err
		}
	}
	if ps != nil {
		if err := ps.Commit(); err != nil {
			return err
		}
	}
	if err := w.Commit(); err != nil {
		return err
	}
	st.print(stderr, time.Since(start), ps)
	return nil
}

// check validates the options and the arguments.
func (o *options) check(args []string) error {
	switch {
	case o.model == "":
		return cli.Usagef("--model RUNDIR_OR_CHECKPOINT is required")
	case len(args) > 1:
		return cli.Usagef("one TABLE at most, got %d", len(args))
	case o.tta != "" && o.tta != "flip":
		return cli.Usagef("--tta %q: want flip (or nothing)", o.tta)
	case (o.submission == "") != (o.info == ""):
		return cli.Usagef("--submission FILE and --info eval/info.csv go together")
	case (o.pseudoOut == "") != (o.pseudo == 0):
		return cli.Usagef("--pseudo T and --pseudo-out FILE go together")
	case o.pseudoOut == "-" || (o.pseudoOut != "" && o.pseudoOut == o.table.Path):
		return cli.Usagef("--pseudo-out %s: want a file of its own", o.pseudoOut)
	case o.pseudo < 0 || o.pseudo > 1:
		return cli.Usagef("--pseudo %g: want a confidence in (0, 1]", o.pseudo)
	case o.workers < 1:
		return cli.Usagef("--workers must be at least 1")
	case o.chunk < 1:
		return cli.Usagef("--chunk must be at least 1")
	case o.fallback < 0 || o.fallback >= label.NumClasses:
		return cli.Usagef("--fallback %d: want a class of 0..%d", o.fallback, label.NumClasses-1)
	}
	return nil
}

// writeChunk writes a chunk's rows with their prediction columns.
func writeChunk(w *cli.TableOutput, schema *arrow.Schema, c *chunk, p *pred.Probs) error {
	cols, err := pred.Columns(p, 0, p.N)
	if err != nil {
		return err
	}
	b := array.NewStringBuilder(memory.DefaultAllocator)
	for _, e := range c.errs {
		if e == "" {
			b.AppendNull()
		} else {
			b.Append(e)
		}
	}
	cols = append(cols, b.NewArray())
	b.Release()
	defer func() {
		for _, col := range cols {
			col.Release()
		}
	}()
	rec, err := table.Extend(c.rec, schema, append(append([]arrow.Field(nil), pred.Fields...), errField), cols)
	if err != nil {
		return err
	}
	defer rec.Release()
	return w.Write(rec)
}

// stats counts what a run did.
type stats struct {
	rows, failed, fromPhoto int
}

func (s *stats) add(c *chunk) {
	s.rows += int(c.rec.NumRows())
	for i, e := range c.errs {
		if e != "" {
			s.failed++
		} else if c.fromPhoto[i] {
			s.fromPhoto++
		}
	}
}

func (s *stats) print(stderr io.Writer, d time.Duration, ps *pred.PseudoWriter) {
	var b strings.Builder
	fmt.Fprintf(&b, "%d rows in %.1fs (%.0f images/s)", s.rows, d.Seconds(), float64(s.rows)/max(d.Seconds(), 1e-9))
	fmt.Fprintf(&b, "; %d without a readable image (pred = fallback)", s.failed)
	if s.fromPhoto > 0 {
		fmt.Fprintf(&b, "; %d predicted from the photo because the crop could not be read", s.fromPhoto)
	}
	if ps != nil {
		fmt.Fprintf(&b, "; %d pseudo labels at confidence >= %g -> %s", ps.Rows, ps.Threshold, ps.Path)
	}
	cli.Printf(stderr, program, "%s", b.String())
}
