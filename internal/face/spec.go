package face

import (
	"fmt"

	"github.com/boostershot/facet/internal/dlib"
)

// Stage names, as facet-crop's --detectors gives them.
var StageNames = []string{"dlib", "dlib-fine", "cascade", "dnn", "center"}

// Spec says how to build a Chain: what facet-crop's detector flags set.
// facet-crop and the benchmarks build their chains from it, so that they
// measure the same thing.
type Spec struct {
	Detectors []string // stage names (StageNames), in order
	// DetectSide and MinFace are the Chain's.
	DetectSide, MinFace int
	// Scene: every face of a scene is wanted (FindAll), so the cascade
	// stage takes SceneCascadeOptions instead of the portrait defaults.
	Scene bool
	// Upsample and DlibAdjust are the dlib stage's (NewDlibThreshold).
	Upsample   int
	DlibAdjust float64
	// DlibWeak, in a Scene and when under DlibAdjust, makes the dlib
	// stage report the faces it finds down to it as weak ones, kept when
	// the cascade confirms them (NewDlibWeak).
	DlibWeak float64
	// Skin is the chain's skin-colour check (nil: none).
	Skin *SkinCheck
	// Cascade are the cascade stage's options (nil: DefaultCascadeOptions,
	// or SceneCascadeOptions in a Scene).
	Cascade *CascadeOptions
	// Predictor places the dlib stages' landmarks (nil: none); shared,
	// not closed by the chain.
	Predictor  *dlib.Predictor
	CascadeDir string // "" for DefaultCascadeDir
	// DNNModel, DNNConfig and DNNThreshold are the dnn stage's (NewDNN).
	DNNModel, DNNConfig string
	DNNThreshold        float64
	Center              Center // the center stage's box
}

// New builds the chain; the caller closes it.
func (s Spec) New() (*Chain, error) {
	c := &Chain{DetectSide: s.DetectSide, MinFace: s.MinFace, Skin: s.Skin}
	for _, name := range s.Detectors {
		var d Detector
		var err error
		switch name {
		case "dlib":
			if s.Scene && s.DlibWeak < s.DlibAdjust {
				d, err = NewDlibWeak(s.Predictor, s.Upsample, s.DlibAdjust, s.DlibWeak)
			} else {
				d, err = NewDlibThreshold(s.Predictor, s.Upsample, s.DlibAdjust)
			}
		case "dlib-fine":
			d, err = NewDlibFine(s.Predictor)
		case "cascade":
			opt := DefaultCascadeOptions()
			switch {
			case s.Cascade != nil:
				opt = *s.Cascade
			case s.Scene:
				opt = SceneCascadeOptions()
			}
			d, err = NewCascadeWith(s.CascadeDir, opt)
		case "dnn":
			if s.Scene {
				d, err = NewDNNTiled(s.DNNModel, s.DNNConfig, DefaultDNNSize, s.DNNThreshold)
			} else {
				d, err = NewDNN(s.DNNModel, s.DNNConfig, DefaultDNNSize, s.DNNThreshold)
			}
		case "center":
			d = s.Center
		default:
			err = fmt.Errorf("unknown detector (want one of %v)", StageNames)
		}
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("%s detector: %w", name, err)
		}
		c.Stages = append(c.Stages, d)
	}
	return c, nil
}
