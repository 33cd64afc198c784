package face

// The second stage: OpenCV cascades, tuned for the faces the first stage
// (dlib HOG) misses, which are mostly masked ones.
//
// A mask hides the mouth and chin, which OpenCV's frontal cascades were
// trained on, so on masked faces they find nothing or fire on a smaller box
// shifted down to the nose (the mask's upper edge taken for a mouth). The
// strategy kept, after measuring the alternatives (numbers in the comment
// at the top of cascade_test.go):
//
//  1. Proposals: OpenCV's LBP frontal cascade with only its first stages
//     (ProposeStages of 20). The early stages look mostly at the eyes and
//     the nose bridge and still fire on masked faces; the late stages,
//     which want a mouth, are dropped. LBP is also 3-4 times cheaper than
//     a Haar cascade. Raw windows are grouped; a group's size is a vote.
//  2. Verification: the largest groups are re-scanned, in a small region
//     around each and over a narrow band of sizes, by the complete LBP
//     cascade and the Haar frontal cascade (and optionally alt2). Their
//     agreeing windows add votes: the agreement of differently trained
//     detectors separates faces from textured background better than any
//     one of them. Score = sum over detectors of sqrt(agreeing windows).
//
// Only candidates scoring close to the best are returned, so that Pick,
// which prefers large central boxes, does not trade a sure face for a
// large doubtful one.
//
// Tried and dropped (see cascade_test.go): eye-pair detection (Haar eye
// cascade on upscaled regions) to verify candidates and re-derive the box
// from the eyes: it finds one eye or a wrong pair on too many masked faces
// and costs about 4 ms a candidate; lower-face features of the cascades
// neutralised; a clipped or equalised image; stage-truncated Haar
// cascades; skin colour and symmetry scores.

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gocv.io/x/gocv"
)

// DefaultCascadeDir is where Debian's opencv-data package installs the Haar
// cascades. The LBP cascade is looked for in the same folder first, then in
// its sibling lbpcascades folder (as opencv-data lays them out).
const DefaultCascadeDir = "/usr/share/opencv4/haarcascades"

// Cascade files the detector loads.
const (
	cascadeHaarFrontal = "haarcascade_frontalface_default.xml"
	cascadeAlt2        = "haarcascade_frontalface_alt2.xml"
	cascadeLBPFrontal  = "lbpcascade_frontalface.xml"
)

// CascadeOptions tunes the cascade detector; DefaultCascadeOptions gives
// the measured defaults for half-size (about 192x256) portraits.
type CascadeOptions struct {
	// MinFace is the smallest face side searched, in frame pixels.
	MinFace int
	// ScaleFactor is the step between the scanned window sizes (> 1).
	ScaleFactor float64
	// ProposeStages is how many stages of the LBP frontal cascade the
	// proposal scan keeps (the full cascade has 20; fewer finds more masked
	// faces and more background).
	ProposeStages int
	// Verify is how many of the largest proposal groups are verified by
	// the complete cascades.
	Verify int
	// Alt2 adds the Haar frontal alt2 cascade to the verification: a few
	// more faces found for about 40% more time.
	Alt2 bool
	// MinScore drops candidates scoring less (Detection.Score is the sum,
	// over the detectors, of the square root of their agreeing windows).
	MinScore float64
	// Keep returns, besides the best candidate, those scoring at least
	// Keep times its score (1 returns only the best, 0 every one scoring
	// at least MinScore).
	Keep float64
	// Confirm is the score at which the stage confirms a weak face
	// another stage found (the same score as Detection.Score, over the
	// proposal scan and the complete cascades in a region around the box);
	// 0: it confirms none.
	Confirm float64
	// ConfirmOnly makes the stage find no face of its own (Detect returns
	// none, without scanning): it only confirms other stages' faces.
	ConfirmOnly bool
}

// DefaultCascadeOptions are the options NewCascade uses.
func DefaultCascadeOptions() CascadeOptions {
	return CascadeOptions{
		MinFace:       40,
		ScaleFactor:   1.1,
		ProposeStages: 13,
		Verify:        4,
		MinScore:      4,
		Keep:          0.8,
	}
}

