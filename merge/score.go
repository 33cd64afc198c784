package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/metrics"
	"github.com/boostershot/facet/internal/pred"
	"github.com/boostershot/facet/internal/table"
)

const scoreSynopsis = "facet-merge score [--json] [PRED]"

const scoreHelp = `Scores a prediction table (facet-infer's output, facet-train's oof.arrow, a
vote) against the labels it carries: accuracy and macro F1 of each head
(mask, gender, age_group: rows whose part is known) and of the 18 classes
(rows with all three parts), as facet-train's metrics.jsonl defines them.
Reads stdin when no PRED is given. One line per head on stdout, or one
JSON object with --json.

examples:
  facet-merge score build/demo/r1/oof.arrow
  facet-infer --model runs/f0 folds/fold0.val.arrow | facet-merge score --json
`

// scoreLine is one line of facet-merge score.
type scoreLine struct {
	Head string `json:"head"`
	metrics.Score
}

func runScore(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var asJSON bool
	fs := cli.NewFlags("facet-merge score", scoreSynopsis, scoreHelp, stderr)
	fs.BoolVar(&asJSON, "json", false, "write one JSON object instead of a table")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	names := fs.Args()
	switch len(names) {
	case 0:
		names = []string{"-"}
	case 1:
	default:
		return cli.Usagef("want one prediction table (or stdin), got %d", len(names))
	}
	required := append([]string{table.ColID, table.ColMask, table.ColGender, table.ColAgeGroup}, predColumns()...)
	ins, err := readInputs(names, stdin, required...)
	if err != nil {
		return err
	}
	defer releaseAll(ins)
	p, err := readProbs(ins[0])
	if err != nil {
		return err
	}
	var mask, gender, age, c18 []int8
	for _, rec := range ins[0].recs {
		for _, s := range table.Samples(rec) {
			mask, gender, age = append(mask, s.Mask), append(gender, s.Gender), append(age, s.AgeGroup)
			c18 = append(c18, label.Join(s.Mask, s.Gender, s.AgeGroup))
		}
	}
	pm, pg, pa := p.Heads()
	res := []scoreLine{
		{"mask", metrics.Of(mask, pm, pred.NumMask)},
		{"gender", metrics.Of(gender, pg, pred.NumGender)},
		{"age_group", metrics.Of(age, pa, pred.NumAge)},
		{"18-class", metrics.Of(c18, p.Pred18, pred.NumClasses)},
	}
	if asJSON {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	fmt.Fprintf(stdout, "%-10s %7s %9s %9s\n", "head", "rows", "accuracy", "macro F1")
	for _, r := range res {
		fmt.Fprintf(stdout, "%-10s %7d %9.3f %9.3f\n", r.Head, r.N, r.Acc, r.F1)
	}
	return nil
}
