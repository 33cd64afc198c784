package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/croptable"
	"github.com/boostershot/facet/internal/dup"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/suspect"
	"github.com/boostershot/facet/internal/table"
)

type suspectOptions struct {
	heads  []label.Head
	by     string
	rank   string
	method string
	sheet  string
	sheetN int
	output string
	dupMax int // --dup-distance
}

// maxSheet bounds --sheet-count: the sheet is one image of all the faces.
const maxSheet = 1000

func runSuspects(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var (
		o     suspectOptions
		heads string
	)
	fs := cli.NewFlags("facet-merge suspects", doc, stdout, stderr)
	fs.StringVar(&heads, "heads", "mask,gender,age_group", "heads to judge, comma separated")
	fs.StringVar(&o.by, "by", "person", "judge gender and age group per `person` or per row (id)")
	fs.StringVar(&o.method, "method", suspect.Threshold, "how suspects are picked: `threshold` or noise-rate (see below)")
	fs.StringVar(&o.rank, "rank", "margin", "order suspects by `margin` p(j)-p(i), largest first, or by self (p(i), lowest first)")
	fs.StringVar(&o.sheet, "sheet", "", "draw the top suspects' images to `FILE.png`")
	cli.IntVar(fs, &o.sheetN, "sheet-count", 48, 1, maxSheet, "number of suspects on the sheet")
	fs.StringVarP(&o.output, "output", "o", "-", "write the corrections CSV to `FILE` (- for stdout)")
	cli.IntVar(fs, &o.dupMax, "dup-distance", dup.DefaultDistance, 0, dup.MaxDistance, "without a dup_group column, rows whose crop_hash differ in at most `N` bits are duplicates (0: no duplicate check)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	stderr = cli.Stderr(fs, stderr)
	for h := range strings.SplitSeq(heads, ",") {
		h := label.Head(strings.TrimSpace(h))
		if !slices.Contains(suspect.Heads, h) {
			return cli.Usagef("--heads: %q is not mask, gender or age_group", h)
		}
		if !slices.Contains(o.heads, h) {
			o.heads = append(o.heads, h)
		}
	}
	switch {
	case o.by != "person" && o.by != "id":
		return cli.Usagef("--by %q: want person or id", o.by)
	case o.method != suspect.NoiseRate && o.method != suspect.Threshold:
		return cli.Usagef("--method %q: want %s or %s", o.method, suspect.NoiseRate, suspect.Threshold)
	case o.rank != suspect.RankMargin && o.rank != suspect.RankSelf:
		return cli.Usagef("--rank %q: want margin or self", o.rank)
	case fs.NArg() > 1:
		return cli.Usagef("want one OOF_PREDICTIONS table (or stdin), got %d", fs.NArg())
	}
	names := fs.Args()
	if len(names) == 0 {
		names = []string{"-"}
	}
	required := []string{table.ColID}
	for _, h := range o.heads {
		required = append(required, string(h))
	}
	ins, err := readInputs(names, stdin, table.ColID)
	if err != nil {
		return err
	}
	in := ins[0]
	defer in.release()
	dupGroups, err := duplicateGroups(in, o.dupMax)
	if err != nil {
		return err
	}
	// A table without predictions (facet-split's output) gets the
	// duplicate check alone.
	withPreds := true
	for _, c := range append(required, predColumns()...) {
		if len(in.schema.FieldIndices(c)) != 1 {
			if dupGroups == nil {
				return fmt.Errorf("%s: no %q column: want out-of-fold predictions, or a %s or %s column for the duplicate check", in.name, c, dup.ColGroup, dup.ColHash)
			}
			withPreds = false
		}
	}
	d, err := readOOF(in, withPreds)
	if err != nil {
		return err
	}
	dupRows := dupConflicts(d, dupGroups)
	if dupGroups != nil {
		reportDuplicates(stderr, dupGroups, dupRows)
	}
	if o.by == "person" && d.Persons == nil {
		cli.Printf(stderr, program, "%s has no person column: judging every head per row", in.name)
	}
	var all []suspect.Suspect
	units := 0
	for _, h := range o.heads {
		if !withPreds {
			break
		}
		res := suspect.Find(&d.Input, h, o.by == "person" && h != label.HeadMask, o.method)
		report(stderr, h, res)
		all = append(all, res.Suspects...)
		units += res.Rows
	}
	if units == 0 && withPreds {
		return fmt.Errorf("%s: no row has a known %s label", in.name, strings.Join(strings.Split(heads, ","), " or "))
	}
	suspect.Rank(all, o.rank)
	if err := ctx.Err(); err != nil {
		return err
	}
	if o.sheet != "" {
		if err := writeSheet(o.sheet, d, all[:min(len(all), o.sheetN)]); err != nil {
			return fmt.Errorf("--sheet: %w", err)
		}
	}
	out, err := cli.CreateOutput(o.output, stdout, false)
	if err != nil {
		return err
	}
	defer out.Abort()
	if err := writeCorrections(out, dupRows, all); err != nil {
		return err
	}
	if err := out.Commit(); err != nil {
		return err
	}
	cli.Printf(stderr, program, "%d suspects and %d duplicate conflicts in %d rows of %s", len(all), len(dupRows), in.rows, in.name)
	return nil
}

// oof is what suspects reads of an out-of-fold table: confident
// learning's input (Skip: rows made from another row's image, table.Origin
// Derived), and what the sheet and the duplicate check need.
type oof struct {
	suspect.Input
	images []croptable.Row // each row's photo and crop, for the sheet
	dir    string          // the table's folder (croptable.Row.Image)
	ages   []int16
}

func readOOF(in *input, withPreds bool) (*oof, error) {
	d := &oof{Input: suspect.Input{Labels: map[label.Head][]int8{}}, dir: in.dir}
	var err error
	if d.IDs, err = in.strings(table.ColID); err != nil {
		return nil, err
	}
	if withPreds {
		if d.Probs, err = readProbs(in); err != nil {
			return nil, err
		}
	}
	d.Persons = in.optionalStrings(table.ColPerson)
	d.Skip = make([]bool, 0, in.rows)
	for _, rec := range in.recs {
		images, err := croptable.ReadImages(rec)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.name, err)
		}
		d.images = append(d.images, images...)
		for _, o := range table.Origins(rec) {
			d.Skip = append(d.Skip, o.Derived())
		}
		for _, s := range table.Samples(rec) {
			d.Labels[label.HeadMask] = append(d.Labels[label.HeadMask], s.Mask)
			d.Labels[label.HeadGender] = append(d.Labels[label.HeadGender], s.Gender)
			d.Labels[label.HeadAgeGroup] = append(d.Labels[label.HeadAgeGroup], s.AgeGroup)
			d.ages = append(d.ages, s.Age)
		}
	}
	for i := range d.Skip {
		for _, h := range suspect.Heads {
			if v := d.Labels[h][i]; v >= int8(label.Size(h)) {
				return nil, fmt.Errorf("%s: id %q: %s %d is not a class of 0..%d", in.name, d.IDs[i], h, v, label.Size(h)-1)
			}
		}
	}
	return d, nil
}

