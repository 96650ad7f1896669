#include <gtest/gtest.h>

#include "ridgerider/problems/registry.hpp"
#include "ridgerider/saddle.hpp"

namespace ridgerider {
namespace {

TEST(FindMis, ConvergesToTheSymmetricSaddleAndKeepsSymmetry) {
  Problem p = *MakeProblem("tanh-net");
  MisOptions o;
  o.grad_tolerance = 1e-12;
  // Start from a different symmetric point than the problem's own construction used.
  MisResult r = FindMis(*p.objective, Vec({0.5, 0.5, 0.5, 0.1, 0.1, 0.1}), o, 0);
  ASSERT_TRUE(r.converged) << "|g| = " << r.grad_norm;
  EXPECT_LT((r.x - p.saddle).norm(), 1e-8);
  EXPECT_NEAR(r.x[0], r.x[1], 1e-12);
  EXPECT_NEAR(r.x[3], r.x[5], 1e-12);
  // The MIS has a pair of equal negative eigenvalues (the 2-D permutation representation).
  Spectrum s;
  SpectrumAt(*p.objective, r.x, &s);
  EXPECT_LT(s.values[0], -1e-3);
  EXPECT_NEAR(s.values[0], s.values[1], 1e-9);
  EXPECT_GT(s.values[2], 1e-3);
}

TEST(FindMis, FindsASaddleNotAMinimum) {
  Problem p = *MakeProblem("double-well");
  MisOptions o;
  MisResult r = FindMis(*p.objective, Vec({0.2, 0.1}), o, 0);
  ASSERT_TRUE(r.converged);
  EXPECT_LT((r.x - p.saddle).norm(), 1e-9);
}

TEST(FindMis, JitterIsKeyedBySeed) {
  Problem p = *MakeProblem("double-well");
  MisOptions o;
  o.jitter = 0.01;
  o.max_iterations = 1;
  const MisResult a = FindMis(*p.objective, p.saddle, o, 5), b = FindMis(*p.objective, p.saddle, o, 5),
                  c = FindMis(*p.objective, p.saddle, o, 6);
  EXPECT_EQ(a.x, b.x);
  EXPECT_NE(a.x, c.x);
}

}  // namespace
}  // namespace ridgerider
