// Command facet-train trains the mask / gender / age classifier on a
// fold's train and validation tables and writes a run folder: config,
// per-epoch metrics, the best and last checkpoints and the out-of-fold
// predictions. See facet-train --help.
package main

import "github.com/boostershot/facet/internal/cli"

// program is the name the program goes by in its messages.
const program = "facet-train"

func main() { cli.Main(program, run) }
