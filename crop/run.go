package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/crop"
	"github.com/boostershot/facet/internal/croptable"
	"github.com/boostershot/facet/internal/dataset"
	"github.com/boostershot/facet/internal/dlib"
	"github.com/boostershot/facet/internal/face"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/numrange"
	"github.com/boostershot/facet/internal/shard"
	"github.com/boostershot/facet/internal/table"
)

// defaultMargin grows face boxes so that a crop's side is about 1.4 times
// dlib's own box (before face.DlibBoxScale grows it, the margin was 0.2).
const defaultMargin = 0.17

type options struct {
	out, in              string
	table                cli.TableOutput
	maxFailed            *cli.MaxFailed
	resume, align        bool
	detectors            string
	size, detectSide     int
	margin               float64
	format               string
	quality, workers     int
	upsample             int
	dlibAdjust           float64
	center               string
	cascadeDir, landmark string
	dnnModel, dnnConfig  string
	dnnThreshold         float64
	shard                string
	faces                string
	minFace              int
	boxes                bool
}

// Defaults with --faces all, where a flag is not given.
const (
	sceneDetectors = "dlib,cascade"
	sceneMinFace   = 20
)

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o := options{maxFailed: cli.NewMaxFailed(cli.DefaultMaxFailed)}
	fs := cli.NewFlags("facet-crop", doc, stdout, stderr)
	cli.DirVar(fs, &o.out, "out", "", "write crops under `DIR` (required)")
	fs.StringVar(&o.in, "in", "", "crop every image under `DIR` instead of reading a table")
	o.table.AddFlags(fs)
	fs.StringVar(&o.detectors, "detectors", "dlib,cascade,dlib-fine,center", "detector chain, tried in order (default dlib,cascade with --faces all)")
	cli.IntVar(fs, &o.size, "size", 224, 8, 4096, "side of the square crops in pixels")
	cli.FloatVar(fs, &o.margin, "margin", defaultMargin, numrange.Between(0, 2), "grow the face box by this fraction of its size on every side")
	fs.StringVar(&o.format, "format", "jpg", "crop file format: jpg or png")
	cli.IntVar(fs, &o.quality, "quality", 95, 1, 100, "JPEG quality")
	fs.BoolVar(&o.align, "align", false, "rotate each face so its eyes are level (needs dlib landmarks)")
	cli.IntVar(fs, &o.detectSide, "detect-side", 256, 0, 16384, "detect on a copy whose longest side is this many pixels (0: full size; else at least 32; default 0 with --faces all)")
	cli.IntVar(fs, &o.upsample, "upsample", 0, 0, 2, "dlib: upsample the detection copy this many times (finds smaller faces, slower)")
	cli.FloatVar(fs, &o.dlibAdjust, "dlib-adjust", face.DlibAdjust, numrange.Between(-3, 3), "dlib: added to the detection threshold (lower finds more faces, and more false ones; default -0.3 with --faces all)")
	fs.StringVar(&o.center, "center", "0.2,0.15,0.8,0.65", "fixed-crop box as fractions x0,y0,x1,y1 of the photo")
	fs.StringVar(&o.cascadeDir, "cascades", face.DefaultCascadeDir, "folder of OpenCV's Haar cascades")
	fs.StringVar(&o.landmark, "landmarks", "/usr/share/dlib/shape_predictor_68_face_landmarks.dat", "dlib 68-point model (\"\" for none)")
	fs.StringVar(&o.dnnModel, "dnn-model", "", "DNN face detector weights (.caffemodel or .pb, or YuNet's .onnx) for the dnn stage")
	fs.StringVar(&o.dnnConfig, "dnn-config", "", "DNN face detector config (deploy.prototxt or .pbtxt)")
	cli.FloatVar(fs, &o.dnnThreshold, "dnn-threshold", 0.5, numrange.Between(0, 1), "DNN detector confidence threshold")
	cli.WorkersVar(fs, &o.workers, "parallel workers")
	fs.BoolVar(&o.resume, "resume", false, "keep crops that already exist, are valid and were made with the same settings")
	fs.StringVar(&o.shard, "shard", "", "crop only part `i/n` of the rows (by id hash); facet-merge join puts the parts together")
	fs.StringVar(&o.faces, "faces", "one", "one: the face a portrait means; all: every face, one row and crop each (ids ROW#K)")
	cli.IntVar(fs, &o.minFace, "min-face", 0, 0, 4096, "smallest face to find, in photo `PX`; detectors see the photo scaled for it (default 20 with --faces all, 0: off)")
	fs.BoolVar(&o.boxes, "boxes", false, "crop the table's boxes (box_x0 box_y0 box_x1 box_y1) instead of detecting")
	fs.Var(o.maxFailed, "max-failed", "fail the run (exit 1, no table) when more photos than this could not be cropped: a count, or a percentage of the rows")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	stderr = cli.Stderr(fs, stderr)
	if o.faces == "all" {
		if !fs.Changed("detectors") {
			o.detectors = sceneDetectors
		}
		if !fs.Changed("min-face") {
			o.minFace = sceneMinFace
		}
		if !fs.Changed("detect-side") {
			o.detectSide = 0
		}
		if !fs.Changed("dlib-adjust") {
			o.dlibAdjust = face.SceneDlibAdjust
		}
	}
	name, err := cli.InputTable(fs.Args())
	if err != nil {
		return err
	}
	stages, center, err := o.check(fs.Args())
	if err != nil {
		return err
	}
	ext := "." + o.format
	cfg := crop.Config{
		Geometry: crop.Geometry{Margin: o.margin, Size: o.size},
		Dir:      o.out, Ext: ext, Quality: o.quality, Align: o.align, Resume: o.resume,
		Settings: fmt.Sprintf("detectors=%s detect-side=%d upsample=%d dlib-adjust=%g dlib-box=%g center=%s margin=%g size=%d align=%t format=%s quality=%d",
			strings.Join(stages, ","), o.detectSide, o.upsample, o.dlibAdjust, face.DlibBoxScale, o.center, o.margin, o.size, o.align, o.format, o.quality),
	}
	switch {
	case o.boxes:
		cfg.Mode = crop.GivenBoxes
		stages = nil
		cfg.Settings = fmt.Sprintf("boxes margin=%g size=%d format=%s quality=%d", o.margin, o.size, o.format, o.quality)
	case o.faces == "all":
		cfg.Mode = crop.AllFaces
		cfg.Settings += fmt.Sprintf(" faces=all min-face=%d dlib-weak=%g skin=%g,%g", o.minFace, face.SceneDlibWeak, face.SceneSkin.Min, face.SceneSkin.Weak)
	case o.minFace > 0:
		cfg.Settings += fmt.Sprintf(" min-face=%d", o.minFace)
	}

	var pred *dlib.Predictor
	if (slices.Contains(stages, "dlib") || slices.Contains(stages, "dlib-fine")) && o.landmark != "" {
		if pred, err = dlib.LoadPredictor(o.landmark); err != nil {
			return fmt.Errorf("landmark model: %w", err)
		}
		defer pred.Close()
	}
	spec := face.Spec{
		Detectors: stages, DetectSide: o.detectSide, MinFace: o.minFace, Scene: cfg.Mode == crop.AllFaces,
		Upsample: o.upsample, DlibAdjust: o.dlibAdjust, Predictor: pred, CascadeDir: o.cascadeDir,
		DNNModel: o.dnnModel, DNNConfig: o.dnnConfig, DNNThreshold: o.dnnThreshold, Center: center,
	}
	if spec.Scene {
		spec.DlibWeak = face.SceneDlibWeak
		skin := face.SceneSkin
		spec.Skin = &skin
	}
	newChain := spec.New
	// The mark keeps --out out of folder scans (--in below, facet-prep).
	if err := dataset.MarkOutput(o.out, "facet-crop"); err != nil {
		return err
	}
	pool, err := crop.NewPool(cfg, o.workers, newChain)
	if err != nil {
		return err
	}
	defer pool.Close()

	var src source
	if o.in != "" {
		src, err = folderSource(o.in, stderr)
	} else {
		src, err = tableSource(name, stdin, o.boxes)
	}
	if err != nil {
		return err
	}
	defer src.close()

	// With --in and a terminal on stdout, the crops are the result: no table.
	var w *cli.TableOutput
	if o.in == "" || !o.table.ToStdout() || o.table.CSV || !cli.IsTerminal(stdout) {
		w = &o.table
		if err := w.Open(stdout); err != nil {
			return err
		}
		defer w.Abort()
		if err := w.Begin(croptable.Schema(src.schema())); err != nil {
			return err
		}
	}
	sum := newSummary()
	update, finish := cli.Progress(stderr, "crop")
	start := time.Now()
	part, err := shard.Parse(o.shard)
	if err != nil {
		return cli.UsageError{Err: err}
	}
	total := src.total()
	if !part.All() {
		total = -1
	}
	// cropChunk crops rows of a batch and writes them on.
	cropChunk := func(rec arrow.RecordBatch) error {
		jobs := jobsOf(rec, o.boxes, src.dir())
		outcomes, err := pool.Crop(ctx, jobs, func() { sum.done++; update(sum.done, total) })
		if err != nil {
			return err
		}
		sum.add(outcomes)
		if w == nil {
			return nil
		}
		ext, err := extend(rec, outcomes)
		if err != nil {
			return err
		}
		defer ext.Release()
		return w.Write(ext)
	}
	err = src.each(func(all arrow.RecordBatch) error {
		rec, err := part.Filter(all)
		if err != nil {
			return err
		}
		defer rec.Release()
		// A batch can hold 16,384 rows; their outcomes (landmarks and all)
		// are kept only chunkRows at a time, so memory stays flat.
		for lo := int64(0); lo < rec.NumRows(); lo += chunkRows {
			chunk := rec.NewSlice(lo, min(lo+chunkRows, rec.NumRows()))
			err := cropChunk(chunk)
			chunk.Release()
			if err != nil {
				return err
			}
		}
		return nil
	})
	finish()
	if err != nil {
		return err
	}
	sum.print(stderr, time.Since(start), pool.Time())
	if err := o.maxFailed.Check(sum.failed(), sum.rows, "photos", sum.first(3)); err != nil {
		return err
	}
	if w != nil {
		return w.Commit()
	}
	return nil
}

