package crop

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/boostershot/facet/internal/cvimage"
	"github.com/boostershot/facet/internal/dup"
	"github.com/boostershot/facet/internal/face"
	"github.com/boostershot/facet/internal/imagefile"
	"github.com/boostershot/facet/internal/outfile"
	"github.com/boostershot/facet/internal/table"
	"github.com/boostershot/facet/internal/work"
)

// Job is one photo to crop.
type Job struct {
	ID, Path string
	// Box is the face box to crop in GivenBoxes mode, in photo pixels.
	Box image.Rectangle
}

// Outcome is what became of a Job, or of one face of it: a crop with its
// detection, or the reason there is none. Either way the row stays in
// the table.
type Outcome struct {
	// Job is the index of the job, among those given to Crop, this
	// outcome belongs to.
	Job int
	// ID is the id of the outcome's row: the job's, or FaceID(job id, k)
	// for the k-th face of a photo in AllFaces mode.
	ID string
	// Face is the index of the face in its photo (0 in OneFace and
	// GivenBoxes mode), -1 for a photo that gave no face to crop.
	Face     int
	CropPath string // "" when failed
	Meta     Meta
	Reused   bool   // an existing crop was kept (--resume)
	Reason   string // failure category, "" when cropped
	Detail   string // failure detail
	fatal    error  // the machine's failure (writing the crop): Crop stops
	// more are the photo's other faces (AllFaces), which Crop lists after
	// this one.
	more []Outcome
}

// Mode is what a Pool crops of each photo.
type Mode int

const (
	// OneFace crops the face a portrait means (face.Chain.Find): one crop a
	// photo, the chain's fixed box when it has one and nothing else found
	// a face.
	OneFace Mode = iota
	// AllFaces crops every face found (face.Chain.FindAll), each with its
	// own row id FaceID(id, k); a photo without a face keeps one row with
	// the reason, never a fixed-box crop.
	AllFaces
	// GivenBoxes crops the job's Box, without detecting.
	GivenBoxes
)

// FaceID is the row id of the k-th face (from 0) of the photo of row id
// in AllFaces mode: id#k. Faces are numbered left to right (then top to
// bottom) by their boxes.
func FaceID(id string, k int) string { return id + "#" + strconv.Itoa(k) }

// Failure categories.
const (
	ReasonRead  = "unreadable file"
	ReasonImage = "not a decodable image"
	ReasonLarge = "image too large"
	// ReasonTruncated: a JPEG whose scan stops short (with or without an
	// end marker after it) or a PNG without its end, which OpenCV alone
	// decodes with the missing part grey.
	ReasonTruncated = "truncated image"
	ReasonDuplicate = "doubled id"
	ReasonPath      = "unsafe id"
	ReasonFace      = "detector failed"
	ReasonEncode    = "cannot encode crop"
	ReasonNoFace    = "no face found"
	ReasonBox       = "bad face box"
)

// Config is how a Pool crops.
type Config struct {
	Geometry
	Mode     Mode
	Dir      string // output folder
	Ext      string // ".jpg" or ".png"
	Quality  int    // JPEG quality
	Align    bool   // rotate so the eyes are level, when landmarks are known
	Resume   bool   // keep existing crops made with the same Settings
	Settings string // everything that shapes a crop, recorded in each file
}

// Pool crops photos on several workers, each with its own detector chain
// (detectors are not safe for concurrent use).
type Pool struct {
	cfg    Config
	out    *outfile.Dir
	chains []*face.Chain
	// claimed maps each crop file this pool has been asked to write (by a
	// 128-bit hash of its path) to the id of its row, so that two rows
	// never write one file; claimMu guards it while workers claim the
	// paths of faces found (AllFaces).
	claimed map[[16]byte]string
	claimMu sync.Mutex
}

// Time is the time all workers spent per step: "read", "decode",
// "resize", each detector stage, "write" (crop, encode, write the file).
func (p *Pool) Time() map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, c := range p.chains {
		for k, v := range c.Time {
			out[k] += v
		}
	}
	return out
}

