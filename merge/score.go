package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/boostershot/facet/internal/chart"
	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/metrics"
	"github.com/boostershot/facet/internal/outfile"
	"github.com/boostershot/facet/internal/table"
)

func runScore(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var (
		asJSON    bool
		confusion string
	)
	fs := cli.NewFlags("facet-merge score", doc, stdout, stderr)
	fs.BoolVar(&asJSON, "json", false, "write one JSON array instead of the tables")
	fs.StringVar(&confusion, "confusion", "", "draw the confusion matrices to `FILE.png`")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if confusion != "" && !strings.EqualFold(filepath.Ext(confusion), ".png") {
		return cli.Usagef("--confusion %s: want a .png file", confusion)
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
	bins, err := table.AgeBins(ins[0].schema)
	if err != nil {
		return fmt.Errorf("%s: %w", ins[0].name, err)
	}
	p, err := readProbs(ins[0])
	if err != nil {
		return err
	}
	var mask, gender, age []int8
	for _, rec := range ins[0].recs {
		for _, s := range table.Samples(rec) {
			mask, gender, age = append(mask, s.Mask), append(gender, s.Gender), append(age, s.AgeGroup)
		}
	}
	pm, pg, pa := p.Heads()
	heads := metrics.Heads(mask, gender, age, pm, pg, pa, p.Pred18, bins)
	if confusion != "" {
		img, err := chart.Confusion(fmt.Sprintf("confusion matrices of %s (%d rows)", ins[0].name, p.N), heads)
		if err != nil {
			return fmt.Errorf("--confusion: %w", err)
		}
		if err := outfile.WritePNG(confusion, img); err != nil {
			return err
		}
	}
	if asJSON {
		b, err := json.Marshal(heads)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-10s %7s %9s %9s\n", "head", "rows", "accuracy", "macro F1")
	for _, h := range heads {
		fmt.Fprintf(&b, "%-10s %7d %9.4f %9.4f\n", h.Head, h.N, h.Acc, h.F1)
	}
	for _, h := range heads {
		fmt.Fprintf(&b, "\n%s (%d rows)\n%s", h.Title, h.N, h.Text(4))
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}
