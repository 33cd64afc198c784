// Package nn is the model and loss of facet-train: a compact residual CNN
// for face crops with three heads (mask 3, gender 2, age group 3) or a
// single 18-class head, built as a gorgonia expression graph and trained
// with a hand-written Adam.
//
// # Architecture
//
// Input is a batch of N x 3 x S x S float32 images, channels first,
// already normalised. The network is
//
//	stem:    conv3x3 stride 2 (3 -> W) + BN + ReLU            S/2
//	stage k: Blocks[k] residual blocks with 2^k * W channels;
//	         the first block of stages k >= 1 has stride 2
//	         and a 1x1 conv + BN projection shortcut
//	block:   conv3x3 + BN + ReLU + conv3x3 + BN, + shortcut, ReLU
//	pool:    global average over the spatial grid
//	heads:   one linear layer per head (mask 3, gender 2, age 3),
//	         or one 18-class linear layer (HeadsSingle18)
//
// The default is S = 64, W = 16, Blocks = [1 1 1 1] (ResNet-10 style:
// 308,568 trained parameters, about 16.2 M multiply-adds per image
// forward, so about 0.1 GFLOP per image for forward + backward). 64 x 64
// keeps what tells mask, gender and age group apart on a face crop (mask
// edges, hair, skin texture at a coarse scale) while costing about 1/12
// of the 224 x 224 that ImageNet models use; the model has to train to
// useful accuracy within 30 minutes on two CPU cores, so compute per
// image, not capacity, is the limit. Measured on the 2-core development
// machine (go test -bench Step, batch 32), when it was otherwise quiet:
// about 690 training images/s with OpenBLAS (-tags openblas, what the
// Makefile builds when pkg-config finds it), about 630 in the pure-Go
// build, peak RSS about 290 MiB; PyTorch 1.13 on the same CPU trains the
// same network at 1,150 to 1,250 images/s (bench/train_compare.py).
//
// # Convolution
//
// Convolutions are this package's own gorgonia op (convOp), not
// gorgonia's Conv2d, which builds im2col over the whole batch, multiplies
// and then transposes the batch-sized result back to NCHW, allocating
// and copying several batch-sized tensors per layer and pass. convOp
// lays samples out with im2col and multiplies on GOMAXPROCS goroutines,
// one sample per product on large feature maps and several side by side
// on small ones (products of at least 256 columns), and writes NCHW
// directly. Its outputs and scratch live in the op and are reused from
// step to step, and a training graph keeps the forward pass's im2col
// matrices for the weight gradient. It is tested against Conv2d (values
// and both gradients). UseGorgoniaConv switches back for comparison.
// With -tags openblas (cgo, Debian's libopenblas-dev) gorgonia's matrix
// multiplies go to OpenBLAS, single-threaded since the samples already
// run in parallel. Without it they go to this package's sgemm, an AVX2 or
// AVX-512 assembly micro-kernel with packing in Go (gonum's Sgemm, five
// to ten times slower on these products, where the CPU has neither).
//
// # Batch normalisation
//
// Batch norm is this package's own op too (bnOp), fused with what follows
// it: the ReLU, and in a block's second norm the shortcut sum and the ReLU
// after it. gorgonia v0.9.18's BatchNorm is correct but slow for this
// (its affine part broadcasts scale and bias over the whole activation,
// it clones its input, and every step allocates each intermediate) and
// keeps its running statistics inside the op, which NewTapeMachine
// resets. bnOp works over NCHW with the channels spread over GOMAXPROCS
// goroutines, each channel summed by one goroutine in a fixed order,
// reuses its buffers from step to step, and updates the model's own
// running statistics in place (PyTorch's rule: momentum 0.1, unbiased
// variance), exported as named tensors (".running_mean", ".running_var",
// as PyTorch names them). It is tested against gorgonia's BatchNorm.
//
// # Loss
//
// Each head's loss is -sum_i sum_k T[i,k] * w_i * log p[i,k] / sum_i w_i,
// where T is the (smoothed) target row of row i's class and w_i its class
// weight (1 without class weights); rows whose part is unknown (-1) have
// w_i = 0 and so contribute neither loss nor gradient to that head. The
// age head smooths only towards the neighbouring age class (see
// NeighbourSmoothing), the others uniformly (UniformSmoothing). Focal loss
// multiplies each term by (1 - p[i,k])^gamma. The single 18-class head
// drops rows with any unknown part.
//
// # Determinism
//
// Weights come from a math/rand/v2 PCG generator seeded by Config.Seed;
// nothing reads global random state. Given the same Config and the same
// batches, Step returns the same losses on the same machine: the work
// spread over goroutines is split the same way every time (by
// GOMAXPROCS), every parallel sum is made by one goroutine in a fixed
// order and the partial weight gradients are added in worker order, and
// both gonum's kernels and single-threaded OpenBLAS are deterministic.
package nn

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/numrange"
	"github.com/boostershot/facet/internal/pred"
)