// report says how head h was judged.
func report(w io.Writer, h label.Head, r suspect.Result) {
	var ts []string
	for c, t := range r.Thresholds {
		s := "none labelled"
		if !math.IsNaN(t) {
			s = strconv.FormatFloat(t, 'f', 3, 64)
		}
		ts = append(ts, label.Name(h, int8(c))+" "+s)
	}
	judged := fmt.Sprintf("%d rows", r.Rows)
	if r.Persons > 0 {
		judged += fmt.Sprintf(" (%d persons of several photos judged as one)", r.Persons)
	}
	cli.Printf(w, program, "%s: %s labelled, thresholds %s: %d suspects", h, judged, strings.Join(ts, ", "), len(r.Suspects))
}

// writeCorrections writes the duplicate conflicts, then the suspects,
// as a facet-prep --fix file.
func writeCorrections(w io.Writer, dups []dupRow, s []suspect.Suspect) error {
	cw := csv.NewWriter(w)
	f3 := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	if err := cw.Write([]string{"by", "key", "field", "value", "note", "given", "predicted", "confidence", "self_confidence", "margin", "rows"}); err != nil {
		return err
	}
	for _, r := range dups {
		if err := cw.Write(r.csv()); err != nil {
			return err
		}
	}
	for _, x := range s {
		given, predicted := label.Name(x.Head, int8(x.Unit.Given)), label.Name(x.Head, int8(x.Predicted))
		note := fmt.Sprintf("suspect: given %s, model %s at %s (class threshold %s)", given, predicted, f3(x.Conf), f3(x.Threshold))
		if x.Unit.By == "person" {
			note = fmt.Sprintf("suspect: given %s; %d of %d photos judged %s, mean p %s (class threshold %s)",
				given, x.Unit.Votes, len(x.Unit.Rows), predicted, f3(x.Conf), f3(x.Threshold))
		}
		if err := cw.Write([]string{x.Unit.By, x.Unit.Key, string(x.Head), predicted, note,
			given, predicted, f3(x.Conf), f3(x.Self), f3(x.Margin()), strconv.Itoa(len(x.Unit.Rows))}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