// SceneCascadeOptions are the options for scenes of many faces (facet-crop
// --faces all): windows from 40 pixels (so a Chain with MinFace looks at
// the scene enlarged until its smallest faces are that wide), many groups
// verified, every candidate scoring MinScore kept, weak faces of other
// stages confirmed from a score of Confirm, and no face of its own
// (ConfirmOnly). On the scenes of ../shared/data/crowds the stage alone
// is right 97% of the time at MinScore 18 (92% at 14) but finds no face
// the dlib stage misses, and its scan of the enlarged scene took half of
// the chain's time: in a scene its use is confirming dlib's weak faces,
// where Confirm 2 (with the skin check) kept the most right faces at a
// precision of 0.9.
func SceneCascadeOptions() CascadeOptions {
	o := DefaultCascadeOptions()
	o.MinFace = 40
	o.Verify = 100
	o.MinScore = 18
	o.Keep = 0
	o.Confirm = 2
	o.ConfirmOnly = true
	return o
}

func (o CascadeOptions) check() error {
	switch {
	case o.MinFace < 20:
		return fmt.Errorf("face: cascade MinFace %d: want at least 20 pixels", o.MinFace)
	case !(o.ScaleFactor > 1.01 && o.ScaleFactor <= 2):
		return fmt.Errorf("face: cascade ScaleFactor %g: want 1.01 < f <= 2", o.ScaleFactor)
	case o.ProposeStages < 1:
		return fmt.Errorf("face: cascade ProposeStages %d: want at least 1", o.ProposeStages)
	case o.Verify < 1:
		return fmt.Errorf("face: cascade Verify %d: want at least 1", o.Verify)
	case !(o.Keep >= 0 && o.Keep <= 1):
		return fmt.Errorf("face: cascade Keep %g: want 0 <= k <= 1", o.Keep)
	case math.IsNaN(o.MinScore):
		return errors.New("face: cascade MinScore is not a number")
	case !(o.Confirm >= 0):
		return fmt.Errorf("face: cascade Confirm %g: want 0 or more", o.Confirm)
	}
	return nil
}

type cascadeDetector struct {
	opt     CascadeOptions
	propose gocv.CascadeClassifier    // LBP frontal, first ProposeStages stages
	lbp     gocv.CascadeClassifier    // LBP frontal, complete
	haar    gocv.CascadeClassifier    // Haar frontal (default)
	alt2    gocv.CascadeClassifier    // Haar frontal (alt2), when opt.Alt2
	loaded  []*gocv.CascadeClassifier // the ones to close
	closed  bool
}

// NewCascade loads the cascade detector from dir (DefaultCascadeDir when
// empty) with DefaultCascadeOptions.
func NewCascade(dir string) (Detector, error) {
	return NewCascadeWith(dir, DefaultCascadeOptions())
}

// NewCascadeWith loads the cascade detector from dir (DefaultCascadeDir
// when empty) with the given options. It reports a missing, unreadable or
// malformed cascade file by name. Files are checked in Go before OpenCV
// sees them: gocv v0.25 does not catch OpenCV's C++ exceptions, and a
// malformed cascade aborts the process inside OpenCV.
func NewCascadeWith(dir string, opt CascadeOptions) (Detector, error) {
	if err := opt.check(); err != nil {
		return nil, err
	}
	if dir == "" {
		dir = DefaultCascadeDir
	}
	c := &cascadeDetector{opt: opt}
	fail := func(err error) (Detector, error) {
		c.Close()
		return nil, err
	}
	lbpPath, err := findLBP(dir)
	if err != nil {
		return fail(err)
	}
	lbpXML, err := readCascadeXML(lbpPath)
	if err != nil {
		return fail(err)
	}
	proposeXML, err := truncateCascade(lbpXML, opt.ProposeStages)
	if err != nil {
		return fail(fmt.Errorf("face: cascade %s: %w", lbpPath, err))
	}
	if err := c.loadFile(&c.haar, filepath.Join(dir, cascadeHaarFrontal)); err != nil {
		return fail(err)
	}
	if opt.Alt2 {
		if err := c.loadFile(&c.alt2, filepath.Join(dir, cascadeAlt2)); err != nil {
			return fail(err)
		}
	}
	if err := c.loadFile(&c.lbp, lbpPath); err != nil {
		return fail(err)
	}
	if err := c.loadBytes(&c.propose, proposeXML, lbpPath); err != nil {
		return fail(err)
	}
	return c, nil
}

