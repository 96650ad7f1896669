// Dense symmetric eigendecomposition (Eigen's SelfAdjointEigenSolver): eigenvalues ascending,
// so the most negative curvature comes first. Used by the exact path, where d is small enough
// that forming the Hessian is cheaper than any iterative method.
#pragma once

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "ridgerider/objective.hpp"

namespace ridgerider {

struct Spectrum {
  Vector values;   // ascending
  Matrix vectors;  // column i pairs with values[i], unit norm
  bool ok = false;
  // Matrix-free solves: only the smallest size() of the d eigenpairs (GetRidges then sees the
  // most negative ones only).
  bool partial = false;
  int size() const { return static_cast<int>(values.size()); }
  double min_value() const { return values.size() ? values[0] : 0.0; }
};

// [begin, end) index ranges of eigenvalue clusters in an ascending spectrum.
inline std::vector<std::pair<int, int>> Clusters(const Vector& values, double tolerance) {
  std::vector<std::pair<int, int>> out;
  const int n = static_cast<int>(values.size());
  int begin = 0;
  for (int i = 1; i <= n; ++i) {
    if (i == n ||
        values[i] - values[begin] > tolerance * std::max(1.0, std::abs(values[begin]))) {
      out.emplace_back(begin, i);
      begin = i;
    }
  }
  return out;
}

inline Spectrum DenseSpectrum(const Matrix& h) {
  Spectrum s;
  Eigen::SelfAdjointEigenSolver<Matrix> solver(h, Eigen::ComputeEigenvectors);
  if (solver.info() != Eigen::Success) return s;
  s.values = solver.eigenvalues();
  s.vectors = solver.eigenvectors();
  s.ok = s.values.allFinite() && s.vectors.allFinite();
  return s;
}

// Hessian at x (dense if the objective has one, else d HVPs) and its spectrum.
inline EvalStatus SpectrumAt(Objective& obj, const Vector& x, Spectrum* out) {
  Matrix h;
  EvalStatus s = obj.Hessian(x, &h);
  if (s != EvalStatus::kOk) return s;
  *out = DenseSpectrum(h);
  return out->ok ? EvalStatus::kOk : EvalStatus::kFailed;
}

}  // namespace ridgerider
