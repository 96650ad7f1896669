// Our matrix-free eigensolver: a Krylov space grown one HVP at a time, Rayleigh-Ritz on it,
// and a thick restart (keep the wanted Ritz vectors, drop the rest) when it is full. It is
// seeded with any vectors the caller already has -- the previous ridge direction, its
// neighbours -- which is what Spectra cannot do for a block (its solvers restart from one
// vector and always spend at least ncv + 1 products; measured.md).
//
// The space keeps the Krylov relation H Q = Q T + P B: Q (d x m) orthonormal, T = Q^T H Q,
// and P (d x p, p = the start block's width) an orthonormal basis of what H Q has outside Q,
// with its coefficients B (p x m). So the residual of any Ritz pair (theta, y) is P (B y), and
// its norm |B y| costs O(p m) -- no d-vector is formed to test convergence -- and expanding
// the space with the residuals of the unconverged wanted pairs means moving directions of P
// into Q: with one start vector this is thick-restart Lanczos (P is the next Lanczos
// vector), with full reorthogonalisation (twice Gram-Schmidt when needed). Thick restarts
// rotate Q in place, a block of rows at a time. Memory: max_basis + p vectors of length d
// (H Q is not kept), plus a few d-vectors of scratch.
//
// Two questions: the k smallest algebraic eigenpairs (KrylovSmallest), and the eigenvector
// continuing a given direction (KrylovTrack: the Ritz vector of largest overlap, or the
// projection onto its cluster of equal Ritz values).
#pragma once

#include <Eigen/Eigenvalues>
#include <Eigen/QR>
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
  // KrylovTrack, both > 0: the gap-aware rule instead of tolerance -- stop once the residual r
  // bounds the angle to the eigenvector by sin_angle, r <= sin_angle delta / (1 + sin_angle)
  // (Davis-Kahan: sin <= r / (delta - r)), delta = min(gap, the distance from the tracked Ritz
  // value to the nearest other one). A Ritz value next to the tracked one shows a neighbour
  // the start vector leans into (an eigenvector turning near an avoided crossing) after the
  // HVP that exposes it; far ones are averages of the far spectrum and do not loosen the rule.
  double gap = 0;
  double sin_angle = 0;
  // KrylovSmallest: Ritz vectors kept by a thick restart (0: the wanted ones and as many next
  // ones, 2k + block_size; capped at max_basis - block_size).
  int restart_keep = 0;
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

inline Vector RandomUnit(int d, std::uint64_t seed, std::uint64_t stream) {
  KeyedRng rng(seed, stream);
  Vector v = rng.NormalVector(d);
  return v / v.norm();
}

// m.leftCols(r) = m.leftCols(cols) * y in place (y: cols x r, r <= cols), a block of rows at a
// time: the scratch is kRowBlock x r, not another d x r matrix next to the basis.
inline void RotateColumnsInPlace(Matrix& m, int cols, const Matrix& y) {
  constexpr Eigen::Index kRowBlock = 256;
  const Eigen::Index r = y.cols();
  Matrix tmp(std::min<Eigen::Index>(kRowBlock, m.rows()), r);
  for (Eigen::Index i = 0; i < m.rows(); i += kRowBlock) {
    const Eigen::Index n = std::min<Eigen::Index>(kRowBlock, m.rows() - i);
    tmp.topRows(n).noalias() = m.block(i, 0, n, cols) * y;
    m.block(i, 0, n, r) = tmp.topRows(n);
  }
}

// The space of the header: H Q = Q T + P B, grown a block of P at a time.
class KrylovSpace {
 public:
  KrylovSpace(const HessianOperator& op, int capacity, std::uint64_t seed)
      : op_(op), q_(op.rows(), capacity), t_(capacity, capacity), seed_(seed) {}

  int size() const { return m_; }
  int capacity() const { return static_cast<int>(q_.cols()); }
  int dim() const { return static_cast<int>(q_.rows()); }
  int pending() const { return np_; }  // directions of P: what the space can still grow by
  auto Q() const { return q_.leftCols(m_); }
  Matrix T() const { return t_.topLeftCorner(m_, m_); }

  // B y (p x n): the residuals H Q y - Q T y of y's columns in P's coordinates.
  Matrix ResidualCoefficients(const Matrix& y) const { return b_.topLeftCorner(np_, m_) * y; }
  // |H Q y_j - Q T y_j| of y's columns: the Ritz residual norms when y holds Ritz vectors of T.
  Vector ResidualNorms(const Matrix& y) const {
    if (np_ == 0) return Vector::Zero(y.cols());
    return ResidualCoefficients(y).colwise().norm().transpose();
  }

