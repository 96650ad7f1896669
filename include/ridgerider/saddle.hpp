// The MIS finder: from a start that is already symmetric, minimise |g(x)|^2 so the start
// becomes an exact stationary point without breaking the symmetry (the iterates stay in the
// symmetric subspace because g and H respect it). Levenberg-Marquardt on the residual g with
// Jacobian H: solve (H^2 + mu I) dx = -H g, accept when |g| falls. Unlike gradient descent on
// |g|^2 this converges quadratically to saddles as readily as to minima.
#pragma once

#include <algorithm>
#include <cmath>

#include "ridgerider/options.hpp"
#include "ridgerider/rng.hpp"
#include "ridgerider/spectrum/dense.hpp"

namespace ridgerider {

struct MisResult {
  Vector x;
  double loss = 0;
  double grad_norm_start = 0;
  double grad_norm = 0;
  int iterations = 0;
  bool converged = false;
  EvalStatus status = EvalStatus::kOk;
};

// Node id of the MIS search in the keyed random stream (tree nodes start at 1).
constexpr std::uint64_t kMisNodeId = 0;

inline MisResult FindMis(Objective& obj, Vector x, const MisOptions& o, std::uint64_t seed) {
  MisResult r;
  if (o.jitter > 0) {
    KeyedRng rng(seed, kMisNodeId);
    x += o.jitter * rng.NormalVector(static_cast<int>(x.size()));
  }
  Vector g;
  r.status = obj.ValueAndGradient(x, &r.loss, &g);
  r.grad_norm_start = g.norm();
  double mu = 1e-6;
  for (; r.status == EvalStatus::kOk && r.iterations < o.max_iterations; ++r.iterations) {
    if (g.norm() <= o.grad_tolerance) break;
    Matrix h;
    if ((r.status = obj.Hessian(x, &h)) != EvalStatus::kOk) break;
    const Matrix h2 = h * h;
    const double scale = std::max(1.0, h2.diagonal().maxCoeff());
    bool accepted = false;
    for (int k = 0; k < 40 && !accepted; ++k) {
      Matrix a = h2;
      a.diagonal().array() += mu * scale;
      const Vector dx = a.ldlt().solve(-(h * g));
      double fn = 0;
      Vector gn;
      if (dx.allFinite() && obj.ValueAndGradient(x + dx, &fn, &gn) == EvalStatus::kOk &&
          gn.norm() < g.norm()) {
        x += dx;
        g = gn;
        r.loss = fn;
        mu = std::max(mu / 10, 1e-15);
        accepted = true;
      } else {
        mu *= 10;
      }
    }
    if (!accepted) break;
  }
  r.x = x;
  r.grad_norm = g.norm();
  r.converged = r.grad_norm <= o.grad_tolerance;
  return r;
}

}  // namespace ridgerider
