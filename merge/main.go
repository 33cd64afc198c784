// Command facet-merge combines facet tables: prediction ensembles (vote),
// sample tables joined into one (join) and likely label errors found in
// out-of-fold predictions (suspects). See facet-merge --help.
package main

import "github.com/boostershot/facet/internal/cli"

// program is the name the program goes by in its messages.
const program = "facet-merge"

func main() { cli.Main(program, run) }
