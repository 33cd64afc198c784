package face

import (
	"image"
	"math"
)

// Pick is the index of the face a portrait means among several
// detections: the one with the largest area, discounted by its centre's
// distance from the frame centre (a face at a corner counts for about half
// its area). Weak detections are never picked. -1 when there are none.
func Pick(dets []Detection, frame image.Point) int {
	best, bestScore := -1, -1.0
	cx, cy := float64(frame.X)/2, float64(frame.Y)/2
	diag := math.Hypot(cx, cy)
	for i, d := range dets {
		area := float64(d.Box.Dx() * d.Box.Dy())
		if area <= 0 || d.Weak {
			continue
		}
		c := d.Box.Min.Add(d.Box.Max).Div(2)
		dist := math.Hypot(float64(c.X)-cx, float64(c.Y)-cy) / diag
		score := area * (1 - 0.5*dist)
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	return best
}
