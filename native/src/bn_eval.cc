// Inference batch norm, the residual add and the ReLU as one pass (ml/backend/batch-norm-eval.ts):
// out = relu(k1[c] * x + k3[c] [+ skip]). The float operations are those of the three kernels it
// replaces, in their order: batchnorm.cc's channelAffine (k1 * x + k3, compiled with this build's
// flags, so contracted to one FMA exactly where that loop is), elementwise.cc's Add and Relu (NaN
// kept, -0 and negatives to +0). This file must therefore keep the build's default contraction
// (no fp-contract pragma here, unlike resample.cc); the tests compare it with the three kernels bit
// for bit.
#include <cstdint>

#include "napi_util.h"

namespace rf {
namespace {

constexpr int64_t kParallelMin = 1 << 15;

inline float relu(float v) { return v > 0.f ? v : (v != v ? v : 0.f); }

void bnRelu(const float* x, const float* skip, const float* k1, const float* k3, float* out, int64_t rows, int64_t C) {
#pragma omp parallel for if (rows * C >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * C;
    float* o = out + r * C;
    if (skip == nullptr) {
      for (int64_t c = 0; c < C; c++) {
        const float t = k1[c] * xr[c] + k3[c];
        o[c] = relu(t);
      }
    } else {
      const float* sr = skip + r * C;
      for (int64_t c = 0; c < C; c++) {
        const float t = k1[c] * xr[c] + k3[c];
        const float u = t + sr[c];
        o[c] = relu(u);
      }
    }
  }
}

// bnEvalRelu(x, rows, C, k1, k3, skip, out): skip of length 0 means none.
napi_value BnEvalReluFn(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 7);
    F32View x = a.f32(0), k1 = a.f32(3), k3 = a.f32(4), skip = a.f32(5), out = a.f32(6);
    const int64_t rows = a.i64(1), C = a.i64(2);
    if (x.length != static_cast<size_t>(rows * C) || out.length != x.length) throw NapiError("bnEvalRelu: sizes do not match rows x C");
    if (k1.length != static_cast<size_t>(C) || k3.length != k1.length) throw NapiError("bnEvalRelu: channel vectors must have C entries");
    if (skip.length != 0 && skip.length != x.length) throw NapiError("bnEvalRelu: skip must be empty or as large as x");
    bnRelu(x.data, skip.length == 0 ? nullptr : skip.data, k1.data, k3.data, out.data, rows, C);
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

}  // namespace

napi_value registerBnEval(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
      {"bnEvalRelu", nullptr, BnEvalReluFn, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
  return exports;
}

}  // namespace rf
