// The matrix-free UpdateRidge: after a ride step the followed eigenvector has moved a little, so
// instead of a fresh solve it is re-solved from the previous direction by KrylovTrack -- the
// Rayleigh quotient of the previous direction costs one HVP, and each further HVP extends the
// Krylov space seeded with it until the tracked Ritz pair's residual is below the tolerance.
// With track_block_size > 1 the previous step's neighbouring Ritz vectors seed the space too
// (block Rayleigh-Ritz), which keeps a nearby eigenvalue from being confused with the ridge.
// The eigenvector moves smoothly along a ride, so after two accepted steps the solve starts
// from the ridge extrapolated linearly along the ride (error O(step^2) instead of O(step));
// the previous direction is still what the overlap is measured against.
// Stopping rule: the residual r of the tracked Ritz pair below track_tolerance x |lambda at the
// ride's start| (fixed), or, with track_cosine > 0 and the ridge's gap known (set_gap), below
// what bounds the angle to the true eigenvector: sin <= r / (gap - r) (Davis-Kahan, for the
// Ritz value within r of the eigenvalue), so r <= s gap / (1 + s), s = sqrt(1 - cosine^2).
// Where the ridge is separated that is looser than the fixed rule (fewer HVPs per step,
// docs/benchmarks.md); where it is not, tighter. The gap: see KrylovOptions::gap.
// Counts what each step cost, so rides can report HVPs per step.
#pragma once

#include <algorithm>
#include <cmath>

#include "ridgerider/options.hpp"
#include "ridgerider/spectrum/krylov.hpp"

namespace ridgerider {

// One ridge at a new point (the dense UpdateRidge returns the same record, ridges.hpp).
struct TrackedRidge {
  Vector direction;      // unit, oriented so that <direction, previous> > 0
  double eigenvalue = 0; // Rayleigh quotient of direction
  double overlap = 0;    // <direction, previous>, in [0, 1]
  int index = 0;         // first eigenvalue of the matched cluster (dense path only)
  bool lost = false;     // overlap < floor: an eigenvalue crossing took the ridge away
};

class RidgeTracker {
 public:
  // scale: the curvature the residual tolerance is relative to -- the ridge's eigenvalue where
  // the ride started, so that a ridge of small curvature in a Hessian of large norm is still
  // resolved (a tolerance relative to |H| would accept a mix of it and its neighbours). 0: the
  // largest |Ritz value| of each solve.
  RidgeTracker(const SpectrumOptions& so, double cluster_tolerance, double scale)
      : so_(so), cluster_tolerance_(cluster_tolerance), scale_(std::abs(scale)) {}

  // The gap-aware rule (track_cosine > 0): the distance from the ridge's eigenvalue at the
  // ride's start (the constructor's `scale`) to the nearest other eigenvalue there; 0: unknown.
  void set_gap(double gap) { gap0_ = std::max(0.0, gap); }
  // Whether the gap rule applies (track_cosine > 0 and a gap given). The start's gap is kept
  // along the ride: the Ritz values of each solve lower it where they show a nearer neighbour
  // (KrylovOptions::gap), and the bound's slack covers the rest (docs/benchmarks.md: the
  // measured angles are 3-5x below r / gap).
  bool UsesGapRule() const { return so_.track_cosine > 0 && gap0_ > 0; }
  // The ridge continuing `previous` (unit) at x. kOk unless an HVP was non-finite or failed.
  EvalStatus Update(Objective& obj, const Vector& x, const Vector& previous, double overlap_floor,
                    TrackedRidge* out) {
    // The ride accepted the last update iff it now follows that update's direction.
    if (last_x_.size() == x.size() && previous.size() == last_dir_.size() && previous == last_dir_) {
      if (cur_x_.size() == x.size()) {
        h_old_ = (last_x_ - cur_x_).norm();
        prev_dir_ = cur_dir_;
      }
      cur_x_ = last_x_;
      cur_dir_ = last_dir_;
    }
    Vector start;
    if (extrapolate_ && prev_dir_.size() == x.size() && h_old_ > 0 && previous == cur_dir_) {
      start = previous + ((x - cur_x_).norm() / h_old_) * (previous - prev_dir_);
      start.normalize();
    }
    HessianOperator op(obj, x);
    KrylovOptions ko;
    ko.block_size = so_.track_block_size;
    ko.max_basis = so_.track_max_hvps + so_.track_block_size;
    ko.max_hvps = so_.track_max_hvps;
    ko.tolerance = so_.track_tolerance;
    ko.scale = scale_;
    if (UsesGapRule()) {
      const double c = so_.track_cosine;
      ko.gap = gap0_;
      ko.sin_angle = std::sqrt((1 - c) * (1 + c));
    }
    ko.cluster_tolerance = cluster_tolerance_;
    EigenSolveSummary sum;
    const Matrix seeds = neighbours_.cols() > 0 ? neighbours_ : Matrix(x.size(), 0);
    TrackedPair p = KrylovTrack(op, previous, start, seeds, so_.track_block_size - 1, ko, &sum);
    last_ = sum;
    last_residual_ = p.residual;
    last_gap_ = p.gap;
    hvps_ += sum.hvps;
    ++updates_;
    unconverged_ += sum.converged ? 0 : 1;
    if (sum.status != EvalStatus::kOk) return sum.status;
    neighbours_ = std::move(p.neighbours);
    last_x_ = x;
    last_dir_ = p.direction;
    out->direction = std::move(p.direction);
    out->eigenvalue = p.eigenvalue;
    out->overlap = p.overlap;
    out->index = 0;
    out->lost = p.overlap < overlap_floor;
    return EvalStatus::kOk;
  }

  long hvps() const { return hvps_; }            // all Update calls together
  long updates() const { return updates_; }
  long unconverged() const { return unconverged_; }  // updates that hit track_max_hvps
  double last_gap() const { return last_gap_; }  // gap rule: the gap the last solve stopped on
  const EigenSolveSummary& last() const { return last_; }
  double last_residual() const { return last_residual_; }
  double scale() const { return scale_; }
  // Start each solve from the linear extrapolation of the last two accepted directions (default).
  void set_extrapolate(bool on) { extrapolate_ = on; }

 private:
  SpectrumOptions so_;
  double cluster_tolerance_;
  double scale_;
  Matrix neighbours_;
  EigenSolveSummary last_;
  double last_residual_ = 0;
  double gap0_ = 0, last_gap_ = 0;
  long hvps_ = 0, updates_ = 0, unconverged_ = 0;
  bool extrapolate_ = true;
  // The last update (x, direction); the accepted point the ride stands on and its direction;
  // the direction accepted before it and the length of the step between the two.
  Vector last_x_, last_dir_, cur_x_, cur_dir_, prev_dir_;
  double h_old_ = 0;
};

}  // namespace ridgerider
