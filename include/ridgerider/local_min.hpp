// Local minimisation for leaves: modified Newton (eigenvalues replaced by max(|lambda|, delta),
// so every step descends) with an Armijo backtracking line search. Quadratic convergence near a
// minimum is what lets leaves be verified to a tight gradient tolerance.
#pragma once

#include <algorithm>
#include <cmath>

#include "ridgerider/options.hpp"
#include "ridgerider/spectrum/dense.hpp"

namespace ridgerider {

struct StationaryCheck {
  double loss = 0;
  double grad_norm = 0;
  double min_eigenvalue = 0;
  EvalStatus status = EvalStatus::kOk;
};

// Loss, |g| and lambda_min at x.
inline StationaryCheck CheckPoint(Objective& obj, const Vector& x) {
  StationaryCheck c;
  Vector g;
  c.status = obj.ValueAndGradient(x, &c.loss, &g);
  if (c.status != EvalStatus::kOk) return c;
  c.grad_norm = g.norm();
  Spectrum s;
  c.status = SpectrumAt(obj, x, &s);
  if (c.status == EvalStatus::kOk) c.min_eigenvalue = s.min_value();
  return c;
}

struct PolishResult {
  Vector x;
  StationaryCheck check;
  int iterations = 0;
  bool converged = false;  // |g| reached the tolerance
};

inline PolishResult Polish(Objective& obj, Vector x, const LeafOptions& o) {
  PolishResult r;
  double f = 0;
  Vector g;
  if (obj.ValueAndGradient(x, &f, &g) != EvalStatus::kOk) {
    r.x = x;
    r.check = CheckPoint(obj, x);
    return r;
  }
  // A local minimiser that has gone 100 times further than the scale it started at is
  // following a loss unbounded below: stop and report the leaf unconverged.
  const Vector x0 = x;
  const double reach = 100.0 * std::max(1.0, x0.norm());
  for (; r.iterations < o.polish_max_iterations; ++r.iterations) {
    if (g.norm() <= o.polish_grad_tolerance || (x - x0).norm() > reach) break;
    Spectrum s;
    if (SpectrumAt(obj, x, &s) != EvalStatus::kOk) break;
    const double scale = std::max(1.0, s.values.cwiseAbs().maxCoeff());
    const double delta = 1e-8 * scale;
    const Vector inv = s.values.cwiseAbs().cwiseMax(delta).cwiseInverse();
    Vector p = -(s.vectors * (inv.asDiagonal() * (s.vectors.transpose() * g)));
    const double cap = std::max(1.0, x.norm());  // keep far-from-quadratic steps bounded
    if (p.norm() > cap) p *= cap / p.norm();
    const double slope = g.dot(p);
    double t = 1.0, fn = 0;
    Vector gn;
    bool accepted = false;
    // Backtrack until the step no longer changes x: at round-off level the loss cannot show a
    // decrease, and further halvings would only spend gradients.
    const double negligible = 1e-15 * std::max(1.0, x.norm());
    for (int k = 0; k < 60 && t * p.norm() > negligible; ++k, t *= 0.5) {
      const Vector xn = x + t * p;
      if (obj.ValueAndGradient(xn, &fn, &gn) == EvalStatus::kOk && fn <= f + 1e-4 * t * slope) {
        x = xn;
        accepted = true;
        break;
      }
    }
    if (!accepted) break;  // no further decrease representable: as polished as it gets
    const bool stalled = f - fn <= 1e-16 * std::max(1.0, std::abs(f)) && gn.norm() >= g.norm();
    f = fn;
    g = gn;
    if (stalled) break;
  }
  r.x = x;
  r.converged = g.norm() <= o.polish_grad_tolerance;
  r.check = CheckPoint(obj, x);
  return r;
}

}  // namespace ridgerider
