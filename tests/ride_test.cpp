#include <gtest/gtest.h>

#include "ridgerider/problems/registry.hpp"
#include "ridgerider/ride.hpp"
#include "test_problems.hpp"

namespace ridgerider {
namespace {

// Records every step and, at each, a fresh dense solve to compare the tracked ridge against.
struct Recorder : ExploreCallback {
  Objective* obj = nullptr;
  std::vector<StepEvent> steps;
  std::vector<Vector> points;
  std::vector<double> fresh_eigenvalue_gap, fresh_residual;
  CallbackAction OnStep(const StepEvent& e) override {
    steps.push_back(e);
    points.push_back(*e.x);
    Matrix h;
    obj->Hessian(*e.x, &h);
    Spectrum s = DenseSpectrum(h);
    // The tracked eigenvalue must be one of the fresh ones.
    fresh_eigenvalue_gap.push_back((s.values.array() - e.eigenvalue).abs().minCoeff());
    return CallbackAction::kContinue;
  }
};

RideStart StartAt(Objective& obj, const Vector& x, int ridge, int sign) {
  Spectrum s;
  SpectrumAt(obj, x, &s);
  RideStart rs;
  rs.node = 1;
  rs.x = x;
  obj.ValueAndGradient(x, &rs.loss, &rs.grad);
  rs.direction = sign * s.vectors.col(ridge);
  rs.eigenvalue = s.values[ridge];
  return rs;
}

class RotatingRide : public ::testing::TestWithParam<StepRule> {};

TEST_P(RotatingRide, TrackedRidgeIsAFreshEigenvectorAndLossFalls) {
  auto obj = MakeAutoDiffObjective(2, "rotating", testing::RotatingFormula{});
  ExploreOptions o;
  o.ride.step_rule = GetParam();
  o.ride.step_size = 0.02;
  Recorder rec;
  rec.obj = &obj;
  // Ride the negative eigenvector out of the saddle at the origin, and record the tracked
  // direction via the objective's Hessian at each accepted point.
  RideOutcome out = RideRidge(obj, StartAt(obj, Vector::Zero(2), 0, +1), o, &rec, {});
  ASSERT_GT(out.steps, 5);
  double prev_loss = 0;
  for (size_t k = 0; k < rec.steps.size(); ++k) {
    const StepEvent& e = rec.steps[k];
    EXPECT_LT(rec.fresh_eigenvalue_gap[k], 1e-10) << "step " << k;
    if (e.overlap > 0 && e.eigenvalue < 0) EXPECT_LT(e.loss, prev_loss) << "step " << k;
    prev_loss = e.loss;
  }
  // The landscape really turns the ridge: the last displacement is >5 degrees off the first.
  const size_t n = rec.points.size();
  const Vector first = rec.points[0].normalized();
  const Vector last = (rec.points[n - 1] - rec.points[n - 2]).normalized();
  EXPECT_GT(std::acos(std::abs(first.dot(last))), 0.09);
  EXPECT_EQ(out.reason, EndReason::kEigenvalueNonNegative);
}

INSTANTIATE_TEST_SUITE_P(StepRules, RotatingRide, ::testing::Values(StepRule::kFixed, StepRule::kTrustRadius));

TEST(Ride, TrackedDirectionMatchesFreshEigenvectorUpToSign) {
  auto obj = MakeAutoDiffObjective(2, "rotating", testing::RotatingFormula{});
  ExploreOptions o;
  o.ride.step_rule = StepRule::kFixed;
  o.ride.step_size = 0.01;
  // Walk the ride step by step through max_steps = k, comparing the direction the ride would
  // take next (the tracked eigenvector) with a fresh solve's eigenvector at the same point.
  RideStart rs = StartAt(obj, Vector::Zero(2), 0, +1);
  for (int k = 0; k < 40; ++k) {
    o.ride.max_steps = 1;
    RideOutcome out = RideRidge(obj, rs, o, nullptr, {});
    if (out.steps == 0 || out.reason == EndReason::kEigenvalueNonNegative) break;
    const TrackedRidge t = UpdateRidge(out.spectrum, rs.direction, o.ridge, o.ride.overlap_floor);
    Matrix h;
    obj.Hessian(out.x, &h);
    Eigen::SelfAdjointEigenSolver<Matrix> fresh(h);
    const int idx = std::abs(fresh.eigenvalues()[0] - t.eigenvalue) < std::abs(fresh.eigenvalues()[1] - t.eigenvalue) ? 0 : 1;
    EXPECT_NEAR(std::abs(fresh.eigenvectors().col(idx).dot(t.direction)), 1.0, 1e-12) << "step " << k;
    EXPECT_GT(t.direction.dot(rs.direction), 0.0);
    rs.x = out.x;
    rs.loss = out.loss;
    rs.grad = out.grad;
    rs.direction = t.direction;
    rs.eigenvalue = t.eigenvalue;
  }
}

TEST(Ride, NanMidRideEndsWithReasonAndKeepsLastGoodPoint) {
  auto obj = MakeAutoDiffObjective(2, "nan", testing::NanRegionFormula{});
  Problem dw = *MakeProblem("double-well");
  ExploreOptions o;
  o.ride.step_rule = StepRule::kFixed;
  RideStart rs = StartAt(obj, dw.saddle, 0, +1);
  if (rs.direction[0] < 0) rs.direction = -rs.direction;  // towards the NaN region
  RideOutcome out = RideRidge(obj, rs, o, nullptr, {});
  EXPECT_EQ(out.reason, EndReason::kNonFinite);
  EXPECT_GT(out.steps, 0);
  EXPECT_LE(out.x[0], 0.5);
  EXPECT_TRUE(std::isfinite(out.loss));
}

TEST(Ride, StepCapAndBudgetEndRides) {
  Problem p = *MakeProblem("toy2d");
  ExploreOptions o;
  o.ride.step_rule = StepRule::kFixed;
  o.ride.step_size = 0.001;
  o.ride.max_steps = 3;
  RideOutcome out = RideRidge(*p.objective, StartAt(*p.objective, p.saddle, 0, 1), o, nullptr, {});
  EXPECT_EQ(out.reason, EndReason::kMaxSteps);
  EXPECT_EQ(out.steps, 3);
  o.ride.max_steps = 100;
  int calls = 0;
  out = RideRidge(*p.objective, StartAt(*p.objective, p.saddle, 0, 1), o, nullptr, [&] { return ++calls <= 2; });
  EXPECT_EQ(out.reason, EndReason::kBudget);
  EXPECT_EQ(out.steps, 2);
}

}  // namespace
}  // namespace ridgerider
