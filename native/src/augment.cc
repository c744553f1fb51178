// The rigid warp of the grid attacks and the std / std* training augmentations on native: each
// computes exactly what its TypeScript version (ml/transform/rigid.ts, ml/augment/standard.ts,
// ml/augment/color-jitter.ts) computes, bit for bit. JavaScript does its arithmetic in double
// precision and rounds to float32 where it stores into a Float32Array (or calls Math.fround); the
// loops here do the same, in the same order. That needs a * b + c kept as two roundings, so
// contraction into FMA is off in this file. The rotation's cosine and sine come from the caller
// (V8's Math.cos and the C library's may differ in the last bit).
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "napi_util.h"

namespace rf {
namespace {

void expect(bool ok, const char* what) {
  if (!ok) throw NapiError(what);
}

// color-jitter.ts' clamp01 (v < 0 ? 0 : v > 1 ? 1 : v), NaN and -0 included, without branches:
// jitter factors push a share of pixels past 1 at random, which a branch would mispredict.
inline double clamp01(double v) { return std::min(std::max(v, 0.0), 1.0); }

// applyWarp: out = sum over a pixel's inside corners of weight * input, a float32 running sum.
// A corner beyond the image is refused where it is read (the grid attacks warp image by image with
// one plan, so checking the whole plan on every call would redo the same work).
template <int C>
void warpPlanned(const int32_t* src, const float* weight, const float* in, float* out, int64_t pixels, int64_t c) {
  const int64_t cc = C > 0 ? C : c;
  std::vector<float> wide(C > 0 ? 0 : static_cast<size_t>(cc));
  float fixed[C > 0 ? C : 1];
  float* acc = C > 0 ? fixed : wide.data();
  for (int64_t p = 0; p < pixels; p++) {
    for (int64_t ch = 0; ch < cc; ch++) acc[ch] = 0;
    for (int64_t k = p * 4; k < p * 4 + 4; k++) {
      const int32_t sp = src[k];
      if (sp < 0) continue;
      expect(sp < pixels, "warpRigid: a plan corner lies outside the image");
      const double w = weight[k];
      const float* x = in + static_cast<int64_t>(sp) * cc;
      for (int64_t ch = 0; ch < cc; ch++) acc[ch] = static_cast<float>(static_cast<double>(acc[ch]) + w * static_cast<double>(x[ch]));
    }
    float* o = out + p * cc;
    for (int64_t ch = 0; ch < cc; ch++) o[ch] = acc[ch];
  }
}

// warpRigid(src, weight, input, output, pixels, channels, first, count): applyWarp with a plan
// (src an Int32Array of corner pixels, -1 outside; weight its float32 weights).
napi_value WarpRigidFn(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 8);
    napi_typedarray_type type;
    size_t srcLength = 0;
    void* srcData = nullptr;
    if (napi_get_typedarray_info(env, a.values[0], &type, &srcLength, &srcData, nullptr, nullptr) != napi_ok || type != napi_int32_array) {
      throw NapiError("warpRigid: argument 0 must be an Int32Array");
    }
    F32View weight = a.f32(1), in = a.f32(2), out = a.f32(3);
    const int64_t pixels = a.i64(4), c = a.i64(5), first = a.i64(6), count = a.i64(7);
    expect(pixels > 0 && c > 0 && first >= 0 && count >= 0, "warpRigid: bad sizes");
    expect(srcLength == static_cast<size_t>(pixels * 4) && weight.length == srcLength, "warpRigid: the plan does not match the pixel count");
    const size_t end = static_cast<size_t>((first + count) * pixels * c);
    expect(in.length >= end && out.length >= end, "warpRigid: images beyond the arrays' ends");
    const int32_t* src = static_cast<const int32_t*>(srcData);
    for (int64_t img = first; img < first + count; img++) {
      const int64_t off = img * pixels * c;
      if (c == 3) {
        warpPlanned<3>(src, weight.data, in.data + off, out.data + off, pixels, c);
      } else {
        warpPlanned<0>(src, weight.data, in.data + off, out.data + off, pixels, c);
      }
    }
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

// shiftAndFlip of standard.ts: out(y, x) = src(y - ty, x' - tx) with x' = flip ? W-1-x : x, black outside.
void shiftAndFlip(const float* src, float* out, int64_t h, int64_t w, int64_t c, int64_t tx, int64_t ty, bool flip) {
  for (int64_t y = 0; y < h; y++) {
    const int64_t sy = y - ty;
    for (int64_t x = 0; x < w; x++) {
      const int64_t sx = (flip ? w - 1 - x : x) - tx;
      float* o = out + (y * w + x) * c;
      if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
        for (int64_t ch = 0; ch < c; ch++) o[ch] = 0;
      } else {
        std::memcpy(o, src + (sy * w + sx) * c, static_cast<size_t>(c) * sizeof(float));
      }
    }
  }
}

inline double grey(const float* px, int64_t c) {
  if (c == 1) return px[0];
  return 0.2989 * static_cast<double>(px[0]) + 0.587 * static_cast<double>(px[1]) + 0.114 * static_cast<double>(px[2]);
}

// color-jitter.ts: 0 brightness, 1 contrast, 2 saturation.
void jitter(float* img, int64_t pixels, int64_t c, int64_t op, double f) {
  const int64_t n = pixels * c;
  if (op == 0) {
    for (int64_t i = 0; i < n; i++) img[i] = static_cast<float>(clamp01(f * static_cast<double>(img[i])));
  } else if (op == 1) {
    double sum = 0;
    for (int64_t p = 0; p < pixels; p++) sum += grey(img + p * c, c);
    const double mean = sum / static_cast<double>(pixels);
    const double offset = (1 - f) * mean;
    for (int64_t i = 0; i < n; i++) img[i] = static_cast<float>(clamp01(f * static_cast<double>(img[i]) + offset));
  } else {
    if (c == 1) return;
    for (int64_t p = 0; p < n; p += c) {
      const double g = (1 - f) * grey(img + p, c);
      for (int64_t ch = 0; ch < c; ch++) img[p + ch] = static_cast<float>(clamp01(f * static_cast<double>(img[p + ch]) + g));
    }
  }
}

// One corner of planWarp + applyWarp: skipped outside the image or without weight, else the
// weight rounded to float32 and the running sums advanced. C > 0 fixes the channel count.
template <int C>
inline void corner(const float* in, int64_t h, int64_t w, int64_t c, double xi, double yi, double wt, float* acc) {
  const int64_t cc = C > 0 ? C : c;
  if (!(xi >= 0 && xi < static_cast<double>(w) && yi >= 0 && yi < static_cast<double>(h) && wt > 0)) return;
  const double wf = static_cast<float>(wt);
  const float* x = in + (static_cast<int64_t>(yi) * w + static_cast<int64_t>(xi)) * cc;
  for (int64_t ch = 0; ch < cc; ch++) acc[ch] = static_cast<float>(static_cast<double>(acc[ch]) + wf * static_cast<double>(x[ch]));
}

// warpImage3 / applyWarp(planWarp(...)) of one image by a rotation (cos, sin) then a translation.
template <int C>
void warpImage(const float* in, float* out, int64_t h, int64_t w, int64_t c, double cs, double sn, double tx, double ty) {
  const int64_t cc = C > 0 ? C : c;
  const double cx = static_cast<double>(w - 1) / 2;
  const double cy = static_cast<double>(h - 1) / 2;
  std::vector<float> wide(C > 0 ? 0 : static_cast<size_t>(cc));
  float fixed[C > 0 ? C : 1];
  float* acc = C > 0 ? fixed : wide.data();
  for (int64_t v = 0; v < h; v++) {
    for (int64_t u = 0; u < w; u++) {
      const double dx = static_cast<double>(u) - tx - cx;
      const double dy = static_cast<double>(v) - ty - cy;
      const double x = cs * dx - sn * dy + cx;
      const double y = sn * dx + cs * dy + cy;
      const double x0 = std::floor(x);
      const double y0 = std::floor(y);
      const double fx = x - x0;
      const double fy = y - y0;
      for (int64_t ch = 0; ch < cc; ch++) acc[ch] = 0;
      corner<C>(in, h, w, c, x0, y0, (1 - fx) * (1 - fy), acc);
      corner<C>(in, h, w, c, x0 + 1, y0, fx * (1 - fy), acc);
      corner<C>(in, h, w, c, x0, y0 + 1, (1 - fx) * fy, acc);
      corner<C>(in, h, w, c, x0 + 1, y0 + 1, fx * fy, acc);
      float* o = out + (v * w + u) * cc;
      for (int64_t ch = 0; ch < cc; ch++) o[ch] = acc[ch];
    }
  }
}

// augmentImages(x, out, n, h, w, c, draws): augmentBatch's per-image work. draws holds 12 numbers
// per image, packed by ml/augment/standard.ts: tx, ty, flip (0/1), the three jitter operations in
// their drawn order, each as (op 0-2, factor), then rotate (0/1) and the rotation's cos and sin.
constexpr int64_t kDrawLength = 12;

napi_value AugmentImagesFn(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 7);
    F32View x = a.f32(0), out = a.f32(1);
    const int64_t n = a.i64(2), h = a.i64(3), w = a.i64(4), c = a.i64(5);
    napi_typedarray_type type;
    size_t drawLength = 0;
    void* drawData = nullptr;
    if (napi_get_typedarray_info(env, a.values[6], &type, &drawLength, &drawData, nullptr, nullptr) != napi_ok || type != napi_float64_array) {
      throw NapiError("augmentImages: argument 6 must be a Float64Array");
    }
    expect(n >= 0 && h > 0 && w > 0 && c > 0, "augmentImages: bad sizes");
    const size_t size = static_cast<size_t>(h * w * c);
    expect(x.length == size * static_cast<size_t>(n) && out.length == x.length, "augmentImages: buffer sizes do not match n, h, w, c");
    expect(drawLength == static_cast<size_t>(n * kDrawLength), "augmentImages: draws must hold 12 numbers per image");
    const double* draws = static_cast<const double*>(drawData);
    std::vector<float> img(size);
    for (int64_t i = 0; i < n; i++) {
      const double* d = draws + i * kDrawLength;
      const float* src = x.data + i * static_cast<int64_t>(size);
      float* dst = out.data + i * static_cast<int64_t>(size);
      const bool rotate = d[9] != 0;
      float* work = rotate ? img.data() : dst;
      shiftAndFlip(src, work, h, w, c, static_cast<int64_t>(d[0]), static_cast<int64_t>(d[1]), d[2] != 0);
      for (int k = 0; k < 3; k++) {
        const double f = d[4 + 2 * k];
        if (f != 1) jitter(work, h * w, c, static_cast<int64_t>(d[3 + 2 * k]), f);
      }
      if (rotate) {
        if (c == 3) {
          warpImage<3>(work, dst, h, w, c, d[10], d[11], 0, 0);
        } else {
          warpImage<0>(work, dst, h, w, c, d[10], d[11], 0, 0);
        }
      }
    }
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

}  // namespace

napi_value registerAugment(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
      {"warpRigid", nullptr, WarpRigidFn, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"augmentImages", nullptr, AugmentImagesFn, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
  return exports;
}

}  // namespace rf
