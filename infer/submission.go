package main

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/pred"
	"github.com/boostershot/facet/internal/submission"
	"github.com/boostershot/facet/internal/table"
)

// submissionRows collects each row's id, photo and prediction for
// --submission.
type submissionRows []submission.Row

func (s *submissionRows) add(rec arrow.RecordBatch, p *pred.Probs) {
	for i, smp := range table.Samples(rec) {
		*s = append(*s, submission.Row{ID: smp.ID, Path: smp.Path, Class: p.Pred18[i]})
	}
}

func (s submissionRows) write(path, info string, stderr io.Writer) error {
	unused, err := submission.Write(path, info, s)
	if err != nil {
		return fmt.Errorf("--submission: %w", err)
	}
	msg := fmt.Sprintf("wrote %s (%d predictions", path, len(s)-unused)
	if unused > 0 {
		msg += fmt.Sprintf("; %d rows of the table are not in %s", unused, info)
	}
	cli.Printf(stderr, program, "%s)", msg)
	return nil
}