// chunkRows is how many rows are cropped between two writes.
const chunkRows = 512

// check validates the options and the arguments.
func (o *options) check(args []string) (stages []string, center face.Center, err error) {
	switch {
	case o.out == "":
		return nil, center, cli.Usagef("--out DIR is required: the folder the crops go to")
	case o.in != "" && len(args) > 0:
		return nil, center, cli.Usagef("give either --in DIR or a TABLE, not both")
	case o.in != "" && sameDir(o.in, o.out):
		return nil, center, cli.Usagef("--out %s is the --in folder: the crops would replace the photos (give a folder of their own, inside --in if you like)", o.out)
	case o.format != "jpg" && o.format != "png":
		return nil, center, cli.Usagef("--format %q: want jpg or png", o.format)
	case o.detectSide > 0 && o.detectSide < 32:
		return nil, center, cli.Usagef("--detect-side %d: want 0 or at least 32", o.detectSide)
	case o.faces != "one" && o.faces != "all":
		return nil, center, cli.Usagef("--faces %q: want one or all", o.faces)
	case o.boxes && o.in != "":
		return nil, center, cli.Usagef("--boxes crops the boxes of a table: give a TABLE, not --in")
	case o.boxes && o.faces != "one":
		return nil, center, cli.Usagef("--boxes crops the given boxes: --faces all does not apply")
	}
	if center, err = face.ParseCenter(o.center); err != nil {
		return nil, center, cli.UsageError{Err: err}
	}
	for _, s := range strings.Split(o.detectors, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(face.StageNames, s) {
			return nil, center, cli.Usagef("--detectors: unknown detector %q (want %s)", s, strings.Join(face.StageNames, ", "))
		}
		if slices.Contains(stages, s) {
			return nil, center, cli.Usagef("--detectors: %s given twice", s)
		}
		if s == "dnn" && o.dnnModel == "" {
			return nil, center, cli.Usagef("--detectors dnn needs --dnn-model (and --dnn-config, but for a YuNet .onnx model)")
		}
		stages = append(stages, s)
	}
	return stages, center, nil
}

