package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/cvimage"
	"github.com/boostershot/facet/internal/dataset"
	"github.com/boostershot/facet/internal/fix"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/outfile"
	"github.com/boostershot/facet/internal/summary"
	"github.com/boostershot/facet/internal/table"
)

type options struct {
	out      cli.TableOutput
	ageBins  string
	fixes    []string
	verify   bool
	strict   bool
	workers  int
	report   string
	problems string
}

func run(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var o options
	fs := cli.NewFlags("facet-prep", doc, stdout, stderr)
	o.out.AddFlags(fs)
	fs.StringVar(&o.ageBins, "age-bins", label.DefaultBins.String(), "the two age cut points between the three age groups")
	fs.StringArrayVar(&o.fixes, "fix", nil, "apply label corrections from `FILE` (by,key,field,value,note); repeatable")
	fs.BoolVar(&o.verify, "verify", false, "decode every image and leave out the unreadable ones")
	fs.BoolVar(&o.strict, "strict", false, "fail on any file or row that cannot be used, instead of leaving it out")
	cli.WorkersVar(fs, &o.workers, "parallel image decoders for --verify")
	fs.StringVar(&o.report, "report", "", "write a class-distribution chart to `FILE` (.png, .svg or .pdf)")
	fs.StringVar(&o.problems, "problems", "", "write every left-out file or row to `FILE` as CSV")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	stderr = cli.Stderr(fs, stderr)
	bins, err := label.ParseBins(o.ageBins)
	if err != nil {
		return cli.UsageError{Err: err}
	}
	if fs.NArg() == 0 {
		return cli.Usagef("no sources given (want [NAME=]KIND:PATH, e.g. competition:data/train)")
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
	if err := o.out.Open(stdout); err != nil {
		return err
	}
	defer o.out.Abort()

	start := time.Now()
	samples, problems, ignored, err := load(sources, bins, stderr)
	if err != nil {
		return err
	}
	for i, c := range corrections {
		changes, err := fix.Apply(samples, c, bins)
		if err != nil {
			return fmt.Errorf("%s: %w", o.fixes[i], err)
		}
		for _, ch := range changes {
			cli.Printf(stderr, program, "fix %s", ch)
		}
		cli.Printf(stderr, program, "%s: %d corrections, %d label changes", o.fixes[i], len(c), len(changes))
	}
	warnGenders(stderr, dataset.GenderConflicts(samples))
	if o.verify {
		update, finish := cli.Progress(stderr, "verify")
		var bad []dataset.Problem
		samples, bad, err = dataset.Verify(ctx, samples, o.workers, cvimage.Verify, update)
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
	if err := writeTable(&o.out, samples, bins); err != nil {
		return err
	}
	counts := summary.Of(samples, bins)
	if o.report != "" {
		if err := writeChart(o.report, chartFormat, counts); err != nil {
			return err
		}
	}
	if err := o.out.Commit(); err != nil {
		return err
	}
	cli.Printf(stderr, program, "%d rows from %d sources in %.2fs, %d left out", len(samples), len(sources), time.Since(start).Seconds(), len(problems))
	return counts.Write(stderr)
}

// load reads every source and joins them, leaving out rows whose id could
// not name a file and later rows whose id an earlier row already has. It
// names the facet output folders (crops) the sources' scans skipped on w.
func load(sources []dataset.Source, bins label.Bins, w io.Writer) ([]table.Sample, []dataset.Problem, int, error) {
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
		for _, dir := range res.Outputs {
			fmt.Fprintf(w, "facet-prep: %s: skipped %s, a facet output folder (it holds %s)\n", src, dir, dataset.OutputMark)
		}
		for _, s := range res.Samples {
			// An id a later stage cannot use as a file name (facet-crop's
			// crops are named by id) is left out here, not found there.
			if err := table.CheckID(s.ID); err != nil {
				problems = append(problems, dataset.Problem{Source: src.String(), Item: s.ID, Reason: dataset.ReasonUnsafeID, Detail: err.Error()})
				continue
			}
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

// warnGenders warns about persons whose rows give both genders (after
// the corrections): they stay one person, but one side's gender is
// wrong; --fix can correct it.
func warnGenders(w io.Writer, conflicts []dataset.GenderConflict) {
	for i, c := range conflicts {
		if i == maxExamples {
			fmt.Fprintf(w, "facet-prep: warning: ... and %d more persons with two genders\n", len(conflicts)-maxExamples)
			break
		}
		fmt.Fprintf(w, "facet-prep: warning: %s: one person with two genders (correct it with --fix)\n", c)
	}
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
		cli.Printf(w, program, "ignored %d hidden system files (._*, .DS_Store, Thumbs.db)", ignored)
	}
	if len(problems) == 0 {
		return
	}
	cli.Printf(w, program, "left out %d files or rows:", len(problems))
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
func writeTable(out *cli.TableOutput, samples []table.Sample, bins label.Bins) error {
	var extra []arrow.Field
	if slices.ContainsFunc(samples, func(s table.Sample) bool { return !s.Box.Empty() }) {
		extra = table.BoxFields
	}
	schema := table.NewSchema(bins, extra...)
	if err := out.Begin(schema); err != nil {
		return err
	}
	for _, rec := range table.Records(memory.DefaultAllocator, schema, samples) {
		err := out.Write(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

func writeChart(path, format string, counts summary.Counts) error {
	return outfile.WriteWith(path, func(w io.Writer) error { return counts.Chart(w, format) })
}
