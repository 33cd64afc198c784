//go:build !(openblas && cgo)

#include "textflag.h"

// The kernels add A * B to a tile of C: a holds k columns of 4 (or 8)
// values, b k rows (ldb apart) of two vector registers' width (16 floats
// with AVX2, 32 with AVX-512), and the tile lives in accumulators, two a
// row.
// Both are written with the macros below, on Y or Z registers.

// LOAD_ARGS reads the arguments and turns ldb (R9) and ldc (R8) into
// bytes.
#define LOAD_ARGS \
	MOVQ k+0(FP), CX; \
	MOVQ a+8(FP), SI; \
	MOVQ b+16(FP), DI; \
	MOVQ c+24(FP), DX; \
	MOVQ ldb+32(FP), R9; \
	SHLQ $2, R9; \
	MOVQ ldc+40(FP), R8; \
	SHLQ $2, R8

// ROW_FMA broadcasts a's value for row i (byte offset off) into t and
// adds it times the row of b (b0, b1) to that row's accumulators.
#define ROW_FMA(off, t, b0, b1, acc0, acc1) \
	VBROADCASTSS off(SI), t; \
	VFMADD231PS  b0, t, acc0; \
	VFMADD231PS  b1, t, acc1

// ROW_STORE adds a row's accumulators to the row of C at DX (the second
// half w bytes in) and moves DX to the next row.
#define ROW_STORE(w, acc0, acc1) \
	VADDPS  (DX), acc0, acc0; \
	VMOVUPS acc0, (DX); \
	VADDPS  w(DX), acc1, acc1; \
	VMOVUPS acc1, w(DX); \
	ADDQ    R8, DX

// KERNEL is the whole 4-row kernel on vector registers V0..V13 of one
// kind, w bytes each.
#define KERNEL(w, V0, V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12, V13, loop) \
	LOAD_ARGS; \
	VXORPS V0, V0, V0; \
	VXORPS V1, V1, V1; \
	VXORPS V2, V2, V2; \
	VXORPS V3, V3, V3; \
	VXORPS V4, V4, V4; \
	VXORPS V5, V5, V5; \
	VXORPS V6, V6, V6; \
	VXORPS V7, V7, V7; \
loop: \
	VMOVUPS (DI), V8; \
	VMOVUPS w(DI), V9; \
	ROW_FMA(0, V10, V8, V9, V0, V1); \
	ROW_FMA(4, V11, V8, V9, V2, V3); \
	ROW_FMA(8, V12, V8, V9, V4, V5); \
	ROW_FMA(12, V13, V8, V9, V6, V7); \
	ADDQ $16, SI; \
	ADDQ R9, DI; \
	DECQ CX; \
	JNZ  loop; \
	ROW_STORE(w, V0, V1); \
	ROW_STORE(w, V2, V3); \
	ROW_STORE(w, V4, V5); \
	ROW_STORE(w, V6, V7); \
	VZEROUPPER; \
	RET

// func sgemmKernel4x16(k int, a, b, c *float32, ldb, ldc int)
TEXT ·sgemmKernel4x16(SB), NOSPLIT, $0-48
	KERNEL(32, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, loop16)

// func sgemmKernel8x32(k int, a, b, c *float32, ldb, ldc int)
// Eight rows: the AVX-512 register file (32 registers) holds 16
// accumulators, the row of b and a broadcast, so every step makes 16
// fused multiply-adds for 2 loads of b and 8 broadcasts.
TEXT ·sgemmKernel8x32(SB), NOSPLIT, $0-48
	LOAD_ARGS
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	VXORPS Z8, Z8, Z8
	VXORPS Z9, Z9, Z9
	VXORPS Z10, Z10, Z10
	VXORPS Z11, Z11, Z11
	VXORPS Z12, Z12, Z12
	VXORPS Z13, Z13, Z13
	VXORPS Z14, Z14, Z14
	VXORPS Z15, Z15, Z15

loop8x32:
	VMOVUPS (DI), Z16
	VMOVUPS 64(DI), Z17
	ROW_FMA(0, Z18, Z16, Z17, Z0, Z1)
	ROW_FMA(4, Z19, Z16, Z17, Z2, Z3)
	ROW_FMA(8, Z20, Z16, Z17, Z4, Z5)
	ROW_FMA(12, Z21, Z16, Z17, Z6, Z7)
	ROW_FMA(16, Z22, Z16, Z17, Z8, Z9)
	ROW_FMA(20, Z23, Z16, Z17, Z10, Z11)
	ROW_FMA(24, Z24, Z16, Z17, Z12, Z13)
	ROW_FMA(28, Z25, Z16, Z17, Z14, Z15)
	ADDQ $32, SI
	ADDQ R9, DI
	DECQ CX
	JNZ  loop8x32

	ROW_STORE(64, Z0, Z1)
	ROW_STORE(64, Z2, Z3)
	ROW_STORE(64, Z4, Z5)
	ROW_STORE(64, Z6, Z7)
	ROW_STORE(64, Z8, Z9)
	ROW_STORE(64, Z10, Z11)
	ROW_STORE(64, Z12, Z13)
	ROW_STORE(64, Z14, Z15)
	VZEROUPPER
	RET
