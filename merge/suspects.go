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
	"github.com/boostershot/facet/internal/dup"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/suspect"
	"github.com/boostershot/facet/internal/table"
)

const suspectsSynopsis = "facet-merge suspects [--heads mask,gender,age_group] [--by person|id] [--method threshold|noise-rate] [--rank margin|self] [--sheet FILE.png] [-o FILE] [OOF_PREDICTIONS]"

const suspectsHelp = `Finds likely label errors in out-of-fold predictions (facet-train's
RUNDIR/oof.arrow: the validation rows with their labels and the model's
probabilities) by confident learning (Northcutt et al., 2021), one head at
a time. t_j, the threshold of class j, is the mean probability of j over
the rows labelled j (the model's typical self-confidence for j); a row
labelled i counts as class j when j is the most probable of the classes
whose probability reaches their threshold (the "confident joint").

  --method threshold   (default) the rows labelled i that count as some
                       j != i are the suspects
  --method noise-rate  "prune by noise rate" (cleanlab's default): the
                       confident joint, scaled so each label keeps its row
                       count, estimates how many rows labelled i are j;
                       that many rows labelled i with the largest margin
                       p(j) - p(i) are the suspects, unless the model's
                       top class is their label. It finds more errors the
                       model is less sure of, and more false alarms

Suspects are ranked by margin p(j) - p(i) (--rank margin) or by the
lowest self-confidence p(i) (--rank self). Heads are judged apart because
corrections are made per field and labels are often partial (a mask data
set has no ages).

With --by person (the default), gender and age group, which belong to the
person, are judged per person: a person is a suspect of class j when more
than half of its photos are, and becomes one correction, with its photos'
probabilities averaged (a person with one labelled photo, or whose photos'
labels disagree, is judged photo by photo). Mask is always judged per photo. Rows that facet-augment made (origin
augmented or synthetic mask) are left out: facet-prep does not know their
ids.

The output is a corrections CSV for facet-prep --fix (by,key,field,value,
note), best suspects first. Read it before you use it: each line sets the
field to the model's class. The columns after note (given, predicted,
confidence, self_confidence, margin, rows) are for people; the fix reader
takes them as part of the note. --sheet draws the top suspects' images.

Duplicates come first: rows of one duplicate group (facet-split's
dup_group column, or else crop_hash within --dup-distance bits) whose
mask, gender or age group differs from the group's most common one, or
whose age lies more than 5 years from the group's median, are listed as
"duplicate of <id>: gender female vs male", the value set to the group's.
A table without predictions (facet-split's output) gets this check alone.

examples:
  facet-merge suspects -o suspects.csv --sheet suspects.png run/oof.arrow
  facet-merge suspects --heads gender --by id --rank self run/oof.arrow | head -20
  facet-prep --fix suspects.csv competition:data/train > relabelled.arrows
`

type suspectOptions struct {
	heads  []label.Head
	by     string
	rank   string
	method string
	sheet  string
	sheetN int
	output string
	quiet  bool
	dupMax int // --dup-distance
}

func runSuspects(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var (
		o     suspectOptions
		heads string
	)
	fs := cli.NewFlags("facet-merge suspects", suspectsSynopsis, suspectsHelp, stderr)
	fs.StringVar(&heads, "heads", "mask,gender,age_group", "heads to judge, comma separated")
	fs.StringVar(&o.by, "by", "person", "judge gender and age group per `person` or per row (id)")
	fs.StringVar(&o.method, "method", suspect.Threshold, "how suspects are picked: `threshold` or noise-rate (see below)")
	fs.StringVar(&o.rank, "rank", "margin", "order suspects by `margin` p(j)-p(i), largest first, or by self (p(i), lowest first)")
	fs.StringVar(&o.sheet, "sheet", "", "draw the top suspects' images to `FILE.png`")
	fs.IntVar(&o.sheetN, "sheet-count", 48, "number of suspects on the sheet")
	fs.StringVarP(&o.output, "output", "o", "-", "write the corrections CSV to `FILE` (- for stdout)")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no report on stderr")
	fs.IntVar(&o.dupMax, "dup-distance", dup.DefaultDistance, "without a dup_group column, rows whose crop_hash differ in at most `N` bits are duplicates (0: no duplicate check)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
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
	case o.sheetN < 1:
		return cli.Usagef("--sheet-count %d: want 1 or more", o.sheetN)
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
	if dupGroups != nil && !o.quiet {
		reportDuplicates(stderr, dupGroups, dupRows)
	}
	if o.by == "person" && d.Persons == nil && !o.quiet {
		cli.Printf(stderr, program, "%s has no person column: judging every head per row", in.name)
	}
	var all []suspect.Suspect
	units := 0
	for _, h := range o.heads {
		if !withPreds {
			break
		}
		res := suspect.Find(&d.Input, h, o.by == "person" && h != label.HeadMask, o.method)
		if !o.quiet {
			report(stderr, h, res)
		}
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
	if !o.quiet {
		cli.Printf(stderr, program, "%d suspects and %d duplicate conflicts in %d rows of %s", len(all), len(dupRows), in.rows, in.name)
	}
	return nil
}

// oof is what suspects reads of an out-of-fold table: confident
// learning's input (Skip: rows made from another row's image, table.Origin
// Derived), and what the sheet and the duplicate check need.
type oof struct {
	suspect.Input
	paths, crops []string // nil when absent
	ages         []int16
}

func readOOF(in *input, withPreds bool) (*oof, error) {
	d := &oof{Input: suspect.Input{Labels: map[label.Head][]int8{}}}
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
	d.paths = in.optionalStrings(table.ColPath)
	d.crops = in.optionalStrings("crop_path")
	d.Skip = make([]bool, 0, in.rows)
	for _, rec := range in.recs {
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
