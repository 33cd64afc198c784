package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/demo"
)

// doc is this program's doc.go, whose package comment is its --help.
//
//go:embed doc.go
var doc string

// program is the name the program goes by in its messages.
const program = "facet-demodata"

func main() { cli.Main(program, run) }

// maxPersons bounds --persons and --eval-persons: every picture is drawn
// and written, so the counts size the run's time and disk. --aaf goes up
// to the number of All-Age-Faces indices (00000-13321), each picture's
// name holding one.
const (
	maxPersons = 100_000
	maxAAF     = 13322
)

func run(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := cli.NewFlags("facet-demodata", doc, stdout, stderr)
	var out string
	cli.DirVar(fs, &out, "out", "", "output `DIR` (required); must not exist or be empty")
	var persons, evalPersons, aaf, workers int
	cli.IntVar(fs, &persons, "persons", 60, 0, maxPersons, "train persons (7 photos each)")
	cli.IntVar(fs, &evalPersons, "eval-persons", 20, 0, maxPersons, "eval persons (7 photos each, hashed names)")
	cli.IntVar(fs, &aaf, "aaf", 60, 0, maxAAF, "All-Age-Faces style unmasked pictures")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives byte-identical files")
	cli.WorkersVar(fs, &workers, "parallel renderers (does not change the output)")
	force := fs.Bool("force", false, "replace an existing DIR that holds an earlier demo dataset")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	stderr = cli.Stderr(fs, stderr)
	switch {
	case fs.NArg() > 0:
		return cli.Usagef("unexpected argument %q", fs.Arg(0))
	case out == "":
		return cli.Usagef("--out is required")
	case persons+evalPersons+aaf == 0:
		return cli.Usagef("nothing to generate: --persons, --eval-persons and --aaf are all 0")
	}
	cfg := demo.Config{Persons: persons, EvalPersons: evalPersons, AAF: aaf, Seed: *seed, Workers: workers, Force: *force}
	update, finish := cli.Progress(stderr, "draw")
	start := time.Now()
	sum, err := demo.Generate(ctx, out, cfg, update)
	finish()
	switch {
	case errors.Is(err, demo.ErrNotEmpty):
		return fmt.Errorf("%w (use --force to replace an earlier demo dataset)", err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("interrupted; nothing written to %s", out)
	case err != nil:
		return err
	}
	cli.Printf(stderr, program, "wrote %d pictures to %s in %.1fs: train %d (%d persons), eval %d (%d persons), aaf %d",
		sum.Images(), sum.Dir, time.Since(start).Seconds(), sum.TrainImages, sum.TrainPersons, sum.EvalImages, sum.EvalPersons, sum.AAFImages)
	return nil
}