// findLBP finds the LBP frontal cascade in dir or in ../lbpcascades.
func findLBP(dir string) (string, error) {
	cands := []string{
		filepath.Join(dir, cascadeLBPFrontal),
		filepath.Join(filepath.Dir(filepath.Clean(dir)), "lbpcascades", cascadeLBPFrontal),
	}
	for _, p := range cands {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("face: cascade file %s not found (looked in %s and %s)", cascadeLBPFrontal, cands[0], cands[1])
}

// readCascadeXML reads and checks a cascade file.
func readCascadeXML(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("face: cascade file %s not found", path)
		}
		return nil, fmt.Errorf("face: cascade file: %w", err)
	}
	if err := checkCascadeXML(b); err != nil {
		return nil, fmt.Errorf("face: cascade file %s: %w", path, err)
	}
	return b, nil
}

func (c *cascadeDetector) loadFile(cc *gocv.CascadeClassifier, path string) error {
	b, err := readCascadeXML(path)
	if err != nil {
		return err
	}
	return c.loadBytes(cc, b, path)
}

// loadBytes loads checked cascade XML through a temporary file (OpenCV
// reads cascades from files only); name is used in errors.
func (c *cascadeDetector) loadBytes(cc *gocv.CascadeClassifier, xmlText []byte, name string) error {
	f, err := os.CreateTemp("", "facet-cascade-*.xml")
	if err != nil {
		return fmt.Errorf("face: cascade %s: %w", name, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(xmlText); err != nil {
		f.Close()
		return fmt.Errorf("face: cascade %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("face: cascade %s: %w", name, err)
	}
	*cc = gocv.NewCascadeClassifier()
	c.loaded = append(c.loaded, cc)
	if !cc.Load(tmp) {
		return fmt.Errorf("face: cascade %s: OpenCV could not load it", name)
	}
	return nil
}

// Name is "cascade".
func (c *cascadeDetector) Name() string { return "cascade" }

// MinFace is the smallest face side the stage looks for (the MinFace
// option), in frame pixels.
func (c *cascadeDetector) MinFace() int { return c.opt.MinFace }

// Close frees the classifiers; closing twice is harmless.
func (c *cascadeDetector) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	for _, cc := range c.loaded {
		cc.Close()
	}
	c.loaded = nil
	return nil
}

// candidate is one face hypothesis.
type candidate struct {
	box     image.Rectangle
	propose int // proposal windows in the group
	lbp     int // windows of the complete LBP cascade that agree
	haar    int // windows of the Haar cascade that agree
	alt2    int // windows of the alt2 cascade that agree
	score   float64
}

func (k *candidate) rescore() {
	k.score = math.Sqrt(float64(k.propose)) + math.Sqrt(float64(k.lbp)) + math.Sqrt(float64(k.haar)) + math.Sqrt(float64(k.alt2))
}

// Detect finds faces in f.Gray (f.BGR is not used). A detection's Score is
// the sum, over the proposal scan, the complete LBP cascade, the Haar
// cascade (and alt2), of the square root of their windows agreeing with it:
// higher is surer; scores under MinScore are dropped.
func (c *cascadeDetector) Detect(f Frame) ([]Detection, error) {
	if c.closed {
		return nil, errors.New("face: cascade detector is closed")
	}
	if err := checkMat(f.Gray, gocv.MatTypeCV8UC1, "gray frame"); err != nil {
		return nil, err
	}
	if c.opt.ConfirmOnly {
		return nil, nil
	}
	size := f.Size()
	o := c.opt
	if min(size.X, size.Y) < o.MinFace {
		return nil, nil
	}
	raw := c.propose.DetectMultiScaleWithParams(f.Gray, o.ScaleFactor, 0, 0, image.Pt(o.MinFace, o.MinFace), image.Point{})
	groups := groupRects(raw, 0.3)
	if len(groups) > o.Verify {
		groups = groups[:o.Verify]
	}
	cands := make([]candidate, len(groups))
	for i, g := range groups {
		k := &cands[i]
		k.box, k.propose = g.box, g.n
		c.verify(f.Gray, k)
		k.rescore()
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	frame := image.Rectangle{Max: size}
	var dets []Detection
	for _, k := range cands {
		if k.score < o.MinScore || (len(dets) > 0 && k.score < o.Keep*dets[0].Score) {
			continue
		}
		box := k.box.Intersect(frame)
		if box.Empty() || overlapsAny(box, dets) {
			continue
		}
		dets = append(dets, Detection{Box: box, Score: k.score})
	}
	return dets, nil
}

// overlapsAny says whether b overlaps a kept detection by more than a
// third of the smaller box.
func overlapsAny(b image.Rectangle, dets []Detection) bool {
	for _, d := range dets {
		in := b.Intersect(d.Box)
		if in.Empty() {
			continue
		}
		small := min(area(b), area(d.Box))
		if 3*area(in) > small {
			return true
		}
	}
	return false
}

func area(r image.Rectangle) int { return r.Dx() * r.Dy() }

// confirm is the score of a face another stage found at box (f's pixels),
// and whether it reaches the Confirm option (verifier).
func (c *cascadeDetector) confirm(f Frame, box image.Rectangle) (float64, bool, error) {
	if c.closed {
		return 0, false, errors.New("face: cascade detector is closed")
	}
	if c.opt.Confirm <= 0 {
		return 0, false, nil
	}
	if err := checkMat(f.Gray, gocv.MatTypeCV8UC1, "gray frame"); err != nil {
		return 0, false, err
	}
	k := candidate{box: box, propose: c.count(f.Gray, &c.propose, box)}
	c.verify(f.Gray, &k)
	k.rescore()
	return k.score, k.score >= c.opt.Confirm, nil
}

// count counts the windows of cc that agree with box, in a region around
// it over sizes near its own.
func (c *cascadeDetector) count(gray gocv.Mat, cc *gocv.CascadeClassifier, b image.Rectangle) int {
	w := b.Dx()
	roi := b.Inset(-w / 3).Intersect(image.Rect(0, 0, gray.Cols(), gray.Rows()))
	lo, hi := w*3/4, w*4/3
	if roi.Dx() < lo || roi.Dy() < lo || lo < 1 {
		return 0
	}
	sub := gray.Region(roi)
	defer sub.Close()
	return countAgreeing(cc.DetectMultiScaleWithParams(sub, c.opt.ScaleFactor, 0, 0, image.Pt(lo, lo), image.Pt(hi, hi)), roi.Min, b)
}

// verify counts the windows of the complete LBP and Haar cascades that
// agree with k.box, scanning a region around it over sizes near its own.
func (c *cascadeDetector) verify(gray gocv.Mat, k *candidate) {
	k.lbp = c.count(gray, &c.lbp, k.box)
	k.haar = c.count(gray, &c.haar, k.box)
	if c.opt.Alt2 {
		k.alt2 = c.count(gray, &c.alt2, k.box)
	}
}

// countAgreeing counts windows (offset by off) centred in the middle half
// of b with a size within -30%..+45% of b's.
func countAgreeing(ws []image.Rectangle, off image.Point, b image.Rectangle) int {
	inner := b.Inset(b.Dx() / 4)
	n := 0
	for _, r := range ws {
		r = r.Add(off)
		c := r.Min.Add(r.Max).Div(2)
		ratio := float64(r.Dx()) / float64(b.Dx())
		if c.In(inner) && ratio > 0.7 && ratio < 1.45 {
			n++
		}
	}
	return n
}

// rectGroup is a group of similar windows: their mean box and count.
type rectGroup struct {
	box image.Rectangle
	n   int
}

// groupRects groups similar rectangles as OpenCV's groupRectangles does
// (corners within eps of the mean size), keeping every group with its
// count, largest count first (ties: larger box first, then top-left).
func groupRects(rs []image.Rectangle, eps float64) []rectGroup {
	par := make([]int, len(rs))
	for i := range par {
		par[i] = i
	}
	find := func(i int) int {
		for par[i] != i {
			par[i] = par[par[i]]
			i = par[i]
		}
		return i
	}
	similar := func(a, b image.Rectangle) bool {
		d := eps * float64(min(a.Dx(), b.Dx())+min(a.Dy(), b.Dy())) * 0.5
		near := func(x int) bool { return math.Abs(float64(x)) <= d }
		return near(a.Min.X-b.Min.X) && near(a.Min.Y-b.Min.Y) && near(a.Max.X-b.Max.X) && near(a.Max.Y-b.Max.Y)
	}
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			if similar(rs[i], rs[j]) {
				par[find(i)] = find(j)
			}
		}
	}
	sums := make([][5]int, len(rs))
	for i, r := range rs {
		s := &sums[find(i)]
		s[0] += r.Min.X
		s[1] += r.Min.Y
		s[2] += r.Max.X
		s[3] += r.Max.Y
		s[4]++
	}
	var out []rectGroup
	for _, s := range sums {
		n := s[4]
		if n == 0 {
			continue
		}
		div := func(v int) int { return int(math.Round(float64(v) / float64(n))) }
		out = append(out, rectGroup{image.Rect(div(s[0]), div(s[1]), div(s[2]), div(s[3])), n})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.n != b.n {
			return a.n > b.n
		}
		if area(a.box) != area(b.box) {
			return area(a.box) > area(b.box)
		}
		if a.box.Min.Y != b.box.Min.Y {
			return a.box.Min.Y < b.box.Min.Y
		}
		return a.box.Min.X < b.box.Min.X
	})
	return out
}

