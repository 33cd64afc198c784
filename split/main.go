// Command facet-split assigns every row of a sample table to a fold,
// grouped by person and stratified by class. See facet-split --help.
package main

import "github.com/boostershot/facet/internal/cli"

// program is the name the program goes by in its messages.
const program = "facet-split"

func main() { cli.Main(program, run) }
