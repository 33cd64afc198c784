// Command facet-prep reads face data sets in their own layouts and writes
// one facet sample table. See facet-prep --help.
package main

import "github.com/boostershot/facet/internal/cli"

// program is the name the program goes by in its messages.
const program = "facet-prep"

func main() { cli.Main(program, run) }
