// Command facet-augment adds augmented copies, class-balancing copies and
// synthetically masked faces to a sample table. See facet-augment --help.
package main

import "github.com/boostershot/facet/internal/cli"

// program is the name the program goes by in its messages.
const program = "facet-augment"

func main() { cli.Main(program, run) }
