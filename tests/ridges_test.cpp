#include <gtest/gtest.h>

#include "ridgerider/ridges.hpp"

namespace ridgerider {
namespace {

Spectrum Diagonal(const Vector& values) {
  return DenseSpectrum(Matrix(values.asDiagonal()));
}

TEST(GetRidges, MostNegativeFirstAboveThresholdOnly) {
  Vector v(5);
  v << 2.0, -3.0, 1e-13, -0.5, -1e-9;  // an exact-zero mode and round-off noise
  RidgeOptions o;
  const auto r = GetRidges(Diagonal(v), o);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_DOUBLE_EQ(r[0].eigenvalue, -3.0);
  EXPECT_DOUBLE_EQ(r[1].eigenvalue, -0.5);
  EXPECT_NEAR(std::abs(r[0].direction[1]), 1.0, 1e-15);
  o.max_ridges = 1;
  EXPECT_EQ(GetRidges(Diagonal(v), o).size(), 1u);
}

TEST(GetRidges, OneRepresentativePerClusterByDefault) {
  Vector v(4);
  v << -2.0, -2.0 * (1 + 1e-9), -1.0, 3.0;
  RidgeOptions o;
  auto r = GetRidges(Diagonal(v), o);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].cluster_size, 2);
  EXPECT_EQ(r[1].cluster_size, 1);
  o.all_in_cluster = true;
  r = GetRidges(Diagonal(v), o);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].index, 0);
  EXPECT_EQ(r[1].index, 1);
}

// The gap the tracker's gap rule needs: to the nearest eigenvalue outside the ridge's cluster;
// unknown (0) above the last solved pair of a partial spectrum.
TEST(GetRidges, GapToTheNearestEigenvalueOutsideTheCluster) {
  Vector v(5);
  v << -2.0, -2.0 * (1 + 1e-9), -1.5, -0.25, 3.0;
  RidgeOptions o;
  Spectrum s = Diagonal(v);
  auto r = GetRidges(s, o);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_NEAR(r[0].gap, 0.5, 1e-8);  // the pair -2 to -1.5, not to its own twin
  EXPECT_NEAR(r[1].gap, 0.5, 1e-8);   // -1.5: below 0.5 (to the pair's upper twin), above 1.25
  EXPECT_NEAR(r[2].gap, 1.25, 1e-8);  // -0.25: below 1.25, above 3.25
  // The same four smallest pairs as a matrix-free solve returns them: the top one's upper
  // neighbour is unknown.
  Spectrum partial;
  partial.values = v.head(4);
  partial.vectors = s.vectors.leftCols(4);
  partial.partial = true;
  r = GetRidges(partial, o);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_NEAR(r[1].gap, 0.5, 1e-8);
  EXPECT_EQ(r[2].gap, 0.0);
  // One cluster only: nothing to measure against.
  Vector w(2);
  w << -1.0, -1.0;
  EXPECT_EQ(GetRidges(Diagonal(w), o)[0].gap, 0.0);
}

TEST(UpdateRidge, PicksLargestOverlapAndFixesSign) {
  // Rotate the basis by 10 degrees: the continuation of e1 is the rotated e1, sign-flipped.
  const double a = 10.0 * M_PI / 180;
  Matrix q(2, 2);
  q << std::cos(a), -std::sin(a), std::sin(a), std::cos(a);
  Matrix h = q * Vector(Eigen::Vector2d(-1.0, 2.0)).asDiagonal() * q.transpose();
  Spectrum s = DenseSpectrum(h);
  s.vectors.col(0) *= -1;  // whatever sign the solver returns
  const TrackedRidge t = UpdateRidge(s, Vector(Eigen::Vector2d(1, 0)), RidgeOptions{}, 0.5);
  EXPECT_FALSE(t.lost);
  EXPECT_NEAR(t.overlap, std::cos(a), 1e-12);
  EXPECT_GT(t.direction[0], 0);
  EXPECT_NEAR(t.eigenvalue, -1.0, 1e-12);
}

TEST(UpdateRidge, FollowsProjectionInsideACluster) {
  Vector v(3);
  v << -1.0, -1.0, 4.0;
  Spectrum s = Diagonal(v);
  Vector prev(3);
  prev << 0.6, 0.6, std::sqrt(1 - 0.72);
  const TrackedRidge t = UpdateRidge(s, prev, RidgeOptions{}, 0.5);
  EXPECT_NEAR(t.overlap, std::sqrt(0.72), 1e-12);
  EXPECT_NEAR(t.direction[0], std::sqrt(0.5), 1e-12);
  EXPECT_NEAR(t.direction[1], std::sqrt(0.5), 1e-12);
  EXPECT_NEAR(t.eigenvalue, -1.0, 1e-12);
}

TEST(UpdateRidge, LostBelowFloor) {
  Vector v(2);
  v << -1.0, 2.0;
  Vector prev(2);
  prev << 1.0, 1.0;
  prev.normalize();  // overlap 0.707 with either axis
  EXPECT_TRUE(UpdateRidge(Diagonal(v), prev, RidgeOptions{}, 0.8).lost);
  EXPECT_FALSE(UpdateRidge(Diagonal(v), prev, RidgeOptions{}, 0.5).lost);
}

}  // namespace
}  // namespace ridgerider
