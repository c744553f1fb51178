// Batch normalisation over all axes but the last (channels), fused: training forward in two
// passes (statistics, then the affine map), its gradient in two passes (two channel sums, then
// dx as one per-channel affine function of dy and x), and the inference map in one pass.
// Channel sums accumulate in double per thread and are combined once.
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "bn_train_math.h"
#include "napi_util.h"

namespace rf {
namespace {

constexpr int64_t kParallelMin = 1 << 15;

// out[r,c] = k1[c] * a[r,c] + k2[c] * b[r,c] + k3[c]   (b may be null when k2 is unused)
void channelAffine(const float* a, const float* b, const float* k1, const float* k2, const float* k3, float* out,
                   int64_t rows, int64_t C) {
#pragma omp parallel for if (rows * C >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* ar = a + r * C;
    float* o = out + r * C;
    if (b == nullptr) {
      for (int64_t c = 0; c < C; c++) o[c] = k1[c] * ar[c] + k3[c];
    } else {
      const float* br = b + r * C;
      for (int64_t c = 0; c < C; c++) o[c] = k1[c] * ar[c] + k2[c] * br[c] + k3[c];
    }
  }
}

void expect(bool ok, const char* what) {
  if (!ok) throw NapiError(what);
}

// bnTrain(x, rows, C, scale, offset, eps, y, mean, variance): biased batch variance, as PyTorch
// normalises with in training.
napi_value BnTrain(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 9);
    F32View x = a.f32(0), scale = a.f32(3), offset = a.f32(4), y = a.f32(6), mean = a.f32(7), var = a.f32(8);
    const int64_t rows = a.i64(1), C = a.i64(2);
    const double eps = a.f64(5);
    expect(x.length == static_cast<size_t>(rows * C) && y.length == x.length, "bnTrain: x/y sizes do not match rows x C");
    expect(scale.length == static_cast<size_t>(C) && offset.length == scale.length && mean.length == scale.length &&
               var.length == scale.length, "bnTrain: channel vectors must have C entries");
    std::vector<double> s0, s1;
    channelSums(x.data, nullptr, nullptr, rows, C, s0, s1);
    std::vector<float> k1(C), k3(C);
    bnTrainCoefficients(s0, s1, rows, C, scale.data, offset.data, eps, mean.data, var.data, k1.data(), k3.data());
    channelAffine(x.data, nullptr, k1.data(), nullptr, k3.data(), y.data, rows, C);
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

// bnTrainGrad(dy, x, rows, C, scale, mean, variance, eps, dx, dscale, doffset): gradient of
// y = (x - mean(x)) / sqrt(var(x) + eps) * scale + offset, the statistics depending on x.
napi_value BnTrainGrad(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 11);
    F32View dy = a.f32(0), x = a.f32(1), scale = a.f32(4), mean = a.f32(5), var = a.f32(6);
    F32View dx = a.f32(8), dscale = a.f32(9), doffset = a.f32(10);
    const int64_t rows = a.i64(2), C = a.i64(3);
    const double eps = a.f64(7);
    expect(x.length == static_cast<size_t>(rows * C) && dy.length == x.length && dx.length == x.length,
           "bnTrainGrad: dy/x/dx sizes do not match rows x C");
    expect(scale.length == static_cast<size_t>(C) && mean.length == scale.length && var.length == scale.length &&
               dscale.length == scale.length && doffset.length == scale.length, "bnTrainGrad: channel vectors must have C entries");
    std::vector<double> sumDy, sumDyX;
    channelSums(dy.data, x.data, nullptr, rows, C, sumDy, sumDyX);
    std::vector<float> k1(C), k2(C), k3(C);
    bnGradCoefficients(sumDy, sumDyX, rows, C, scale.data, mean.data, var.data, eps, dscale.data, doffset.data, k1.data(), k2.data(),
                       k3.data());
    channelAffine(dy.data, x.data, k1.data(), k2.data(), k3.data(), dx.data, rows, C);
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

// channelAffine(x, rows, C, k1, k3, out): out = k1[c] * x + k3[c] (inference batch norm).
napi_value ChannelAffine(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 6);
    F32View x = a.f32(0), k1 = a.f32(3), k3 = a.f32(4), out = a.f32(5);
    const int64_t rows = a.i64(1), C = a.i64(2);
    expect(x.length == static_cast<size_t>(rows * C) && out.length == x.length, "channelAffine: sizes do not match rows x C");
    expect(k1.length == static_cast<size_t>(C) && k3.length == k1.length, "channelAffine: channel vectors must have C entries");
    channelAffine(x.data, nullptr, k1.data, nullptr, k3.data, out.data, rows, C);
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

}  // namespace

napi_value registerBatchNorm(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
      {"bnTrain", nullptr, BnTrain, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnTrainGrad", nullptr, BnTrainGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"channelAffine", nullptr, ChannelAffine, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
  return exports;
}

}  // namespace rf
