// The full-size passes of the G-ResNet's group batch norm (statistics shared by the 8 channels of
// a p4m field), fused: each function computes exactly the float operations, in the same order, of
// the tfjs ops it replaces (ml/backend/group-batch-norm.ts lists them), so training is bit-identical
// to the composed route while reading and writing each [rows, c] tensor once instead of 2-4 times.
//
// Column sums reproduce the native Sum kernel (elementwise.cc, reduce along rows): one double
// accumulator per column, rows added in order 0..rows-1, the total rounded to float once. Threads
// therefore split the columns, never the rows, so the order and the bits do not depend on them.
//
// No fused multiply-add: every product and sum is rounded to float as the separate tfjs kernels
// round them. The build's -O3 -march=native would otherwise contract a * b + c into an FMA.
#pragma GCC optimize("fp-contract=off")

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "napi_util.h"
#include "relu_mask.h"

namespace rf {
namespace {

constexpr int64_t kParallelMin = 1 << 15;

void expect(bool ok, const char* what) {
  if (!ok) throw NapiError(what);
}

// Runs body(c0, c1) over contiguous column ranges, one per thread (columns never split rows).
template <typename F>
void byColumns(int64_t rows, int64_t cols, F&& body) {
  const bool par = rows * cols >= kParallelMin && cols > 1;
#pragma omp parallel if (par)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t c0 = cols * t / nt, c1 = cols * (t + 1) / nt;
    if (c1 > c0) body(c0, c1);
  }
}

// The group mean [fields] from column sums [cols = fields * groups]: per field the Sum of its
// columns (a trailing-axis Sum: double, in order, rounded once), then RealDiv by count as a float32
// scalar, as tfjs computes columnSum(x).reshape([C, g]).sum(1).div(count).
void fieldMeans(const float* colSums, int64_t fields, int64_t groups, float count, float* out) {
  for (int64_t f = 0; f < fields; f++) {
    double acc = 0.0;
    for (int64_t s = 0; s < groups; s++) acc += colSums[f * groups + s];
    const float sum = static_cast<float>(acc);
    out[f] = sum / count;
  }
}

// gbnCentre(x, rows, cols, groups, centred, sqSum, mean): mean [cols / groups] as above from
// x's column sums (Sum over rows), centred = x - mean spread over each field's columns (Sub),
// sqSum[c] = sum_r centred^2 (Square, then Sum over rows).
napi_value GbnCentre(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 7);
    F32View x = a.f32(0), ce = a.f32(4), s2 = a.f32(5), mean = a.f32(6);
    const int64_t rows = a.i64(1), cols = a.i64(2), groups = a.i64(3);
    expect(groups > 0 && cols % groups == 0, "gbnCentre: cols must be a multiple of groups");
    const int64_t fields = cols / groups;
    expect(x.length == static_cast<size_t>(rows * cols) && ce.length == x.length, "gbnCentre: x/centred sizes do not match rows x cols");
    expect(s2.length == static_cast<size_t>(cols) && mean.length == static_cast<size_t>(fields),
           "gbnCentre: sqSum must have cols entries and mean cols / groups");
    std::vector<float> s1(cols), m(cols);
    byColumns(rows, cols, [&](int64_t c0, int64_t c1) {
      std::vector<double> acc(c1 - c0, 0.0);
      for (int64_t r = 0; r < rows; r++) {
        const float* xr = x.data + r * cols + c0;
        for (int64_t j = 0; j < c1 - c0; j++) acc[j] += xr[j];
      }
      for (int64_t j = 0; j < c1 - c0; j++) s1[c0 + j] = static_cast<float>(acc[j]);
    });
    fieldMeans(s1.data(), fields, groups, static_cast<float>(rows * groups), mean.data);
    for (int64_t c = 0; c < cols; c++) m[c] = mean.data[c / groups];
    byColumns(rows, cols, [&](int64_t c0, int64_t c1) {
      const int64_t w = c1 - c0;
      std::vector<double> acc(w, 0.0);
      const float* mv = m.data() + c0;
      for (int64_t r = 0; r < rows; r++) {
        const float* xr = x.data + r * cols + c0;
        float* o = ce.data + r * cols + c0;
        for (int64_t j = 0; j < w; j++) {
          const float d = xr[j] - mv[j];
          o[j] = d;
          const float sq = d * d;
          acc[j] += sq;
        }
      }
      for (int64_t j = 0; j < w; j++) s2.data[c0 + j] = static_cast<float>(acc[j]);
    });
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

// gbnAffine(centred, s, b, rows, cols, relu, y): y = centred * s[c] + b[c] (Multiply, then Add),
// then max(y, 0) as the ReLU kernel computes it when relu != 0.
napi_value GbnAffine(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 7);
    F32View ce = a.f32(0), s = a.f32(1), b = a.f32(2), y = a.f32(6);
    const int64_t rows = a.i64(3), cols = a.i64(4);
    const bool relu = a.i64(5) != 0;
    expect(ce.length == static_cast<size_t>(rows * cols) && y.length == ce.length, "gbnAffine: centred/y sizes do not match rows x cols");
    expect(s.length == static_cast<size_t>(cols) && b.length == s.length, "gbnAffine: s and b must have cols entries");
#pragma omp parallel for if (rows * cols >= kParallelMin) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const float* cr = ce.data + r * cols;
      float* o = y.data + r * cols;
      for (int64_t c = 0; c < cols; c++) {
        const float t = cr[c] * s.data[c];
        const float v = t + b.data[c];
        o[c] = relu ? reluOf(v) : v;
      }
    }
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

