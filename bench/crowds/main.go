// Command crowds measures facet-crop's face detection on scenes of many
// faces (../shared/data/crowds: photos and boxes.csv with every face
// annotated): recall by face width and by label, precision, and photos a
// second, for facet-crop --faces all's chain next to its stages alone, in
// one run. A found face matches an annotated one at IoU >= 0.4, each
// matched once. `make bench-crowds` runs it on every scene.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/boostershot/facet/internal/cvimage"
	"github.com/boostershot/facet/internal/dlib"
	"github.com/boostershot/facet/internal/face"
	"github.com/boostershot/facet/internal/facematch"
	"github.com/boostershot/facet/internal/work"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "crowds:", err)
		os.Exit(1)
	}
}

// config is one detector chain to measure.
type config struct {
	name string
	spec face.Spec
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("crowds", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "../shared/data/crowds", "folder of the scenes and their boxes.csv")
	every := fs.Int("every", 1, "measure every Nth scene only (a subset while developing)")
	offset := fs.Int("offset", 0, "with --every N, the scenes whose index modulo N is this")
	workers := fs.Int("workers", runtime.NumCPU(), "scenes detected at once")
	minFace := fs.Int("min-face", 20, "facet-crop --min-face")
	only := fs.String("configs", "", "comma-separated first words of the chains to measure (facet-crop, dlib, cascade; default: all)")
	minIoU := fs.Float64("iou", 0.4, "overlap at which a found face matches an annotated one")
	adjust := fs.Float64("dlib-adjust", face.SceneDlibAdjust, "facet-crop --dlib-adjust")
	weak := fs.Float64("dlib-weak", face.SceneDlibWeak, "the dlib stage's weak faces' threshold adjustment, kept when the cascade confirms them")
	cas := face.SceneCascadeOptions()
	fs.Float64Var(&cas.MinScore, "cascade-min-score", cas.MinScore, "the cascade stage's MinScore")
	fs.Float64Var(&cas.Confirm, "cascade-confirm", cas.Confirm, "the cascade stage's Confirm score")
	fs.IntVar(&cas.MinFace, "cascade-min", cas.MinFace, "the cascade stage's MinFace")
	fs.BoolVar(&cas.ConfirmOnly, "cascade-confirm-only", cas.ConfirmOnly, "the cascade stage only confirms dlib's weak faces in facet-crop's chain")
	fs.BoolVar(&cas.Alt2, "cascade-alt2", cas.Alt2, "the cascade stage verifies with Haar alt2 too")
	skin := face.SceneSkin
	fs.Float64Var(&skin.Min, "skin", skin.Min, "share of skin colour every face needs (SkinCheck.Min)")
	fs.Float64Var(&skin.Weak, "skin-weak", skin.Weak, "share of skin colour a weak face needs (SkinCheck.Weak)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	scenes, err := facematch.ReadScenes(*data)
	if err != nil {
		return err
	}
	if *every > 1 {
		var sub []facematch.Scene
		for i := *offset; i < len(scenes); i += *every {
			sub = append(sub, scenes[i])
		}
		scenes = sub
	}
	pred, err := dlib.LoadPredictor(dlib.DefaultModel)
	if err != nil {
		return err
	}
	defer pred.Close()
	// facet-crop --faces all's chain, and its stages alone: dlib at its
	// scene threshold and at the portraits' (no weak faces, no skin
	// check), the cascade with its scene options finding faces of its own
	// (no skin check).
	scene := face.Spec{MinFace: *minFace, Scene: true, DlibAdjust: *adjust, DlibWeak: *weak, Cascade: &cas, Skin: &skin, Predictor: pred,
		Detectors: []string{"dlib", "cascade"}}
	detecting := cas
	detecting.ConfirmOnly = false
	alone := func(stage string, adjust float64) face.Spec {
		return face.Spec{MinFace: *minFace, Scene: true, DlibAdjust: adjust, Cascade: &detecting, Predictor: pred, Detectors: []string{stage}}
	}
	configs := []config{
		{"facet-crop --faces all", scene},
		{fmt.Sprintf("dlib alone (%g)", *adjust), alone("dlib", *adjust)},
		{fmt.Sprintf("dlib alone (%g)", face.DlibAdjust), alone("dlib", face.DlibAdjust)},
		{"cascade alone", alone("cascade", 0)},
	}
	if *only != "" {
		var keep []config
		for _, c := range configs {
			if slices.Contains(strings.Split(*only, ","), strings.Fields(c.name)[0]) {
				keep = append(keep, c)
			}
		}
		configs = keep
	}
	faces := 0
	for _, s := range scenes {
		faces += len(s.Faces)
	}
	fmt.Fprintf(stderr, "crowds: %d scenes, %d annotated faces, %d workers, min face %d px\n", len(scenes), faces, *workers, *minFace)
	var results []result
	for _, c := range configs {
		r, err := measure(ctx, c, scenes, *workers, *minIoU)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		fmt.Fprintf(stderr, "crowds: %s: %.1fs\n", c.name, r.took.Seconds())
		results = append(results, r)
	}
	report(stdout, results, len(scenes), *minIoU)
	return nil
}

type result struct {
	name  string
	tally facematch.Tally
	took  time.Duration
	cpu   time.Duration // the process's CPU time (all threads, OpenCV's too)
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs one chain a worker over the scenes (decoding included, as
// facet-crop does) and scores the faces found.
func measure(ctx context.Context, c config, scenes []facematch.Scene, workers int, minIoU float64) (result, error) {
	chains := make([]*face.Chain, workers)
	for i := range chains {
		ch, err := c.spec.New()
		if err != nil {
			return result{}, err
		}
		defer ch.Close()
		chains[i] = ch
	}
	found := make([][]image.Rectangle, len(scenes))
	errs := make([]error, len(scenes))
	start, cpu0 := time.Now(), cpuTime()
	err := work.Each(ctx, len(scenes), workers, func(w, i int) {
		img, err := cvimage.Read(scenes[i].Path) // facet-crop's decoder
		if err != nil {
			errs[i] = err
			return
		}
		defer img.Close()
		res, err := chains[w].FindAll(img)
		if err != nil {
			errs[i] = fmt.Errorf("%s: %w", scenes[i].Path, err)
			return
		}
		for _, r := range res {
			found[i] = append(found[i], r.Box)
		}
	}, nil)
	took, cpu := time.Since(start), cpuTime()-cpu0
	if err := errors.Join(append(errs, err)...); err != nil {
		return result{}, err
	}
	r := result{name: c.name, took: took, cpu: cpu}
	for i, s := range scenes {
		r.tally.Add(found[i], s.Faces, minIoU)
	}
	return r, nil
}

// report writes the results as a Markdown table.
func report(w io.Writer, results []result, scenes int, minIoU float64) {
	if len(results) == 0 {
		return
	}
	t0 := results[0].tally
	labels := make([]string, 0, len(t0.ByLabel))
	for l := range t0.ByLabel {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	head := []string{"chain", "all"}
	for i, b := range facematch.Bins {
		head = append(head, fmt.Sprintf("%s (%d)", b.Name, t0.ByWidth[i].Faces))
	}
	for _, l := range labels {
		head = append(head, fmt.Sprintf("%s (%d)", l, t0.ByLabel[l].Faces))
	}
	head = append(head, "precision", "photos/s", "CPU ms/photo")
	fmt.Fprintf(w, "Recall of the %d annotated faces of %d scenes (IoU >= %g), by face width and label:\n\n", t0.All.Faces, scenes, minIoU)
	fmt.Fprintln(w, "| "+strings.Join(head, " | ")+" |")
	fmt.Fprintln(w, "|"+strings.Repeat("---|", len(head)))
	for _, r := range results {
		t := r.tally
		row := []string{r.name, fmt.Sprintf("%.3f", t.All.Recall())}
		for _, c := range t.ByWidth {
			row = append(row, fmt.Sprintf("%.3f", c.Recall()))
		}
		for _, l := range labels {
			row = append(row, fmt.Sprintf("%.3f", t.ByLabel[l].Recall()))
		}
		row = append(row, fmt.Sprintf("%.3f (%d of %d)", t.Precision(), t.Right, t.Boxes), fmt.Sprintf("%.1f", float64(t.Photos)/r.took.Seconds()),
			fmt.Sprintf("%.0f", float64(r.cpu.Milliseconds())/float64(t.Photos)))
		fmt.Fprintln(w, "| "+strings.Join(row, " | ")+" |")
	}
}
