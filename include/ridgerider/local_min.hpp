// Local minimisation for leaves: modified Newton (eigenvalues replaced by max(|lambda|, delta),
// so every step descends) with an Armijo backtracking line search. Quadratic convergence near a
// minimum is what lets leaves be verified to a tight gradient tolerance.
// Matrix-free (no Hessian can be formed): L-BFGS with the same line search, then lambda_min by
// a Krylov solve for the verification.
#pragma once

#include <algorithm>
#include <cmath>

#include "ridgerider/options.hpp"
#include <deque>

#include "ridgerider/spectrum/curvature.hpp"

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


// Loss, |g| and lambda_min at x, lambda_min from the spectrum the options choose.
inline StationaryCheck CheckPoint(Objective& obj, const Vector& x, const SpectrumOptions& so) {
  if (so.UseDense(static_cast<int>(x.size()))) return CheckPoint(obj, x);
  StationaryCheck c;
  Vector g;
  c.status = obj.ValueAndGradient(x, &c.loss, &g);
  if (c.status != EvalStatus::kOk) return c;
  c.grad_norm = g.norm();
  c.status = MinEigenvalueAt(obj, x, so, &c.min_eigenvalue);
  return c;
}

// L-BFGS (10 pairs) with Armijo backtracking, for leaves where no Hessian may be formed. Stops at
// |g| <= grad_tolerance, after max_iterations, when no step lowers the loss, or, like Polish,
// once it has gone 100x past its start scale (a loss unbounded below). No verification: r.check
// is left empty (PolishLbfgs adds it).
inline PolishResult MinimizeLbfgs(Objective& obj, Vector x, int max_iterations, double grad_tolerance) {
  PolishResult r;
  double f = 0;
  Vector g;
  if (obj.ValueAndGradient(x, &f, &g) != EvalStatus::kOk) {
    r.x = x;
    return r;
  }
  const Vector x0 = x;
  const double reach = 100.0 * std::max(1.0, x0.norm());
  std::deque<std::pair<Vector, Vector>> pairs;  // (s, y), newest last
  for (; r.iterations < max_iterations; ++r.iterations) {
    if (g.norm() <= grad_tolerance || (x - x0).norm() > reach) break;
    // Two-loop recursion: p = -H_k g.
    Vector q = g;
    std::vector<double> alpha(pairs.size());
    for (int i = static_cast<int>(pairs.size()) - 1; i >= 0; --i) {
      const auto& [sv, yv] = pairs[i];
      alpha[i] = sv.dot(q) / yv.dot(sv);
      q -= alpha[i] * yv;
    }
    if (!pairs.empty()) {
      const auto& [sv, yv] = pairs.back();
      q *= sv.dot(yv) / yv.squaredNorm();
    } else {
      q *= std::min(1.0, std::max(1.0, x.norm()) / g.norm());  // first step: bounded length
    }
    for (size_t i = 0; i < pairs.size(); ++i) {
      const auto& [sv, yv] = pairs[i];
      const double beta = yv.dot(q) / yv.dot(sv);
      q += (alpha[i] - beta) * sv;
    }
    Vector p = -q;
    double slope = g.dot(p);
    if (!(slope < 0)) {  // not a descent direction (round-off): restart from steepest descent
      pairs.clear();
      p = -g * std::min(1.0, std::max(1.0, x.norm()) / g.norm());
      slope = g.dot(p);
    }
    double t = 1.0, fn = 0;
    Vector gn, xn;
    bool accepted = false;
    const double negligible = 1e-15 * std::max(1.0, x.norm());
    for (int k = 0; k < 60 && t * p.norm() > negligible; ++k, t *= 0.5) {
      xn = x + t * p;
      if (obj.ValueAndGradient(xn, &fn, &gn) == EvalStatus::kOk && fn <= f + 1e-4 * t * slope) {
        accepted = true;
        break;
      }
    }
    if (!accepted) break;
    const Vector sv = xn - x, yv = gn - g;
    if (sv.dot(yv) > 1e-12 * sv.norm() * yv.norm()) {  // keep H_k positive definite
      pairs.emplace_back(sv, yv);
      if (pairs.size() > 10) pairs.pop_front();
    }
    const bool stalled = f - fn <= 1e-16 * std::max(1.0, std::abs(f)) && gn.norm() >= g.norm();
    x = xn;
    f = fn;
    g = gn;
    if (stalled) break;
  }
  r.x = x;
  r.converged = g.norm() <= grad_tolerance;
  return r;
}

// MinimizeLbfgs, then the leaf's verification (lambda_min by a matrix-free solve).
inline PolishResult PolishLbfgs(Objective& obj, const Vector& x, const LeafOptions& o, const SpectrumOptions& so) {
  PolishResult r = MinimizeLbfgs(obj, x, o.polish_max_iterations, o.polish_grad_tolerance);
  r.check = CheckPoint(obj, r.x, so);
  return r;
}

// The leaf polish the spectrum options allow: modified Newton on the dense path, L-BFGS else.
inline PolishResult Polish(Objective& obj, const Vector& x, const LeafOptions& o, const SpectrumOptions& so) {
  if (so.UseDense(static_cast<int>(x.size()))) return Polish(obj, x, o);
  return PolishLbfgs(obj, x, o, so);
}

}  // namespace ridgerider
