// The whole search on the matrix-free path (ridge tracker, Krylov branch points, L-BFGS polish,
// lambda_min verification by Krylov) against the dense path, and the guard that no d x d
// Hessian is formed above the dimension threshold.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "ridgerider/problems/registry.hpp"
#include "ridgerider/problems/tanh_mlp.hpp"
#include "ridgerider/tree.hpp"

namespace ridgerider {
namespace {

ExploreOptions MatrixFree(ExploreOptions o = {}) {
  o.spectrum.method = SpectrumMethod::kMatrixFree;
  return o;
}

std::vector<Vector> Minima(const Problem& p, const ExploreResult& r) {
  std::vector<Vector> out;
  for (const Solution& s : r.state.solutions)
    if (s.is_minimum) out.push_back(p.canonical ? p.canonical(s.x) : s.x);
  return out;
}

// A tanh MLP above a dense threshold of 50, small enough for dense reference solves.
TanhMlpShape SmallNet() {
  TanhMlpShape s;
  s.inputs = 6, s.hidden = 8, s.outputs = 3, s.samples = 40;  // d = 83
  return s;
}

bool Contains(const std::vector<Vector>& set, const Vector& v) {
  for (const Vector& s : set)
    if ((s - v).norm() < 1e-6) return true;
  return false;
}

class SameAsDense : public ::testing::TestWithParam<std::string> {};

// Settle is a dense-only step (Newton on the full spectrum), so the dense reference runs
// without it too: the same algorithm on both paths.
TEST_P(SameAsDense, FindsTheSameMinima) {
  Problem p = *MakeProblem(GetParam());
  ExploreOptions o;
  o.ride.settle = false;
  const ExploreResult dense = Explore(*p.objective, p.saddle, o);
  p.objective->ResetCounts();
  const ExploreResult mf = Explore(*p.objective, p.saddle, MatrixFree(o));
  EXPECT_EQ(mf.summary.spectrum_method, "matrix-free");
  EXPECT_EQ(mf.summary.polish_method, "lbfgs");
  EXPECT_EQ(dense.summary.spectrum_method, "dense");
  EXPECT_EQ(mf.summary.counts.hessians, 0);
  const std::vector<Vector> a = Minima(p, dense), b = Minima(p, mf);
  EXPECT_FALSE(a.empty());
  for (const Vector& m : a) EXPECT_TRUE(Contains(b, m)) << "matrix-free missed " << m.transpose();
  for (const Vector& m : b) EXPECT_TRUE(Contains(a, m)) << "matrix-free only " << m.transpose();
  for (const Solution& s : mf.state.solutions) EXPECT_TRUE(s.is_minimum) << s.x.transpose();
}

INSTANTIATE_TEST_SUITE_P(BuiltIns, SameAsDense, ::testing::Values("wells3d", "tanh-net", "quadratic", "toy2d"));

TEST(MatrixFree, ThreadsGiveTheSerialResult) {
  Problem p = *MakeProblem("wells3d");
  ExploreOptions o = MatrixFree();
  const ExploreResult one = Explore(*p.objective, p.saddle, o);
  o.tree.threads = 2;
  Problem q = *MakeProblem("wells3d");
  const ExploreResult two = Explore(*q.objective, q.saddle, o);
  ASSERT_EQ(one.state.nodes.size(), two.state.nodes.size());
  for (size_t i = 0; i < one.state.nodes.size(); ++i) {
    EXPECT_EQ(one.state.nodes[i].end_x, two.state.nodes[i].end_x);
    EXPECT_EQ(one.state.nodes[i].hvps, two.state.nodes[i].hvps);
  }
  EXPECT_EQ(one.summary.counts.hvps, two.summary.counts.hvps);
}

// --track-cosine in a whole search: every ride starts knowing its ridge's gap (the dense gaps at
// the root, to the solver's accuracy; unknown, 0, for the last solved pair), and the rides from
// the root, the same rides with either rule, spend fewer HVPs by the gap rule.
TEST(MatrixFree, GapRuleSearchCarriesEachRidgesGap) {
  const TanhMlpShape sh = SmallNet();
  TanhMlpObjective obj(sh);
  const Vector x0 = TanhMlpObjective::InitialPoint(sh, 11, 1.5);
  Matrix h;
  ASSERT_EQ(obj.Hessian(x0, &h), EvalStatus::kOk);
  const Spectrum dense = DenseSpectrum(h);
  ExploreOptions o = MatrixFree();
  o.spectrum.eigenpairs = 4;
  o.ride.step_rule = StepRule::kFixed;
  o.ride.step_size = 0.01;
  o.tree.max_rides = 6;
  o.leaf.polish_max_iterations = 50;
  const ExploreResult fixed = Explore(obj, x0, o);
  o.spectrum.track_cosine = 0.999;
  const ExploreResult gap = Explore(obj, x0, o);
  long fixed_hvps = 0, gap_hvps = 0, known = 0;
  size_t i = 0;
  for (; i < gap.state.nodes.size() && gap.state.nodes[i].parent == 0; ++i) {
    const RideNode &g = gap.state.nodes[i], &f = fixed.state.nodes[i];
    ASSERT_EQ(g.path, f.path);
    ASSERT_TRUE(g.done() && f.done());
    EXPECT_EQ(g.start_gap, f.start_gap);  // the option changes tracking, not the branch point
    const int k = g.path.back().index;
    if (k == o.spectrum.eigenpairs - 1) {
      EXPECT_EQ(g.start_gap, 0.0);  // its upper neighbour was not solved for
    } else {
      const double want = std::min(dense.values[k + 1] - dense.values[k],
                                   k > 0 ? dense.values[k] - dense.values[k - 1] : INFINITY);
      EXPECT_NEAR(g.start_gap, want, 1e-6 * std::abs(dense.values[0])) << "ridge " << k;
      ++known;
    }
    fixed_hvps += f.hvps;
    gap_hvps += g.hvps;
  }
  ASSERT_GE(known, 3);  // downhill signs of the three ridges below the last solved pair
  for (; i < gap.state.nodes.size(); ++i) EXPECT_GE(gap.state.nodes[i].start_gap, 0.0);
  std::printf("the root's %ld rides with a known gap and the rest: fixed rule %ld HVPs, gap rule %ld\n", known,
              fixed_hvps, gap_hvps);
  EXPECT_LT(gap_hvps, fixed_hvps);
}

// Rides on threads buffer their steps until the merge; above kBufferedStepXLimit coordinates
// they drop x (a network's parameters at every step would not fit in memory) and keep the rest.
struct StepRecorder : ExploreCallback {
  std::vector<StepEvent> events;
  long with_x = 0;
  CallbackAction OnStep(const StepEvent& e) override {
    events.push_back(e);
    events.back().x = nullptr;
    with_x += e.x != nullptr;
    return CallbackAction::kContinue;
  }
};

TEST(MatrixFree, ConcurrentRidesDoNotBufferLongPointsButKeepTheirSteps) {
  TanhMlpShape sh;
  sh.inputs = 20, sh.hidden = 40, sh.outputs = 5, sh.samples = 30;  // d = 1045
  ExploreOptions o;
  o.spectrum.eigenpairs = 2;
  o.tree.max_rides = 4;
  o.ride.max_steps = 8;
  o.leaf.polish_max_iterations = 20;
  StepRecorder serial_steps, thread_steps;
  TanhMlpObjective a(sh), b(sh);
  const Vector x0 = TanhMlpObjective::InitialPoint(sh, 3, 1.5);
  ASSERT_GT(x0.size(), kBufferedStepXLimit);
  const ExploreResult one = Explore(a, x0, o, &serial_steps);
  o.tree.threads = 2;
  const ExploreResult two = Explore(b, x0, o, &thread_steps);
  ASSERT_GE(one.summary.rides, 2);
  ASSERT_FALSE(serial_steps.events.empty());
  EXPECT_EQ(serial_steps.with_x, static_cast<long>(serial_steps.events.size()));  // live steps have x
  EXPECT_EQ(thread_steps.with_x, 0);
  ASSERT_EQ(serial_steps.events.size(), thread_steps.events.size());
  for (size_t i = 0; i < serial_steps.events.size(); ++i) {
    EXPECT_EQ(serial_steps.events[i].node, thread_steps.events[i].node);
    EXPECT_EQ(serial_steps.events[i].loss, thread_steps.events[i].loss);
  }
  ASSERT_EQ(one.state.nodes.size(), two.state.nodes.size());
  for (size_t i = 0; i < one.state.nodes.size(); ++i) EXPECT_EQ(one.state.nodes[i].end_x, two.state.nodes[i].end_x);
}

// An objective that fails the test if anyone forms its Hessian.
class NoDenseHessian : public TanhMlpObjective {
 public:
  using TanhMlpObjective::TanhMlpObjective;
  std::unique_ptr<Objective> Clone() const override { return std::make_unique<NoDenseHessian>(*this); }