// sameDir reports whether two paths name one folder.
func sameDir(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(sa, sb)
	}
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absA == absB
}

// extend adds the crop columns for outcomes to rec: a row per outcome,
// the row of its job, with the outcome's id (ROW#K for the faces of a
// photo with --faces all).
func extend(rec arrow.RecordBatch, outcomes []crop.Outcome) (arrow.RecordBatch, error) {
	rec, err := rowsOf(rec, outcomes)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	rows := make([]croptable.Row, len(outcomes))
	for i, oc := range outcomes {
		if oc.Reason != "" {
			rows[i] = croptable.Row{Error: oc.Reason + ": " + oc.Detail, Face: oc.Face}
			continue
		}
		m := oc.Meta
		rows[i] = croptable.Row{Crop: oc.CropPath, Box: m.Box, Stage: m.Stage, Score: float32(m.Score), Faces: m.Faces,
			Landmarks: m.Landmarks, Region: m.Region, Angle: m.Angle, Hash: m.Hash, Edges: m.Edges, Face: oc.Face}
	}
	return croptable.Extend(rec, rows)
}

// rowsOf is rec with one row per outcome: its job's row, under the
// outcome's id. It is rec itself (retained) when the outcomes are one per
// row with the rows' ids.
func rowsOf(rec arrow.RecordBatch, outcomes []crop.Outcome) (arrow.RecordBatch, error) {
	same := len(outcomes) == int(rec.NumRows())
	rows := make([]int, len(outcomes))
	ids := array.NewStringBuilder(memory.DefaultAllocator)
	defer ids.Release()
	for i, oc := range outcomes {
		rows[i] = oc.Job
		ids.Append(oc.ID)
		same = same && oc.Job == i && oc.Face <= 0
	}
	if same {
		rec.Retain()
		return rec, nil
	}
	taken, err := table.Take(rec, rows)
	if err != nil {
		return nil, err
	}
	defer taken.Release()
	col := ids.NewArray()
	defer col.Release()
	idField := rec.Schema().Field(rec.Schema().FieldIndices(table.ColID)[0])
	return table.Extend(taken, taken.Schema(), []arrow.Field{idField}, []arrow.Array{col})
}