// checkMat reports a Mat OpenCV would reject (or crash on): closed or
// never made, empty, or of another type.
func checkMat(m gocv.Mat, want gocv.MatType, what string) error {
	if m.Ptr() == nil {
		return fmt.Errorf("face: %s: Mat is closed or was never made", what)
	}
	if m.Empty() {
		return fmt.Errorf("face: %s: Mat is empty", what)
	}
	if t := m.Type(); t != want {
		return fmt.Errorf("face: %s: Mat type %v, want %v", what, t, want)
	}
	return nil
}

// --- cascade XML checks -------------------------------------------------

// xmlNode is a generic XML element.
type xmlNode struct {
	name     string
	text     string
	children []*xmlNode
}

func (n *xmlNode) child(name string) *xmlNode {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// parseXMLTree parses a whole document strictly: elements, text and
// comments only, one root, nothing after it.
func parseXMLTree(b []byte) (*xmlNode, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var stack []*xmlNode
	var root *xmlNode
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not well-formed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, errors.New("more than one root element")
			}
			n := &xmlNode{name: t.Name.Local}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("text outside the root element")
			}
		case xml.Directive:
			return nil, errors.New("XML directives (DOCTYPE) are not allowed")
		}
	}
	if root == nil {
		return nil, errors.New("no XML element")
	}
	if len(stack) != 0 {
		return nil, errors.New("unclosed element")
	}
	return root, nil
}

