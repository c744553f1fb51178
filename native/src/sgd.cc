// SGD with momentum and weight decay (ml/train/sgd.ts) as one pass per variable: the same float
// operations in the same order as the six tfjs ops it replaces, each result rounded to float:
//   t1 = w * wd;  d = g + t1;  t2 = v * momentum;  v' = t2 + d;  t3 = v' * lr;  w' = w - t3
// (d = g when wd is 0, as the composed route skips the decay then). No fused multiply-add:
// -O3 -march=native would otherwise contract w * wd + g into an FMA, which rounds once.
#pragma GCC optimize("fp-contract=off")

#include <cstdint>

#include "napi_util.h"

namespace rf {
namespace {

constexpr int64_t kParallelMin = 1 << 15;

// sgdUpdate(w, g, v, lr, momentum, weightDecay, wOut, vOut): scalars are rounded to float first,
// as tfjs does when it turns a number into a float32 scalar tensor.
napi_value SgdUpdate(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 8);
    F32View w = a.f32(0), g = a.f32(1), v = a.f32(2), wOut = a.f32(6), vOut = a.f32(7);
    const float lr = static_cast<float>(a.f64(3)), momentum = static_cast<float>(a.f64(4)), wd = static_cast<float>(a.f64(5));
    const bool decay = a.f64(5) > 0;
    const size_t n = w.length;
    if (g.length != n || v.length != n || wOut.length != n || vOut.length != n) throw NapiError("sgdUpdate: w, g, v and outputs must have one size");
    const int64_t len = static_cast<int64_t>(n);
#pragma omp parallel for if (len >= kParallelMin) schedule(static)
    for (int64_t i = 0; i < len; i++) {
      float d = g.data[i];
      if (decay) {
        const float t1 = w.data[i] * wd;
        d = d + t1;
      }
      const float t2 = v.data[i] * momentum;
      const float vNew = t2 + d;
      const float t3 = vNew * lr;
      vOut.data[i] = vNew;
      wOut.data[i] = w.data[i] - t3;
    }
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

}  // namespace

napi_value registerSgd(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
      {"sgdUpdate", nullptr, SgdUpdate, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
  return exports;
}

}  // namespace rf
