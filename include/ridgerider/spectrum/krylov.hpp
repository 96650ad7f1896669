// Our matrix-free eigensolver: a Krylov space grown one HVP at a time, Rayleigh-Ritz on it,
// and a thick restart (keep the wanted Ritz vectors, drop the rest) when it is full. It is
// seeded with any vectors the caller already has -- the previous ridge direction, its
// neighbours -- which is what Spectra cannot do for a block (its solvers restart from one
// vector and always spend at least ncv + 1 products; measured.md).
//
// The space is expanded with the residual of the first unconverged wanted Ritz pair. In exact
// arithmetic that residual is the next Lanczos vector, so this is thick-restart Lanczos; kept
// as an explicit basis Q with AQ = H Q (twice Gram-Schmidt), so that Ritz vectors,
// residuals and restarts cost no extra HVP. Memory: 2 x max_basis vectors of length d.
//
// Two questions: the k smallest algebraic eigenpairs (KrylovSmallest), and the eigenvector
// continuing a given direction (KrylovTrack: the Ritz vector of largest overlap, or the
// projection onto its cluster of equal Ritz values).
#pragma once

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "ridgerider/operator.hpp"
#include "ridgerider/rng.hpp"
#include "ridgerider/spectrum/dense.hpp"

namespace ridgerider {

struct KrylovOptions {
  int block_size = 1;      // wanted residuals added per expansion
  int max_basis = 40;      // basis vectors before a thick restart
  long max_hvps = 3000;    // the solve stops here, converged or not
  // |H v - theta v| <= tolerance * scale: this scale when > 0, else the largest |Ritz value|
  // (an estimate of |H| from below).
  double tolerance = 1e-8;
  double scale = 0;
  double cluster_tolerance = 1e-6;  // KrylovTrack: Ritz values this close form one cluster
  std::uint64_t seed = 0;           // random start / breakdown vectors (keyed, repeatable)
};

// What one eigen-solve did.
struct EigenSolveSummary {
  long hvps = 0;
  int restarts = 0;
  bool converged = false;
  double max_residual = 0;  // |H v - theta v| of the returned pairs (largest)
  double scale = 0;         // the |H| estimate the tolerance was relative to
  EvalStatus status = EvalStatus::kOk;
};

namespace detail {

// An orthonormal basis Q of a subspace with AQ = H Q and T = Q^T H Q, grown column by column.
class KrylovSpace {
 public:
  KrylovSpace(const HessianOperator& op, int capacity)
      : op_(op), q_(op.rows(), capacity), aq_(op.rows(), capacity), t_(capacity, capacity) {}

  int size() const { return m_; }
  int capacity() const { return static_cast<int>(q_.cols()); }
  int dim() const { return static_cast<int>(q_.rows()); }
  auto Q() const { return q_.leftCols(m_); }
  auto AQ() const { return aq_.leftCols(m_); }
  Matrix T() const { return t_.topLeftCorner(m_, m_); }

  // Orthogonalises w against the basis (twice: "twice is enough"), normalises it and applies H.
  // False when w lies (numerically) in the span already, the space is full, or H failed.
  bool Add(Vector w) {
    if (m_ >= capacity() || m_ >= dim()) return false;
    const double n0 = w.norm();
    if (!(n0 > 0) || !std::isfinite(n0)) return false;
    for (int pass = 0; pass < 2; ++pass) w -= Q() * (Q().transpose() * w);
    const double n1 = w.norm();
    if (!(n1 > 1e-10 * n0)) return false;
    w /= n1;
    Vector aw;
    if (op_.Apply(w, &aw) != EvalStatus::kOk) return false;
    q_.col(m_) = w;
    aq_.col(m_) = aw;
    // T_ij = q_i^T H q_j, new column from the products, mirrored: T stays exactly symmetric.
    const Vector col = Q().transpose() * aw;
    t_.block(0, m_, m_, 1) = col;
    t_.block(m_, 0, 1, m_) = col.transpose();
    t_(m_, m_) = w.dot(aw);
    ++m_;
    return true;
  }

  // Keeps span(Q Y) (Y orthonormal m x r Ritz vectors with values theta): no HVP needed.
  void Restart(const Matrix& y, const Vector& theta) {
    const int r = static_cast<int>(y.cols());
    const Matrix q = Q() * y, aq = AQ() * y;
    q_.leftCols(r) = q;
    aq_.leftCols(r) = aq;
    t_.topLeftCorner(r, r) = theta.asDiagonal();
    m_ = r;
  }

