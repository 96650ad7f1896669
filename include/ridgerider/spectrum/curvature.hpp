// Which spectrum the search uses at a point. The dense path (all d eigenpairs of the formed
// Hessian) when SpectrumOptions::UseDense(d), else the k most negative eigenpairs by a
// matrix-free solve. The guard: no d x d matrix is formed through here above dense_max_dim;
// asking for the dense path there is misuse (CheckSpectrumOptions throws, SearchSpectrumAt
// refuses with kFailed).
#pragma once

#include <cstdint>
#include <string>

#include "ridgerider/errors.hpp"
#include "ridgerider/spectrum/dense.hpp"
#include "ridgerider/spectrum/lanczos.hpp"

namespace ridgerider {

// Throws InputError when the options ask for dense spectra of a d above the threshold.
inline void CheckSpectrumOptions(const SpectrumOptions& so, int d) {
  if (so.method == SpectrumMethod::kDense && d > so.dense_max_dim)
    throw InputError("spectrum-method dense: d = " + std::to_string(d) + " is above dense-max-dim = " +
                     std::to_string(so.dense_max_dim) + " (raise dense-max-dim to form d x d Hessians)");
}

// Distinct random streams of the matrix-free solves, keyed by the tree node they serve.
inline std::uint64_t SolveSeed(std::uint64_t seed, long node) {
  return seed * 0x100000001B3ull + static_cast<std::uint64_t>(node) + 1;
}

inline EvalStatus SearchSpectrumAt(Objective& obj, const Vector& x, const SpectrumOptions& so, Spectrum* out,
                                   const Matrix& seeds = Matrix(), std::uint64_t seed = 0,
                                   EigenSolveSummary* summary = nullptr) {
  const int d = static_cast<int>(x.size());
  if (so.UseDense(d)) {
    if (d > so.dense_max_dim) return EvalStatus::kFailed;  // the guard (CheckSpectrumOptions)
    return SpectrumAt(obj, x, out);
  }
  EigenSolveSummary sum;
  *out = PartialSpectrumAt(obj, x, so, seeds.rows() == d ? seeds : Matrix(d, 0), seed, &sum);
  if (summary) *summary = sum;
  if (sum.status != EvalStatus::kOk) return sum.status;
  return out->ok ? EvalStatus::kOk : EvalStatus::kFailed;
}

// lambda_min at x to the options' tolerance (one eigenpair, matrix-free; dense when chosen).
inline EvalStatus MinEigenvalueAt(Objective& obj, const Vector& x, const SpectrumOptions& so, double* lambda_min,
                                  std::uint64_t seed = 0) {
  SpectrumOptions one = so;
  one.eigenpairs = 1;
  Spectrum s;
  const EvalStatus st = SearchSpectrumAt(obj, x, one, &s, Matrix(), seed);
  if (st == EvalStatus::kOk) *lambda_min = s.min_value();
  return st;
}

}  // namespace ridgerider
