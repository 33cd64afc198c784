// Command facet-prep reads face data sets in their own layouts and writes
// one facet sample table. See facet-prep --help.
package main

import "github.com/boostershot/facet/internal/cli"

func main() { cli.Main("facet-prep", run) }
