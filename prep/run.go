package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/atomicfile"
	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/dataset"
	"github.com/boostershot/facet/internal/fix"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/summary"
	"github.com/boostershot/facet/internal/table"
)

const synopsis = "facet-prep [flags] [NAME=]KIND:PATH..."

const help = `sources (KIND:PATH):
  competition:DIR         the competition's train/ (train.csv + images/<id>_<gender>_<race>_<age>/),
                          eval/ (info.csv + images/), or the folder holding both
  aaf:DIR                 All-Age-Faces images named %05dA%02d.jpg (index, age)
  utkface:DIR             UTKFace images named age_gender_race_date.jpg[.chip.jpg]
  imagefolder:HEAD=DIR    one subfolder per class of HEAD (mask, gender, age_group, label),
                          e.g. imagefolder:mask=data/masks with masks/{wear,incorrect,none}/
  csv:FILE                a CSV with a path column and any of id, person, subset, race,
                          mask, gender, age, age_group, label
  boxes:FILE              a CSV of annotated faces, one row each: file (or path), x0 y0 x1 y1
                          (pixels), the mask label in label (or mask), optionally face,
                          person, subset, gender, age; ids boxes/FILE#FACE, the box in
                          box_x0 box_y0 box_x1 box_y1 for facet-crop --boxes

NAME=KIND:PATH names a source: its rows get NAME as their source (instead
of the kind) and at the head of their ids and persons (utkface/x.jpg becomes
NAME/x.jpg; competition and csv ids get NAME/ in front), so two sources
with the same file names keep distinct ids and later stages can tell them
apart, e.g. facet-split --train-only source=NAME. A NAME is letters, digits,
'.', '_' and '-', not a kind; an "=" after the colon is the path's
(imagefolder:mask=DIR). Leave the competition's eval set unnamed when a
submission is to be written: its ids must stay eval/<ImageID>.

Rows that cannot be read are left out and counted by reason on stderr
(--strict makes any of them fatal). The table goes to stdout as an Arrow
stream, or to -o FILE (.arrow: Arrow file format), or as CSV with --csv.

examples:
  facet-prep competition:data/train competition:data/eval aaf:data/aaf > samples.arrows
  facet-prep --age-bins 30,58 --fix corrections/competition.csv -o samples.arrow competition:data
  facet-prep --csv --verify imagefolder:mask=masks utkface:faces/utkface > samples.csv
  facet-prep utkface:faces/utkface utkface-more=utkface:faces/utkface-more > faces.arrows
  facet-prep boxes:crowds/boxes.csv | facet-crop --boxes --out crops > faces.arrows
`

type options struct {
	output   string
	csv      bool
	ageBins  string
	fixes    []string
	verify   bool
	strict   bool
	workers  int
	report   string
	problems string
	quiet    bool
}

func run(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var o options
	fs := cli.NewFlags("facet-prep", synopsis, help, stderr)
	fs.StringVarP(&o.output, "output", "o", "-", "write the table to `FILE` (- for stdout)")
	fs.BoolVar(&o.csv, "csv", false, "write CSV for people instead of Arrow")
	fs.StringVar(&o.ageBins, "age-bins", label.DefaultBins.String(), "the two age cut points between the three age groups")
	fs.StringArrayVar(&o.fixes, "fix", nil, "apply label corrections from `FILE` (by,key,field,value,note); repeatable")
	fs.BoolVar(&o.verify, "verify", false, "decode every image and leave out the unreadable ones")
	fs.BoolVar(&o.strict, "strict", false, "fail on any file or row that cannot be used, instead of leaving it out")
	fs.IntVar(&o.workers, "workers", runtime.NumCPU(), "parallel image decoders for --verify")
	fs.StringVar(&o.report, "report", "", "write a class-distribution chart to `FILE` (.png, .svg or .pdf)")
	fs.StringVar(&o.problems, "problems", "", "write every left-out file or row to `FILE` as CSV")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "print only problems and errors, no summary")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	bins, err := label.ParseBins(o.ageBins)
	if err != nil {
		return cli.UsageError{Err: err}
	}
	if fs.NArg() == 0 {
		return cli.Usagef("no sources given (want [NAME=]KIND:PATH, e.g. competition:data/train)")
	}
	if o.workers < 1 {
		return cli.Usagef("--workers must be at least 1")
	}
	chartFormat := strings.TrimPrefix(strings.ToLower(filepath.Ext(o.report)), ".")
	if o.report != "" && chartFormat != "png" && chartFormat != "svg" && chartFormat != "pdf" {
		return cli.Usagef("--report %s: want a .png, .svg or .pdf file", o.report)
	}
	var sources []dataset.Source
	for _, spec := range fs.Args() {
		src, err := dataset.ParseSource(spec)
		if err != nil {
			return cli.UsageError{Err: err}
		}
		sources = append(sources, src)
	}
	var corrections [][]fix.Correction
	for _, path := range o.fixes {
		c, err := readCorrections(path)
		if err != nil {
			return err
		}
		corrections = append(corrections, c)
	}
	// Open the output before the work, so a bad path fails fast.
	out, err := cli.CreateOutput(o.output, stdout, !o.csv)
	if err != nil {
		return err
	}
	defer out.Abort()

	start := time.Now()
	samples, problems, ignored, err := load(sources, bins)
	if err != nil {
		return err
	}
	for i, c := range corrections {
		changes, err := fix.Apply(samples, c, bins)
		if err != nil {
			return fmt.Errorf("%s: %w", o.fixes[i], err)
		}
		for _, ch := range changes {
			fmt.Fprintf(stderr, "facet-prep: fix %s\n", ch)
		}
		fmt.Fprintf(stderr, "facet-prep: %s: %d corrections, %d label changes\n", o.fixes[i], len(c), len(changes))
	}
	if o.verify {
		update, finish := cli.Progress(stderr, "verify")
		var bad []dataset.Problem
		samples, bad, err = dataset.Verify(ctx, samples, o.workers, update)
		finish()
		if err != nil {
			return err
		}
		problems = append(problems, bad...)
	}
	sort.SliceStable(problems, func(i, j int) bool {
		a, b := problems[i], problems[j]
		if a.Reason != b.Reason {
			return a.Reason < b.Reason
		}
		return a.Item < b.Item
	})
	reportProblems(stderr, problems, ignored)
	if o.problems != "" {
		if err := writeProblems(o.problems, problems); err != nil {
			return err
		}
	}
	if o.strict && len(problems) > 0 {
		return fmt.Errorf("--strict: %d files or rows could not be used (listed above)", len(problems))
	}
	if len(samples) == 0 {
		return errors.New("no samples: every source was empty or unusable")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := writeTable(out, samples, bins, table.FormatFor(o.output, o.csv)); err != nil {
		return err
	}
	counts := summary.Of(samples, bins)
	if o.report != "" {
		if err := writeChart(o.report, chartFormat, counts); err != nil {
			return err
		}
	}
	if err := out.Commit(); err != nil {
		return err
	}
	if !o.quiet {
		fmt.Fprintf(stderr, "facet-prep: %d rows from %d sources in %.2fs, %d left out\n", len(samples), len(sources), time.Since(start).Seconds(), len(problems))
		if err := counts.Write(stderr); err != nil {
			return err
		}
	}
	return nil
}