// NewPool makes workers chains with newChain and opens the output folder
// cfg.Dir (created when missing; every crop is written inside it, see
// internal/outfile).
func NewPool(cfg Config, workers int, newChain func() (*face.Chain, error)) (*Pool, error) {
	if cfg.Ext != ".jpg" && cfg.Ext != ".png" {
		return nil, fmt.Errorf("crop format %q: want .jpg or .png", cfg.Ext)
	}
	out, err := outfile.OpenDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	p := &Pool{cfg: cfg, out: out, claimed: map[[16]byte]string{}}
	for range max(1, workers) {
		c, err := newChain()
		if err != nil {
			p.Close()
			return nil, err
		}
		if c.Time == nil {
			c.Time = map[string]time.Duration{}
		}
		p.chains = append(p.chains, c)
	}
	return p, nil
}

// Close closes every worker's chain and the output folder.
func (p *Pool) Close() error {
	var errs []error
	for _, c := range p.chains {
		errs = append(errs, c.Close())
	}
	p.chains = nil
	if p.out != nil {
		errs = append(errs, p.out.Close())
		p.out = nil
	}
	return errors.Join(errs...)
}

// Crop processes jobs and returns their Outcomes. done is called after
// each job from one goroutine at a time. A photo that cannot be cropped
// is the data's problem: its Outcome says why. A job whose crop file an
// earlier job (of this call or an earlier one) writes fails with
// ReasonDuplicate: ids are unique in a sample table. A crop that cannot
// be written (no space, no permission, I/O) is the machine's: no new job
// starts and Crop returns that error (an *outfile.Error). A cancelled
// context is an error too; a crop is never left half-written.
//
// In OneFace and GivenBoxes mode the outcomes are one per job, in the
// jobs' order; in AllFaces mode a job gives one outcome per face, in the
// jobs' order and then by face, or one outcome with the reason when there
// is none. There each face's crop file is claimed as it is found; a
// job's face 0 is claimed before any work starts, so that of two rows
// with one id the second is always the one refused.
func (p *Pool) Crop(ctx context.Context, jobs []Job, done func()) ([]Outcome, error) {
	per := make([]Outcome, len(jobs))
	dst := make([]string, len(jobs))
	for i, job := range jobs {
		id := job.ID
		if p.cfg.Mode == AllFaces {
			if err := table.CheckID(id); err != nil {
				per[i] = fail(ReasonPath, "%v", err)
				continue
			}
			id = FaceID(id, 0)
		}
		var err error
		if dst[i], err = Path(p.cfg.Dir, id, p.cfg.Ext); err != nil {
			per[i] = fail(ReasonPath, "%v", err)
			continue
		}
		if first, ok := p.claim(dst[i], job.ID); !ok {
			per[i] = fail(ReasonDuplicate, "%s is already the crop of row %q: ids must be unique", dst[i], first)
		}
	}
	err := work.Try(ctx, len(jobs), len(p.chains), func(w, i int) error {
		if per[i].Reason != "" {
			return nil
		}
		per[i] = p.one(p.chains[w], jobs[i], dst[i])
		return per[i].fatal
	}, done)
	if outfile.IsError(err) {
		return nil, err
	}
	out := make([]Outcome, 0, len(jobs))
	for i, oc := range per {
		more := oc.more
		oc.more = nil
		for _, o := range append([]Outcome{oc}, more...) {
			o.Job = i
			if o.ID == "" {
				o.ID = jobs[i].ID
			}
			out = append(out, o)
		}
	}
	return out, err
}

// claim marks the crop file path as row id's; a path claimed already is
// refused with the id of the row that has it. (Keys are 128-bit FNV
// hashes of the path, so that a pool of millions of rows stays small.)
func (p *Pool) claim(path, id string) (first string, ok bool) {
	h := fnv.New128a()
	h.Write([]byte(path))
	key := [16]byte(h.Sum(nil))
	p.claimMu.Lock()
	defer p.claimMu.Unlock()
	if first, ok := p.claimed[key]; ok {
		return first, false
	}
	p.claimed[key] = id
	return "", true
}

