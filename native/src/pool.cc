// 2-D average and max pooling and their gradients on NHWC buffers (channels innermost, so the
// per-window loops vectorise over channels). Semantics follow tfjs' cpu kernels: windows are
// clipped to the image, average divides by the in-window count, max takes the first maximum.
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "napi_util.h"

namespace rf {
namespace {

struct PoolShape {
  int64_t n, h, w, c, oh, ow, fh, fw, sh, sw, pt, pl;
};

PoolShape poolShapeFrom(const Args& a, size_t i) {
  auto v = a.i64s(i);
  if (v.size() != 12) throw NapiError("pool geometry must have 12 numbers");
  return {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]};
}

struct Window {
  int64_t r0, r1, c0, c1;
};
inline Window windowOf(const PoolShape& s, int64_t oy, int64_t ox) {
  const int64_t rc = oy * s.sh - s.pt, cc = ox * s.sw - s.pl;
  return {rc < 0 ? 0 : rc, rc + s.fh < s.h ? rc + s.fh : s.h, cc < 0 ? 0 : cc, cc + s.fw < s.w ? cc + s.fw : s.w};
}

// pool(isMax, geometry[12] = n h w c oh ow fh fw sh sw pt pl, x, out)
napi_value Pool(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 4);
    const bool isMax = a.i64(0) != 0;
    const PoolShape s = poolShapeFrom(a, 1);
    F32View x = a.f32(2), out = a.f32(3);
    if (x.length != static_cast<size_t>(s.n * s.h * s.w * s.c) || out.length != static_cast<size_t>(s.n * s.oh * s.ow * s.c)) {
      throw NapiError("pool: buffer sizes do not match the geometry");
    }
#pragma omp parallel for schedule(static) if (out.length >= (1 << 15))
    for (int64_t p = 0; p < s.n * s.oh; p++) {
      const int64_t b = p / s.oh, oy = p % s.oh;
      std::vector<float> acc(s.c);
      for (int64_t ox = 0; ox < s.ow; ox++) {
        const Window wdw = windowOf(s, oy, ox);
        const float init = isMax ? -std::numeric_limits<float>::infinity() : 0.f;
        for (int64_t ch = 0; ch < s.c; ch++) acc[ch] = init;
        for (int64_t r = wdw.r0; r < wdw.r1; r++) {
          for (int64_t q = wdw.c0; q < wdw.c1; q++) {
            const float* px = x.data + ((b * s.h + r) * s.w + q) * s.c;
            if (isMax) {
              for (int64_t ch = 0; ch < s.c; ch++) acc[ch] = px[ch] > acc[ch] ? px[ch] : acc[ch];
            } else {
              for (int64_t ch = 0; ch < s.c; ch++) acc[ch] += px[ch];
            }
          }
        }
        float* o = out.data + ((b * s.oh + oy) * s.ow + ox) * s.c;
        const float scale = isMax ? 1.f : 1.f / static_cast<float>((wdw.r1 - wdw.r0) * (wdw.c1 - wdw.c0));
        for (int64_t ch = 0; ch < s.c; ch++) o[ch] = isMax ? acc[ch] : acc[ch] * scale;
      }
    }
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

// poolGrad(isMax, geometry, dy, x, dx): average spreads dy / (fh*fw) over the window (tfjs'
// AvgPoolGrad divides by the full window); max routes dy to the window's first maximum.
napi_value PoolGrad(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 5);
    const bool isMax = a.i64(0) != 0;
    const PoolShape s = poolShapeFrom(a, 1);
    F32View dy = a.f32(2), x = a.f32(3), dx = a.f32(4);
    if (x.length != static_cast<size_t>(s.n * s.h * s.w * s.c) || dx.length != x.length ||
        dy.length != static_cast<size_t>(s.n * s.oh * s.ow * s.c)) {
      throw NapiError("poolGrad: buffer sizes do not match the geometry");
    }
    std::memset(dx.data, 0, sizeof(float) * dx.length);
    const float avgScale = 1.f / static_cast<float>(s.fh * s.fw);
    // Parallel over images: windows of different images never overlap.
#pragma omp parallel for schedule(static) if (dx.length >= (1 << 15))
    for (int64_t b = 0; b < s.n; b++) {
      std::vector<float> best(s.c);
      std::vector<int64_t> at(s.c);
      for (int64_t oy = 0; oy < s.oh; oy++) {
        for (int64_t ox = 0; ox < s.ow; ox++) {
          const Window wdw = windowOf(s, oy, ox);
          const float* g = dy.data + ((b * s.oh + oy) * s.ow + ox) * s.c;
          if (isMax) {
            for (int64_t ch = 0; ch < s.c; ch++) {
              best[ch] = -std::numeric_limits<float>::infinity();
              at[ch] = -1;
            }
            for (int64_t r = wdw.r0; r < wdw.r1; r++) {
              for (int64_t q = wdw.c0; q < wdw.c1; q++) {
                const int64_t base = ((b * s.h + r) * s.w + q) * s.c;
                const float* px = x.data + base;
                for (int64_t ch = 0; ch < s.c; ch++) {
                  if (px[ch] > best[ch]) {
                    best[ch] = px[ch];
                    at[ch] = base + ch;
                  }
                }
              }
            }
            for (int64_t ch = 0; ch < s.c; ch++) {
              if (at[ch] >= 0) dx.data[at[ch]] += g[ch];
            }
          } else {
            for (int64_t r = wdw.r0; r < wdw.r1; r++) {
              for (int64_t q = wdw.c0; q < wdw.c1; q++) {
                float* d = dx.data + ((b * s.h + r) * s.w + q) * s.c;
                for (int64_t ch = 0; ch < s.c; ch++) d[ch] += g[ch] * avgScale;
              }
            }
          }
        }
      }
    }
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

}  // namespace

napi_value registerPool(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
      {"pool", nullptr, Pool, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"poolGrad", nullptr, PoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
  return exports;
}

}  // namespace rf
