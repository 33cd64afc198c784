// Command facet-crop crops the face out of every photo of a sample table
// (or of a folder) with a chain of detectors. See facet-crop --help.
package main

import "github.com/boostershot/facet/internal/cli"

func main() { cli.Main("facet-crop", run) }
