// The closed forms behind `ridgerider reproduce`: the tree MDP's return, gradient and Hessian
// against brute-force enumeration and finite differences; the lever game's against Eigen's
// AutoDiff; and the experiment registry.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "experiments/experiment.hpp"
#include "experiments/lever_game_model.hpp"
#include "experiments/tree_mdp_model.hpp"
#include "ridgerider/autodiff.hpp"
#include "ridgerider/rng.hpp"

namespace ridgerider::experiments {
namespace {

// Rewards with zeros (dead subtrees), positives and a negative, depth 3.
std::vector<double> Rewards3() { return {0.0, 0.7, 0.0, 0.0, 0.3, -0.2, 0.9, 0.0}; }

TEST(TreeMdp, LiveNodesSkipSubtreesThatPayNothing) {
  TreeMdp m(3, {0, 0, 0, 0, 0, 0, 0.5, 0});
  // Only the path root -> right -> right child (node 6) matters.
  EXPECT_EQ(m.live_nodes(), (std::vector<int>{0, 2, 6}));
  EXPECT_EQ(m.dim(), 6);
}

TEST(TreeMdp, ReturnEqualsEnumerationOfLeaves) {
  TreeMdp m(3, Rewards3());
  KeyedRng rng(7, 1);
  const Vector theta = rng.NormalVector(m.dim());
  const std::vector<double> p = m.LeftProbabilities(theta);
  double expected = 0;
  for (int leaf = 0; leaf < 8; ++leaf) {
    double prob = 1;
    int node = 7 + leaf;
    while (node > 0) {
      const int parent = (node - 1) / 2;
      prob *= node == 2 * parent + 1 ? p[parent] : 1 - p[parent];
      node = parent;
    }
    expected += prob * Rewards3()[leaf];
  }
  EXPECT_NEAR(m.Return(theta), expected, 1e-14);
}

TEST(TreeMdp, GradientAndHessianMatchFiniteDifferences) {
  for (int depth : {2, 3, 4}) {
    KeyedRng rng(11, depth);
    std::vector<double> r(1 << depth);
    for (double& v : r) v = rng.Uniform() < 0.3 ? 0.0 : rng.Normal();
    TreeMdp m(depth, r);
    const Vector theta = rng.NormalVector(m.dim());
    Vector g;
    m.ReturnAndGradient(theta, &g);
    Matrix h;
    m.ReturnHessian(theta, &h);
    const double eps = 1e-5;
    for (int i = 0; i < m.dim(); ++i) {
      Vector e = Vector::Zero(m.dim());
      e[i] = eps;
      EXPECT_NEAR(g[i], (m.Return(theta + e) - m.Return(theta - e)) / (2 * eps), 1e-8) << "depth " << depth;
      Vector gp, gm;
      m.ReturnAndGradient(theta + e, &gp);
      m.ReturnAndGradient(theta - e, &gm);
      const Vector col = (gp - gm) / (2 * eps);
      for (int j = 0; j < m.dim(); ++j) EXPECT_NEAR(h(j, i), col[j], 1e-7) << "depth " << depth << " (" << j << "," << i << ")";
    }
    EXPECT_LT((h - h.transpose()).norm(), 1e-14);
  }
}

TEST(TreeMdp, EntropyGradientMatchesFiniteDifferences) {
  TreeMdp m(3, Rewards3());
  KeyedRng rng(3, 3);
  const Vector theta = rng.NormalVector(m.dim());
  Vector g;
  m.Entropy(theta, &g);
  for (int i = 0; i < m.dim(); ++i) {
    Vector e = Vector::Zero(m.dim());
    e[i] = 1e-6;
    EXPECT_NEAR(g[i], (m.Entropy(theta + e, nullptr) - m.Entropy(theta - e, nullptr)) / 2e-6, 1e-8);
  }
}

TEST(TreeMdp, GreedyLeafFollowsTheLikelierAction) {
  TreeMdp m(2, {0.1, 0.2, 0.3, 0.4});
  Vector theta = Vector::Zero(m.dim());
  theta[1] = 5;  // root: right
  theta[5] = 5;  // node 2: right
  double prob = 0;
  EXPECT_EQ(m.GreedyLeaf(theta, &prob), 3);
  const double p = 1 / (1 + std::exp(-5.0));
  EXPECT_NEAR(prob, p * p, 1e-12);
}

TEST(TreeMdp, LocalOptimaAreLeavesNoSiblingSubtreeBeatsEverywhere) {
  // Leaf 0 (0.5) and leaf 2 (0.6) have a better sibling leaf: never local optima. Leaves 1
  // and 3 are. Leaves 4 (0.2) and 7 (0.3) have zero siblings, but every leaf of the root's
  // left subtree pays at least 0.5: not local optima either.
  TreeMdp m(3, {0.5, 0.9, 0.6, 0.7, 0.2, 0.0, 0.0, 0.3});
  EXPECT_FALSE(m.IsLocalOptimum(0));
  EXPECT_TRUE(m.IsLocalOptimum(1));
  EXPECT_FALSE(m.IsLocalOptimum(2));
  EXPECT_TRUE(m.IsLocalOptimum(3));
  EXPECT_FALSE(m.IsLocalOptimum(4));
  EXPECT_FALSE(m.IsLocalOptimum(7));
  // Gradient ascent from a policy at leaf 0 leaves it for leaf 1; from leaf 1 it stays.
  for (int leaf : {0, 1}) {
    Vector theta = Vector::Zero(m.dim());
    theta[0] = 4;                        // root: left
    theta[2] = 4;                        // node 1: left
    theta[6] = leaf == 0 ? 4 : -4;       // node 3: left to leaf 0, right to leaf 1
    Vector g;
    for (int k = 0; k < 2000; ++k) m.ReturnAndGradient(theta, &g), theta += 20 * g;
    double prob = 0;
    EXPECT_EQ(m.GreedyLeaf(theta, &prob), 1);
    EXPECT_GT(prob, 0.9);
  }
}

TEST(TreeMdp, GreedyPolicyKeepsTheGreedyLeafAndSetsItsProbability) {
  TreeMdp m(3, Rewards3());
  KeyedRng rng(3, 1);
  const Vector theta = rng.NormalVector(m.dim());
  const Vector sharp = m.GreedyPolicy(theta, 0.9);
  double prob = 0;
  EXPECT_EQ(m.GreedyLeaf(sharp, &prob), m.GreedyLeaf(theta, nullptr));
  EXPECT_NEAR(prob, std::pow(0.9, 3), 1e-12);
  // Only the logit differences change: each node's mean (a zero mode) stays.
  for (int k = 0; k < m.dim() / 2; ++k)
    EXPECT_NEAR(sharp[2 * k] + sharp[2 * k + 1], theta[2 * k] + theta[2 * k + 1], 1e-12);
}

// The lever game written once as a formula for AutoDiff.
struct LeverFormula {
  std::vector<double> r;
  template <class T>
  T operator()(const Eigen::Matrix<T, -1, 1>& x) const {
    const int n = static_cast<int>(r.size());
    T z1 = T(0.0), z2 = T(0.0), j = T(0.0);
    for (int i = 0; i < n; ++i) z1 += exp(x[i]), z2 += exp(x[n + i]);
    for (int i = 0; i < n; ++i) j += r[i] * exp(x[i]) / z1 * exp(x[n + i]) / z2;
    return j;
  }
};

TEST(LeverGame, GradientAndHessianMatchAutoDiff) {
  const std::vector<double> r = {1.0, 1.0, 1.0, 0.8, 0.8, 0.6};
  LeverGame g(r);
  auto ad = MakeAutoDiffObjective(g.dim(), "lever", LeverFormula{r});
  KeyedRng rng(5, 5);
  for (int trial = 0; trial < 3; ++trial) {
    const Vector x = rng.NormalVector(g.dim());
    double f = 0;
    Vector ga, gc;
    ad.ValueAndGradient(x, &f, &ga);
    EXPECT_NEAR(g.ReturnAndGradient(x, &gc), f, 1e-14);
    EXPECT_LT((ga - gc).norm(), 1e-13);
    Matrix ha, hc;
    ad.Hessian(x, &ha);
    g.ReturnHessian(x, &hc);
    EXPECT_LT((ha - hc).norm(), 1e-12) << ha << "\n\n" << hc;
  }
}

TEST(LeverGame, InverseRewardPoliciesAreStationary) {
  const std::vector<double> r = {1.0, 1.0, 0.8, 0.6};
  LeverGame g(r);
  Vector x(8);
  for (int i = 0; i < 4; ++i) x[i] = x[4 + i] = -std::log(r[i]);  // p_i ~ 1/r_i
  Vector grad;
  g.ReturnAndGradient(x, &grad);
  EXPECT_LT(grad.norm(), 1e-15);
}

TEST(LeverGame, EntropyGradientMatchesFiniteDifferences) {
  LeverGame g({1.0, 0.8, 0.6});
  KeyedRng rng(9, 9);
  const Vector x = rng.NormalVector(g.dim());
  Vector grad;
  g.Entropy(x, &grad);
  for (int i = 0; i < g.dim(); ++i) {
    Vector e = Vector::Zero(g.dim());
    e[i] = 1e-6;
    EXPECT_NEAR(grad[i], (g.Entropy(x + e, nullptr) - g.Entropy(x - e, nullptr)) / 2e-6, 1e-8);
  }
}

TEST(Registry, NamesAreUniqueAndFindable) {
  ASSERT_GE(Experiments().size(), 2u);
  for (const Experiment& e : Experiments()) {
    EXPECT_EQ(FindExperiment(e.name), &e);
    EXPECT_FALSE(e.description.empty());
    EXPECT_TRUE(static_cast<bool>(e.run));
  }
  EXPECT_NE(FindExperiment("tree-mdp"), nullptr);
  EXPECT_NE(FindExperiment("lever-game"), nullptr);
  EXPECT_EQ(FindExperiment("no-such-experiment"), nullptr);
}

TEST(ParallelFor, RunsEveryIndexOnceOnAnyThreadCount) {
  for (int threads : {1, 2, 5}) {
    std::vector<int> hits(7, 0);
    ParallelFor(7, threads, [&](int i) { ++hits[static_cast<size_t>(i)]; });
    EXPECT_EQ(hits, std::vector<int>(7, 1)) << threads << " threads";
  }
}

// A failure on a worker thread reaches the caller (escaping the thread, it would end the
// process); run serially, it is the first failing index's.
TEST(ParallelFor, RethrowsAWorkersExceptionOnTheCallingThread) {
  for (int threads : {1, 3}) {
    try {
      ParallelFor(6, threads, [](int i) {
        if (i >= 2) throw std::runtime_error("slot " + std::to_string(i));
      });
      ADD_FAILURE() << "no exception, " << threads << " threads";
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      if (threads == 1) EXPECT_EQ(what, "slot 2");  // serial: stops at the first failure
      EXPECT_TRUE(what.rfind("slot ", 0) == 0) << what;
    }
  }
}

}  // namespace
}  // namespace ridgerider::experiments
