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

namespace ridgerider {

// Settling a ride's end onto the stationary point ahead of it. Newton's step -H^-1 g heads for
// the stationary point whose negative-curvature directions are those of H here: it descends
// along positive curvature and climbs to the crest along negative curvature. Eigenvalues with
// |lambda| < floor (the inflection a ride stops at) are treated as +floor, so the step there
// keeps going downhill; the step is capped by a trust radius that doubles while |g| falls and
// halves when it does not.
inline MisResult SettleToStationary(Objective& obj, Vector x, int max_iterations, double grad_tolerance,
                                    double radius) {
  MisResult r;
  Vector g;
  r.status = obj.ValueAndGradient(x, &r.loss, &g);
  r.grad_norm_start = g.norm();
  for (; r.status == EvalStatus::kOk && r.iterations < max_iterations; ++r.iterations) {
    if (g.norm() <= grad_tolerance) break;
    Spectrum s;
    if ((r.status = SpectrumAt(obj, x, &s)) != EvalStatus::kOk) break;
    const double floor = 1e-3 * std::max(1.0, s.values.cwiseAbs().maxCoeff());
    Vector lam = s.values;
    for (Eigen::Index i = 0; i < lam.size(); ++i)
      if (std::abs(lam[i]) < floor) lam[i] = floor;
    const Vector step = -(s.vectors * (s.vectors.transpose() * g).cwiseQuotient(lam));
    bool accepted = false;
    for (int k = 0; k < 30 && !accepted; ++k) {
      const Vector dx = step.norm() > radius ? Vector(step * (radius / step.norm())) : step;
      double fn = 0;
      Vector gn;
      if (obj.ValueAndGradient(x + dx, &fn, &gn) == EvalStatus::kOk && gn.norm() < g.norm()) {
        x += dx;
        g = gn;
        r.loss = fn;
        if (dx.norm() >= 0.99 * radius) radius *= 2;
        accepted = true;
      } else {
        radius *= 0.5;
      }
    }
    if (!accepted) break;
  }
  r.x = x;
  r.grad_norm = g.norm();
  r.converged = r.grad_norm <= grad_tolerance;
  return r;
}

}  // namespace ridgerider
