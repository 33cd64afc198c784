// Command facet-crop crops the face out of every photo of a sample table
// (or of a folder) with a chain of detectors. See facet-crop --help.
package main

import "github.com/boostershot/facet/internal/cli"

// program is the name the program goes by in its messages.
const program = "facet-crop"

func main() { cli.Main(program, run) }
