#pragma once
#include <cstdint>

namespace rf {

// Geometry of one 2-D convolution in tfjs' layout: activations NHWC, filter HWIO.
struct ConvShape {
  int64_t n, h, w, ci;       // input
  int64_t oh, ow, co;        // output
  int64_t fh, fw;            // filter
  int64_t sh, sw;            // strides
  int64_t dh, dw;            // dilations (1 = dense)
  int64_t pt, pl, pb, pr;    // padding top, left, bottom, right (tfjs' padInfo)
};

enum class ConvPass : int { Forward = 0, BackwardData = 1, BackwardWeights = 2 };

// Forward:          a = x [n,h,w,ci],   b = w [fh,fw,ci,co], out = y  [n,oh,ow,co]
// BackwardData:     a = dy [n,oh,ow,co], b = w,             out = dx [n,h,w,ci]
// BackwardWeights:  a = x,               b = dy,            out = dw [fh,fw,ci,co]
// `out` is fully written (BackwardData zeroes rows a stride leaves untouched).
void conv2d(ConvPass pass, const ConvShape& s, const float* a, const float* b, float* out);

// Implementation name oneDNN picked for a pass (for the benchmark log).
const char* conv2dImpl(ConvPass pass, const ConvShape& s);

}  // namespace rf
