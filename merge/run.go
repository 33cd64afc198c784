package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/boostershot/facet/internal/cli"
)

const usage = `usage: facet-merge COMMAND [flags] ARGS...

commands:
  vote       combine prediction tables (soft, geometric or hard voting), by id;
             optionally write the competition submission
  join       concatenate sample tables, reconciling their columns
  suspects   find likely label errors in out-of-fold predictions (confident
             learning) as a corrections file for facet-prep --fix
  score      accuracy and macro F1 of each head and of the 18 classes

Run facet-merge COMMAND --help for its flags and examples.

examples:
  facet-merge vote --soft -o ensemble.arrow run0/oof.arrow run1/oof.arrow
  facet-merge vote --submission submission.csv --info data/eval/info.csv a.arrow b.arrow > votes.arrows
  facet-merge join train.arrow pseudo.arrow > all.arrows
  facet-merge suspects --sheet suspects.png -o suspects.csv run/oof.arrow
  facet-merge score run/oof.arrow
`

// command is one subcommand: it parses its own flags.
type command func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error

var commands = map[string]command{
	"vote":     runVote,
	"join":     runJoin,
	"suspects": runSuspects,
	"score":    runScore,
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return cli.Usagef("no command: want vote, join, suspects or score")
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stderr, usage)
		return pflag.ErrHelp
	}
	cmd, ok := commands[args[0]]
	if !ok {
		return cli.Usagef("unknown command %q: want vote, join, suspects or score", args[0])
	}
	return cmd(ctx, args[1:], stdin, stdout, stderr)
}
