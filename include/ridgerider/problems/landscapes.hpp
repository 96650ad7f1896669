// Analytic landscapes with known stationary points. Each formula is written once, templated on
// the scalar, and differentiated exactly by AutoDiffObjective.
#pragma once

#include <cmath>

#include "ridgerider/autodiff.hpp"
#include "ridgerider/problems/problem.hpp"
#include "ridgerider/rng.hpp"

namespace ridgerider::problems {

// Four wells around a maximum at the origin, tilted so the wells differ in depth and the
// Hessian's eigenvectors rotate along every ride (the 2-D figure of the paper, in spirit).
struct Toy2dFormula {
  template <class T>
  T operator()(const Eigen::Matrix<T, Eigen::Dynamic, 1>& p) const {
    const T& x = p[0];
    const T& y = p[1];
    return (x * x - 1.0) * (x * x - 1.0) + (y * y - 1.0) * (y * y - 1.0) + 0.5 * x * y +
           0.3 * x * x * y;
  }
};

// One index-1 saddle between two wells of different depth.
struct DoubleWellFormula {
  template <class T>
  T operator()(const Eigen::Matrix<T, Eigen::Dynamic, 1>& p) const {
    return (p[0] * p[0] - 1.0) * (p[0] * p[0] - 1.0) + 0.25 * p[0] + 2.0 * p[1] * p[1];
  }
};

// Himmelblau's function: a local maximum, four saddles, four minima.
struct HimmelblauFormula {
  template <class T>
  T operator()(const Eigen::Matrix<T, Eigen::Dynamic, 1>& p) const {
    const T a = p[0] * p[0] + p[1] - 11.0;
    const T b = p[0] + p[1] * p[1] - 7.0;
    return a * a + b * b;
  }
};

// Prescribed spectrum at the origin: L = sum_i lambda_i z_i^2 / 2 + [lambda_i < 0] z_i^4 / 4
// with z = Q^T x for a fixed rotation Q. The Hessian at 0 is Q diag(lambda) Q^T; the minima
// are at z_i = +-sqrt(-lambda_i) for the negative lambda_i, z_i = 0 otherwise.
struct QuadraticFormula {
  Matrix q;       // columns: eigenvectors at the origin
  Vector lambda;  // eigenvalues at the origin
  template <class T>
  T operator()(const Eigen::Matrix<T, Eigen::Dynamic, 1>& x) const {
    T sum = T(0.0);
    for (int i = 0; i < lambda.size(); ++i) {
      T z = T(0.0);
      for (int j = 0; j < x.size(); ++j) z += q(j, i) * x[j];
      sum += 0.5 * lambda[i] * z * z;
      if (lambda[i] < 0) sum += 0.25 * z * z * z * z;
    }
    return sum;
  }
};

// d coupled double wells: a maximum at the origin and 2^d minima near the corners.
struct WellsFormula {
  double coupling = 0.3;
  template <class T>
  T operator()(const Eigen::Matrix<T, Eigen::Dynamic, 1>& x) const {
    T sum = T(0.0);
    for (int i = 0; i < x.size(); ++i) sum += (x[i] * x[i] - 1.0) * (x[i] * x[i] - 1.0);
    for (int i = 0; i + 1 < x.size(); ++i) sum += coupling * x[i] * x[i + 1];
    return sum;
  }
};

// A 1-input, 3-unit tanh network y(t) = sum_j v_j tanh(w_j t) fitted by least squares.
// Parameters x = (w_1, w_2, w_3, v_1, v_2, v_3). Where all units are equal the loss is
// symmetric under the 3! unit permutations: the antisymmetric directions form a 2-dimensional
// representation, so their Hessian eigenvalues come in equal pairs.
struct TanhNetFormula {
  Vector inputs, targets;
  double weight_decay = 0.0;  // makes the minima isolated (no trade-off between equal units)
  template <class T>
  T operator()(const Eigen::Matrix<T, Eigen::Dynamic, 1>& x) const {
    using std::tanh;
    T sum = T(0.0);
    for (int k = 0; k < inputs.size(); ++k) {
      T y = T(0.0);
      for (int j = 0; j < 3; ++j) y += x[3 + j] * tanh(x[j] * inputs[k]);
      const T r = y - targets[k];
      sum += r * r;
    }
    T decay = T(0.0);
    for (int i = 0; i < x.size(); ++i) decay += x[i] * x[i];
    return sum / (2.0 * static_cast<double>(inputs.size())) + 0.5 * weight_decay * decay;
  }
};

}  // namespace ridgerider::problems
