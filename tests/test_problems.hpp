// Small landscapes used only by tests.
#pragma once

#include <cmath>

#include "ridgerider/autodiff.hpp"

namespace ridgerider::testing {

// A saddle at the origin whose Hessian eigenvectors rotate as x moves: the coupling term
// c * x * y * (x + y) mixes the axes more the further a ride goes.
struct RotatingFormula {
  template <class T>
  T operator()(const Eigen::Matrix<T, Eigen::Dynamic, 1>& p) const {
    const T& x = p[0];
    const T& y = p[1];
    return -1.5 * x * x + 0.5 * y * y + 0.25 * x * x * x * x + 0.25 * y * y * y * y +
           0.8 * x * y * (x + y) + 0.3 * x * x * y * y;
  }
};

// The tilted double well (x^2 - 1)^2 + 0.25 x + 2 y^2, but NaN wherever x > 0.5: the ride
// towards positive x meets a NaN mid-way.
struct NanRegionFormula {
  template <class T>
  T operator()(const Eigen::Matrix<T, Eigen::Dynamic, 1>& p) const {
    using std::log;
    using std::sqrt;
    const T base = (p[0] * p[0] - 1.0) * (p[0] * p[0] - 1.0) + 0.25 * p[0] + 2.0 * p[1] * p[1];
    // sqrt(0.5 - x) is NaN for x > 0.5; multiplied by 0 it leaves the loss unchanged elsewhere.
    return base + 0.0 * sqrt(0.5 - p[0]);
  }
};

}  // namespace ridgerider::testing
