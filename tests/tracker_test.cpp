// The warm-started ridge tracker (matrix-free UpdateRidge): after a small move of the point it
// re-solves the followed eigenvector from the previous one with a few HVPs, and agrees with a
// fresh dense solve there.
#include <gtest/gtest.h>

#include "ridgerider/problems/registry.hpp"
#include "ridgerider/problems/tanh_mlp.hpp"
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
  double cosine = 0, eigenvalue_error = 0;
  long hvps = 0;
  bool lost = true;
};

TrackCase TrackAfterMove(Objective& obj, const Vector& x, double move, int ridge, const SpectrumOptions& so) {
  Spectrum before, after;
  EXPECT_EQ(SpectrumAt(obj, x, &before), EvalStatus::kOk);
  KeyedRng rng(9, 0);
  Vector dx = rng.NormalVector(obj.dim());
  const Vector y = x + move * dx / dx.norm();
  EXPECT_EQ(SpectrumAt(obj, y, &after), EvalStatus::kOk);
  const Vector e = before.vectors.col(ridge);
  RidgeTracker tracker(so, 1e-6, before.values[ridge]);
  TrackedRidge t;
  const long h0 = obj.counts().hvps;
  EXPECT_EQ(tracker.Update(obj, y, e, 0.5, &t), EvalStatus::kOk);
  TrackCase c;
  c.hvps = obj.counts().hvps - h0;
  EXPECT_EQ(c.hvps, tracker.hvps());
  const TrackedRidge fresh = UpdateRidge(after, e, RidgeOptions{}, 0.5);
  c.cosine = std::abs(t.direction.dot(fresh.direction));
  c.eigenvalue_error = std::abs(t.eigenvalue - fresh.eigenvalue);
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
