#include <gtest/gtest.h>

#include "io/state_json.hpp"
#include "ridgerider/problems/registry.hpp"
#include "ridgerider/tree.hpp"
#include "test_problems.hpp"

namespace ridgerider {
namespace {

bool Found(const Problem& p, const std::vector<Solution>& sols, const Vector& m) {
  const auto canon = [&](const Vector& v) { return p.canonical ? p.canonical(v) : v; };
  for (const Solution& s : sols)
    if (s.is_minimum && (canon(s.x) - canon(m)).norm() < 1e-6) return true;
  return false;
}

class EveryProblem : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryProblem, FindsEveryMinimumFromItsSaddle) {
  Problem p = *MakeProblem(GetParam());
  ASSERT_FALSE(p.minima.empty());
  for (StepRule rule : {StepRule::kTrustRadius, StepRule::kFixed}) {
    ExploreOptions o;
    o.ride.step_rule = rule;
    ExploreResult r = Explore(*p.objective, p.saddle, o);
    EXPECT_EQ(r.summary.stop_reason, "archive-empty");
    for (const Vector& m : p.minima)
      EXPECT_TRUE(Found(p, r.state.solutions, m)) << GetParam() << " (" << ToString(rule) << ") missed " << m.transpose();
    // Every solution is a verified minimum below the start, and each ride ended with a reason.
    for (const Solution& s : r.state.solutions) {
      EXPECT_TRUE(s.is_minimum);
      EXPECT_LT(s.loss, r.state.start.loss);
    }
    for (const RideNode& n : r.state.nodes) EXPECT_NE(n.reason, EndReason::kPending);
  }
}

INSTANTIATE_TEST_SUITE_P(BuiltIns, EveryProblem, ::testing::ValuesIn(ProblemNames()));

TEST(Explore, OrdersFindTheSameSolutions) {
  Problem p = *MakeProblem("wells3d");
  std::vector<size_t> counts;
  for (ArchiveOrder order : {ArchiveOrder::kBreadthFirst, ArchiveOrder::kDepthFirst, ArchiveOrder::kMostNegativeFirst}) {
    ExploreOptions o;
    o.tree.order = order;
    ExploreResult r = Explore(*p.objective, p.saddle, o);
    counts.push_back(r.state.solutions.size());
    for (const Vector& m : p.minima) EXPECT_TRUE(Found(p, r.state.solutions, m)) << ToString(order);
  }
  EXPECT_EQ(counts[0], 8u);
}

TEST(Explore, DepthFirstGoesDeepFirst) {
  Problem p = *MakeProblem("wells3d");
  ExploreOptions o;
  o.tree.order = ArchiveOrder::kDepthFirst;
  o.tree.max_rides = 3;
  ExploreResult r = Explore(*p.objective, p.saddle, o);
  int max_depth = 0;
  for (const RideNode& n : r.state.nodes)
    if (n.done()) max_depth = std::max(max_depth, n.depth);
  EXPECT_GE(max_depth, 2);
  o.tree.order = ArchiveOrder::kBreadthFirst;
  r = Explore(*p.objective, p.saddle, o);
  for (const RideNode& n : r.state.nodes)
    if (n.done()) EXPECT_EQ(n.depth, 1);
}

TEST(Explore, BudgetsStopTheSearchAndSayWhich) {
  Problem p = *MakeProblem("wells3d");
  ExploreOptions o;
  o.tree.max_rides = 4;
  ExploreResult r = Explore(*p.objective, p.saddle, o);
  EXPECT_EQ(r.summary.stop_reason, "max-rides");
  EXPECT_EQ(r.summary.rides, 4);
  EXPECT_GT(r.summary.pending, 0);

  o = ExploreOptions{};
  o.tree.max_gradients = 50;
  r = Explore(*p.objective, p.saddle, o);
  EXPECT_EQ(r.summary.stop_reason, "max-gradients");
  EXPECT_LE(r.summary.counts.gradients, 50 + 200);  // the ride in progress and its leaf finish

  o = ExploreOptions{};
  o.tree.max_leaves = 2;
  r = Explore(*p.objective, p.saddle, o);
  EXPECT_EQ(r.summary.stop_reason, "max-leaves");
  EXPECT_EQ(r.summary.leaves, 2);

  o = ExploreOptions{};
  o.tree.max_depth = 1;
  r = Explore(*p.objective, p.saddle, o);
  bool truncated = false;
  for (const RideNode& n : r.state.nodes) truncated |= n.truncated;
  EXPECT_TRUE(truncated);
  for (const RideNode& n : r.state.nodes) EXPECT_EQ(n.depth, 1);
}

TEST(Explore, NanMidRideEndsThatRideAndTheRunCompletes) {
  auto obj = MakeAutoDiffObjective(2, "nan", testing::NanRegionFormula{});
  Problem dw = *MakeProblem("double-well");
  ExploreResult r = Explore(obj, dw.saddle, ExploreOptions{});
  EXPECT_EQ(r.summary.stop_reason, "archive-empty");
  int non_finite = 0;
  for (const RideNode& n : r.state.nodes) non_finite += n.reason == EndReason::kNonFinite;
  EXPECT_EQ(non_finite, 1);
  ASSERT_EQ(r.state.solutions.size(), 1u);  // the other well is still found
  EXPECT_LT(r.state.solutions[0].x[0], 0);
}

TEST(Explore, SameOptionsSameResult) {
  Problem p1 = *MakeProblem("tanh-net"), p2 = *MakeProblem("tanh-net");
  ExploreOptions o;
  o.seed = 3;
  ExploreResult a = Explore(*p1.objective, p1.saddle, o), b = Explore(*p2.objective, p2.saddle, o);
  EXPECT_EQ(io::StateToJson(a.state).dump(), io::StateToJson(b.state).dump());
}

TEST(Explore, ClusterRepresentativeOrAll) {
  Problem p = *MakeProblem("tanh-net");
  ExploreOptions o;
  o.tree.max_depth = 1;
  ExploreResult one = Explore(*p.objective, p.saddle, o);
  o.ridge.all_in_cluster = true;
  ExploreResult all = Explore(*p.objective, p.saddle, o);
  const auto root_rides = [](const ExploreResult& r) {
    int n = 0;
    for (const RideNode& x : r.state.nodes) n += x.parent == 0;
    return n;
  };
  EXPECT_EQ(root_rides(one), 2);  // one eigenvector of the pair, both signs
  EXPECT_EQ(root_rides(all), 4);
  EXPECT_EQ(one.state.nodes[0].cluster_size, 2);
}

struct StopAfter : ExploreCallback {
  int rides = 0, limit = 0;
  CallbackAction OnRideEnd(const RideNode&) override {
    return ++rides >= limit ? CallbackAction::kAbort : CallbackAction::kContinue;
  }
};

TEST(Explore, CallbackAbortKeepsWhatWasComputed) {
  Problem p = *MakeProblem("wells3d");
  StopAfter stop;
  stop.limit = 3;
  ExploreResult r = Explore(*p.objective, p.saddle, ExploreOptions{}, &stop);
  EXPECT_EQ(r.summary.stop_reason, "aborted");
  EXPECT_EQ(r.summary.rides, 3);
}

TEST(Explore, StartAtAMinimumIsItsOwnLeaf) {
  Problem p = *MakeProblem("toy2d");
  ExploreResult r = Explore(*p.objective, p.minima[0], ExploreOptions{});
  ASSERT_EQ(r.state.solutions.size(), 1u);
  EXPECT_LT((r.state.solutions[0].x - p.minima[0]).norm(), 1e-9);
}

}  // namespace
}  // namespace ridgerider

