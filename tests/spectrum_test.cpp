#include <gtest/gtest.h>

#include "ridgerider/problems/registry.hpp"
#include "ridgerider/spectrum/dense.hpp"

namespace ridgerider {
namespace {

// The quadratic problem prescribes its spectrum and eigenbasis at the origin exactly.
TEST(DenseSpectrum, RecoversPrescribedEigenpairs) {
  Problem p = *MakeProblem("quadratic");
  Spectrum s;
  ASSERT_EQ(SpectrumAt(*p.objective, p.saddle, &s), EvalStatus::kOk);
  const Vector expected = Vec({-2.0, -1.0, 0.5, 1.0, 3.0});
  EXPECT_LT((s.values - expected).norm(), 1e-12);
  // Eigenvector i must be +-Q e_i: the minima are at Q(+-sqrt2, +-1, 0...), so Q's first two
  // columns are recoverable from them.
  const Vector q0 = (p.minima[0] - p.minima[2]) / (2 * std::sqrt(2.0));
  EXPECT_NEAR(std::abs(s.vectors.col(0).dot(q0)), 1.0, 1e-12);
  // Residual ||H v - lambda v|| for every pair.
  Matrix h;
  p.objective->Hessian(p.saddle, &h);
  for (int i = 0; i < 5; ++i)
    EXPECT_LT((h * s.vectors.col(i) - s.values[i] * s.vectors.col(i)).norm(), 1e-12);
}

TEST(DenseSpectrum, OrthonormalAndAscending) {
  Matrix a = Matrix::Random(8, 8);
  Matrix h = a + a.transpose();
  Spectrum s = DenseSpectrum(h);
  ASSERT_TRUE(s.ok);
  for (int i = 1; i < 8; ++i) EXPECT_LE(s.values[i - 1], s.values[i]);
  EXPECT_LT((s.vectors.transpose() * s.vectors - Matrix::Identity(8, 8)).norm(), 1e-12);
  EXPECT_LT((s.vectors * s.values.asDiagonal() * s.vectors.transpose() - h).norm(), 1e-11);
}

}  // namespace
}  // namespace ridgerider
