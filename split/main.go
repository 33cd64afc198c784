// Command facet-split assigns every row of a sample table to a fold,
// grouped by person and stratified by class. See facet-split --help.
package main

import "github.com/boostershot/facet/internal/cli"

func main() { cli.Main("facet-split", run) }