namespace ridgerider {
namespace {

struct SaddleUnboundedBelow {
  template <class T>
  T operator()(const Eigen::Matrix<T, Eigen::Dynamic, 1>& x) const {
    return x[0] * x[0] - x[1] * x[1];
  }
};

TEST(Explore, LossUnboundedBelowEndsWithUnverifiedLeavesNotARunaway) {
  auto obj = MakeAutoDiffObjective(2, "unbounded", SaddleUnboundedBelow{});
  ExploreOptions o;
  o.ride.max_steps = 200;
  ExploreResult r = Explore(obj, Vector::Zero(2), o);
  EXPECT_EQ(r.summary.stop_reason, "archive-empty");
  EXPECT_EQ(r.summary.rides, 2);  // the step cap does not spawn a continuation of the same ridge
  ASSERT_EQ(r.state.solutions.size(), 2u);
  for (const Solution& s : r.state.solutions) {
    EXPECT_FALSE(s.is_minimum);
    EXPECT_TRUE(std::isfinite(s.loss));
  }
}

}  // namespace
}  // namespace ridgerider

namespace ridgerider {
namespace {

// Rides computed concurrently and merged in node order give the serial search bit for bit,
// budgets included.
TEST(Explore, ThreadsGiveTheSerialResultBitForBit) {
  for (const std::string name : {"wells3d", "tanh-net", "quadratic"}) {
    for (long max_rides : {1000L, 7L}) {
      std::string serial;
      for (int threads : {1, 2, 3, 4}) {
        Problem p = *MakeProblem(name);
        ExploreOptions o;
        o.tree.threads = threads;
        o.tree.max_rides = max_rides;
        ExploreResult r = Explore(*p.objective, p.saddle, o);
        std::string text = io::StateToJson(r.state).dump() + io::ToJson(r.summary).dump();
        text.erase(text.find("\"wall_time_s\""));  // everything but the timing
        if (threads == 1) serial = text;
        else EXPECT_EQ(text, serial) << name << " threads=" << threads << " max_rides=" << max_rides;
      }
    }
  }
  // Budgets checked between merges: leaves and gradients too.
  for (int threads : {1, 3}) {
    Problem p = *MakeProblem("wells3d");
    ExploreOptions o;
    o.tree.threads = threads;
    o.tree.max_leaves = 3;
    ExploreResult r = Explore(*p.objective, p.saddle, o);
    EXPECT_EQ(r.summary.leaves, 3);
    EXPECT_EQ(r.summary.stop_reason, "max-leaves");
  }
}

}  // namespace
}  // namespace ridgerider
