// The arithmetic of the training-mode batch norm kernels (batchnorm.cc, and its ReLU-fused forms
// in bn_relu.cc), defined once so both make the same sums and coefficients (and, compiled under
// the same flags, the same contractions) bit for bit:
// channelSums: s0[c] = sum_r a[r,c] and s1[c] = sum_r a[r,c] * b[r,c] (b == nullptr: b = a), in
// double; with `mask`, a[r,c] reads as 0 where mask[r,c] <= 0 (ReLU's gradient).
#pragma once

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "relu_mask.h"

namespace rf {

constexpr int64_t kChannelSumsParallelMin = 1 << 15;

inline void channelSums(const float* a, const float* b, const float* mask, int64_t rows, int64_t C, std::vector<double>& s0,
                 std::vector<double>& s1) {
  s0.assign(C, 0.0);
  s1.assign(C, 0.0);
  // Each thread's partial sums are kept and added in thread order after the loop: a combination in
  // arrival order (omp critical) made the sums depend on scheduling at three threads or more.
  std::vector<std::vector<double>> parts0, parts1;
#pragma omp parallel if (rows * C >= kChannelSumsParallelMin)
  {
#pragma omp single
    {
      parts0.resize(omp_get_num_threads());
      parts1.resize(omp_get_num_threads());
    }
    std::vector<double> p0(C, 0.0), p1(C, 0.0);
#pragma omp for schedule(static) nowait
    for (int64_t r = 0; r < rows; r++) {
      const float* ar = a + r * C;
      const float* br = (b == nullptr ? a : b) + r * C;
      if (mask == nullptr) {
        for (int64_t c = 0; c < C; c++) {
          p0[c] += ar[c];
          p1[c] += static_cast<double>(ar[c]) * br[c];
        }
      } else {
        const float* mr = mask + r * C;
        for (int64_t c = 0; c < C; c++) {
          const float av = keepIf(ar[c], mr[c]);
          p0[c] += av;
          p1[c] += static_cast<double>(av) * br[c];
        }
      }
    }
    parts0[omp_get_thread_num()] = std::move(p0);
    parts1[omp_get_thread_num()] = std::move(p1);
  }
  for (size_t t = 0; t < parts0.size(); t++) {
    for (int64_t c = 0; c < C; c++) {
      s0[c] += parts0[t][c];
      s1[c] += parts1[t][c];
    }
  }
}

// The forward pass's statistics (biased variance) and its affine map y = k1[c] x + k3[c].
inline void bnTrainCoefficients(const std::vector<double>& s0, const std::vector<double>& s1, int64_t rows, int64_t C,
                                const float* scale, const float* offset, double eps, float* mean, float* var, float* k1,
                                float* k3) {
  for (int64_t c = 0; c < C; c++) {
    const double m = s0[c] / rows;
    const double v = std::max(0.0, s1[c] / rows - m * m);
    mean[c] = static_cast<float>(m);
    var[c] = static_cast<float>(v);
    const double g = scale[c] / std::sqrt(v + eps);
    k1[c] = static_cast<float>(g);
    k3[c] = static_cast<float>(offset[c] - m * g);
  }
}

// The gradient's dscale, doffset and dx = k1[c] dy + k2[c] x + k3[c], from sum dy and sum dy * x.
inline void bnGradCoefficients(const std::vector<double>& sumDy, const std::vector<double>& sumDyX, int64_t rows, int64_t C,
                               const float* scale, const float* mean, const float* var, double eps, float* dscale,
                               float* doffset, float* k1, float* k2, float* k3) {
  for (int64_t c = 0; c < C; c++) {
    const double m = mean[c];
    const double inv = 1.0 / std::sqrt(static_cast<double>(var[c]) + eps);
    const double dOff = sumDy[c];
    const double dScale = (sumDyX[c] - m * sumDy[c]) * inv;  // sum dy * xhat
    doffset[c] = static_cast<float>(dOff);
    dscale[c] = static_cast<float>(dScale);
    const double g = scale[c] * inv;
    // dx = g * (dy - dOff / M - xhat * dScale / M), xhat = (x - m) * inv
    k1[c] = static_cast<float>(g);
    k2[c] = static_cast<float>(-g * inv * dScale / rows);
    k3[c] = static_cast<float>(-g * dOff / rows + g * inv * dScale * m / rows);
  }
}

}  // namespace rf