// checkCascadeXML checks that b is an OpenCV cascade in the current format
// (boosted stumps or trees of Haar or LBP features) whose every number,
// count and feature index is in range, so that OpenCV neither throws while
// reading it nor reads outside its arrays while detecting.
func checkCascadeXML(b []byte) error {
	if !bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n\ufeff"), []byte("<?xml")) {
		return errors.New("not an XML file")
	}
	root, err := parseXMLTree(b)
	if err != nil {
		return err
	}
	if root.name != "opencv_storage" || len(root.children) == 0 {
		return errors.New("not an OpenCV storage file")
	}
	c := root.children[0]
	if c.name != "cascade" {
		return fmt.Errorf("first node is <%s>, want <cascade> (current cascade format)", c.name)
	}
	str := func(name string) string {
		if n := c.child(name); n != nil {
			return strings.TrimSpace(n.text)
		}
		return ""
	}
	num := func(name string) (int, error) {
		v, err := strconv.Atoi(str(name))
		if err != nil {
			return 0, fmt.Errorf("<%s>: want an integer", name)
		}
		return v, nil
	}
	if st := str("stageType"); st != "BOOST" {
		return fmt.Errorf("stageType %q, want BOOST", st)
	}
	ft := str("featureType")
	if ft != "HAAR" && ft != "LBP" {
		return fmt.Errorf("featureType %q, want HAAR or LBP", ft)
	}
	width, err := num("width")
	if err != nil {
		return err
	}
	height, err := num("height")
	if err != nil {
		return err
	}
	if width < 1 || height < 1 || width > 1024 || height > 1024 {
		return fmt.Errorf("window %dx%d out of range", width, height)
	}
	stageNum, err := num("stageNum")
	if err != nil {
		return err
	}
	stages, feats := c.child("stages"), c.child("features")
	if stages == nil || feats == nil {
		return errors.New("no <stages> or <features>")
	}
	if stageNum < 1 || stageNum != len(stages.children) {
		return fmt.Errorf("stageNum %d but %d stages", stageNum, len(stages.children))
	}
	nFeat := len(feats.children)
	if nFeat == 0 {
		return errors.New("no features")
	}
	for i, f := range feats.children {
		if err := checkFeature(f, ft, width, height); err != nil {
			return fmt.Errorf("feature %d: %w", i, err)
		}
	}
	// OpenCV reads nodes as categorical splits (8 subset words for LBP's
	// 256 codes) when maxCatCount > 0, else as thresholds.
	nodeLen, wantCat := 4, "0" // left right feature threshold
	if ft == "LBP" {
		nodeLen, wantCat = 3+8, "256"
	}
	cat := "0"
	if fp := c.child("featureParams"); fp != nil {
		if n := fp.child("maxCatCount"); n != nil {
			cat = strings.TrimSpace(n.text)
		}
	}
	if cat != wantCat {
		return fmt.Errorf("%s cascade with maxCatCount %q, want %s", ft, cat, wantCat)
	}
	for si, st := range stages.children {
		if err := checkStage(st, nodeLen, nFeat); err != nil {
			return fmt.Errorf("stage %d: %w", si, err)
		}
	}
	return nil
}