// jobsOf is a job per row of a batch: its id, its photo (a relative path
// found from the working directory or else from tableDir), and with
// boxes its given box (table.Sample.Box: a null or -1 coordinate is no
// box).
func jobsOf(rec arrow.RecordBatch, boxes bool, tableDir string) []crop.Job {
	samples := table.Samples(rec)
	jobs := make([]crop.Job, len(samples))
	for i, s := range samples {
		jobs[i] = crop.Job{ID: s.ID, Path: croptable.Resolve(s.Path, tableDir)}
		if boxes {
			jobs[i].Box = s.Box
		}
	}
	return jobs
}

// source yields the input as record batches.
type source interface {
	schema() *arrow.Schema
	each(func(arrow.RecordBatch) error) error
	total() int  // rows in all, -1 when not known ahead
	dir() string // the folder relative photo paths may be relative to (croptable.Resolve)
	close()
}

type tableInput struct {
	r    *table.Reader
	name string
}

// tableSource opens the input table; with boxes it must have the box
// columns too.
func tableSource(name string, stdin io.Reader, boxes bool) (source, error) {
	required := []string{table.ColID, table.ColPath}
	if boxes {
		for _, f := range table.BoxFields {
			required = append(required, f.Name)
		}
	}
	r, err := table.Open(name, stdin, required...)
	if err != nil {
		if boxes && strings.Contains(err.Error(), "column") {
			return nil, fmt.Errorf("--boxes: %w (facet-prep's boxes: source writes them)", err)
		}
		return nil, err
	}
	return &tableInput{r: r, name: name}, nil
}

func (t *tableInput) schema() *arrow.Schema { return t.r.Schema() }
func (t *tableInput) total() int            { return -1 }
func (t *tableInput) dir() string           { return croptable.TableDir(t.name) }
func (t *tableInput) close()                { t.r.Release() }
func (t *tableInput) each(fn func(arrow.RecordBatch) error) error {
	for t.r.Next() {
		if err := fn(t.r.RecordBatch()); err != nil {
			return err
		}
	}
	return t.r.Err()
}

// folderInput is every image under a folder as a table (id = the path
// relative to the folder).
type folderInput struct {
	samples []table.Sample
	sch     *arrow.Schema
}

// folderSource lists the images under dir as dataset.WalkFiles does:
// without hidden files, facet output folders (--out, when it lies
// inside dir, is one: its crops are not photos to crop again) and names
// that are not UTF-8, which it names on stderr.
func folderSource(dir string, stderr io.Writer) (source, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	walk, err := dataset.WalkFiles(abs)
	if err != nil {
		return nil, err
	}
	for _, out := range walk.Outputs {
		fmt.Fprintf(stderr, "facet-crop: --in %s: skipped %s, a facet output folder (it holds %s)\n", dir, out, dataset.OutputMark)
	}
	for _, name := range walk.BadNames {
		fmt.Fprintf(stderr, "facet-crop: --in %s: skipped %s: the name is not valid UTF-8 (shown with its bytes escaped)\n", dir, name)
	}
	var samples []table.Sample
	for _, id := range walk.Files {
		if dataset.IsImageName(id) {
			samples = append(samples, table.NewSample(id, filepath.Join(abs, filepath.FromSlash(id)), id, "folder", "train"))
		}
	}
	if len(samples) == 0 {
		return nil, fmt.Errorf("--in %s: no images found", dir)
	}
	return &folderInput{samples: samples, sch: table.NewSchema(label.DefaultBins)}, nil
}

func (f *folderInput) schema() *arrow.Schema { return f.sch }
func (f *folderInput) total() int            { return len(f.samples) }
func (f *folderInput) dir() string           { return "" } // the paths are absolute
func (f *folderInput) close()                {}
func (f *folderInput) each(fn func(arrow.RecordBatch) error) error {
	for _, rec := range table.Records(memory.DefaultAllocator, f.sch, f.samples) {
		err := fn(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return nil
}
