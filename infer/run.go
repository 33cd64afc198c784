package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/croptable"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/model"
	"github.com/boostershot/facet/internal/numrange"
	"github.com/boostershot/facet/internal/pred"
	"github.com/boostershot/facet/internal/shard"
	"github.com/boostershot/facet/internal/table"
)

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
	fs := cli.NewFlags("facet-infer", doc, stdout, stderr)
	fs.StringVar(&o.model, "model", "", "a facet-train `RUNDIR`, a .safetensors checkpoint or a .onnx model (required)")
	fs.StringVar(&o.tta, "tta", "", "test-time augmentation: '' (none) or flip")
	fs.StringVar(&o.submission, "submission", "", "write the competition submission CSV to `FILE` (needs --info)")
	fs.StringVar(&o.info, "info", "", "the competition's eval/info.csv: the rows and order of --submission")
	cli.FloatVar(fs, &o.pseudo, "pseudo", 0, numrange.Range{Min: 0, Max: 1, MinOpen: true}, "write rows with 18-class confidence >= `T` to --pseudo-out")
	fs.StringVar(&o.pseudoOut, "pseudo-out", "", "the pseudo-label table `FILE`, in the format its name says, as -o")
	o.table.AddFlags(fs)
	cli.WorkersVar(fs, &o.workers, "image decoding workers")
	cli.IntVar(fs, &o.chunk, "chunk", 256, 1, maxChunk, "rows decoded and predicted at a time (fewer for a model with a large input)")
	cli.IntVar(fs, &o.fallback, "fallback", 0, 0, label.NumClasses-1, "the 18-class prediction of rows without a readable image")
	fs.StringVar(&o.shard, "shard", "", "predict only part `i/n` of the rows (by id hash); facet-merge join puts the parts together")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	stderr = cli.Stderr(fs, stderr)
	name, err := cli.InputTable(fs.Args())
	if err != nil {
		return err
	}
	if err := o.check(); err != nil {
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
	// A chunk's tensors (two with --tta flip) stay within maxChunkValues.
	o.chunk = min(o.chunk, max(1, maxChunkValues/(2*m.Input().Len())))

	r, err := table.Open(name, stdin, table.ColID, table.ColPath)
	if err != nil {
		return err
	}
	defer r.Release()
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

	p := &predictor{m: m, flip: o.tta == "flip", workers: o.workers, dir: croptable.TableDir(name), fallback: o.fallback, stderr: stderr}
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

// maxChunk bounds --chunk: a chunk's images are decoded and held as
// tensors together (chunk x 3 x S x S floats; 4096 at S = 64 is 192 MiB),
// and a chunk is made smaller where the model's input size would take it
// past maxChunkValues floats.
const (
	maxChunk       = 4096
	maxChunkValues = 1 << 26
)

// check validates the options.
func (o *options) check() error {
	switch {
	case o.model == "":
		return cli.Usagef("--model RUNDIR_OR_CHECKPOINT is required")
	case o.tta != "" && o.tta != "flip":
		return cli.Usagef("--tta %q: want flip (or nothing)", o.tta)
	case (o.submission == "") != (o.info == ""):
		return cli.Usagef("--submission FILE and --info eval/info.csv go together")
	case (o.pseudoOut == "") != (o.pseudo == 0):
		return cli.Usagef("--pseudo T and --pseudo-out FILE go together")
	case o.pseudoOut == "-" || (o.pseudoOut != "" && o.pseudoOut == o.table.Path):
		return cli.Usagef("--pseudo-out %s: want a file of its own", o.pseudoOut)
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
