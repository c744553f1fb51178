// The models' input path on native: bilinear sampling (forward), clipping, clipping with the
// per-channel normalisation every model starts with, and the PTN's circular row padding. Each computes exactly what its TypeScript kernel (ml/backend/bilinear-sample.ts,
// wrap-rows.ts, native/kernels.ts' clip) computes, bit for bit: the sampler in double precision
// with JavaScript's operation order (weights, products and sums rounded as V8 rounds them, the
// running sum stored to float32 after each corner), NaN coordinates and all. That needs the
// compiler to keep a * b + c as two roundings, so contraction into FMA is off in this file (the
// build's other files allow it).
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "napi_util.h"

namespace rf {
namespace {

constexpr int64_t kParallelMin = 1 << 15;  // values below which thread start-up costs more than it saves

void expect(bool ok, const char* what) {
  if (!ok) throw NapiError(what);
}

// One sample point: o[:] = sum over the inside corners of (x, y) of weight * image[corner, :],
// corners and weights as forEachCorner in bilinear-sample.ts. The running sums live in acc,
// rounded to float32 after each corner as the TypeScript kernel's Float32Array stores round them.
// C > 0 fixes the channel count at compile time (the models sample RGB images); 0 reads c.
template <int C>
inline void samplePoint(const float* image, int64_t h, int64_t w, int64_t c, double x, double y, float* o, float* acc) {
  const int64_t cc = C > 0 ? C : c;
  const double x0 = std::floor(x), y0 = std::floor(y);
  const double fx = x - x0, fy = y - y0;
  if (x0 >= 0 && x0 + 1 <= static_cast<double>(w - 1) && y0 >= 0 && y0 + 1 <= static_cast<double>(h - 1)) {
    // All four corners inside (so no NaN): the same sums in the same order, without the checks.
    const double w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
    const float* s0 = image + (static_cast<int64_t>(y0) * w + static_cast<int64_t>(x0)) * cc;
    const float* s1 = s0 + w * cc;
    for (int64_t ch = 0; ch < cc; ch++) {
      float a = static_cast<float>(0.0 + w00 * static_cast<double>(s0[ch]));
      a = static_cast<float>(static_cast<double>(a) + w01 * static_cast<double>(s0[cc + ch]));
      a = static_cast<float>(static_cast<double>(a) + w10 * static_cast<double>(s1[ch]));
      o[ch] = static_cast<float>(static_cast<double>(a) + w11 * static_cast<double>(s1[cc + ch]));
    }
    return;
  }
  for (int64_t ch = 0; ch < cc; ch++) acc[ch] = 0.f;
  bool nan = false;
  for (int dy = 0; dy < 2; dy++) {
    const double yi = y0 + dy;
    if (yi < 0 || yi > static_cast<double>(h - 1)) continue;  // false for NaN: JavaScript visits the corner
    const double wy = dy ? fy : 1 - fy;
    for (int dx = 0; dx < 2; dx++) {
      const double xi = x0 + dx;
      if (xi < 0 || xi > static_cast<double>(w - 1)) continue;
      if (std::isnan(xi) || std::isnan(yi)) {
        nan = true;  // JavaScript reads image[NaN] (undefined): every channel becomes NaN
        continue;
      }
      const double weight = (dx ? fx : 1 - fx) * wy;
      const float* s = image + (static_cast<int64_t>(yi) * w + static_cast<int64_t>(xi)) * cc;
      for (int64_t ch = 0; ch < cc; ch++) acc[ch] = static_cast<float>(static_cast<double>(acc[ch]) + weight * static_cast<double>(s[ch]));
    }
  }
  const float q = std::numeric_limits<float>::quiet_NaN();
  for (int64_t ch = 0; ch < cc; ch++) o[ch] = nan ? q : acc[ch];
}

template <int C>
void sampleImages(const float* src, int64_t n, int64_t h, int64_t w, int64_t c, const float* xs, const float* ys, int64_t per,
                  float* out) {
#pragma omp parallel for if (n * per * c >= kParallelMin) schedule(static)
  for (int64_t b = 0; b < n; b++) {
    std::vector<float> acc(static_cast<size_t>(C > 0 ? C : c));
    const float* image = src + b * h * w * c;
    for (int64_t p = 0; p < per; p++) {
      const int64_t q = b * per + p;
      samplePoint<C>(image, h, w, c, xs[q], ys[q], out + q * c, acc.data());
    }
  }
}

// Calls run(std::integral_constant<int, C>) with C the channel count where the models' images fix it
// at compile time (3, 1), else 0 (the kernels then read c).
template <typename Run>
void byChannels(int64_t c, Run&& run) {
  if (c == 3) run(std::integral_constant<int, 3>{});
  else if (c == 1) run(std::integral_constant<int, 1>{});
  else run(std::integral_constant<int, 0>{});
}

void sample(const float* src, int64_t n, int64_t h, int64_t w, int64_t c, const float* xs, const float* ys, int64_t per,
            float* out) {
  byChannels(c, [&](auto C) { sampleImages<decltype(C)::value>(src, n, h, w, c, xs, ys, per, out); });
}

// bilinearSample(image, n, h, w, c, xs, ys, out): xs and ys hold n * per points, out n * per * c.
napi_value BilinearSampleFn(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 8);
    F32View image = a.f32(0), xs = a.f32(5), ys = a.f32(6), out = a.f32(7);
    const int64_t n = a.i64(1), h = a.i64(2), w = a.i64(3), c = a.i64(4);
    expect(n > 0 && h > 0 && w > 0 && c > 0 && image.length == static_cast<size_t>(n * h * w * c), "bilinearSample: image size is not n*h*w*c");
    expect(xs.length == ys.length && xs.length % n == 0, "bilinearSample: xs and ys must hold the same whole number of points per image");
    expect(out.length == xs.length * c, "bilinearSample: out must hold c values per point");
    sample(image.data, n, h, w, c, xs.data, ys.data, static_cast<int64_t>(xs.length) / n, out.data);
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

// The sampler's gradient, as the TypeScript kernels in bilinear-sample.ts compute it: corners,
// weights and their derivatives in double precision as forEachCorner forms them. A corner with a
// NaN coordinate is visited (as JavaScript visits it) but its pixels read as NaN (image[NaN] is
// undefined there), and nothing is written to it.
template <typename Visit>
inline void forEachCorner(int64_t h, int64_t w, double x, double y, Visit&& visit) {
  const double x0 = std::floor(x), y0 = std::floor(y);
  const double fx = x - x0, fy = y - y0;
  for (int dy = 0; dy < 2; dy++) {
    const double yi = y0 + dy;
    if (yi < 0 || yi > static_cast<double>(h - 1)) continue;
    const double wy = dy ? fy : 1 - fy;
    for (int dx = 0; dx < 2; dx++) {
      const double xi = x0 + dx;
      if (xi < 0 || xi > static_cast<double>(w - 1)) continue;
      const double wx = dx ? fx : 1 - fx;
      const bool nan = std::isnan(xi) || std::isnan(yi);
      const int64_t pixel = nan ? -1 : static_cast<int64_t>(yi) * w + static_cast<int64_t>(xi);
      visit(pixel, wx * wy, dx ? wy : -wy, dy ? wx : -wx);
    }
  }
}

// A double stored to a Float32Array by V8: NaN comes out as the one quiet NaN (+, no payload),
// whatever sign the arithmetic left it with (x86 gives -NaN for -wy when wy is NaN).
inline float storedAsJs(double v) {
  return std::isnan(v) ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(v);
}

// d/dxs, d/dys per point: sum over its corners of (dy . pixel) * dWeight/dx (or /dy), in double,
// rounded to float once.
template <int C>
void gradPoints(const float* src, int64_t n, int64_t h, int64_t w, int64_t c, const float* xs, const float* ys, int64_t per,
                const float* dy, float* dxs, float* dys) {
  const int64_t cc = C > 0 ? C : c;
#pragma omp parallel for if (n * per * c >= kParallelMin) schedule(static)
  for (int64_t b = 0; b < n; b++) {
    const float* image = src + b * h * w * cc;
    for (int64_t p = 0; p < per; p++) {
      const int64_t q = b * per + p;
      const float* g = dy + q * cc;
      double sx = 0, sy = 0;
      forEachCorner(h, w, xs[q], ys[q], [&](int64_t pixel, double, double dwdx, double dwdy) {
        double dot = std::numeric_limits<double>::quiet_NaN();
        if (pixel >= 0) {
          const float* s = image + pixel * cc;
          dot = 0;
          for (int64_t ch = 0; ch < cc; ch++) dot += static_cast<double>(g[ch]) * static_cast<double>(s[ch]);
        }
        sx += dot * dwdx;
        sy += dot * dwdy;
      });
      dxs[q] = storedAsJs(sx);
      dys[q] = storedAsJs(sy);
    }
  }
}

// d/dimage: each point's dy added to its corners' pixels times the corner's weight, points in
// order, each sum rounded to float as the TypeScript kernel's Float32Array stores round it. Images
// are independent, so threads split them.
template <int C>
void gradImage(int64_t n, int64_t h, int64_t w, int64_t c, const float* xs, const float* ys, int64_t per, const float* dy,
               float* dImage) {
  const int64_t cc = C > 0 ? C : c;
#pragma omp parallel for if (n * per * c >= kParallelMin) schedule(static)
  for (int64_t b = 0; b < n; b++) {
    float* image = dImage + b * h * w * cc;
    std::memset(image, 0, sizeof(float) * h * w * cc);
    for (int64_t p = 0; p < per; p++) {
      const int64_t q = b * per + p;
      const float* g = dy + q * cc;
      forEachCorner(h, w, xs[q], ys[q], [&](int64_t pixel, double weight, double, double) {
        if (pixel < 0) return;
        float* s = image + pixel * cc;
        for (int64_t ch = 0; ch < cc; ch++) s[ch] = storedAsJs(static_cast<double>(s[ch]) + weight * static_cast<double>(g[ch]));
      });
    }
  }
}

// Checks the sampler gradient's buffers; returns points per image.
int64_t gradGeometry(const char* what, size_t imageLength, int64_t n, int64_t h, int64_t w, int64_t c, const F32View& xs,
                     const F32View& ys, const F32View& dy) {
  const std::string name(what);
  expect(n > 0 && h > 0 && w > 0 && c > 0 && imageLength == static_cast<size_t>(n * h * w * c), (name + ": image size is not n*h*w*c").c_str());
  expect(xs.length == ys.length && xs.length % n == 0, (name + ": xs and ys must hold the same whole number of points per image").c_str());
  expect(dy.length == xs.length * c, (name + ": dy must hold c values per point").c_str());
  return static_cast<int64_t>(xs.length) / n;
}

// bilinearSampleGradPoints(image, n, h, w, c, xs, ys, dy, dxs, dys)
napi_value BilinearSampleGradPointsFn(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 10);
    F32View image = a.f32(0), xs = a.f32(5), ys = a.f32(6), dy = a.f32(7), dxs = a.f32(8), dys = a.f32(9);
    const int64_t n = a.i64(1), h = a.i64(2), w = a.i64(3), c = a.i64(4);
    const int64_t per = gradGeometry("bilinearSampleGradPoints", image.length, n, h, w, c, xs, ys, dy);
    expect(dxs.length == xs.length && dys.length == xs.length, "bilinearSampleGradPoints: dxs and dys must hold one value per point");
    byChannels(c, [&](auto C) {
      gradPoints<decltype(C)::value>(image.data, n, h, w, c, xs.data, ys.data, per, dy.data, dxs.data, dys.data);
    });
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

// bilinearSampleGradImage(n, h, w, c, xs, ys, dy, dImage): dImage is written whole (zeros first).
napi_value BilinearSampleGradImageFn(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 8);
    F32View xs = a.f32(4), ys = a.f32(5), dy = a.f32(6), dImage = a.f32(7);
    const int64_t n = a.i64(0), h = a.i64(1), w = a.i64(2), c = a.i64(3);
    const int64_t per = gradGeometry("bilinearSampleGradImage", dImage.length, n, h, w, c, xs, ys, dy);
    byChannels(c, [&](auto C) { gradImage<decltype(C)::value>(n, h, w, c, xs.data, ys.data, per, dy.data, dImage.data); });
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

// t > hi ? hi : t < lo ? lo : t, compared in double as JavaScript does (NaN and -0 pass through);
// the bounds are rounded to float32 (loF, hiF) only when stored.
inline float clipAsJs(float v, double lo, double hi, float loF, float hiF) {
  const double t = v;
  return t > hi ? hiF : t < lo ? loF : v;
}

// clip(x, lo, hi, out): clipAsJs per value.
napi_value ClipFn(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 4);
    F32View x = a.f32(0), out = a.f32(3);
    const double lo = a.f64(1), hi = a.f64(2);
    expect(x.length == out.length, "clip: input and output sizes differ");
    const float loF = static_cast<float>(lo), hiF = static_cast<float>(hi);
    const float* xd = x.data;
    float* o = out.data;
    const int64_t len = static_cast<int64_t>(x.length);
#pragma omp parallel for if (len >= kParallelMin) schedule(static)
    for (int64_t i = 0; i < len; i++) o[i] = clipAsJs(xd[i], lo, hi, loF, hiF);
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

// clipNormalize(x, lo, hi, mean, std, out): (clip(x) - mean[c]) / std[c] over the last axis (C =
// mean's length), each step rounded to float32 as the ClipByValue, Sub and RealDiv kernels round.
napi_value ClipNormalizeFn(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 6);
    F32View x = a.f32(0), mean = a.f32(3), stdev = a.f32(4), out = a.f32(5);
    const double lo = a.f64(1), hi = a.f64(2);
    const int64_t C = static_cast<int64_t>(mean.length);
    expect(C > 0 && stdev.length == mean.length, "clipNormalize: mean and std must have the same (non-zero) length");
    expect(x.length == out.length && x.length % C == 0, "clipNormalize: x and out must hold whole rows of C values");
    const float loF = static_cast<float>(lo), hiF = static_cast<float>(hi);
    const int64_t rows = static_cast<int64_t>(x.length) / C;
#pragma omp parallel for if (rows * C >= kParallelMin) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const float* xr = x.data + r * C;
      float* o = out.data + r * C;
      for (int64_t c = 0; c < C; c++) {
        const float centred = clipAsJs(xr[c], lo, hi, loF, hiF) - mean.data[c];
        o[c] = centred / stdev.data[c];
      }
    }
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

// wrapRows(x, n, h, rowLength, pad, out): per image its last pad rows, all h rows, its first pad rows.
napi_value WrapRowsFn(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 6);
    F32View x = a.f32(0), out = a.f32(5);
    const int64_t n = a.i64(1), h = a.i64(2), row = a.i64(3), pad = a.i64(4);
    expect(n >= 0 && h > 0 && row >= 0 && pad >= 1 && pad <= h, "wrapRows: need 1 <= pad <= h");
    expect(x.length == static_cast<size_t>(n * h * row) && out.length == static_cast<size_t>(n * (h + 2 * pad) * row),
           "wrapRows: buffer sizes do not match n, h, row length and pad");
    const size_t bytes = sizeof(float);
#pragma omp parallel for if (n * h * row >= kParallelMin) schedule(static)
    for (int64_t b = 0; b < n; b++) {
      const float* image = x.data + b * h * row;
      float* o = out.data + b * (h + 2 * pad) * row;
      std::memcpy(o, image + (h - pad) * row, pad * row * bytes);
      std::memcpy(o + pad * row, image, h * row * bytes);
      std::memcpy(o + (pad + h) * row, image, pad * row * bytes);
    }
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}


