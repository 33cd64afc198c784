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
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/boostershot/facet/internal/demo"
)

const name = "facet-demodata"

// usageError marks a bad command line (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

func exitCode(err error, stderr io.Writer) int {
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, pflag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: %v (see --help)\n", name, err)
		return 2
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return 1
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	_ = stdout // data only; this program writes files and talks on stderr
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "output directory (required); must not exist or be empty")
	persons := fs.Int("persons", 60, "train persons (7 photos each)")
	evalPersons := fs.Int("eval-persons", 20, "eval persons (7 photos each, hashed names)")
	aaf := fs.Int("aaf", 60, "All-Age-Faces style unmasked pictures")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives byte-identical files")
	workers := fs.Int("workers", runtime.NumCPU(), "parallel renderers (does not change the output)")
	force := fs.Bool("force", false, "replace an existing non-empty --out that holds an earlier demo dataset")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `usage: %s --out DIR [flags]

Writes a synthetic face-mask dataset laid out like the competition data:

  DIR/train/train.csv, DIR/train/images/<id>_<gender>_Asian_<age>/{mask1..5,incorrect_mask,normal}.jpg
  DIR/eval/info.csv, DIR/eval/images/<hash>.jpg, DIR/eval/truth.csv (hidden answers)
  DIR/aaf/<index>A<age>.jpg (All-Age-Faces layout, no masks)
  DIR/faces.csv (drawn face box of every picture)

Drawn faces show mask state, gender and age. Nothing is left behind if the
run fails or is interrupted.

Example:
  %s --out /tmp/demo --persons 60 --eval-persons 20 --aaf 60 --seed 1

Flags:
`, name, name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	switch {
	case fs.NArg() > 0:
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	case *out == "":
		return usageError{errors.New("--out is required")}
	case *persons < 0 || *evalPersons < 0 || *aaf < 0:
		return usageError{errors.New("--persons, --eval-persons and --aaf must not be negative")}
	case *persons+*evalPersons+*aaf == 0:
		return usageError{errors.New("nothing to generate: --persons, --eval-persons and --aaf are all 0")}
	case *workers < 1:
		return usageError{fmt.Errorf("--workers must be at least 1, got %d", *workers)}
	}
	cfg := demo.Config{
		Persons:     *persons,
		EvalPersons: *evalPersons,
		AAF:         *aaf,
		Seed:        *seed,
		Workers:     *workers,
		Force:       *force,
	}
	var progress func(done, total int)
	if isTerminal(stderr) {
		last := time.Time{}
		progress = func(done, total int) {
			if now := time.Now(); done == total || now.Sub(last) > 100*time.Millisecond {
				last = now
				fmt.Fprintf(stderr, "\r%s: %d/%d pictures", name, done, total)
				if done == total {
					fmt.Fprintln(stderr)
				}
			}
		}
	}
	start := time.Now()
	sum, err := demo.Generate(ctx, *out, cfg, progress)
	if err != nil && progress != nil {
		fmt.Fprintln(stderr) // end the progress line
	}
	if errors.Is(err, demo.ErrNotEmpty) {
		return fmt.Errorf("%w (use --force to replace an earlier demo dataset)", err)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted; nothing written to %s", *out)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s: wrote %d pictures to %s in %.1fs: train %d (%s), eval %d (%s), aaf %d\n",
		name, sum.Images(), sum.Dir, time.Since(start).Seconds(),
		sum.TrainImages, personCount(sum.TrainPersons), sum.EvalImages, personCount(sum.EvalPersons), sum.AAFImages)
	return nil
}

func personCount(n int) string {
	if n == 1 {
		return "1 person"
	}
	return fmt.Sprintf("%d persons", n)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
