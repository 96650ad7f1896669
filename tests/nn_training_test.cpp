// The neural-network experiments' building blocks: the hidden-unit symmetry of an MLP, its
// maximally invariant saddle, and Adam on keyed mini-batches.
#include <gtest/gtest.h>

#include <cmath>

#include <Eigen/Eigenvalues>

#include "experiments/nn_training.hpp"
#include "ridgerider/rng.hpp"

namespace ridgerider::experiments {
namespace {

// N samples of 6 features in [0, 1], 3 classes, the label a function of the features (so a
// network can learn it and the symmetric network, one shared feature, cannot).
std::shared_ptr<const data::Dataset> Synthetic(long n = 60) {
  auto d = std::make_shared<data::Dataset>();
  d->name = "synthetic";
  d->sample_shape = {6};
  d->num_classes = 3;
  KeyedRng rng(5, 0);
  for (long i = 0; i < n; ++i) {
    float f[6];
    for (float& v : f) v = static_cast<float>(rng.Uniform());
    d->inputs.insert(d->inputs.end(), f, f + 6);
    // XOR of two features: no single shared hidden feature separates it, distinct units do.
    d->labels.push_back((f[0] > 0.5f) != (f[1] > 0.5f) ? 1 : (f[2] > 0.5f ? 0 : 2));
  }
  return d;
}

std::unique_ptr<ModelObjective> Mlp(long batch = 0) {
  ModelSpec s;
  s.model = "mlp:6-5-4-3";
  s.dtype = ModelDtype::kFloat64;
  s.batch = BatchPolicy{batch, 0};
  return MakeModelObjective(s, Synthetic());
}

TEST(HiddenUnitSymmetry, ProjectionIsAnOrthogonalProjectionOntoIdenticalUnits) {
  auto obj = Mlp();
  const HiddenUnitSymmetry sym(obj->parameters());
  const Vector x = obj->InitialParameters();
  EXPECT_GT(sym.Spread(x), 0.1);
  const Vector p = sym.Project(x);
  EXPECT_LT(sym.Spread(p), 1e-15);
  EXPECT_LT((sym.Project(p) - p).norm(), 1e-14);  // idempotent
  const Vector y = KeyedRng(3, 1).NormalVector(obj->dim());
  EXPECT_NEAR(sym.Project(y).dot(x), y.dot(p), 1e-12);  // self-adjoint
  const Vector r = sym.Representative(x);
  EXPECT_EQ(sym.Spread(r), 0.0);
  EXPECT_LT((sym.Project(r) - r).norm(), 1e-14);
  // 6-5-4-3: W1 rows alike (6 + 1 bias), W2 all alike (1 + 1), W3 rows constant (3 + 3).
  const Vector e = Vector::Ones(obj->dim());
  EXPECT_NEAR((sym.Project(e) - e).norm(), 0.0, 1e-14);
}

TEST(HiddenUnitSymmetry, ScaledRepresentativeKeepsTheStandardActivationScale) {
  // 6-5-4-3: W2 reads 5 identical units, W3 reads 4; W1 and every bias read none.
  auto obj = Mlp();
  const HiddenUnitSymmetry sym(obj->parameters());
  const Vector x = obj->InitialParameters();
  const Vector r = sym.Representative(x), s = sym.ScaledRepresentative(x);
  EXPECT_EQ(sym.Spread(s), 0.0);
  const double reads[] = {1, 1, 5, 1, 4, 1};  // hidden units each tensor's entries read
  int k = 0;
  for (const ParameterInfo& q : obj->parameters()) {
    const Vector rs = r.segment(q.offset, q.size), ss = s.segment(q.offset, q.size);
    EXPECT_LT((ss - rs / std::sqrt(reads[k])).norm(), 1e-15 * (1 + rs.norm())) << q.name;
    ++k;
  }
}

TEST(HiddenUnitSymmetry, GradientAtASymmetricPointIsSymmetric) {
  // Why the MIS search can work inside the subspace: the network's own gradient there never
  // leaves it, so a stationary point of the restricted loss is stationary for the network.
  auto obj = Mlp();
  const HiddenUnitSymmetry sym(obj->parameters());
  const Vector x = sym.Representative(obj->InitialParameters());
  double f = 0;
  Vector g;
  ASSERT_EQ(obj->ValueAndGradient(x, &f, &g), EvalStatus::kOk);
  EXPECT_LT((sym.Project(g) - g).norm(), 1e-12 * g.norm());
}

TEST(FindMlpMis, IsSymmetricStationaryAndMinimalInsideTheSubspace) {
  auto obj = Mlp();
  const HiddenUnitSymmetry sym(obj->parameters());
  const Vector x0 = sym.Representative(obj->InitialParameters());
  const MisReport m = FindMlpMis(*obj, sym, x0, 500, 100);
  EXPECT_EQ(m.spread, 0.0);
  EXPECT_LT(m.grad_norm, 1e-6);
  double f0 = 0;
  ASSERT_EQ(obj->Value(x0, &f0), EvalStatus::kOk);
  EXPECT_LT(m.loss, f0);
  // Inside the invariant subspace the point is a minimum of the restricted loss (P H P has no
  // negative eigenvalue), so every negative-curvature direction of the network, if there is one
  // (the Fashion-MNIST experiment's MIS has them; this small one may be flat instead), breaks
  // the symmetry.
  Matrix h;
  ASSERT_EQ(obj->Hessian(m.x, &h), EvalStatus::kOk);
  Matrix p(h.rows(), h.cols());
  for (int j = 0; j < h.cols(); ++j) p.col(j) = sym.Project(Vector::Unit(h.rows(), j));
  Eigen::SelfAdjointEigenSolver<Matrix> restricted(p * h * p);
  EXPECT_GT(restricted.eigenvalues()[0], -1e-6 * std::max(1.0, h.norm()));
  Eigen::SelfAdjointEigenSolver<Matrix> es(h);
  for (int i = 0; i < h.rows() && es.eigenvalues()[i] < -1e-6; ++i)
    EXPECT_LT(sym.Project(es.eigenvectors().col(i)).norm(), 1e-6) << "eigenvalue " << es.eigenvalues()[i];
}

TEST(TrainAdam, LowersTheLossAndRepeatsForTheSameKeys) {
  auto obj = Mlp(/*batch=*/16);
  auto full = Mlp();
  const Vector x0 = obj->InitialParameters();
  AdamOptions o;
  o.steps = 300;
  o.learning_rate = 1e-2;
  Vector a = x0, b = x0;
  ASSERT_TRUE(TrainAdam(*obj, &a, o));
  ASSERT_TRUE(TrainAdam(*obj, &b, o));
  EXPECT_EQ(a, b);
  double f0 = 0, f1 = 0;
  full->Value(x0, &f0);
  full->Value(a, &f1);
  EXPECT_LT(f1, 0.8 * f0);
}

TEST(Disagreement, CountsDifferingPredictions) {
  EXPECT_DOUBLE_EQ(Disagreement({0, 1, 2, 3}, {0, 1, 0, 0}), 0.5);
  EXPECT_TRUE(std::isnan(Disagreement({0}, {0, 1})));
}

}  // namespace
}  // namespace ridgerider::experiments