// wrapRowsGrad(dy, n, h, rowLength, pad, dx): per image, 0 + the rows that copied each source row,
// added as the TypeScript kernel adds them (its order differs, but each sum has at most three terms
// and starts from zero, and those sums do not depend on the order, -0 included).
napi_value WrapRowsGradFn(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 6);
    F32View dy = a.f32(0), dx = a.f32(5);
    const int64_t n = a.i64(1), h = a.i64(2), row = a.i64(3), pad = a.i64(4);
    expect(n >= 0 && h > 0 && row >= 0 && pad >= 1 && pad <= h, "wrapRowsGrad: need 1 <= pad <= h");
    expect(dx.length == static_cast<size_t>(n * h * row) && dy.length == static_cast<size_t>(n * (h + 2 * pad) * row),
           "wrapRowsGrad: buffer sizes do not match n, h, row length and pad");
#pragma omp parallel for if (n * h * row >= kParallelMin) schedule(static)
    for (int64_t b = 0; b < n; b++) {
      const float* g = dy.data + b * (h + 2 * pad) * row;
      float* d = dx.data + b * h * row;
      const int64_t all = h * row, edge = pad * row;
      for (int64_t k = 0; k < all; k++) d[k] = 0.f + g[edge + k];                 // the rows themselves
      for (int64_t k = 0; k < edge; k++) d[all - edge + k] += g[k];               // copied above: the last pad rows
      for (int64_t k = 0; k < edge; k++) d[k] += g[edge + all + k];               // copied below: the first pad rows
    }
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

}  // namespace

napi_value registerResample(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
      {"bilinearSample", nullptr, BilinearSampleFn, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"clip", nullptr, ClipFn, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"clipNormalize", nullptr, ClipNormalizeFn, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"wrapRows", nullptr, WrapRowsFn, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"wrapRowsGrad", nullptr, WrapRowsGradFn, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bilinearSampleGradPoints", nullptr, BilinearSampleGradPointsFn, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bilinearSampleGradImage", nullptr, BilinearSampleGradImageFn, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
  return exports;
}

}  // namespace rf