// Head layouts.
const (
	HeadsThree    = "three"    // mask, gender and age heads
	HeadsSingle18 = "single18" // one head over the 18 classes
)

// Learning-rate schedules (see Config.LRAt).
const (
	ScheduleExp    = "exp"
	ScheduleCosine = "cosine"
)

// Loss kinds.
const (
	LossCE    = "ce"
	LossFocal = "focal"
)

// Number of classes per head (as package pred counts them).
const (
	NumMask   = pred.NumMask
	NumGender = pred.NumGender
	NumAge    = pred.NumAge
)

// Config describes a model and its training. It is JSON-serialisable and
// is stored beside every checkpoint.
type Config struct {
	InputSize int    `json:"input_size"` // S: images are 3 x S x S
	Width     int    `json:"width"`      // channels of the first stage
	Blocks    []int  `json:"blocks"`     // residual blocks per stage
	Heads     string `json:"heads"`      // HeadsThree or HeadsSingle18
	Seed      uint64 `json:"seed"`       // weight initialisation

	LR          float64 `json:"lr"`                 // base learning rate
	LRDecay     float64 `json:"lr_decay"`           // ScheduleExp: lr * LRDecay^epoch
	Schedule    string  `json:"schedule,omitempty"` // ScheduleExp ("" reads as it) or ScheduleCosine
	Warmup      int     `json:"warmup,omitempty"`   // epochs of linear warm-up before the schedule
	Epochs      int     `json:"epochs,omitempty"`   // the run's length, where ScheduleCosine ends
	WeightDecay float64 `json:"weight_decay"`       // L2 on conv and linear weights (not BN, not biases)
	Beta1       float64 `json:"beta1"`
	Beta2       float64 `json:"beta2"`
	Epsilon     float64 `json:"epsilon"` // Adam's

	BNMomentum float64 `json:"bn_momentum"` // weight of the new batch in the running statistics
	BNEpsilon  float64 `json:"bn_epsilon"`

	Loss           string  `json:"loss"`            // LossCE or LossFocal
	FocalGamma     float64 `json:"focal_gamma"`     // for LossFocal
	LabelSmoothing float64 `json:"label_smoothing"` // uniform, mask and gender heads
	AgeSmoothing   float64 `json:"age_smoothing"`   // towards the neighbouring age class only

	// Class weights per head (nil = all 1). ClassWeights18 is for the
	// single 18-class head.
	MaskWeights    []float64 `json:"mask_weights,omitempty"`
	GenderWeights  []float64 `json:"gender_weights,omitempty"`
	AgeWeights     []float64 `json:"age_weights,omitempty"`
	ClassWeights18 []float64 `json:"class_weights_18,omitempty"`

	// PredictBatch is the batch size of the inference graph; Predict
	// splits and pads to it. 0 means 32.
	PredictBatch int `json:"predict_batch,omitempty"`
}

// DefaultConfig returns the defaults described in the package comment:
// 64 x 64 input, width 16, four stages of one block, three heads,
// Adam lr 1e-3 decayed by 0.95 per epoch (the best of the schedules
// measured for training this network from scratch; README, "Choosing the
// defaults"), weight decay 1e-4, age smoothing 0.1.
func DefaultConfig() Config {
	return Config{
		InputSize:    64,
		Width:        16,
		Blocks:       []int{1, 1, 1, 1},
		Heads:        HeadsThree,
		Seed:         1,
		LR:           1e-3,
		LRDecay:      0.95,
		Schedule:     ScheduleExp,
		WeightDecay:  1e-4,
		Beta1:        0.9,
		Beta2:        0.999,
		Epsilon:      1e-8,
		BNMomentum:   0.1,
		BNEpsilon:    1e-5,
		Loss:         LossCE,
		FocalGamma:   2,
		AgeSmoothing: 0.1,
		PredictBatch: defaultPredictBatch,
	}
}