// load reads every source and joins them, leaving out later rows whose id
// an earlier row already has.
func load(sources []dataset.Source, bins label.Bins) ([]table.Sample, []dataset.Problem, int, error) {
	var samples []table.Sample
	var problems []dataset.Problem
	ignored := 0
	seen := map[string]string{}
	for _, src := range sources {
		res, err := dataset.Load(src, bins)
		if err != nil {
			return nil, nil, 0, err
		}
		problems = append(problems, res.Problems...)
		ignored += res.Ignored
		for _, s := range res.Samples {
			if first, dup := seen[s.ID]; dup {
				problems = append(problems, dataset.Problem{Source: src.String(), Item: s.ID, Reason: dataset.ReasonDuplicateID, Detail: "already read from " + first})
				continue
			}
			seen[s.ID] = src.String()
			samples = append(samples, s)
		}
	}
	return samples, problems, ignored, nil
}

func readCorrections(path string) ([]fix.Correction, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := fix.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// maxExamples is how many problems of each reason are listed on stderr.
const maxExamples = 5

func reportProblems(w io.Writer, problems []dataset.Problem, ignored int) {
	if ignored > 0 {
		fmt.Fprintf(w, "facet-prep: ignored %d hidden system files (._*, .DS_Store, Thumbs.db)\n", ignored)
	}
	if len(problems) == 0 {
		return
	}
	fmt.Fprintf(w, "facet-prep: left out %d files or rows:\n", len(problems))
	for i := 0; i < len(problems); {
		j := i
		for j < len(problems) && problems[j].Reason == problems[i].Reason {
			j++
		}
		fmt.Fprintf(w, "  %s: %d\n", problems[i].Reason, j-i)
		for k := i; k < j && k < i+maxExamples; k++ {
			fmt.Fprintf(w, "    %s\n", problems[k])
		}
		if j-i > maxExamples {
			fmt.Fprintf(w, "    ... and %d more (--problems FILE lists all)\n", j-i-maxExamples)
		}
		i = j
	}
}

func writeProblems(path string, problems []dataset.Problem) error {
	out, err := cli.CreateOutput(path, nil, false)
	if err != nil {
		return err
	}
	defer out.Abort()
	w := csv.NewWriter(out)
	_ = w.Write([]string{"source", "item", "reason", "detail"})
	for _, p := range problems {
		_ = w.Write([]string{p.Source, p.Item, p.Reason, p.Detail})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return out.Commit()
}

// writeTable writes the samples; the box columns come along when a sample
// has a box (a boxes: source).
func writeTable(w io.Writer, samples []table.Sample, bins label.Bins, f table.Format) error {
	schema := table.NewSchema(bins)
	if slices.ContainsFunc(samples, func(s table.Sample) bool { return !s.Box.Empty() }) {
		schema = table.ExtendSchema(schema, table.BoxFields)
	}
	tw, err := table.NewWriter(w, schema, f)
	if err != nil {
		return err
	}
	for _, rec := range table.Records(memory.DefaultAllocator, schema, samples) {
		err := tw.Write(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return tw.Close()
}

func writeChart(path, format string, counts summary.Counts) error {
	return atomicfile.WriteWith(path, func(w io.Writer) error { return counts.Chart(w, format) })
}
