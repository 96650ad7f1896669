// The lever game of the paper's zero-shot-coordination experiment, in closed form.
// Two players each pick one of n levers with softmax policies p = softmax(theta[0:n]) and
// q = softmax(theta[n:2n]); both are paid r_i only when both pick lever i, so the expected
// return is J = sum_i r_i p_i q_i. With S_p = diag(p) - p p^T, a = r*q and b = r*p:
//   dJ/dtheta1 = S_p a,   dJ/dtheta2 = S_q b
//   d2J/dtheta1_i dtheta1_j = S_p[i,j] (a_i - J) - p_i (S_p a)_j      (and alike for player 2)
//   d2J/dtheta1_i dtheta2_j = p_i (r_i S_q[i,j] - (S_q b)_j)
// Interior stationary points have p_i ~ 1/r_i for both players: the maximally invariant saddle.
#pragma once

#include <cmath>
#include <vector>

#include "ridgerider/types.hpp"

namespace ridgerider::experiments {

class LeverGame {
 public:
  explicit LeverGame(std::vector<double> payoffs) : r_(Eigen::Map<const Vector>(payoffs.data(), payoffs.size())) {}

  int levers() const { return static_cast<int>(r_.size()); }
  int dim() const { return 2 * levers(); }
  const Vector& payoffs() const { return r_; }

  static Vector Softmax(const Vector& t) {
    const Vector e = (t.array() - t.maxCoeff()).exp();
    return e / e.sum();
  }
  Vector P(const Vector& theta) const { return Softmax(theta.head(levers())); }
  Vector Q(const Vector& theta) const { return Softmax(theta.tail(levers())); }

  // J of player 1's policy p with player 2's policy q (cross-play uses two runs' policies).
  double Return(const Vector& p, const Vector& q) const { return (r_.array() * p.array() * q.array()).sum(); }

  double ReturnAndGradient(const Vector& theta, Vector* grad) const {
    const int n = levers();
    const Vector p = P(theta), q = Q(theta);
    const Vector a = r_.cwiseProduct(q), b = r_.cwiseProduct(p);
    const double j = p.dot(a);
    grad->resize(dim());
    grad->head(n) = (p.array() * (a.array() - j)).matrix();
    grad->tail(n) = (q.array() * (b.array() - j)).matrix();
    return j;
  }

  void ReturnHessian(const Vector& theta, Matrix* h) const {
    const int n = levers();
    const Vector p = P(theta), q = Q(theta);
    const Vector a = r_.cwiseProduct(q), b = r_.cwiseProduct(p);
    const double j = p.dot(a);
    const Matrix sp = Matrix(p.asDiagonal()) - p * p.transpose();
    const Matrix sq = Matrix(q.asDiagonal()) - q * q.transpose();
    const Vector ga = sp * a, gb = sq * b;
    h->resize(dim(), dim());
    h->topLeftCorner(n, n) = (a.array() - j).matrix().asDiagonal() * sp - p * ga.transpose();
    h->bottomRightCorner(n, n) = (b.array() - j).matrix().asDiagonal() * sq - q * gb.transpose();
    const Matrix cross = p.asDiagonal() * (r_.asDiagonal() * sq - Vector::Ones(n) * gb.transpose());
    h->topRightCorner(n, n) = cross;
    h->bottomLeftCorner(n, n) = cross.transpose();
  }

  // Sum of both players' entropies and its gradient (dH/dtheta_j = -p_j (log p_j + H)).
  double Entropy(const Vector& theta, Vector* grad) const {
    const int n = levers();
    double total = 0;
    if (grad) grad->resize(dim());
    for (int k = 0; k < 2; ++k) {
      const Vector p = Softmax(theta.segment(k * n, n));
      const Vector logp = p.array().log();
      const double h = -p.dot(logp);
      total += h;
      if (grad) grad->segment(k * n, n) = -p.cwiseProduct((logp.array() + h).matrix());
    }
    return total;
  }

 private:
  Vector r_;
};

}  // namespace ridgerider::experiments
