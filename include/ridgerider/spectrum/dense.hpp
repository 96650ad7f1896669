// Dense symmetric eigendecomposition (Eigen's SelfAdjointEigenSolver): eigenvalues ascending,
// so the most negative curvature comes first. Used by the exact path, where d is small enough
// that forming the Hessian is cheaper than any iterative method.
#pragma once

#include <Eigen/Eigenvalues>

#include "ridgerider/objective.hpp"

namespace ridgerider {

struct Spectrum {
  Vector values;   // ascending
  Matrix vectors;  // column i pairs with values[i], unit norm
  bool ok = false;
  int size() const { return static_cast<int>(values.size()); }
  double min_value() const { return values.size() ? values[0] : 0.0; }
};

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
