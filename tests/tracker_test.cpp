// The warm-started ridge tracker (matrix-free UpdateRidge): after a small move of the point it
// re-solves the followed eigenvector from the previous one with a few HVPs, and agrees with a
// fresh dense solve there.
#include <gtest/gtest.h>

#include "ridgerider/problems/registry.hpp"
#include "ridgerider/problems/tanh_mlp.hpp"
#include "ridgerider/ride.hpp"
#include "ridgerider/ridges.hpp"

namespace ridgerider {
namespace {

TanhMlpShape Net() {
  TanhMlpShape s;
  s.inputs = 6, s.hidden = 8, s.outputs = 3, s.samples = 40;  // d = 83
  return s;
}

// From the most negative eigenvector at x, a step of `move` along a random direction: the
// tracker's direction against the dense eigenvector continuing it.
struct TrackCase {
  double cosine = 0, eigenvalue_error = 0, residual = 0;
  long hvps = 0;
  bool lost = true;
};

// gap > 0: the tracker knows the ridge's gap (the gap rule, with so.track_cosine > 0).
TrackCase TrackAfterMove(Objective& obj, const Vector& x, double move, int ridge, const SpectrumOptions& so,
                         double gap = 0) {
  Spectrum before, after;
  EXPECT_EQ(SpectrumAt(obj, x, &before), EvalStatus::kOk);
  KeyedRng rng(9, 0);
  Vector dx = rng.NormalVector(obj.dim());
  const Vector y = x + move * dx / dx.norm();
  EXPECT_EQ(SpectrumAt(obj, y, &after), EvalStatus::kOk);
  const Vector e = before.vectors.col(ridge);
  RidgeTracker tracker(so, 1e-6, before.values[ridge]);
  tracker.set_gap(gap);
  TrackedRidge t;
  const long h0 = obj.counts().hvps;
  EXPECT_EQ(tracker.Update(obj, y, e, 0.5, &t), EvalStatus::kOk);
  TrackCase c;
  c.hvps = obj.counts().hvps - h0;
  EXPECT_EQ(c.hvps, tracker.hvps());
  const TrackedRidge fresh = UpdateRidge(after, e, RidgeOptions{}, 0.5);
  c.cosine = std::abs(t.direction.dot(fresh.direction));
  c.eigenvalue_error = std::abs(t.eigenvalue - fresh.eigenvalue);
  c.residual = tracker.last_residual();
  c.lost = t.lost;
  return c;
}

TEST(RidgeTracker, AgreesWithAFreshSolveAfterAStepWithFewHvps) {
  TanhMlpObjective obj(Net());
  const Vector x = TanhMlpObjective::InitialPoint(obj.shape(), 11, 1.5);
  SpectrumOptions so;
  for (int ridge : {0, 1}) {
    for (double move : {1e-3, 1e-2, 5e-2}) {
      const TrackCase c = TrackAfterMove(obj, x, move, ridge, so);
      EXPECT_FALSE(c.lost);
      EXPECT_GE(c.cosine, 0.999) << "ridge " << ridge << ", move " << move << ": " << c.hvps << " HVPs";
      EXPECT_LT(c.hvps, so.track_max_hvps) << "did not converge";
      std::printf("ridge %d, move %g: %ld HVPs, cosine %.8f\n", ridge, move, c.hvps, c.cosine);
      ::testing::Test::RecordProperty("hvps_ridge" + std::to_string(ridge) + "_move" + std::to_string(move),
                                      static_cast<int>(c.hvps));
    }
  }
}

TEST(RidgeTracker, TighterToleranceTracksTighter) {
  TanhMlpObjective obj(Net());
  const Vector x = TanhMlpObjective::InitialPoint(obj.shape(), 11, 1.5);
  SpectrumOptions loose, tight;
  tight.track_tolerance = 1e-6;
  tight.track_max_hvps = 60;
  const TrackCase a = TrackAfterMove(obj, x, 1e-2, 0, loose), b = TrackAfterMove(obj, x, 1e-2, 0, tight);
  EXPECT_GE(b.hvps, a.hvps);
  EXPECT_GT(b.cosine, 1 - 1e-9);
  EXPECT_LT(b.eigenvalue_error, 1e-9);
}

TEST(RidgeTracker, BlockTrackerAgreesToo) {
  TanhMlpObjective obj(Net());
  const Vector x = TanhMlpObjective::InitialPoint(obj.shape(), 11, 1.5);
  SpectrumOptions so;
  so.track_block_size = 2;
  const TrackCase c = TrackAfterMove(obj, x, 1e-2, 0, so);
  EXPECT_GE(c.cosine, 0.999);
  EXPECT_FALSE(c.lost);
}

// Along a ride the eigenvector moves smoothly: starting each solve from the last two accepted
// directions extrapolated saves HVPs and loses no accuracy. A rejected trial (the ride retries a
// shorter step from the same point and direction) must not become part of that history.
TEST(RidgeTracker, ExtrapolatingAlongTheRideSavesHvps) {
  TanhMlpObjective obj(Net());
  const Vector x0 = TanhMlpObjective::InitialPoint(obj.shape(), 11, 1.5);
  Spectrum s0;
  ASSERT_EQ(SpectrumAt(obj, x0, &s0), EvalStatus::kOk);
  long hvps[2] = {0, 0};
  for (int extrapolate : {0, 1}) {
    RidgeTracker tracker(SpectrumOptions{}, 1e-6, s0.values[0]);
    tracker.set_extrapolate(extrapolate != 0);
    Vector x = x0, e = s0.vectors.col(0);
    for (int step = 0; step < 12; ++step) {
      TrackedRidge t;
      if (step == 5) {  // a trial step the ride then rejects: 4x longer, result dropped
        ASSERT_EQ(tracker.Update(obj, x + 0.08 * e, e, 0.5, &t), EvalStatus::kOk);
      }
      x += 0.02 * e;
      ASSERT_EQ(tracker.Update(obj, x, e, 0.5, &t), EvalStatus::kOk);
      ASSERT_FALSE(t.lost);
      Spectrum fresh;
      ASSERT_EQ(SpectrumAt(obj, x, &fresh), EvalStatus::kOk);
      const TrackedRidge want = UpdateRidge(fresh, e, RidgeOptions{}, 0.5);
      EXPECT_GE(std::abs(t.direction.dot(want.direction)), 0.999) << "step " << step << ", extrapolate " << extrapolate;
      e = t.direction;
    }
    hvps[extrapolate] = tracker.hvps();
  }
  std::printf("12 steps of 0.02: %ld HVPs from the last direction, %ld extrapolated\n", hvps[0], hvps[1]);
  EXPECT_LT(hvps[1], hvps[0]);
}

// The gap-aware rule (track_cosine): along a ride on a separated ridge, every tracked direction is
// within the requested cosine of the dense eigenvector, and the rule, looser than the fixed one
// there, spends fewer HVPs.
TEST(RidgeTracker, GapRuleKeepsTheCosineWithFewerHvpsOnASeparatedRidge) {
  TanhMlpObjective obj(Net());
  const Vector x0 = TanhMlpObjective::InitialPoint(obj.shape(), 11, 1.5);
  Spectrum s0;
  ASSERT_EQ(SpectrumAt(obj, x0, &s0), EvalStatus::kOk);
  const double gap = s0.values[1] - s0.values[0];
  ASSERT_GT(gap, 0.02 * std::abs(s0.values[0]));  // separated: the premise of the test
  const double cosine = 0.999, s = std::sqrt(1 - cosine * cosine);
  long hvps[2] = {0, 0};
  double min_cos[2] = {1, 1};
  for (int rule : {0, 1}) {  // 0: fixed, 1: gap-aware
    SpectrumOptions so;
    if (rule == 1) so.track_cosine = cosine;
    RidgeTracker tracker(so, 1e-6, s0.values[0]);
    tracker.set_gap(gap);
    EXPECT_EQ(tracker.UsesGapRule(), rule == 1);
    Vector x = x0, e = s0.vectors.col(0);
    for (int step = 0; step < 12; ++step) {
      x += 0.01 * e;
      TrackedRidge t;
      ASSERT_EQ(tracker.Update(obj, x, e, 0.5, &t), EvalStatus::kOk);
      ASSERT_FALSE(t.lost);
      if (rule == 1) {  // stopped where the bound says so, on a gap no wider than the start's
        EXPECT_GT(tracker.last_gap(), 0);
        EXPECT_LE(tracker.last_gap(), gap);
        EXPECT_LE(tracker.last_residual(), s * tracker.last_gap() / (1 + s) * (1 + 1e-12));
      }
      Spectrum fresh;
      ASSERT_EQ(SpectrumAt(obj, x, &fresh), EvalStatus::kOk);
      const TrackedRidge want = UpdateRidge(fresh, e, RidgeOptions{}, 0.5);
      const double c = std::abs(t.direction.dot(want.direction));
      min_cos[rule] = std::min(min_cos[rule], c);
      if (rule == 1) EXPECT_GE(c, cosine) << "step " << step;
      e = t.direction;
    }
    hvps[rule] = tracker.hvps();
  }
  std::printf("12 steps of 0.01, gap %.3g: fixed rule %ld HVPs (min cos %.6f), gap rule %ld (min cos %.6f)\n", gap,
              hvps[0], min_cos[0], hvps[1], min_cos[1]);
  EXPECT_LT(hvps[1], hvps[0]);
}

// A narrow gap asks for a tighter residual than a wide one, and buys a closer direction; with no
// gap given the tracker keeps the fixed rule.
TEST(RidgeTracker, GapRuleTightensWhereTheGapIsNarrow) {
  TanhMlpObjective obj(Net());
  const Vector x = TanhMlpObjective::InitialPoint(obj.shape(), 11, 1.5);
  Spectrum s0;
  ASSERT_EQ(SpectrumAt(obj, x, &s0), EvalStatus::kOk);
  const double gap = s0.values[1] - s0.values[0];
  const auto track = [&](double cosine, double given_gap) {
    SpectrumOptions so;
    so.track_cosine = cosine;
    so.track_max_hvps = 60;
    return TrackAfterMove(obj, x, 0.03, 0, so, given_gap);
  };
  const TrackCase wide = track(0.999, gap), narrow = track(0.999, gap / 30), unknown = track(0.999, 0),
                  fixed = track(0, gap);
  const double s = std::sqrt(1 - 0.999 * 0.999);
  EXPECT_LE(narrow.residual, s * (gap / 30) / (1 + s));
  EXPECT_GT(narrow.hvps, wide.hvps);
  EXPECT_GE(wide.cosine, 0.999);
  EXPECT_GE(narrow.cosine, wide.cosine);
  EXPECT_EQ(unknown.hvps, fixed.hvps);  // no gap: the fixed rule, to the HVP
  EXPECT_DOUBLE_EQ(unknown.residual, fixed.residual);
}

// A matrix-free ride given the ridge's gap (RideStart::gap) tracks by the gap rule: the same
// steps, fewer HVPs, and it ends where the fixed rule's ride ends.
TEST(RidgeTracker, RideWithAGapUsesTheGapRule) {
  TanhMlpObjective obj(Net());
  const Vector x0 = TanhMlpObjective::InitialPoint(obj.shape(), 11, 1.5);
  Spectrum s0;
  ASSERT_EQ(SpectrumAt(obj, x0, &s0), EvalStatus::kOk);
  RideStart rs;
  rs.x = x0;
  ASSERT_EQ(obj.ValueAndGradient(x0, &rs.loss, &rs.grad), EvalStatus::kOk);
  rs.direction = s0.vectors.col(0);
  if (rs.grad.dot(rs.direction) > 0) rs.direction = -rs.direction;  // downhill: the loss falls
  rs.eigenvalue = s0.values[0];
  rs.gap = s0.values[1] - s0.values[0];
  ExploreOptions o;
  o.spectrum.method = SpectrumMethod::kMatrixFree;
  o.ride.step_rule = StepRule::kFixed;
  o.ride.step_size = 0.01;
  o.ride.max_steps = 12;
  const RideOutcome fixed = RideRidge(obj, rs, o, nullptr, {});
  o.spectrum.track_cosine = 0.999;
  const RideOutcome gap = RideRidge(obj, rs, o, nullptr, {});
  ASSERT_EQ(fixed.steps, 12) << static_cast<int>(fixed.reason);
  ASSERT_EQ(gap.steps, 12);
  std::printf("ride of 12 steps: fixed rule %ld HVPs, gap rule %ld\n", fixed.track_hvps, gap.track_hvps);
  EXPECT_LT(gap.track_hvps, fixed.track_hvps);
  EXPECT_GE(std::abs(gap.direction.dot(fixed.direction)), 0.999);
  // Both follow the ridge within acos(0.999) at every step: the ends within twice that angle
  // times the ride's length.
  EXPECT_LT((gap.x - fixed.x).norm(), 2 * std::sqrt(1 - 0.999 * 0.999) * 12 * 0.01);
}

// At the tanh-net saddle the ridges come as an exactly repeated pair: the tracker follows the
// previous direction's projection onto that eigenspace, as the dense UpdateRidge does.
TEST(RidgeTracker, FollowsTheProjectionOntoARepeatedEigenspace) {
  Problem p = *MakeProblem("tanh-net");
  Spectrum s;
  ASSERT_EQ(SpectrumAt(*p.objective, p.saddle, &s), EvalStatus::kOk);
  ASSERT_NEAR(s.values[0], s.values[1], 1e-9);
  const Vector mix = (0.8 * s.vectors.col(0) + 0.6 * s.vectors.col(1)).normalized();
  RidgeTracker tracker(SpectrumOptions{}, 1e-6, s.values[0]);
  TrackedRidge t;
  ASSERT_EQ(tracker.Update(*p.objective, p.saddle, mix, 0.5, &t), EvalStatus::kOk);
  EXPECT_GT(t.direction.dot(mix), 1 - 1e-8);  // already in the eigenspace: it stays
  EXPECT_NEAR(t.eigenvalue, s.values[0], 1e-8);
  EXPECT_LE(tracker.hvps(), 2);
}

}  // namespace
}  // namespace ridgerider