func parseFloats(s string) ([]float64, error) {
	fs := strings.Fields(s)
	out := make([]float64, len(fs))
	for i, f := range fs {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out[i] = v
	}
	return out, nil
}

func isInt(v float64) bool { return v == math.Trunc(v) && math.Abs(v) < 1<<31 }

func checkFeature(f *xmlNode, ft string, width, height int) error {
	inWindow := func(x, y, w, h float64) bool {
		return x >= 0 && y >= 0 && w > 0 && h > 0 && x+w <= float64(width) && y+h <= float64(height)
	}
	if ft == "LBP" {
		r := f.child("rect")
		if r == nil {
			return errors.New("no <rect>")
		}
		v, err := parseFloats(r.text)
		if err != nil {
			return err
		}
		if len(v) != 4 || !isInt(v[0]) || !isInt(v[1]) || !isInt(v[2]) || !isInt(v[3]) {
			return errors.New("want 4 integers in <rect>")
		}
		if !inWindow(v[0], v[1], 3*v[2], 3*v[3]) {
			return errors.New("LBP blocks outside the window")
		}
		return nil
	}
	rects := f.child("rects")
	if rects == nil || len(rects.children) < 1 || len(rects.children) > 3 {
		return errors.New("want 1 to 3 <rects> entries")
	}
	tilted := false
	if t := f.child("tilted"); t != nil {
		tilted = strings.TrimSpace(t.text) == "1"
	}
	for _, r := range rects.children {
		v, err := parseFloats(r.text)
		if err != nil {
			return err
		}
		if len(v) != 5 || !isInt(v[0]) || !isInt(v[1]) || !isInt(v[2]) || !isInt(v[3]) {
			return errors.New("want x y w h weight in a rect")
		}
		if tilted {
			// a tilted rect spans x-h..x+w and y..y+w+h
			if !inWindow(v[0]-v[3], v[1], v[2]+v[3], v[2]+v[3]) {
				return errors.New("tilted rect outside the window")
			}
		} else if !inWindow(v[0], v[1], v[2], v[3]) {
			return errors.New("rect outside the window")
		}
	}
	return nil
}