// Bounds of the sizes a Config may ask for. A config comes from files
// (best.json beside a checkpoint, a run's config.json) as much as from
// facet-train's flags, and these sizes decide how much memory a model
// takes, so Validate refuses a config beyond them before anything is
// allocated.
const (
	MinInputSize    = 4
	MaxInputSize    = 1024 // as internal/onnx accepts
	MaxWidth        = 256
	MaxStages       = 8
	MaxBlocks       = 16      // residual blocks in one stage
	MaxPredictBatch = 4096    // also facet-train's --batch
	MaxParams       = 1 << 26 // weights (64 Mi floats, 256 MiB; Adam keeps two more copies)
	MaxActivations  = 1 << 28 // floats of the stem's output for one batch (1 GiB)
)

// Validate reports the first thing wrong with c: sizes out of their
// bounds (above), a network too large (MaxParams) or a batch whose
// activations would be (MaxActivations), and any number that is NaN,
// infinite or outside its range.
func (c Config) Validate() error {
	if c.InputSize < MinInputSize || c.InputSize > MaxInputSize {
		return fmt.Errorf("nn: input_size %d: want %d..%d", c.InputSize, MinInputSize, MaxInputSize)
	}
	if c.Width < 1 || c.Width > MaxWidth {
		return fmt.Errorf("nn: width %d: want 1..%d", c.Width, MaxWidth)
	}
	if len(c.Blocks) == 0 || len(c.Blocks) > MaxStages {
		return fmt.Errorf("nn: blocks: %d stages, want 1..%d", len(c.Blocks), MaxStages)
	}
	size := (c.InputSize + 1) / 2
	for i, b := range c.Blocks {
		if b < 1 || b > MaxBlocks {
			return fmt.Errorf("nn: blocks[%d] = %d: want 1..%d", i, b, MaxBlocks)
		}
		if i > 0 {
			size = (size + 1) / 2
		}
	}
	if size < 1 {
		return fmt.Errorf("nn: input_size %d too small for %d stages", c.InputSize, len(c.Blocks))
	}
	if n := c.paramBound(); n > MaxParams {
		return fmt.Errorf("nn: width %d with blocks %v makes about %.3g weights: want at most %d", c.Width, c.Blocks, n, MaxParams)
	}
	if c.PredictBatch < 0 || c.PredictBatch > MaxPredictBatch {
		return fmt.Errorf("nn: predict_batch %d: want 0..%d (0: %d)", c.PredictBatch, MaxPredictBatch, defaultPredictBatch)
	}
	half := (c.InputSize + 1) / 2
	if n := c.predictBatch() * c.Width * half * half; n > MaxActivations {
		return fmt.Errorf("nn: predict_batch %d of %dx%d images at width %d: %d values a layer, want at most %d (a smaller batch, size or width)",
			c.PredictBatch, c.InputSize, c.InputSize, c.Width, n, MaxActivations)
	}
	switch c.Heads {
	case HeadsThree, HeadsSingle18:
	default:
		return fmt.Errorf("nn: heads %q: want %q or %q", c.Heads, HeadsThree, HeadsSingle18)
	}
	// Every number through numrange.Range, which holds no NaN or infinity
	// (a plain v < lo || v > hi lets NaN through).
	for _, f := range []struct {
		name string
		v    float64
		r    numrange.Range
	}{
		{"lr", c.LR, numrange.Range{Min: 0, Max: 10, MinOpen: true}},
		{"lr_decay", c.LRDecay, numrange.Range{Min: 0, Max: 1, MinOpen: true}},
		{"weight_decay", c.WeightDecay, numrange.Between(0, 1)},
		{"beta1", c.Beta1, numrange.Range{Min: 0, Max: 1, MaxOpen: true}},
		{"beta2", c.Beta2, numrange.Range{Min: 0, Max: 1, MaxOpen: true}},
		{"epsilon", c.Epsilon, numrange.Range{Min: 0, Max: 1, MinOpen: true}},
		{"bn_epsilon", c.BNEpsilon, numrange.Range{Min: 0, Max: 1, MinOpen: true}},
		{"bn_momentum", c.BNMomentum, numrange.Range{Min: 0, Max: 1, MinOpen: true}},
		{"focal_gamma", c.FocalGamma, numrange.Between(0, 100)},
		{"label_smoothing", c.LabelSmoothing, numrange.Range{Min: 0, Max: 1, MaxOpen: true}},
		{"age_smoothing", c.AgeSmoothing, numrange.Range{Min: 0, Max: 1, MaxOpen: true}},
	} {
		if !f.r.Contains(f.v) {
			return fmt.Errorf("nn: %s %g: want %s", f.name, f.v, f.r)
		}
	}
	switch c.Loss {
	case LossCE, LossFocal:
	default:
		return fmt.Errorf("nn: loss %q: want %q or %q", c.Loss, LossCE, LossFocal)
	}
	switch c.Schedule {
	case "", ScheduleExp:
	case ScheduleCosine:
		if c.Epochs < 1 {
			return fmt.Errorf("nn: schedule %s needs epochs >= 1 (the run's length), got %d", c.Schedule, c.Epochs)
		}
	default:
		return fmt.Errorf("nn: schedule %q: want %q or %q", c.Schedule, ScheduleExp, ScheduleCosine)
	}
	if c.Warmup < 0 {
		return fmt.Errorf("nn: warmup %d: want >= 0 epochs", c.Warmup)
	}
	weight := numrange.Between(0, 1e6)
	for _, w := range []struct {
		name string
		w    []float64
		k    int
	}{{"mask_weights", c.MaskWeights, NumMask}, {"gender_weights", c.GenderWeights, NumGender},
		{"age_weights", c.AgeWeights, NumAge}, {"class_weights_18", c.ClassWeights18, label.NumClasses}} {
		if w.w == nil {
			continue
		}
		if len(w.w) != w.k {
			return fmt.Errorf("nn: %s has %d values: want %d", w.name, len(w.w), w.k)
		}
		for _, v := range w.w {
			if !weight.Contains(v) {
				return fmt.Errorf("nn: %s: weight %g: want %s", w.name, v, weight)
			}
		}
	}
	return nil
}

