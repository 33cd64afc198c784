//go:build !(openblas && cgo)

package nn

// BLAS names the matrix multiply in use: gonum's pure Go (the default) or
// OpenBLAS (built with -tags openblas).
const BLAS = "gonum"