 protected:
  EvalStatus DoHessian(const Vector&, Matrix*) override {
    ADD_FAILURE() << "a d x d Hessian was formed above dense-max-dim";
    return EvalStatus::kFailed;
  }
};

TEST(MatrixFree, NoDenseHessianAboveTheThresholdAndAutoChoosesByDimension) {
  const TanhMlpShape sh = SmallNet();
  NoDenseHessian obj(sh);
  const Vector x0 = TanhMlpObjective::InitialPoint(sh, 11, 1.5);
  ExploreOptions o;
  o.spectrum.dense_max_dim = 50;  // auto: matrix-free at d = 83
  o.spectrum.eigenpairs = 3;
  o.tree.max_rides = 6;
  o.ride.max_steps = 40;
  o.leaf.polish_max_iterations = 50;
  const ExploreResult r = Explore(obj, x0, o);
  EXPECT_EQ(r.summary.spectrum_method, "matrix-free");
  EXPECT_EQ(r.summary.counts.hessians, 0);
  EXPECT_GT(r.summary.counts.hvps, 0);
  EXPECT_GE(r.summary.rides, 1);
  // Every ride stepped along its ridge and ended for a stated reason.
  for (const RideNode& n : r.state.nodes)
    if (n.done()) EXPECT_GT(n.steps, 0) << "ride " << n.id << " " << ToString(n.reason);
  // Forcing dense there is refused; raising the threshold allows it.
  o.spectrum.method = SpectrumMethod::kDense;
  EXPECT_THROW(Explorer(obj, o), InputError);
  o.mis.enabled = true;
  o.spectrum.method = SpectrumMethod::kMatrixFree;
  Explorer e(obj, o);
  ExploreState st;
  EXPECT_THROW(e.Start(x0, &st), InputError);  // the MIS search is dense-only
}

TEST(MatrixFree, SpectraBranchPointsAlsoWork) {
  Problem p = *MakeProblem("wells3d");
  ExploreOptions o = MatrixFree();
  o.ride.settle = false;
  o.spectrum.solver = EigenSolver::kSpectra;
  o.spectrum.eigenpairs = 2;  // Spectra's k < d
  o.spectrum.krylov_basis = 6;
  const ExploreResult r = Explore(*p.objective, p.saddle, o);
  EXPECT_EQ(r.summary.stop_reason, "archive-empty");
  EXPECT_GE(r.summary.minima, 4);
}

}  // namespace
}  // namespace ridgerider
