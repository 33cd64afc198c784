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

func runJoin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var (
		out    output
		prefer string
	)
	fs := cli.NewFlags("facet-merge join", doc, stdout, stderr)
	fs.StringVar(&prefer, "prefer", "", "on a doubled id keep the `first` or the last row (default: refuse)")
	out.flags(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	stderr = cli.Stderr(fs, stderr)
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
	return nil
}
