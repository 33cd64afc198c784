package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/boostershot/facet/internal/cli"
)

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
		return cli.Usagef("no command: want vote, join, suspects or score")
	}
	switch args[0] {
	case "-h", "--help", "help":
		help, err := cli.Help(doc, "facet-merge")
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, help)
		return pflag.ErrHelp
	case "--version":
		fmt.Fprintln(stdout, cli.Version("facet-merge"))
		return pflag.ErrHelp
	}
	cmd, ok := commands[args[0]]
	if !ok {
		return cli.Usagef("unknown command %q: want vote, join, suspects or score", args[0])
	}
	return cmd(ctx, args[1:], stdin, stdout, stderr)
}
