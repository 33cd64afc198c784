/* facet_onnx.h: the C interface of package onnx's thin wrapper around
 * OpenCV's DNN module (facet_onnx.cpp).
 *
 * Every function that can fail catches all C++ exceptions: it returns a
 * non-NULL error message that the caller must release with
 * facet_onnx_free_error; NULL means success. */
#ifndef FACET_ONNX_H
#define FACET_ONNX_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct facet_onnx_net facet_onnx_net;

void facet_onnx_free_error(char *err);

/* Builds a net from the bytes of an ONNX model (already cleaned) that is
 * to be run for the nouts given output (layer) names. The default backend
 * and target (OpenCV's own, on the CPU) are set explicitly. */
char *facet_onnx_load(const char *model, size_t len, const char *const *outs,
		      int nouts, facet_onnx_net **out);
void facet_onnx_free(facet_onnx_net *net);

/* Runs the net on x, an n x c x h x w float32 blob in the caller's memory
 * (read, never written, during the call), bound to the graph input named
 * input ("" for the only one). The outputs stay in net until the next
 * call: see facet_onnx_output. */
char *facet_onnx_forward(facet_onnx_net *net, const char *input, float *x,
			 int n, int c, int h, int w);
/* Output k of the last forward: its data (float32, continuous), its
 * number of dimensions and up to 8 of its sizes. Returns NULL when k is
 * out of range or the output is not float32. */
const float *facet_onnx_output(const facet_onnx_net *net, int k, int *ndims,
			       int *dims);

/* cv::getNumThreads(): the threads OpenCV's parallel loops use. */
int facet_onnx_num_threads(void);

/* For tests: throws a C++ exception of the given kind inside the wrapper
 * (0: std::runtime_error, 1: cv::Exception, 2: an int) and returns the
 * caught message. */
char *facet_onnx_test_throw(int kind);

#ifdef __cplusplus
}
#endif

#endif