// reasonOf is the failure category of a decoding error.
func reasonOf(err error) string {
	switch {
	case errors.Is(err, imagefile.ErrTooLarge):
		return ReasonLarge
	case errors.Is(err, imagefile.ErrTruncated):
		return ReasonTruncated
	}
	return ReasonImage
}

// fail is the outcome of a photo that gave no face to crop.
func fail(reason, format string, args ...any) Outcome {
	return Outcome{Face: -1, Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// one crops one photo to dst (in AllFaces mode, its face 0 to dst and
// face k to the path of FaceID(job.ID, k)).
func (p *Pool) one(chain *face.Chain, job Job, dst string) Outcome {
	if p.cfg.Resume {
		if oc, ok := p.reuse(dst, job); ok {
			return oc
		}
	}
	t := time.Now()
	data, st, err := imagefile.ReadFileInfo(job.Path)
	chain.Time["read"] += time.Since(t)
	if err != nil {
		if errors.Is(err, imagefile.ErrTooLarge) {
			return fail(ReasonLarge, "%v", err)
		}
		return fail(ReasonRead, "%v", err)
	}
	// The one decoder (internal/cvimage): the header is checked before
	// any pixel is decoded (size, format, a whole file), a truncated
	// JPEG is an error instead of a picture with grey rows, and OpenCV
	// turns grayscale, CMYK and alpha images into 3-channel BGR with the
	// EXIF orientation applied.
	t = time.Now()
	img, err := cvimage.Decode(data)
	chain.Time["decode"] += time.Since(t)
	if err != nil {
		return fail(reasonOf(err), "%v", err)
	}
	defer img.Close()
	faces, oc, ok := p.faces(chain, img, job)
	if !ok {
		return oc
	}
	outs := make([]Outcome, len(faces))
	for k, res := range faces {
		id, at := job.ID, dst
		if p.cfg.Mode == AllFaces {
			id = FaceID(job.ID, k)
			if k > 0 {
				if at, ok = p.claimFace(id, job.ID); !ok {
					outs[k] = fail(ReasonDuplicate, "%s is already the crop of another row: ids must be unique", at)
					outs[k].ID, outs[k].Face = id, k
					continue
				}
			}
		}
		outs[k] = p.cropFace(chain, img, job, st, res, at)
		if outs[k].fatal != nil {
			return Outcome{fatal: outs[k].fatal}
		}
		outs[k].ID, outs[k].Face = id, k
	}
	outs[0].more = outs[1:]
	return outs[0]
}

// claimFace claims the crop file of face id (FaceID) of the photo of row
// photo (AllFaces): its path, and whether it is this row's to write.
func (p *Pool) claimFace(id, photo string) (string, bool) {
	at, err := Path(p.cfg.Dir, id, p.cfg.Ext)
	if err != nil { // cannot be: the photo's id passed table.CheckID
		return "", false
	}
	_, ok := p.claim(at, photo)
	return at, ok
}

// faces are the faces of a decoded photo to crop, by the pool's mode; a
// photo without any gives ok=false and the outcome that says why.
func (p *Pool) faces(chain *face.Chain, img gocv.Mat, job Job) (faces []face.Result, oc Outcome, ok bool) {
	switch p.cfg.Mode {
	case GivenBoxes:
		bounds := image.Rect(0, 0, img.Cols(), img.Rows())
		box := job.Box.Canon().Intersect(bounds)
		if job.Box.Empty() || box.Empty() {
			return nil, fail(ReasonBox, "box %v is empty or outside the %dx%d image", job.Box, bounds.Dx(), bounds.Dy()), false
		}
		return []face.Result{{Box: box, Stage: StageGiven, Faces: 1}}, Outcome{}, true
	case AllFaces:
		faces, err := chain.FindAll(img)
		if err != nil {
			return nil, fail(ReasonFace, "%v", err), false
		}
		if len(faces) == 0 {
			return nil, fail(ReasonNoFace, "no stage found a face"), false
		}
		return faces, Outcome{}, true
	}
	res, found, err := chain.Find(img)
	if err != nil {
		return nil, fail(ReasonFace, "%v", err), false
	}
	if !found {
		return nil, fail(ReasonNoFace, "no stage found a face (add center to --detectors for a fixed-crop fallback)"), false
	}
	return []face.Result{res}, Outcome{}, true
}

// StageGiven is the crop_stage of a crop of a given box (GivenBoxes).
const StageGiven = "given"

// cropFace crops one face of a decoded photo (st: its file's) and writes
// it to dst.
func (p *Pool) cropFace(chain *face.Chain, img gocv.Mat, job Job, st os.FileInfo, res face.Result, dst string) Outcome {
	m := Meta{Settings: p.cfg.Settings, Source: job.Path, SourceSize: st.Size(), SourceTime: st.ModTime().UnixNano(), Box: res.Box, Stage: res.Stage, Score: res.Score, Faces: res.Faces, Landmarks: res.Landmarks}
	if p.cfg.Mode == GivenBoxes {
		m.Given = job.Box
	}
	t := time.Now()
	defer func() { chain.Time["write"] += time.Since(t) }()
	m.Region = p.cfg.Region(res.Box)
	if p.cfg.Align && len(res.Landmarks) == 68 {
		if a := eyeAngle(res.Landmarks); math.Abs(a) >= 0.5 {
			m.Angle = a
		}
	}
	cropped, err := p.extract(img, res.Box, m.Region, m.Angle)
	if err != nil {
		return fail(ReasonFace, "%v", err)
	}
	defer cropped.Close()
	t2 := time.Now()
	h, e := hashMat(cropped, p.cfg.HashArea())
	m.Hash, m.Edges = uint64(h), &e
	chain.Time["hash"] += time.Since(t2)
	if err := p.write(dst, cropped, m); err != nil {
		if outfile.IsError(err) {
			return Outcome{fatal: err}
		}
		return fail(ReasonEncode, "%v", err)
	}
	return Outcome{CropPath: dst, Meta: m}
}

// extract cuts region out of the photo, first rotating it by angle
// degrees about the face box centre (--align; 0: no rotation).
func (p *Pool) extract(img gocv.Mat, box, region image.Rectangle, angle float64) (gocv.Mat, error) {
	if angle == 0 {
		return p.cfg.Extract(img, region)
	}
	c := box.Min.Add(box.Max).Div(2)
	rot := gocv.GetRotationMatrix2D(c, angle, 1)
	defer rot.Close()
	turned := gocv.NewMat()
	defer turned.Close()
	gocv.WarpAffine(img, &turned, rot, image.Pt(img.Cols(), img.Rows()))
	return p.cfg.Extract(turned, region)
}

// eyeAngle is the angle in degrees of the line from the left eye's centre
// (dlib points 36-41) to the right eye's (42-47).
func eyeAngle(lm []image.Point) float64 {
	mean := func(pts []image.Point) (float64, float64) {
		var x, y float64
		for _, p := range pts {
			x += float64(p.X)
			y += float64(p.Y)
		}
		return x / float64(len(pts)), y / float64(len(pts))
	}
	lx, ly := mean(lm[36:42])
	rx, ry := mean(lm[42:48])
	return math.Atan2(ry-ly, rx-lx) * 180 / math.Pi
}

// HashArea is the part of a crop its hash is taken from: the square of
// the face box, without the margin, which often reaches outside the photo
// and is black there. Hashing the black margin too linked different
// UTKFace faces by their common black frame.
func (g Geometry) HashArea() image.Rectangle {
	side := max(1, int(math.Round(float64(g.Size)/(1+2*g.Margin))))
	lo := (g.Size - side) / 2
	return image.Rect(lo, lo, lo+side, lo+side)
}

// hashMat is the perceptual hash of area of a BGR (or grey) crop and its
// edges: its grey pixels, as OpenCV converts them (the luma a JPEG of it
// stores).
func hashMat(crop gocv.Mat, area image.Rectangle) (dup.Hash, dup.Edges) {
	area = area.Intersect(image.Rect(0, 0, crop.Cols(), crop.Rows()))
	img := crop.Region(area)
	defer img.Close()
	grey := gocv.NewMat() // continuous, unlike the region
	defer grey.Close()
	if img.Channels() == 1 {
		img.CopyTo(&grey)
	} else {
		gocv.CvtColor(img, &grey, gocv.ColorBGRToGray)
	}
	pix := grey.ToBytes()
	return dup.FromGray(pix, grey.Cols(), grey.Rows(), grey.Cols()), dup.EdgesFromGray(pix, grey.Cols(), grey.Rows(), grey.Cols())
}

// write encodes the crop with its metadata and puts it in place
// atomically.
func (p *Pool) write(dst string, img gocv.Mat, m Meta) error {
	var buf []byte
	var err error
	if p.cfg.Ext == ".jpg" {
		buf, err = gocv.IMEncodeWithParams(gocv.JPEGFileExt, img, []int{gocv.IMWriteJpegQuality, p.cfg.Quality})
	} else {
		buf, err = gocv.IMEncode(gocv.PNGFileExt, img)
	}
	if err == nil && len(buf) == 0 {
		err = errors.New("OpenCV encoded nothing")
	}
	if err != nil {
		return err
	}
	if buf, err = Embed(buf, m); err != nil {
		return err
	}
	rel, err := filepath.Rel(p.cfg.Dir, dst)
	if err != nil {
		return err
	}
	return p.out.WriteFile(rel, buf)
}

// reuse returns the job's existing crops (--resume) when they are all
// there and valid: the crop at dst, or in AllFaces mode the crop of every
// face the first face's crop (at dst) says the photo has. A photo without
// a face has no crop and is looked at again.
func (p *Pool) reuse(dst string, job Job) (Outcome, bool) {
	if p.cfg.Mode != AllFaces {
		m, ok := p.reusable(dst, job)
		return Outcome{CropPath: dst, Meta: m, Reused: true}, ok
	}
	var outs []Outcome
	for k := 0; k == 0 || k < outs[0].Meta.Faces; k++ {
		id, at := FaceID(job.ID, k), dst
		if k > 0 {
			var err error
			if at, err = Path(p.cfg.Dir, id, p.cfg.Ext); err != nil {
				return Outcome{}, false
			}
		}
		m, ok := p.reusable(at, job)
		if !ok || m.Faces < 1 || (k > 0 && m.Faces != outs[0].Meta.Faces) {
			return Outcome{}, false
		}
		outs = append(outs, Outcome{ID: id, Face: k, CropPath: at, Meta: m, Reused: true})
	}
	// The other faces' files become this row's, as a new crop's would.
	for k := 1; k < len(outs); k++ {
		if _, ok := p.claim(outs[k].CropPath, job.ID); !ok {
			outs[k] = fail(ReasonDuplicate, "%s is already the crop of another row: ids must be unique", outs[k].CropPath)
			outs[k].ID, outs[k].Face = FaceID(job.ID, k), k
		}
	}
	outs[0].more = outs[1:]
	return outs[0], true
}

// reusable reports whether dst is a valid crop of the job's photo made
// with the same settings (and, for a given box, of the same box), and its
// metadata.
func (p *Pool) reusable(dst string, job Job) (Meta, bool) {
	data, err := imagefile.ReadFile(dst)
	if err != nil {
		return Meta{}, false
	}
	m, err := Extract(data)
	if err != nil || m.Settings != p.cfg.Settings || m.Source != job.Path || m.Given != job.Box {
		return Meta{}, false
	}
	// The photo must be the one it was cut from: same size, same time.
	st, err := os.Stat(job.Path)
	if err != nil || m.SourceSize != st.Size() || m.SourceTime != st.ModTime().UnixNano() {
		return Meta{}, false
	}
	// A full decode, not just the header: a damaged file is cropped again.
	img, err := cvimage.Decode(data)
	if err != nil {
		return Meta{}, false
	}
	defer img.Close()
	if img.Cols() != p.cfg.Size || img.Rows() != p.cfg.Size {
		return Meta{}, false
	}
	if m.Hash == 0 || m.Edges == nil {
		h, e := hashMat(img, p.cfg.HashArea())
		m.Hash, m.Edges = uint64(h), &e
	}
	return m, true
}