// paramBound is about the number of weights c's network has (declare's
// convolutions and heads; batch norms add little), in float64 so that
// no width overflows it.
func (c Config) paramBound() float64 {
	w := float64(c.Width)
	n := 27 * w // stem: 3x3 over 3 channels
	in := w
	for s, nb := range c.Blocks {
		out := w * math.Pow(2, float64(s))
		n += 9*in*out + in*out + 9*out*out*float64(2*nb-1)
		in = out
	}
	return n + float64(label.NumClasses)*in
}

// LRAt returns the learning rate of an epoch (counted from 0): LR x
// (e+1)/(Warmup+1) in the Warmup epochs of linear warm-up, then, with
// e the epochs since the warm-up, LR x LRDecay^e (ScheduleExp) or LR x
// (1 + cos(pi e / (Epochs - Warmup))) / 2 (ScheduleCosine: half a cosine
// from LR towards 0 at the end of the run; 0 after it, should a resumed
// run go on longer).
func (c Config) LRAt(epoch int) float64 {
	if epoch < c.Warmup {
		return c.LR * float64(epoch+1) / float64(c.Warmup+1)
	}
	e := epoch - c.Warmup
	if c.Schedule != ScheduleCosine {
		return LR(c.LR, c.LRDecay, e)
	}
	t := min(float64(e)/float64(max(c.Epochs-c.Warmup, 1)), 1)
	return c.LR * (1 + math.Cos(math.Pi*t)) / 2
}

// MarshalIndent returns c as indented JSON.
func (c Config) MarshalIndent() ([]byte, error) {
	return json.MarshalIndent(c, "", "  ")
}

// defaultPredictBatch is the inference batch of a config that names none
// (predict_batch 0).
const defaultPredictBatch = 32

// predictBatch is the inference graph's batch size.
func (c Config) predictBatch() int {
	if c.PredictBatch == 0 {
		return defaultPredictBatch
	}
	return c.PredictBatch
}