// gbnAffineGrad(dy, centred, s, mask, rows, cols, dCentred, dS, dB): the gradient of gbnAffine as
// tfjs' Add and Multiply gradients compute it: dCentred = dy * s[c], dS[c] = sum_r dy * centred,
// dB[c] = sum_r dy; with a mask (gbnAffine's output under relu; empty without), dy reads as 0
// where mask <= 0, as the ReLU gradient kernel writes it.
napi_value GbnAffineGrad(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 9);
    F32View dy = a.f32(0), ce = a.f32(1), s = a.f32(2), mask = a.f32(3), dce = a.f32(6), ds = a.f32(7), db = a.f32(8);
    const int64_t rows = a.i64(4), cols = a.i64(5);
    expect(dy.length == static_cast<size_t>(rows * cols) && ce.length == dy.length && dce.length == dy.length,
           "gbnAffineGrad: dy/centred/dCentred sizes do not match rows x cols");
    expect(mask.length == 0 || mask.length == dy.length, "gbnAffineGrad: the mask must be empty or match dy");
    expect(s.length == static_cast<size_t>(cols) && ds.length == s.length && db.length == s.length,
           "gbnAffineGrad: s, dS and dB must have cols entries");
    const bool masked = mask.length != 0;
    byColumns(rows, cols, [&](int64_t c0, int64_t c1) {
      const int64_t w = c1 - c0;
      std::vector<double> accS(w, 0.0), accB(w, 0.0);
      const float* sv = s.data + c0;
      for (int64_t r = 0; r < rows; r++) {
        const float* g = dy.data + r * cols + c0;
        const float* mr = masked ? mask.data + r * cols + c0 : nullptr;
        const float* cr = ce.data + r * cols + c0;
        float* o = dce.data + r * cols + c0;
        for (int64_t j = 0; j < w; j++) {
          const float gv = masked ? keepIf(g[j], mr[j]) : g[j];
          o[j] = gv * sv[j];
          const float p = gv * cr[j];
          accS[j] += p;
          accB[j] += gv;
        }
      }
      for (int64_t j = 0; j < w; j++) {
        ds.data[c0 + j] = static_cast<float>(accS[j]);
        db.data[c0 + j] = static_cast<float>(accB[j]);
      }
    });
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

// gbnCentreGrad(dCentred, centred, dSq, rows, cols, groups, dx): the gradient of gbnCentre as
// tfjs' autodiff takes it through the composed ops. Through Square and Sub: t = dCentred + dSq[c] *
// (centred * 2) (centred's two gradient contributions, added once). Through the mean:
// dMeanSpread = -(column sums of t) (Sub's gradient of the subtrahend), per field the Sum of its
// columns (the spread's Multiply gradient), RealDiv by count, copied back over the field's columns
// and the rows (the Sum gradients), and added to t: x's two contributions.
napi_value GbnCentreGrad(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 7);
    F32View dce = a.f32(0), ce = a.f32(1), dsq = a.f32(2), dx = a.f32(6);
    const int64_t rows = a.i64(3), cols = a.i64(4), groups = a.i64(5);
    expect(groups > 0 && cols % groups == 0, "gbnCentreGrad: cols must be a multiple of groups");
    const int64_t fields = cols / groups;
    expect(dce.length == static_cast<size_t>(rows * cols) && ce.length == dce.length && dx.length == dce.length,
           "gbnCentreGrad: dCentred/centred/dx sizes do not match rows x cols");
    expect(dsq.length == static_cast<size_t>(cols), "gbnCentreGrad: dSq must have cols entries");
    std::vector<float> negSums(cols);
    byColumns(rows, cols, [&](int64_t c0, int64_t c1) {
      const int64_t w = c1 - c0;
      std::vector<double> acc(w, 0.0);
      const float* q = dsq.data + c0;
      for (int64_t r = 0; r < rows; r++) {
        const float* g = dce.data + r * cols + c0;
        const float* cr = ce.data + r * cols + c0;
        float* o = dx.data + r * cols + c0;
        for (int64_t j = 0; j < w; j++) {
          const float twice = cr[j] * 2.f;
          const float fromSq = q[j] * twice;
          const float d = g[j] + fromSq;
          o[j] = d;
          acc[j] += d;
        }
      }
      for (int64_t j = 0; j < w; j++) negSums[c0 + j] = -static_cast<float>(acc[j]);
    });
    std::vector<float> dMean(fields), dS1(cols);
    fieldMeans(negSums.data(), fields, groups, static_cast<float>(rows * groups), dMean.data());
    for (int64_t c = 0; c < cols; c++) dS1[c] = dMean[c / groups];
    const float* add = dS1.data();
    float* o = dx.data;
#pragma omp parallel for if (rows * cols >= kParallelMin) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      float* orow = o + r * cols;
      for (int64_t c = 0; c < cols; c++) orow[c] = orow[c] + add[c];
    }
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

}  // namespace

napi_value registerGroupBatchNorm(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
      {"gbnCentre", nullptr, GbnCentre, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gbnAffine", nullptr, GbnAffine, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gbnAffineGrad", nullptr, GbnAffineGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gbnCentreGrad", nullptr, GbnCentreGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
  return exports;
}

}  // namespace rf