func checkStage(st *xmlNode, nodeLen, nFeat int) error {
	mwc := st.child("maxWeakCount")
	thr := st.child("stageThreshold")
	wcs := st.child("weakClassifiers")
	if mwc == nil || thr == nil || wcs == nil {
		return errors.New("want maxWeakCount, stageThreshold and weakClassifiers")
	}
	n, err := strconv.Atoi(strings.TrimSpace(mwc.text))
	if err != nil || n < 1 || n != len(wcs.children) {
		return fmt.Errorf("maxWeakCount %q but %d weak classifiers", strings.TrimSpace(mwc.text), len(wcs.children))
	}
	if v, err := parseFloats(thr.text); err != nil || len(v) != 1 {
		return errors.New("bad stageThreshold")
	}
	for wi, wc := range wcs.children {
		in, lv := wc.child("internalNodes"), wc.child("leafValues")
		if in == nil || lv == nil {
			return fmt.Errorf("weak classifier %d: want internalNodes and leafValues", wi)
		}
		nodes, err := parseFloats(in.text)
		if err != nil {
			return fmt.Errorf("weak classifier %d: %w", wi, err)
		}
		leaves, err := parseFloats(lv.text)
		if err != nil {
			return fmt.Errorf("weak classifier %d: %w", wi, err)
		}
		if len(nodes) == 0 || len(nodes)%nodeLen != 0 {
			return fmt.Errorf("weak classifier %d: %d node numbers, want a multiple of %d", wi, len(nodes), nodeLen)
		}
		nn := len(nodes) / nodeLen
		if len(leaves) != nn+1 {
			return fmt.Errorf("weak classifier %d: %d leaves for %d nodes", wi, len(leaves), nn)
		}
		for k := 0; k < nn; k++ {
			node := nodes[k*nodeLen:]
			left, right, fi := node[0], node[1], node[2]
			if !isInt(left) || !isInt(right) || !isInt(fi) || fi < 0 || int(fi) >= nFeat {
				return fmt.Errorf("weak classifier %d: bad node (feature index %v of %d)", wi, fi, nFeat)
			}
			// children: > 0 is a node index, <= 0 is -leaf index
			for _, ch := range []float64{left, right} {
				if ch > 0 && int(ch) >= nn || ch <= 0 && int(-ch) > nn {
					return fmt.Errorf("weak classifier %d: child %v out of range", wi, ch)
				}
			}
			if nodeLen > 4 {
				for _, s := range node[3:nodeLen] {
					if !isInt(s) {
						return fmt.Errorf("weak classifier %d: LBP subset word %v is not an integer", wi, s)
					}
				}
			}
		}
	}
	return nil
}

// truncateCascade keeps the first k stages of a checked cascade (all of
// them when it has k or fewer).
func truncateCascade(b []byte, k int) ([]byte, error) {
	s := string(b)
	i := strings.Index(s, "<stageNum>")
	j := strings.Index(s, "</stageNum>")
	st := strings.Index(s, "<stages>")
	end := strings.Index(s, "</stages>")
	if i < 0 || j < i || st < 0 || end < st {
		return nil, errors.New("no <stageNum> or <stages>")
	}
	n, err := strconv.Atoi(strings.TrimSpace(s[i+len("<stageNum>") : j]))
	if err != nil {
		return nil, errors.New("bad <stageNum>")
	}
	if k >= n {
		return b, nil
	}
	// Each stage is an <_> element holding one <maxWeakCount>; none of its
	// descendants has one. Cut from the start of stage k to </stages>.
	pos := st
	for q := 0; q <= k; q++ {
		m := strings.Index(s[pos:end], "<maxWeakCount>")
		if m < 0 {
			return nil, fmt.Errorf("found %d stages, <stageNum> says %d", q, n)
		}
		pos += m + 1
	}
	cut := strings.LastIndex(s[st:pos], "<_>")
	if cut < 0 {
		return nil, errors.New("stage without <_>")
	}
	cut += st
	out := s[:i] + "<stageNum>" + strconv.Itoa(k) + s[j:cut] + s[end:]
	if err := checkCascadeXML([]byte(out)); err != nil {
		return nil, fmt.Errorf("after keeping %d stages: %w", k, err)
	}
	return []byte(out), nil
}