  // Starts the space from v's columns (any scale; those already in the span are skipped), one
  // HVP each. Returns the number of basis vectors.
  int Start(const Matrix& v) {
    m_ = np_ = 0;
    p_.resize(dim(), std::max<Eigen::Index>(1, v.cols()));
    b_ = Matrix::Zero(p_.cols(), capacity());
    for (int j = 0; j < v.cols() && np_ < dim(); ++j) {
      Vector f = v.col(j);
      const double n0 = f.norm();
      if (!(n0 > 0) || !std::isfinite(n0)) continue;
      const double n1 = Orthogonalize(&f, 0, nullptr, nullptr);
      if (n1 > 1e-10 * n0) p_.col(np_++) = f / n1;
    }
    return Expand(Matrix(np_, 0), np_);
  }

  // Moves `count` directions of span(P) into the basis -- first those of P z's columns (z: p x
  // n, e.g. the residuals of the unconverged Ritz pairs), then any -- and applies H to them.
  // Returns how many were added: 0 when P is empty (an invariant subspace) or the basis full.
  int Expand(const Matrix& z, int count) {
    count = std::min({count, np_, capacity() - m_});
    if (count <= 0) return 0;
    if (count < np_) {
      // Rotate P (and B) so that its first `count` columns span the first columns of P z.
      const int nz = std::min<int>(static_cast<int>(z.cols()), count);
      if (nz > 0) {
        Eigen::HouseholderQR<Matrix> qr(z.leftCols(nz));
        const Matrix w = qr.householderQ();
        RotateColumnsInPlace(p_, np_, w);
        b_.topLeftCorner(np_, m_) = (w.transpose() * b_.topLeftCorner(np_, m_)).eval();
      }
    }
    const int m0 = m_, rest = np_ - count;
    q_.middleCols(m0, count) = p_.leftCols(count);
    for (int j = 0; j < rest; ++j) p_.col(j) = p_.col(count + j);
    b_.topLeftCorner(rest, m0) = b_.block(count, 0, rest, m0).eval();
    np_ = rest;
    m_ = m0 + count;
    Vector v, f;
    for (int j = 0; j < count; ++j) {
      const int c = m0 + j;
      v = q_.col(c);
      if (op_.Apply(v, &f) != EvalStatus::kOk) return count;  // the caller sees op.status()
      // H q_c = Q cq + P cp + f, f orthogonal to both: f's direction is a new column of P.
      Vector cq = Vector::Zero(m_), cp = Vector::Zero(np_);
      const double nf = Orthogonalize(&f, m_, &cq, &cp);
      t_.block(0, c, m_, 1) = cq;
      b_.block(0, c, np_, 1) = cp;
      if (m_ + np_ >= dim()) continue;  // Q and P span R^d: nothing is left outside
      if (nf > 0) {
        p_.col(np_) = f / nf;
        b_.block(np_, 0, 1, c).setZero();
        b_(np_, c) = nf;
        ++np_;
      } else {
        // f is rounding noise (an invariant subspace): continue in a fresh random direction,
        // as Lanczos does on breakdown. Its coefficient is 0, so the relation still holds.
        f = RandomUnit(dim(), seed_, breakdown_stream_++);
        const double nr = Orthogonalize(&f, m_, nullptr, nullptr);
        if (nr > 0) {
          p_.col(np_) = f / nr;
          b_.block(np_, 0, 1, c + 1).setZero();
          ++np_;
        }
      }
    }
    // T exactly symmetric: the new columns mirrored into the rows, the new block averaged.
    t_.block(m0, 0, count, m0) = t_.block(0, m0, m0, count).transpose();
    const Matrix tb = t_.block(m0, m0, count, count);
    t_.block(m0, m0, count, count) = 0.5 * (tb + tb.transpose());
    return count;
  }

  // Keeps span(Q y) (y: m x r, orthonormal columns) in place; no HVP.
  void Restart(const Matrix& y) {
    const int r = static_cast<int>(y.cols());
    RotateColumnsInPlace(q_, m_, y);
    const Matrix tr = y.transpose() * t_.topLeftCorner(m_, m_) * y;
    t_.topLeftCorner(r, r) = 0.5 * (tr + tr.transpose());
    b_.topLeftCorner(np_, r) = (b_.topLeftCorner(np_, m_) * y).eval();
    m_ = r;
  }

  // Q y, formed in the basis' own storage and handed over: the space is empty afterwards, and no
  // second d x r matrix ever sits next to the basis.
  Matrix Release(const Matrix& y) {
    RotateColumnsInPlace(q_, m_, y);
    q_.conservativeResize(Eigen::NoChange, y.cols());
    m_ = np_ = 0;
    Matrix out = std::move(q_);
    q_.resize(0, 0);
    return out;
  }

