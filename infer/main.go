// Command facet-infer predicts the mask, gender and age group of every
// row of a sample table with a trained model. See facet-infer --help.
package main

import "github.com/boostershot/facet/internal/cli"

// program is the name the program goes by in its messages.
const program = "facet-infer"

func main() { cli.Main(program, run) }
