package main

import (
	"cmp"
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
	"github.com/boostershot/facet/internal/pred"
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

// suspectHeads are the heads suspects can judge, with their probability
// columns' reader.
var suspectHeads = map[label.Head]func(*pred.Probs) ([]float32, int){
	label.HeadMask:     func(p *pred.Probs) ([]float32, int) { return p.Mask, pred.NumMask },
	label.HeadGender:   func(p *pred.Probs) ([]float32, int) { return p.Gender, pred.NumGender },
	label.HeadAgeGroup: func(p *pred.Probs) ([]float32, int) { return p.Age, pred.NumAge },
}

// The two ways of picking suspects.
const (
	noiseRate = "noise-rate"
	threshold = "threshold"
)

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
	fs.StringVar(&o.method, "method", threshold, "how suspects are picked: `threshold` or noise-rate (see below)")
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
		if suspectHeads[h] == nil {
			return cli.Usagef("--heads: %q is not mask, gender or age_group", h)
		}
		if !slices.Contains(o.heads, h) {
			o.heads = append(o.heads, h)
		}
	}
	switch {
	case o.by != "person" && o.by != "id":
		return cli.Usagef("--by %q: want person or id", o.by)
	case o.method != noiseRate && o.method != threshold:
		return cli.Usagef("--method %q: want %s or %s", o.method, noiseRate, threshold)
	case o.rank != "margin" && o.rank != "self":
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
	if o.by == "person" && d.persons == nil && !o.quiet {
		cli.Printf(stderr, program, "%s has no person column: judging every head per row", in.name)
	}
	var all []suspect
	units := 0
	for _, h := range o.heads {
		if !withPreds {
			break
		}
		res := findSuspects(d, h, o.by == "person" && h != label.HeadMask, o.method)
		if !o.quiet {
			res.report(stderr, h)
		}
		all = append(all, res.suspects...)
		units += res.rows
	}
	if units == 0 && withPreds {
		return fmt.Errorf("%s: no row has a known %s label", in.name, strings.Join(strings.Split(heads, ","), " or "))
	}
	rankSuspects(all, o.rank)
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

// oof is what suspects reads of an out-of-fold table.
type oof struct {
	ids, persons, paths, crops []string // persons, crops nil when absent
	augmented                  []bool   // made from another row's image (table.Origin Derived)
	labels                     map[label.Head][]int8
	ages                       []int16
	probs                      *pred.Probs
}

func readOOF(in *input, withPreds bool) (*oof, error) {
	d := &oof{labels: map[label.Head][]int8{}}
	var err error
	if d.ids, err = in.strings(table.ColID); err != nil {
		return nil, err
	}
	if withPreds {
		if d.probs, err = readProbs(in); err != nil {
			return nil, err
		}
	}
	d.persons = in.optionalStrings(table.ColPerson)
	d.paths = in.optionalStrings(table.ColPath)
	d.crops = in.optionalStrings("crop_path")
	d.augmented = make([]bool, 0, in.rows)
	for _, rec := range in.recs {
		for _, o := range table.Origins(rec) {
			d.augmented = append(d.augmented, o.Derived())
		}
		for _, s := range table.Samples(rec) {
			d.labels[label.HeadMask] = append(d.labels[label.HeadMask], s.Mask)
			d.labels[label.HeadGender] = append(d.labels[label.HeadGender], s.Gender)
			d.labels[label.HeadAgeGroup] = append(d.labels[label.HeadAgeGroup], s.AgeGroup)
			d.ages = append(d.ages, s.Age)
		}
	}
	for i := range d.augmented {
		for h := range suspectHeads {
			if v := d.labels[h][i]; v >= int8(label.Size(h)) {
				return nil, fmt.Errorf("%s: id %q: %s %d is not a class of 0..%d", in.name, d.ids[i], h, v, label.Size(h)-1)
			}
		}
	}
	return d, nil
}

// unit is what a suspect names: one row, or the rows of one person
// with one given label, with their probabilities averaged.
type unit struct {
	by, key string // "id" or "person", and its value
	rows    []int
	given   int
	probs   []float64
	votes   int // of a person: the rows judged to be the class it is suspected of
}

type suspect struct {
	head                  label.Head
	unit                  *unit
	predicted             int
	conf, self, threshold float64
}

func (s suspect) margin() float64 { return s.conf - s.self }

// headResult is one head's thresholds and suspects.
type headResult struct {
	rows, persons int       // rows judged, persons of several rows among them
	thresholds    []float64 // NaN for a class no row is labelled with
	suspects      []suspect
}

// findSuspects runs confident learning on the rows of head h. With
// byPerson, the rows of a person whose labels agree give one verdict: the
// class that more than half of them are judged to be, if not their label.
func findSuspects(d *oof, h label.Head, byPerson bool, method string) headResult {
	probs, k := suspectHeads[h](d.probs)
	labels := d.labels[h]
	var rows []*unit
	for i, v := range labels {
		if v < 0 || d.augmented[i] {
			continue
		}
		u := &unit{by: "id", key: d.ids[i], rows: []int{i}, given: int(v), probs: make([]float64, k)}
		for c := range k {
			u.probs[c] = float64(probs[i*k+c])
		}
		rows = append(rows, u)
	}
	res := headResult{rows: len(rows), thresholds: make([]float64, k)}
	count := make([]int, k)
	for _, u := range rows {
		res.thresholds[u.given] += u.probs[u.given]
		count[u.given]++
	}
	for c := range k {
		if count[c] == 0 {
			res.thresholds[c] = math.NaN() // no class j: nothing is counted as j
		} else {
			res.thresholds[c] /= float64(count[c])
		}
	}
	// The confident joint: a row labelled i counts as j, the most
	// probable of the classes whose probability reaches their threshold.
	verdict := make([]int, len(rows)) // -1: below every threshold
	joint := make([][]int, k)
	for i := range joint {
		joint[i] = make([]int, k)
	}
	for n, u := range rows {
		verdict[n] = -1
		for c, p := range u.probs {
			if p >= res.thresholds[c] && (verdict[n] < 0 || p > u.probs[verdict[n]]) { // NaN thresholds never pass
				verdict[n] = c
			}
		}
		if verdict[n] >= 0 {
			joint[u.given][verdict[n]]++
		}
	}
	if method == noiseRate {
		verdict = pruneByNoiseRate(rows, joint, count)
	}
	units, votes := rows, verdict
	if byPerson && d.persons != nil {
		units, votes = byPersons(d, rows, verdict, k)
		for _, u := range units {
			if u.by == "person" {
				res.persons++
			}
		}
	}
	for n, u := range units {
		if j := votes[n]; j >= 0 && j != u.given {
			res.suspects = append(res.suspects, suspect{head: h, unit: u, predicted: j,
				conf: u.probs[j], self: u.probs[u.given], threshold: res.thresholds[j]})
		}
	}
	return res
}

// byPersons groups the judged rows of each person whose rows share a
// label into one unit, with the class more than half its rows were judged
// to be (-1 when none is); a person with one row, or rows that disagree,
// stays row by row.
func byPersons(d *oof, rows []*unit, verdict []int, k int) ([]*unit, []int) {
	members := map[string][]int{} // person -> indexes into rows
	var order []string
	for n, u := range rows {
		p := d.persons[u.rows[0]]
		if _, ok := members[p]; !ok {
			order = append(order, p)
		}
		members[p] = append(members[p], n)
	}
	var units []*unit
	var votes []int
	for _, p := range order {
		ms := members[p]
		agree := p != ""
		for _, n := range ms {
			agree = agree && rows[n].given == rows[ms[0]].given
		}
		if len(ms) < 2 || !agree {
			for _, n := range ms {
				units, votes = append(units, rows[n]), append(votes, verdict[n])
			}
			continue
		}
		u := &unit{by: "person", key: p, given: rows[ms[0]].given, probs: make([]float64, k)}
		tally := make([]int, k)
		for _, n := range ms {
			u.rows = append(u.rows, rows[n].rows[0])
			for c, v := range rows[n].probs {
				u.probs[c] += v / float64(len(ms))
			}
			if verdict[n] >= 0 {
				tally[verdict[n]]++
			}
		}
		vote := -1
		for c, t := range tally {
			if 2*t > len(ms) {
				vote, u.votes = c, t
			}
		}
		units, votes = append(units, u), append(votes, vote)
	}
	return units, votes
}

// pruneByNoiseRate is Northcutt et al.'s "prune by noise rate": the
// confident joint, calibrated so that each given class i keeps its count
// (count[i] units), estimates how many units labelled i are really j;
// that many units labelled i, those with the largest margin p(j) - p(i),
// are suspects of being j. A unit picked for several classes goes to the
// most probable; one whose most probable class is its label is kept, as
// cleanlab does. It returns the class each unit is suspected to be, -1
// for none.
func pruneByNoiseRate(units []*unit, joint [][]int, count []int) []int {
	out := make([]int, len(units))
	for n := range out {
		out[n] = -1
	}
	byGiven := make([][]int, len(count))
	for n, u := range units {
		byGiven[u.given] = append(byGiven[u.given], n)
	}
	for i, row := range joint {
		sum := 0
		for _, v := range row {
			sum += v
		}
		if sum == 0 {
			continue
		}
		for j, v := range row {
			prune := int(math.Round(float64(v) / float64(sum) * float64(count[i])))
			if j == i || prune == 0 {
				continue
			}
			cands := slices.Clone(byGiven[i])
			margin := func(n int) float64 { return units[n].probs[j] - units[n].probs[i] }
			slices.SortStableFunc(cands, func(a, b int) int { return cmp.Compare(margin(b), margin(a)) })
			for _, n := range cands[:min(prune, len(cands))] {
				if out[n] < 0 || units[n].probs[j] > units[n].probs[out[n]] {
					out[n] = j
				}
			}
		}
	}
	for n, u := range units {
		if out[n] >= 0 && argmax64(u.probs) == u.given {
			out[n] = -1
		}
	}
	return out
}

func argmax64(p []float64) int {
	best := 0
	for c, v := range p {
		if v > p[best] {
			best = c
		}
	}
	return best
}

func (r headResult) report(w io.Writer, h label.Head) {
	var ts []string
	for c, t := range r.thresholds {
		s := "none labelled"
		if !math.IsNaN(t) {
			s = strconv.FormatFloat(t, 'f', 3, 64)
		}
		ts = append(ts, label.Name(h, int8(c))+" "+s)
	}
	judged := fmt.Sprintf("%d rows", r.rows)
	if r.persons > 0 {
		judged += fmt.Sprintf(" (%d persons of several photos judged as one)", r.persons)
	}
	cli.Printf(w, program, "%s: %s labelled, thresholds %s: %d suspects", h, judged, strings.Join(ts, ", "), len(r.suspects))
}

// rankSuspects orders suspects best first: largest margin, or lowest
// self-confidence; ties by head and key, so the order is deterministic.
func rankSuspects(s []suspect, rank string) {
	slices.SortStableFunc(s, func(a, b suspect) int {
		var c int
		if rank == "self" {
			c = cmp.Compare(a.self, b.self)
		} else {
			c = cmp.Compare(b.margin(), a.margin())
		}
		if c != 0 {
			return c
		}
		if c = strings.Compare(string(a.head), string(b.head)); c != 0 {
			return c
		}
		return strings.Compare(a.unit.key, b.unit.key)
	})
}

// writeCorrections writes the duplicate conflicts, then the suspects,
// as a facet-prep --fix file.
func writeCorrections(w io.Writer, dups []dupRow, s []suspect) error {
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
		given, predicted := label.Name(x.head, int8(x.unit.given)), label.Name(x.head, int8(x.predicted))
		note := fmt.Sprintf("suspect: given %s, model %s at %s (class threshold %s)", given, predicted, f3(x.conf), f3(x.threshold))
		if x.unit.by == "person" {
			note = fmt.Sprintf("suspect: given %s; %d of %d photos judged %s, mean p %s (class threshold %s)",
				given, x.unit.votes, len(x.unit.rows), predicted, f3(x.conf), f3(x.threshold))
		}
		if err := cw.Write([]string{x.unit.by, x.unit.key, string(x.head), predicted, note,
			given, predicted, f3(x.conf), f3(x.self), f3(x.margin()), strconv.Itoa(len(x.unit.rows))}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
