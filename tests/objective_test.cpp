#include <gtest/gtest.h>

#include "ridgerider/autodiff.hpp"
#include "ridgerider/problems/registry.hpp"
#include "test_problems.hpp"

namespace ridgerider {
namespace {

// Closed form of (x^2-1)^2 + 2y^2 + 0.5xy for the adapters below.
void ValueGrad(const Vector& x, double* f, Vector* g) {
  *f = std::pow(x[0] * x[0] - 1, 2) + 2 * x[1] * x[1] + 0.5 * x[0] * x[1];
  (*g)[0] = 4 * x[0] * (x[0] * x[0] - 1) + 0.5 * x[1];
  (*g)[1] = 4 * x[1] + 0.5 * x[0];
}
Matrix ClosedHessian(const Vector& x) {
  Matrix h(2, 2);
  h << 12 * x[0] * x[0] - 4, 0.5, 0.5, 4;
  return h;
}

TEST(FunctionObjective, FiniteDifferenceFallbacksMatchClosedForm) {
  FunctionObjective obj(2, "fd", ValueGrad);
  const Vector x = Vec({0.3, -0.7});
  Matrix h;
  ASSERT_EQ(obj.Hessian(x, &h), EvalStatus::kOk);
  EXPECT_LT((h - ClosedHessian(x)).norm(), 1e-6);
  Vector hv;
  ASSERT_EQ(obj.Hvp(x, Vec({1.0, 2.0}), &hv), EvalStatus::kOk);
  EXPECT_LT((hv - ClosedHessian(x) * Vec({1.0, 2.0})).norm(), 1e-6);
  // One Hessian = d counted HVPs, each two gradients.
  EXPECT_EQ(obj.counts().hessians, 1);
  EXPECT_EQ(obj.counts().hvps, 3);
}

TEST(FunctionObjective, GivenHessianIsUsedForHvp) {
  FunctionObjective obj(2, "h", ValueGrad, {}, [](const Vector& x, Matrix* h) { *h = ClosedHessian(x); });
  EXPECT_TRUE(obj.has_dense_hessian());
  Vector hv;
  obj.Hvp(Vec({1.0, 1.0}), Vec({0.0, 1.0}), &hv);
  EXPECT_NEAR(hv[0], 0.5, 1e-15);
  EXPECT_NEAR(hv[1], 4.0, 1e-15);
  EXPECT_EQ(obj.counts().gradients, 0);
}

TEST(FunctionObjective, NonFiniteIsAStatusNotAnException) {
  FunctionObjective obj(1, "nan", [](const Vector& x, double* f, Vector* g) {
    *f = std::log(x[0]);
    (*g)[0] = 1 / x[0];
  });
  double f = 0;
  Vector g;
  EXPECT_EQ(obj.ValueAndGradient(Vec({-1.0}), &f, &g), EvalStatus::kNonFinite);
  EXPECT_EQ(obj.ValueAndGradient(Vec({2.0}), &f, &g), EvalStatus::kOk);
}

struct Formula {
  template <class T>
  T operator()(const Eigen::Matrix<T, Eigen::Dynamic, 1>& x) const {
    return (x[0] * x[0] - 1.0) * (x[0] * x[0] - 1.0) + 2.0 * x[1] * x[1] + 0.5 * x[0] * x[1];
  }
};

TEST(AutoDiffObjective, ExactDerivativesMatchClosedForm) {
  auto obj = MakeAutoDiffObjective(2, "ad", Formula{});
  const Vector x = Vec({0.3, -0.7});
  double f = 0, fc = 0;
  Vector g, gc(2);
  ValueGrad(x, &fc, &gc);
  ASSERT_EQ(obj.ValueAndGradient(x, &f, &g), EvalStatus::kOk);
  EXPECT_NEAR(f, fc, 1e-15);
  EXPECT_LT((g - gc).norm(), 1e-14);
  Matrix h;
  ASSERT_EQ(obj.Hessian(x, &h), EvalStatus::kOk);
  EXPECT_LT((h - ClosedHessian(x)).norm(), 1e-13);
}

TEST(Problems, EveryBuiltInStartsAtAStationaryPointWithNegativeCurvature) {
  for (const std::string& name : ProblemNames()) {
    Problem p = *MakeProblem(name);
    const StationaryCheck c = CheckPoint(*p.objective, p.saddle);
    EXPECT_LT(c.grad_norm, 1e-9) << name;
    EXPECT_LT(c.min_eigenvalue, -1e-3) << name;
    for (const Vector& m : p.minima) {
      const StationaryCheck cm = CheckPoint(*p.objective, m);
      EXPECT_LT(cm.grad_norm, 1e-9) << name;
      EXPECT_GT(cm.min_eigenvalue, 1e-6) << name << " minimum " << m.transpose();
      EXPECT_LT(cm.loss, c.loss) << name;
    }
  }
}

}  // namespace
}  // namespace ridgerider
