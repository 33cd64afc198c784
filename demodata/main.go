// Command facet-demodata writes a small synthetic face-mask dataset in the
// competition's layout (train/, eval/) plus an All-Age-Faces style folder
// (aaf/), so the facet pipeline can be tried end to end without real data.
// See package internal/demo for what the pictures show.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/demo"
)

// program is the name the program goes by in its messages.
const program = "facet-demodata"

func main() { cli.Main(program, run) }

const synopsis = "facet-demodata --out DIR [flags]"

const help = `Writes a synthetic face-mask dataset laid out like the competition data:

  DIR/train/train.csv, DIR/train/images/<id>_<gender>_Asian_<age>/{mask1..5,incorrect_mask,normal}.jpg
  DIR/eval/info.csv, DIR/eval/images/<hash>.jpg, DIR/eval/truth.csv (hidden answers)
  DIR/aaf/<index>A<age>.jpg (All-Age-Faces layout, no masks)
  DIR/faces.csv (drawn face box of every picture)

Drawn faces show mask state, gender and age. The same seed gives the same
bytes. Nothing is left behind if the run fails or is interrupted.

example:
  facet-demodata --out /tmp/demo --persons 60 --eval-persons 20 --aaf 60 --seed 1
`

func run(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) error {
	fs := cli.NewFlags("facet-demodata", synopsis, help, stderr)
	out := fs.String("out", "", "output `DIR` (required); must not exist or be empty")
	persons := fs.Int("persons", 60, "train persons (7 photos each)")
	evalPersons := fs.Int("eval-persons", 20, "eval persons (7 photos each, hashed names)")
	aaf := fs.Int("aaf", 60, "All-Age-Faces style unmasked pictures")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives byte-identical files")
	workers := fs.Int("workers", runtime.NumCPU(), "parallel renderers (does not change the output)")
	force := fs.Bool("force", false, "replace an existing DIR that holds an earlier demo dataset")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return cli.Usagef("unexpected argument %q", fs.Arg(0))
	case *out == "":
		return cli.Usagef("--out is required")
	case *persons < 0 || *evalPersons < 0 || *aaf < 0:
		return cli.Usagef("--persons, --eval-persons and --aaf must not be negative")
	case *persons+*evalPersons+*aaf == 0:
		return cli.Usagef("nothing to generate: --persons, --eval-persons and --aaf are all 0")
	case *workers < 1:
		return cli.Usagef("--workers must be at least 1, got %d", *workers)
	}
	cfg := demo.Config{Persons: *persons, EvalPersons: *evalPersons, AAF: *aaf, Seed: *seed, Workers: *workers, Force: *force}
	update, finish := cli.Progress(stderr, "draw")
	start := time.Now()
	sum, err := demo.Generate(ctx, *out, cfg, update)
	finish()
	switch {
	case errors.Is(err, demo.ErrNotEmpty):
		return fmt.Errorf("%w (use --force to replace an earlier demo dataset)", err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("interrupted; nothing written to %s", *out)
	case err != nil:
		return err
	}
	cli.Printf(stderr, program, "wrote %d pictures to %s in %.1fs: train %d (%d persons), eval %d (%d persons), aaf %d",
		sum.Images(), sum.Dir, time.Since(start).Seconds(), sum.TrainImages, sum.TrainPersons, sum.EvalImages, sum.EvalPersons, sum.AAFImages)
	return nil
}