 private:
  // Removes from f its components along Q's first mq columns and all of P (coefficients added
  // to cq, cp when given): once, and again while a pass shrinks f by more than 1/sqrt(2)
  // (Daniel-Gragg-Kaufman-Stewart). Returns |f| after, or 0 when f is rounding noise.
  // Memory-bound at network scale (the basis is far larger than the caches), so each pass is
  // one sweep over the basis in blocks of rows: subtract this pass's projection and, while the
  // block is in cache, accumulate the next pass's coefficients -- passes + 1 sweeps, not 2 x
  // passes.
  double Orthogonalize(Vector* f, int mq, Vector* cq, Vector* cp) const {
    double before = f->norm();
    if (!(before > 0) || !std::isfinite(before)) return 0;
    const auto qm = q_.leftCols(mq);
    const auto pm = p_.leftCols(np_);
    Vector a = qm.transpose() * *f, b = pm.transpose() * *f;
    Vector a2(mq), b2(np_);
    constexpr Eigen::Index kRows = 512;
    for (int pass = 0; pass < 4; ++pass) {
      if (cq) *cq += a;
      if (cp) *cp += b;
      a2.setZero();
      b2.setZero();
      double ss = 0;
      for (Eigen::Index i = 0; i < f->size(); i += kRows) {
        const Eigen::Index n = std::min<Eigen::Index>(kRows, f->size() - i);
        auto fb = f->segment(i, n);
        if (mq > 0) fb.noalias() -= qm.middleRows(i, n) * a;
        if (np_ > 0) fb.noalias() -= pm.middleRows(i, n) * b;
        if (mq > 0) a2.noalias() += qm.middleRows(i, n).transpose() * fb;
        if (np_ > 0) b2.noalias() += pm.middleRows(i, n).transpose() * fb;
        ss += fb.squaredNorm();
      }
      const double after = std::sqrt(ss);
      if (!(after > 0)) return 0;
      if (after > 0.7071067811865476 * before) return after;
      before = after;
      a.swap(a2);
      b.swap(b2);
    }
    return 0;  // still cancelling after four passes: f lies in the span
  }

  const HessianOperator& op_;
  Matrix q_, t_, p_, b_;
  int m_ = 0, np_ = 0;
  std::uint64_t seed_;
  std::uint64_t breakdown_stream_ = std::uint64_t{1} << 32;  // apart from the callers' streams
};

