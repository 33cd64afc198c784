//go:build !(openblas && cgo)

#include "textflag.h"

// The kernels add A * B to a 4-row tile of C: a holds k columns of 4
// values, b k rows of two vector registers' width (16 floats with AVX2,
// 32 with AVX-512), and the tile lives in 8 accumulators, two a row.
// Both are written with the macros below, on Y or Z registers.

// LOAD_ARGS reads the arguments and turns ldc into bytes.
#define LOAD_ARGS \
	MOVQ k+0(FP), CX; \
	MOVQ a+8(FP), SI; \
	MOVQ b+16(FP), DI; \
	MOVQ c+24(FP), DX; \
	MOVQ ldc+32(FP), R8; \
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

// KERNEL is the whole kernel on registers R0..R13 of one kind, for rows
// of b that are 2*w bytes long.
#define KERNEL(w, R0, R1, R2, R3, R4, R5, R6, R7, R8_, R9, R10, R11, R12, R13, loop) \
	LOAD_ARGS; \
	VXORPS R0, R0, R0; \
	VXORPS R1, R1, R1; \
	VXORPS R2, R2, R2; \
	VXORPS R3, R3, R3; \
	VXORPS R4, R4, R4; \
	VXORPS R5, R5, R5; \
	VXORPS R6, R6, R6; \
	VXORPS R7, R7, R7; \
loop: \
	VMOVUPS (DI), R8_; \
	VMOVUPS w(DI), R9; \
	ROW_FMA(0, R10, R8_, R9, R0, R1); \
	ROW_FMA(4, R11, R8_, R9, R2, R3); \
	ROW_FMA(8, R12, R8_, R9, R4, R5); \
	ROW_FMA(12, R13, R8_, R9, R6, R7); \
	ADDQ $16, SI; \
	ADDQ $(2*w), DI; \
	DECQ CX; \
	JNZ  loop; \
	ROW_STORE(w, R0, R1); \
	ROW_STORE(w, R2, R3); \
	ROW_STORE(w, R4, R5); \
	ROW_STORE(w, R6, R7); \
	VZEROUPPER; \
	RET

// func sgemmKernel4x16(k int, a, b, c *float32, ldc int)
TEXT ·sgemmKernel4x16(SB), NOSPLIT, $0-40
	KERNEL(32, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, loop16)

// func sgemmKernel4x32(k int, a, b, c *float32, ldc int)
TEXT ·sgemmKernel4x32(SB), NOSPLIT, $0-40
	KERNEL(64, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, loop32)
