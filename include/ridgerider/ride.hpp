// One ride: from a branch point, step along a ridge, re-track it at every new point
// (UpdateRidge), and stop when an end rule fires. The ride never raises: numerical trouble is
// an EndReason, and the last accepted point is always kept.
//
// Step rule. Along the ridge e with eigenvalue lambda < 0 the model of the loss is
// L(x + a e) ~ L + a g.e + a^2 lambda / 2, which keeps falling while g.e <= 0 -- true at a
// saddle (g = 0) and, to first order, after every step along e (g ~ a lambda e).
//
// Dense path: the full spectrum at every step, UpdateRidge picks the continuing eigenvector.
// Matrix-free path: RidgeTracker re-solves the ridge from the previous direction with a few
// HVPs per step; the k most negative eigenpairs are solved only where the ride ends (and where
// the gradient is small enough for the at-minimum rule), from a keyed random start (seeding
// it with the tracked ridge cost more HVPs for k >= 5, docs/benchmarks.md).
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>

#include "ridgerider/callbacks.hpp"
#include "ridgerider/options.hpp"
#include "ridgerider/ridges.hpp"
#include "ridgerider/spectrum/curvature.hpp"

namespace ridgerider {

struct RideStart {
  long node = 0;
  Vector x;
  double loss = 0;
  Vector grad;
  Vector direction;   // unit
  double eigenvalue = 0;
  // Distance from eigenvalue to the nearest other eigenvalue at x, for the tracker's gap-aware
  // rule (SpectrumOptions::track_cosine); 0: unknown (the fixed rule).
  double gap = 0;
};

struct RideOutcome {
  Vector x;
  double loss = 0;
  Vector grad;
  Spectrum spectrum;    // at x; valid (ok) whenever steps > 0 and the end was finite
                        // (matrix-free: the k most negative pairs, flagged partial)
  double eigenvalue = 0;
  Vector direction;     // the tracked ridge at x
  int steps = 0;
  EndReason reason = EndReason::kPending;
  bool abort = false;   // a callback asked to stop the whole search
  long track_hvps = 0;  // matrix-free: HVPs spent re-tracking the ridge (all trial steps)
  long tracks = 0;      // matrix-free: tracker solves (one per trial step that lowered the loss)
};

// budget_left() is asked before every trial step; false ends the ride with kBudget.
inline RideOutcome RideRidge(Objective& obj, const RideStart& start, const ExploreOptions& o,
                             ExploreCallback* callback, const std::function<bool()>& budget_left) {
  const RideOptions& ro = o.ride;
  const bool trust = ro.step_rule == StepRule::kTrustRadius;
  RideOutcome out;
  out.x = start.x;
  out.loss = start.loss;
  out.grad = start.grad;
  out.eigenvalue = start.eigenvalue;
  Vector& e = out.direction;
  e = start.direction;
  double alpha = ro.step_size;
  const bool dense = o.spectrum.UseDense(obj.dim());
  RidgeTracker tracker(o.spectrum, o.ridge.cluster_tolerance, start.eigenvalue);
  tracker.set_gap(start.gap);
  const std::uint64_t solve_seed = SolveSeed(o.seed, start.node);
  // Matrix-free: the spectrum at out.x, solved when a rule or the branch point needs it.
  // Unseeded: seeding with the tracked ridge was measured to cost more HVPs for k >= 5
  // (docs/benchmarks.md).
  const auto solve_here = [&]() {
    return SearchSpectrumAt(obj, out.x, o.spectrum, &out.spectrum, Matrix(), solve_seed);
  };

  while (true) {
    if (out.steps >= ro.max_steps) { out.reason = EndReason::kMaxSteps; break; }
    if (budget_left && !budget_left()) { out.reason = EndReason::kBudget; break; }
    const Vector x_new = out.x + alpha * e;
    double f_new = 0;
    Vector g_new;
    if (obj.ValueAndGradient(x_new, &f_new, &g_new) != EvalStatus::kOk) {
      out.reason = EndReason::kNonFinite;
      break;
    }
    // Shrinking helps only where the ridge starts downhill: with g.e > 0 and lambda < 0 a
    // shorter step rises more (the model a g.e + a^2 lambda / 2).
    const bool can_shrink = trust && alpha * 0.5 >= ro.min_step_size;
    if (!(f_new < out.loss)) {
      if (can_shrink && out.grad.dot(e) > 0 && out.steps == 0) {
        out.reason = EndReason::kLossIncreased;
        break;
      }
      if (can_shrink) { alpha *= 0.5; continue; }
      out.reason = EndReason::kLossIncreased;
      break;
    }
    Spectrum s;
    TrackedRidge t;
    if (dense) {
      if (SpectrumAt(obj, x_new, &s) != EvalStatus::kOk) {
        out.reason = EndReason::kNonFinite;
        break;
      }
      t = UpdateRidge(s, e, o.ridge, ro.overlap_floor);
    } else if (tracker.Update(obj, x_new, e, ro.overlap_floor, &t) != EvalStatus::kOk) {
      out.reason = EndReason::kNonFinite;
      break;
    }
    if (t.lost && can_shrink) { alpha *= 0.5; continue; }

    // Accept the step.
    const double predicted = alpha * out.grad.dot(e) + 0.5 * out.eigenvalue * alpha * alpha;
    const double actual = f_new - out.loss;
    out.x = x_new;
    out.loss = f_new;
    out.grad = g_new;
    out.spectrum = std::move(s);
    ++out.steps;
    if (callback) {
      StepEvent ev{start.node, out.steps, &out.x, f_new, t.eigenvalue, t.overlap, alpha, g_new.norm()};
      const CallbackAction a = callback->OnStep(ev);
      if (a == CallbackAction::kAbort) { out.abort = true; out.reason = EndReason::kAborted; break; }
      if (a == CallbackAction::kStopRide) { out.reason = EndReason::kStoppedByCallback; break; }
    }
    if (t.lost) { out.reason = EndReason::kOverlapLost; break; }
    e = t.direction;
    out.eigenvalue = t.eigenvalue;
    if (trust && predicted < 0) {
      const double ratio = actual / predicted;
      if (ratio > 0.75) alpha = std::min(2.0 * alpha, ro.max_step_size);
      else if (ratio < 0.25) alpha = std::max(0.5 * alpha, ro.min_step_size);
    }
    if (out.grad.norm() < ro.grad_tolerance && !dense && solve_here() != EvalStatus::kOk) {
      out.reason = EndReason::kNonFinite;
      break;
    }
    if (out.grad.norm() < ro.grad_tolerance &&
        out.spectrum.min_value() >= -o.ridge.eigen_threshold) {
      out.reason = EndReason::kAtMinimum;
      break;
    }
    if (out.eigenvalue >= -o.ridge.eigen_threshold) {
      out.reason = EndReason::kEigenvalueNonNegative;
      break;
    }
  }
  out.track_hvps = tracker.hvps();
  out.tracks = tracker.updates();
  // Matrix-free: the branch point's spectrum, unless the ride ended without one.
  const bool ends_cleanly = out.reason != EndReason::kNonFinite && out.reason != EndReason::kBudget &&
                            out.reason != EndReason::kAborted;
  if (!dense && out.steps > 0 && ends_cleanly && !out.spectrum.ok && solve_here() != EvalStatus::kOk)
    out.spectrum.ok = false;
  return out;
}

}  // namespace ridgerider
