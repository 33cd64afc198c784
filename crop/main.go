package main

import (
	_ "embed"

	"github.com/boostershot/facet/internal/cli"
)

// doc is this program's doc.go, whose package comment is its --help.
//
//go:embed doc.go
var doc string

func main() { cli.Main("facet-crop", run) }
