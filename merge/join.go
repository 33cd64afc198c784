package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/join"
	"github.com/boostershot/facet/internal/table"
)

const joinSynopsis = "facet-merge join [--prefer first|last] [-o FILE] [--csv] TABLE..."

const joinHelp = `Concatenates sample tables (training data, pseudo labels, augmented
rows...) into one, rows in the order given (- reads stdin), as
facet-train --all-folds joins its folds' out-of-fold tables (internal/join).

The output has every column of every table: the first table's in its
order, then the ones the others add. Where a table lacks a column its rows
get -1 in the label columns (mask, gender, age_group, label, age), which is
facet's "unknown", and null elsewhere. A column with one name and two types
is an error, and so are tables with different age bins.

An id in two rows is an error naming it, unless --prefer says which row
stays: first (the earlier row in the order given) or last.

examples:
  facet-merge join train.arrow pseudo.arrow > all.arrows
  facet-prep competition:data/train | facet-merge join --prefer last -o fixed.arrow - relabelled.arrow
`

func runJoin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var (
		out    output
		prefer string
	)
	fs := cli.NewFlags("facet-merge join", joinSynopsis, joinHelp, stderr)
	fs.StringVar(&prefer, "prefer", "", "on a doubled id keep the `first` or the last row (default: refuse)")
	out.flags(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if prefer != "" && prefer != "first" && prefer != "last" {
		return cli.Usagef("--prefer %q: want first or last", prefer)
	}
	if fs.NArg() == 0 {
		return cli.Usagef("no TABLE to join")
	}
	ins, err := readInputs(fs.Args(), stdin, table.ColID)
	if err != nil {
		return err
	}
	defer releaseAll(ins)
	tables := make([]join.Table, len(ins))
	for i, in := range ins {
		tables[i] = join.Table{Name: in.name, Schema: in.schema, Recs: in.recs}
	}
	schema, recs, dropped, err := join.Tables(tables, prefer)
	defer func() { releaseRecs(recs) }()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := out.write(stdout, schema, recs); err != nil {
		return err
	}
	if !out.quiet {
		var parts []string
		total := 0
		for _, in := range ins {
			parts = append(parts, fmt.Sprintf("%d from %s", in.rows, in.name))
			total += in.rows
		}
		msg := fmt.Sprintf("joined %d rows (%s), %d columns", total-dropped, strings.Join(parts, ", "), schema.NumFields())
		if dropped > 0 {
			msg += fmt.Sprintf("; %d rows with a doubled id dropped (--prefer %s)", dropped, prefer)
		}
		cli.Printf(stderr, program, "%s", msg)
	}
	return nil
}