// Ritz pairs of the current space, ascending.
inline void RayleighRitz(const KrylovSpace& s, Vector* theta, Matrix* y) {
  Eigen::SelfAdjointEigenSolver<Matrix> es(s.T(), Eigen::ComputeEigenvectors);
  *theta = es.eigenvalues();
  *y = es.eigenvectors();
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
  detail::KrylovSpace space(op, capacity, o.seed);
  const long hvps0 = op.products();
  EigenSolveSummary sum;
  {
    const int s = static_cast<int>(seeds.cols()), r = std::max(1, b - s);
    Matrix start(d, s + r);
    start.leftCols(s) = seeds;
    for (int j = 0; j < r; ++j) start.col(s + j) = detail::RandomUnit(d, o.seed, 1 + j);
    space.Start(start);
  }
  Spectrum out;
  Vector theta;
  Matrix y;
  while (op.status() == EvalStatus::kOk && space.size() > 0) {
    detail::RayleighRitz(space, &theta, &y);
    const int m = space.size();
    const int wanted = std::min(k, m);
    sum.scale = o.scale > 0 ? o.scale : theta.cwiseAbs().maxCoeff();
    const double tol = o.tolerance * std::max(sum.scale, 1e-300);
    // Residual norms of the wanted pairs from the small B; the unconverged ones (in order)
    // choose the directions that expand the space.
    const Vector res = space.ResidualNorms(y.leftCols(wanted));
    std::vector<int> open;
    sum.max_residual = res.size() ? res.maxCoeff() : 0.0;
    for (int i = 0; i < wanted; ++i)
      if (res[i] > tol) open.push_back(i);
    const bool complete = m == d;  // the space is all of R^d: the Ritz pairs are exact
    if (wanted == k && (open.empty() || complete)) {
      sum.converged = true;
      break;
    }
    if (op.products() - hvps0 >= o.max_hvps) break;
    const int room = space.capacity() - m;
    if (room < b) {
      // Thick restart: keep the wanted pairs and as many next ones, at most capacity - b.
      const int rule = o.restart_keep > 0 ? std::max(o.restart_keep, k + b) : 2 * k + b;
      const int keep = std::min(m, std::max(k + b, std::min(rule, space.capacity() - b)));
      if (keep < m) {
        space.Restart(y.leftCols(keep));
        ++sum.restarts;
        continue;
      }
    }
    const int nz = std::min<int>(b, static_cast<int>(open.size()));
    Matrix yz(m, nz);
    for (int i = 0; i < nz; ++i) yz.col(i) = y.col(open[i]);
    // Nothing pending (an invariant subspace with no room left for a fresh direction): done.
    if (space.Expand(space.ResidualCoefficients(yz), std::min(b, room)) == 0) break;
  }
  sum.hvps = op.products() - hvps0;
  sum.status = op.status();
  if (sum.status == EvalStatus::kOk && theta.size() == space.size() && theta.size() > 0) {
    const int wanted = std::min(k, space.size());
    out.values = theta.head(wanted);
    out.vectors = space.Release(y.leftCols(wanted));
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
  double gap = 0;        // gap-aware rule: the delta of the last test (KrylovOptions::gap)
  Matrix neighbours;     // the Ritz vectors nearest in value (next seeds of a block tracker)
};

// `start` (unit, or empty for target itself) is where the space starts, e.g. target
// extrapolated along a ride; overlaps are still measured against target.
inline TrackedPair KrylovTrack(const HessianOperator& op, const Vector& target, const Vector& start_vector,
                               const Matrix& extra_seeds, int neighbours, const KrylovOptions& o,
                               EigenSolveSummary* summary) {
  const int d = static_cast<int>(op.rows());
  const int b = std::max(1, o.block_size);
  const int capacity = std::min<long>(d, std::max<long>(o.max_basis, b + 2));
  detail::KrylovSpace space(op, capacity, o.seed);
  const long hvps0 = op.products();
  EigenSolveSummary sum;
  TrackedPair tp;
  {
    Matrix start(d, 1 + extra_seeds.cols());
    start.col(0) = start_vector.size() == d ? start_vector : target;
    start.rightCols(extra_seeds.cols()) = extra_seeds;
    space.Start(start);
  }
  Vector qt = space.Q().transpose() * target;  // Q^T target, kept up to date below
  Vector theta;
  Matrix y;
  Vector yb;  // coefficients of the tracked direction in Q
  double theta_b = 0;
  while (op.status() == EvalStatus::kOk && space.size() > 0) {
    detail::RayleighRitz(space, &theta, &y);
    const Vector c = y.transpose() * qt;  // overlaps of the Ritz vectors with target
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
    // H Q yb - theta_b Q yb = Q (T yb - theta_b yb) + P B yb, the two parts orthogonal (the
    // first is zero unless yb mixes a cluster of nearly equal Ritz values).
    const double in_span = (theta.segment(begin, end - begin).array() - theta_b).matrix().cwiseProduct(cc).norm() /
                           std::max(tp.overlap, 1e-300);
    tp.residual = std::hypot(space.ResidualNorms(yb)[0], tp.overlap > 0 ? in_span : 0.0);
    sum.scale = o.scale > 0 ? o.scale : theta.cwiseAbs().maxCoeff();
    double bound = o.tolerance * sum.scale;
    if (o.gap > 0 && o.sin_angle > 0) {
      double delta = o.gap;
      for (int i = 0; i < theta.size(); ++i)
        if (i < begin || i >= end) delta = std::min(delta, std::abs(theta[i] - theta_b));
      bound = o.sin_angle * delta / (1 + o.sin_angle);
      tp.gap = delta;
    }
    if (tp.residual <= bound) {
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
      for (int i = 0; i < keep; ++i) yk.col(i) = y.col(idx[i]);
      space.Restart(yk);
      qt = (yk.transpose() * qt).eval();
      ++sum.restarts;
      continue;
    }
    // Expand with the tracked residual, and with the other Ritz pairs' residuals in a block.
    std::vector<int> near;
    for (int i = 0; i < theta.size(); ++i)
      if (i < begin || i >= end) near.push_back(i);
    std::sort(near.begin(), near.end(), [&](int a, int b2) {
      return std::abs(theta[a] - theta_b) < std::abs(theta[b2] - theta_b);
    });
    const int nz = std::min<int>(b, 1 + static_cast<int>(near.size()));
    Matrix yz(y.rows(), nz);
    yz.col(0) = yb;
    for (int i = 1; i < nz; ++i) yz.col(i) = y.col(near[i - 1]);
    const int m0 = space.size();
    const int added = space.Expand(space.ResidualCoefficients(yz), b);
    if (added == 0) {
      sum.converged = true;  // an invariant subspace: the Ritz pair is exact
      break;
    }
    qt.conservativeResize(m0 + added);
    qt.tail(added) = space.Q().rightCols(added).transpose() * target;
  }
  sum.hvps = op.products() - hvps0;
  sum.status = op.status();
  if (sum.status == EvalStatus::kOk && yb.size() > 0 && yb.size() == space.size()) {
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

inline TrackedPair KrylovTrack(const HessianOperator& op, const Vector& target, const Matrix& extra_seeds,
                               int neighbours, const KrylovOptions& o, EigenSolveSummary* summary) {
  return KrylovTrack(op, target, Vector(), extra_seeds, neighbours, o, summary);
}

}  // namespace ridgerider
