// The matrix-free spectrum against Eigen's dense solve: the HessianOperator, Spectra's Lanczos,
// our seeded Krylov solver, on a small tanh network (analytic HVP) whose Hessian is formed by
// d HVPs only for the comparison.
#include <gtest/gtest.h>

#include <Eigen/SVD>

#include "ridgerider/problems/tanh_mlp.hpp"
#include "ridgerider/spectrum/curvature.hpp"

namespace ridgerider {
namespace {

TanhMlpShape SmallNet() {
  TanhMlpShape s;
  s.inputs = 6;
  s.hidden = 8;
  s.outputs = 3;
  s.samples = 40;
  return s;  // d = 8 * 7 + 3 * 9 = 83
}

// A point with curvature of both signs: the trained-looking scale of random weights.
Vector NetPoint(const TanhMlpShape& s) { return TanhMlpObjective::InitialPoint(s, 11, 1.5); }

Spectrum Dense(Objective& obj, const Vector& x) {
  Spectrum s;
  EXPECT_EQ(SpectrumAt(obj, x, &s), EvalStatus::kOk);
  return s;
}

TEST(TanhMlp, HvpIsTheDerivativeOfTheGradient) {
  TanhMlpObjective obj(SmallNet());
  const Vector x = NetPoint(obj.shape());
  KeyedRng rng(3, 0);
  const Vector v = rng.NormalVector(obj.dim()), u = rng.NormalVector(obj.dim());
  Vector hv, hu, gp, gm;
  ASSERT_EQ(obj.Hvp(x, v, &hv), EvalStatus::kOk);
  ASSERT_EQ(obj.Hvp(x, u, &hu), EvalStatus::kOk);
  const double h = 1e-5;
  double f = 0;
  obj.ValueAndGradient(x + h * v, &f, &gp);
  obj.ValueAndGradient(x - h * v, &f, &gm);
  EXPECT_LT(((gp - gm) / (2 * h) - hv).norm(), 1e-7 * hv.norm());
  EXPECT_NEAR(u.dot(hv), v.dot(hu), 1e-12 * std::abs(u.dot(hv)) + 1e-12);  // symmetric
  // And the gradient is the derivative of the value.
  double fp = 0, fm = 0;
  Vector g;
  obj.ValueAndGradient(x, &f, &g);
  obj.Value(x + h * v, &fp);
  obj.Value(x - h * v, &fm);
  EXPECT_NEAR((fp - fm) / (2 * h), g.dot(v), 1e-7 * std::abs(g.dot(v)) + 1e-9);
}

TEST(HessianOperator, AppliesAShiftedHessianAndCounts) {
  TanhMlpObjective obj(SmallNet());
  const Vector x = NetPoint(obj.shape());
  HessianOperator op(obj, x, 2.5);
  KeyedRng rng(4, 0);
  const Vector v = rng.NormalVector(obj.dim());
  Vector out(obj.dim()), hv;
  op.perform_op(v.data(), out.data());
  obj.Hvp(x, v, &hv);
  EXPECT_LT((out - (hv - 2.5 * v)).norm(), 1e-12 * hv.norm());
  EXPECT_EQ(op.products(), 1);
  EXPECT_EQ(op.rows(), obj.dim());
  EXPECT_EQ(op.status(), EvalStatus::kOk);
}

TEST(Lanczos, SpectraAndKrylovMatchTheDenseEigenvalues) {
  TanhMlpObjective obj(SmallNet());
  const Vector x = NetPoint(obj.shape());
  const Spectrum dense = Dense(obj, x);
  ASSERT_LT(dense.values[0], -1e-3) << "the test point should have negative curvature";
  const int k = 6;
  EigenSolveSummary ss, ks, sh;
  SpectraOptions so;
  const Spectrum spectra = SpectraSmallest(obj, x, k, so, &ss);
  so.shift = dense.values[dense.size() - 1] + 1.0;  // H - shift I: the wanted end is largest
  const Spectrum shifted = SpectraSmallest(obj, x, k, so, &sh);
  HessianOperator op(obj, x);
  KrylovOptions ko;
  ko.tolerance = 1e-12;
  const Spectrum krylov = KrylovSmallest(op, k, Matrix(), ko, &ks);
  for (const auto& [name, s, sum] : {std::tuple{"spectra", spectra, ss}, std::tuple{"shifted", shifted, sh},
                                     std::tuple{"krylov", krylov, ks}}) {
    ASSERT_TRUE(s.ok) << name;
    ASSERT_EQ(s.size(), k) << name;
    EXPECT_TRUE(sum.converged) << name;
    for (int i = 0; i < k; ++i) {
      EXPECT_NEAR(s.values[i], dense.values[i], 1e-8) << name << " pair " << i << ", " << sum.hvps << " HVPs";
      // Eigenvalues here are simple: each vector is the dense one up to sign.
      EXPECT_GT(std::abs(s.vectors.col(i).dot(dense.vectors.col(i))), 1 - 1e-8) << name << " pair " << i;
    }
  }
}

TEST(Lanczos, KrylovFindsTheWholeSpectrumOfATinyProblem) {
  TanhMlpShape sh;
  sh.inputs = 1, sh.hidden = 2, sh.outputs = 1, sh.samples = 10;  // d = 7
  TanhMlpObjective obj(sh);
  const Vector x = NetPoint(sh);
  const Spectrum dense = Dense(obj, x);
  HessianOperator op(obj, x);
  EigenSolveSummary sum;
  const Spectrum s = KrylovSmallest(op, 7, Matrix(), KrylovOptions{}, &sum);
  ASSERT_TRUE(s.ok);
  ASSERT_EQ(s.size(), 7);
  EXPECT_LT((s.values - dense.values).norm(), 1e-10);
  EXPECT_LE(sum.hvps, 7 + 3);  // d products span R^d
}

// Principal angles between span(a) and span(b) (orthonormal columns): all zero iff equal.
double LargestPrincipalAngleSine(const Matrix& a, const Matrix& b) {
  Eigen::JacobiSVD<Matrix> svd(a.transpose() * b);
  const double cmin = svd.singularValues().minCoeff();
  return std::sqrt(std::max(0.0, 1 - cmin * cmin));
}

// All hidden units equal: the units' permutations fix the point, so the Hessian has eigenvalues
// of multiplicity hidden - 1. A block solve resolves those eigenspaces; compare by principal
// angles (the basis inside an eigenspace is arbitrary).
TEST(Lanczos, RepeatedEigenvaluesGiveTheSameEigenspaces) {
  TanhMlpShape sh = SmallNet();
  sh.hidden = 3;  // multiplicity 2
  TanhMlpObjective obj(sh);
  Vector x = NetPoint(sh);
  const int h = sh.hidden, p = sh.inputs, o = sh.outputs;
  for (int j = 1; j < h; ++j) {
    for (int i = 0; i < p; ++i) x[i * h + j] = x[i * h];                    // W1 rows
    x[h * p + j] = x[h * p];                                                // b1
    for (int r = 0; r < o; ++r) x[h * p + h + j * o + r] = x[h * p + h + r];  // W2 columns
  }
  const Spectrum dense = Dense(obj, x);
  const auto clusters = Clusters(dense.values, 1e-8);
  // The first clusters covering at least 6 eigenvalues, and at least one repeated one among them.
  int k = 0, repeated = 0;
  for (auto [b, e] : clusters) {
    if (k >= 6) break;
    k = e;
    repeated += e - b > 1;
  }
  ASSERT_GT(repeated, 0) << "the symmetric point should have a repeated eigenvalue";
  HessianOperator op(obj, x);
  KrylovOptions ko;
  ko.block_size = 3;
  ko.tolerance = 1e-12;
  EigenSolveSummary sum;
  const Spectrum s = KrylovSmallest(op, k, Matrix(), ko, &sum);
  ASSERT_TRUE(s.ok);
  ASSERT_EQ(s.size(), k);
  EXPECT_TRUE(sum.converged);
  for (auto [b, e] : clusters) {
    if (b >= k) break;
    for (int i = b; i < e; ++i) EXPECT_NEAR(s.values[i], dense.values[i], 1e-8) << "pair " << i;
    EXPECT_LT(LargestPrincipalAngleSine(dense.vectors.middleCols(b, e - b), s.vectors.middleCols(b, e - b)), 1e-6)
        << "eigenspace [" << b << ", " << e << ")";
  }
}

// The solver tests convergence on residual norms read off the small coefficient matrix of its
// Krylov relation (H Q = Q T + P B), never forming the residual vectors; after many in-place
// thick restarts, with seeds and with blocks, those norms must still be the true ones.
TEST(Lanczos, KrylovResidualNormsAreTheTrueOnesAfterRestarts) {
  TanhMlpObjective obj(SmallNet());
  const Vector x = NetPoint(obj.shape());
  const Spectrum dense = Dense(obj, x);
  const int k = 3;
  for (int block : {1, 2}) {
    for (int nseeds : {0, 2}) {
      HessianOperator op(obj, x);
      KrylovOptions ko;
      ko.block_size = block;
      ko.max_basis = k + 2 * block + 2;  // the smallest basis: a thick restart every few products
      ko.tolerance = 1e-10;
      KeyedRng rng(5, 0);
      Matrix seeds(obj.dim(), nseeds);  // near the eigenvectors, as a warm start would be
      for (int j = 0; j < nseeds; ++j) seeds.col(j) = dense.vectors.col(j) + 0.1 * rng.NormalVector(obj.dim());
      EigenSolveSummary sum;
      const Spectrum s = KrylovSmallest(op, k, seeds, ko, &sum);
      const std::string what = "block " + std::to_string(block) + ", seeds " + std::to_string(nseeds);
      ASSERT_TRUE(s.ok) << what;
      EXPECT_TRUE(sum.converged) << what;
      EXPECT_GT(sum.restarts, 2) << what << ": the test should exercise the restart";
      double explicit_max = 0;
      for (int i = 0; i < k; ++i) {
        Vector hv;
        obj.Hvp(x, s.vectors.col(i), &hv);
        explicit_max = std::max(explicit_max, (hv - s.values[i] * s.vectors.col(i)).norm());
        EXPECT_NEAR(s.vectors.col(i).norm(), 1.0, 1e-12) << what;
        EXPECT_NEAR(s.values[i], dense.values[i], 1e-8) << what << ", pair " << i;
      }
      EXPECT_LE(explicit_max, ko.tolerance * sum.scale * 1.01 + 1e-13) << what;
      EXPECT_NEAR(sum.max_residual, explicit_max, 1e-12 * sum.scale) << what << ", " << sum.hvps << " HVPs";
      EXPECT_LT((s.vectors.transpose() * s.vectors - Matrix::Identity(k, k)).norm(), 1e-12) << what;
    }
  }
}

TEST(Lanczos, SearchSpectrumRefusesDenseAboveTheThreshold) {
  TanhMlpObjective obj(SmallNet());
  const Vector x = NetPoint(obj.shape());
  SpectrumOptions so;
  so.method = SpectrumMethod::kDense;
  so.dense_max_dim = obj.dim() - 1;
  EXPECT_THROW(CheckSpectrumOptions(so, obj.dim()), InputError);
  Spectrum s;
  EXPECT_EQ(SearchSpectrumAt(obj, x, so, &s), EvalStatus::kFailed);
  so.method = SpectrumMethod::kAuto;  // auto goes matrix-free above the threshold
  EXPECT_EQ(SearchSpectrumAt(obj, x, so, &s), EvalStatus::kOk);
  EXPECT_TRUE(s.partial);
  EXPECT_EQ(s.size(), so.eigenpairs);
  EXPECT_EQ(obj.counts().hessians, 0);
}

}  // namespace
}  // namespace ridgerider
