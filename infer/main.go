package main

import (
	_ "embed"

	"github.com/boostershot/facet/internal/cli"
)

// doc is this program's doc.go, whose package comment is its --help.
//
//go:embed doc.go
var doc string

// program is the name the program goes by in its messages.
const program = "facet-infer"

func main() { cli.Main(program, run) }
