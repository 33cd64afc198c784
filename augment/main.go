// Command facet-augment adds augmented copies, class-balancing copies and
// synthetically masked faces to a sample table. See facet-augment --help.
package main

import "github.com/boostershot/facet/internal/cli"

func main() { cli.Main("facet-augment", run) }