 private:
  const HessianOperator& op_;
  Matrix q_, aq_, t_;
  int m_ = 0;
};

// Ritz pairs of the current space, ascending.
inline void RayleighRitz(const KrylovSpace& s, Vector* theta, Matrix* y) {
  Eigen::SelfAdjointEigenSolver<Matrix> es(s.T(), Eigen::ComputeEigenvectors);
  *theta = es.eigenvalues();
  *y = es.eigenvectors();
}

inline Vector RandomUnit(int d, std::uint64_t seed, std::uint64_t stream) {
  KeyedRng rng(seed, stream);
  Vector v = rng.NormalVector(d);
  return v / v.norm();
}

}  // namespace detail

// The k smallest algebraic eigenpairs of H at the operator's point, ascending (k is capped at
// d). `seeds` (d x s, any scale, may be empty) start the space together with one seeded random
// vector (block_size - s of them, at least one), so that a seed which is nearly an eigenvector
// cannot hide the rest of the spectrum.
inline Spectrum KrylovSmallest(const HessianOperator& op, int k, const Matrix& seeds, const KrylovOptions& o,
                               EigenSolveSummary* summary) {
  const int d = static_cast<int>(op.rows());
  k = std::min(k, d);
  const int b = std::max(1, o.block_size);
  const int capacity = std::min(d, std::max(o.max_basis, k + 2 * b + 2));
  detail::KrylovSpace space(op, capacity);
  const long hvps0 = op.products();
  EigenSolveSummary sum;
  std::uint64_t stream = 1;
  for (int j = 0; j < seeds.cols(); ++j) space.Add(seeds.col(j));
  for (int j = 0; j < std::max<int>(1, b - static_cast<int>(seeds.cols())); ++j)
    space.Add(detail::RandomUnit(d, o.seed, stream++));
  Spectrum out;
  Vector theta;
  Matrix y;
  while (true) {
    if (op.status() != EvalStatus::kOk) break;
    detail::RayleighRitz(space, &theta, &y);
    const int m = space.size();
    const int wanted = std::min(k, m);
    sum.scale = o.scale > 0 ? o.scale : theta.cwiseAbs().maxCoeff();
    const double tol = o.tolerance * std::max(sum.scale, 1e-300);
    // Residuals of the wanted pairs; the unconverged ones (in order) expand the space.
    const Matrix yw = y.leftCols(wanted);
    const Matrix r = space.AQ() * yw - space.Q() * (yw * theta.head(wanted).asDiagonal());
    std::vector<int> open;
    sum.max_residual = 0;
    for (int i = 0; i < wanted; ++i) {
      const double ri = r.col(i).norm();
      sum.max_residual = std::max(sum.max_residual, ri);
      if (ri > tol) open.push_back(i);
    }
    const bool complete = m == d;  // the space is all of R^d: the Ritz pairs are exact
    if (wanted == k && (open.empty() || complete)) {
      sum.converged = true;
      break;
    }
    if (op.products() - hvps0 >= o.max_hvps) break;
    const int room = space.capacity() - m;
    if (room < b) {
      // Thick restart: keep the wanted pairs and as many next ones, at most capacity - b.
      const int keep = std::min(m, std::max(k + b, std::min(2 * k + b, space.capacity() - b)));
      if (keep < m) {
        space.Restart(y.leftCols(keep), theta.head(keep));
        ++sum.restarts;
        continue;
      }
    }
    int added = 0;
    for (int i = 0; i < static_cast<int>(open.size()) && added < std::min(b, room); ++i)
      added += space.Add(r.col(open[i])) ? 1 : 0;
    // Nothing new from the residuals (an invariant subspace, or k > m so far): a fresh random
    // direction, as Lanczos does on breakdown.
    for (int tries = 0; added == 0 && room > 0 && tries < 3 && op.status() == EvalStatus::kOk; ++tries)
      added += space.Add(detail::RandomUnit(d, o.seed, stream++)) ? 1 : 0;
    if (added == 0) break;
  }
  sum.hvps = op.products() - hvps0;
  sum.status = op.status();
  if (sum.status == EvalStatus::kOk && theta.size() > 0) {
    const int wanted = std::min(k, space.size());
    out.values = theta.head(wanted);
    out.vectors = space.Q() * y.leftCols(wanted);
    out.ok = out.values.allFinite() && out.vectors.allFinite();
  }
  if (summary) *summary = sum;
  return out;
}

// The eigenvector that continues `target` (unit): the Ritz pair of largest |overlap| with it,
// or, when Ritz values cluster (a symmetry), target's projection onto that cluster.
struct TrackedPair {
  Vector direction;      // unit, <direction, target> >= 0
  double eigenvalue = 0; // Rayleigh quotient of direction
  double overlap = 0;    // |projection of target onto the matched eigenspace|, in [0, 1]
  double residual = 0;   // |H direction - eigenvalue direction|
  int cluster_size = 1;
  Matrix neighbours;     // the Ritz vectors nearest in value (next seeds of a block tracker)
};

inline TrackedPair KrylovTrack(const HessianOperator& op, const Vector& target, const Matrix& extra_seeds,
                               int neighbours, const KrylovOptions& o, EigenSolveSummary* summary) {
  const int d = static_cast<int>(op.rows());
  const int b = std::max(1, o.block_size);
  const int capacity = std::min<long>(d, std::max<long>(o.max_basis, b + 2));
  detail::KrylovSpace space(op, capacity);
  const long hvps0 = op.products();
  EigenSolveSummary sum;
  TrackedPair tp;
  space.Add(target);
  for (int j = 0; j < extra_seeds.cols(); ++j) space.Add(extra_seeds.col(j));
  Vector theta, c_t;
  Matrix y;
  Vector yb;  // coefficients of the tracked direction in Q
  double theta_b = 0;
  while (op.status() == EvalStatus::kOk && space.size() > 0) {
    detail::RayleighRitz(space, &theta, &y);
    const Vector c = y.transpose() * (space.Q().transpose() * target);  // overlaps of Ritz vectors
    Eigen::Index best = 0;
    c.cwiseAbs().maxCoeff(&best);
    // The cluster of Ritz values around the best one (same rule as the dense UpdateRidge).
    int begin = static_cast<int>(best), end = begin + 1;
    for (auto [cb, ce] : Clusters(theta, o.cluster_tolerance))
      if (best >= cb && best < ce) begin = cb, end = ce;
    const Vector cc = c.segment(begin, end - begin);
    tp.overlap = cc.norm();
    tp.cluster_size = end - begin;
    yb = tp.overlap > 0 ? Vector(y.middleCols(begin, end - begin) * cc / tp.overlap) : Vector(y.col(best));
    const Vector w = cc.array().square();
    theta_b = w.sum() > 0 ? theta.segment(begin, end - begin).dot(w) / w.sum() : theta[best];
    const Vector r = space.AQ() * yb - theta_b * (space.Q() * yb);
    tp.residual = r.norm();
    sum.scale = o.scale > 0 ? o.scale : theta.cwiseAbs().maxCoeff();
    if (tp.residual <= o.tolerance * sum.scale) {
      sum.converged = true;
      break;
    }
    if (op.products() - hvps0 >= o.max_hvps) break;
    if (space.size() + b > space.capacity() && space.capacity() / 2 < space.size()) {
      // Keep the Ritz vectors nearest the tracked value.
      std::vector<int> idx(theta.size());
      std::iota(idx.begin(), idx.end(), 0);
      std::sort(idx.begin(), idx.end(), [&](int a, int b2) {
        return std::abs(theta[a] - theta_b) < std::abs(theta[b2] - theta_b);
      });
      const int keep = std::max(1, space.capacity() / 2);
      Matrix yk(y.rows(), keep);
      Vector tk(keep);
      for (int i = 0; i < keep; ++i) yk.col(i) = y.col(idx[i]), tk[i] = theta[idx[i]];
      space.Restart(yk, tk);
      ++sum.restarts;
      continue;
    }
    // Expand with the tracked residual, and with the other seeds' Ritz residuals in a block.
    // y holds coefficients in the space before this expansion: its first m columns.
    const Eigen::Index m = y.rows();
    int added = space.Add(r) ? 1 : 0;
    std::vector<int> near;
    for (int i = 0; i < theta.size(); ++i)
      if (i < begin || i >= end) near.push_back(i);
    std::sort(near.begin(), near.end(), [&](int a, int b2) {
      return std::abs(theta[a] - theta_b) < std::abs(theta[b2] - theta_b);
    });
    for (int i = 0; i < static_cast<int>(near.size()) && added < b; ++i) {
      const Vector ri = space.AQ().leftCols(m) * y.col(near[i]) - theta[near[i]] * (space.Q().leftCols(m) * y.col(near[i]));
      added += space.Add(ri) ? 1 : 0;
    }
    if (added == 0) {
      sum.converged = true;  // an invariant subspace: the Ritz pair is exact
      break;
    }
  }
  sum.hvps = op.products() - hvps0;
  sum.status = op.status();
  if (sum.status == EvalStatus::kOk && yb.size() > 0) {
    tp.direction = space.Q() * yb;
    tp.direction /= tp.direction.norm();
    if (tp.direction.dot(target) < 0) tp.direction = -tp.direction;
    tp.eigenvalue = theta_b;
    // Neighbours: Ritz vectors outside the tracked cluster, nearest in value first.
    std::vector<int> idx;
    for (int i = 0; i < theta.size(); ++i)
      if (std::abs(y.col(i).dot(yb)) < 0.5) idx.push_back(i);
    std::sort(idx.begin(), idx.end(), [&](int a, int b2) {
      return std::abs(theta[a] - theta_b) < std::abs(theta[b2] - theta_b);
    });
    const int nn = std::min<int>(neighbours, static_cast<int>(idx.size()));
    tp.neighbours.resize(d, nn);
    for (int i = 0; i < nn; ++i) tp.neighbours.col(i) = space.Q() * y.col(idx[i]);
  }
  if (summary) *summary = sum;
  return tp;
}

}  // namespace ridgerider
