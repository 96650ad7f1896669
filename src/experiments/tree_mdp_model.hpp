// A tree-structured MDP with a tabular softmax policy and its exact expected return, gradient
// and Hessian in closed form (the paper's exploration experiment).
//
// The tree: a complete binary tree of depth D; internal nodes in heap order (node s has
// children 2s+1, 2s+2), leaf j is node 2^D - 1 + j and pays reward r_j. The agent starts at
// the root and picks left or right at every node. The policy at node s is a softmax over two
// logits (theta_L, theta_R); p_s = P(left) = sigmoid(u_s), u_s = theta_L - theta_R.
//
// Only "live" nodes carry parameters: a node whose subtree pays 0 everywhere has no influence
// on the return (its gradient and Hessian rows vanish identically), so it is left out. That is
// an exact reduction, not an approximation, and it keeps the dense spectra small.
//
// Closed forms, with rho_s the probability of reaching s, w_s = p_s (1 - p_s), V the value of a
// subtree under the policy and Delta_s = V(left child) - V(right child):
//   dJ/du_s        = rho_s w_s Delta_s
//   d2J/du_s^2     = rho_s w_s (1 - 2 p_s) Delta_s
//   d2J/du_a du_t  = rho_t w_t Delta_t * (1 - p_a if t is below a's left child, else -p_a)
//                    for a a proper ancestor of t; 0 for nodes on different branches.
// The Hessian therefore has about d * D non-zeros (ancestor pairs only); the logits of one node
// enter only through u_s, so the logit-shift of each node is an exact zero mode.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "ridgerider/types.hpp"

namespace ridgerider::experiments {

class TreeMdp {
 public:
  TreeMdp(int depth, std::vector<double> rewards) : depth_(depth), rewards_(std::move(rewards)) {
    const int internal = (1 << depth) - 1;
    live_index_.assign(internal, -1);
    // A node is live when some leaf below it pays a non-zero reward.
    std::vector<char> nonzero(2 * internal + 1, 0);
    for (int j = 0; j <= internal; ++j) nonzero[internal + j] = rewards_[j] != 0.0;
    for (int s = internal - 1; s >= 0; --s) nonzero[s] = nonzero[2 * s + 1] || nonzero[2 * s + 2];
    for (int s = 0; s < internal; ++s)
      if (nonzero[s]) {
        live_index_[s] = static_cast<int>(live_.size());
        live_.push_back(s);
      }
  }

  int depth() const { return depth_; }
  int internal_nodes() const { return (1 << depth_) - 1; }
  int leaves() const { return 1 << depth_; }
  const std::vector<double>& rewards() const { return rewards_; }
  const std::vector<int>& live_nodes() const { return live_; }
  // Number of parameters: two logits per live node.
  int dim() const { return 2 * static_cast<int>(live_.size()); }

  // Probability of going left at every internal node (dead nodes: 1/2).
  std::vector<double> LeftProbabilities(const Vector& theta) const {
    std::vector<double> p(internal_nodes(), 0.5);
    for (size_t k = 0; k < live_.size(); ++k) p[live_[k]] = Sigmoid(theta[2 * k] - theta[2 * k + 1]);
    return p;
  }

  // Expected return J.
  double Return(const Vector& theta) const {
    const Pass a = Forward(theta);
    return a.value[0];
  }

  // J and dJ/dtheta.
  double ReturnAndGradient(const Vector& theta, Vector* grad) const {
    const Pass a = Forward(theta);
    grad->setZero(dim());
    for (size_t k = 0; k < live_.size(); ++k) {
      const int s = live_[k];
      const double du = a.reach[s] * a.p[s] * (1 - a.p[s]) * Delta(a, s);
      (*grad)[2 * k] = du;
      (*grad)[2 * k + 1] = -du;
    }
    return a.value[0];
  }

  // The dense Hessian of J in theta.
  void ReturnHessian(const Vector& theta, Matrix* h) const {
    const Pass a = Forward(theta);
    const int n = static_cast<int>(live_.size());
    Matrix hu = Matrix::Zero(n, n);  // in u coordinates
    for (int k = 0; k < n; ++k) {
      const int t = live_[k];
      const double base = a.reach[t] * a.p[t] * (1 - a.p[t]) * Delta(a, t);
      hu(k, k) = base * (1 - 2 * a.p[t]);
      // Walk up the ancestors of t; `child` is the node on the path just below `anc`.
      for (int child = t; child > 0;) {
        const int anc = (child - 1) / 2;
        const bool left = child == 2 * anc + 1;
        const int ka = live_index_[anc];  // ancestors of a live node are live
        const double v = base * (left ? 1 - a.p[anc] : -a.p[anc]);
        hu(ka, k) = v;
        hu(k, ka) = v;
        child = anc;
      }
    }
    h->resize(dim(), dim());
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        const double v = hu(i, j);
        (*h)(2 * i, 2 * j) = v;
        (*h)(2 * i + 1, 2 * j + 1) = v;
        (*h)(2 * i, 2 * j + 1) = -v;
        (*h)(2 * i + 1, 2 * j) = -v;
      }
  }

  // The leaf a deterministic reading of the policy reaches (left where p_s >= 1/2) and the
  // probability that the stochastic policy reaches it.
  int GreedyLeaf(const Vector& theta, double* probability) const {
    const std::vector<double> p = LeftProbabilities(theta);
    int s = 0;
    double prob = 1.0;
    while (s < internal_nodes()) {
      const bool left = p[s] >= 0.5;
      prob *= left ? p[s] : 1 - p[s];
      s = left ? 2 * s + 1 : 2 * s + 2;
    }
    if (probability) *probability = prob;
    return s - internal_nodes();
  }

  // The policy theta stands for, read deterministically: every live node's greedy action (left
  // where p >= 1/2, as GreedyLeaf reads it) gets probability q; each node's logit mean (an
  // exact zero mode) is kept.
  Vector GreedyPolicy(const Vector& theta, double q) const {
    const double half = 0.5 * std::log(q / (1 - q));
    Vector out = theta;
    for (size_t k = 0; k < live_.size(); ++k) {
      const double mean = 0.5 * (theta[2 * k] + theta[2 * k + 1]);
      const double sign = theta[2 * k] - theta[2 * k + 1] >= 0 ? 1.0 : -1.0;
      out[2 * k] = mean + sign * half;
      out[2 * k + 1] = mean - sign * half;
    }
    return out;
  }

  // Whether leaf j is a local optimum of the return in the deterministic limit: the policy that
  // goes to j and, off its path, to the worst leaf of every sibling subtree cannot be improved
  // at any node, i.e. at every node on the path the sibling subtree's worst leaf pays no more
  // than r_j. Otherwise (e.g. its sibling leaf pays more) gradient ascent leaves j from every
  // policy near it: no converged policy reaches j, a policy can only pass through it.
  bool IsLocalOptimum(int j) const {
    const int internal = internal_nodes();
    std::vector<double> worst(2 * internal + 1);
    for (int k = 0; k <= internal; ++k) worst[internal + k] = rewards_[k];
    for (int n = internal - 1; n >= 0; --n) worst[n] = std::min(worst[2 * n + 1], worst[2 * n + 2]);
    for (int node = internal + j; node > 0; node = (node - 1) / 2) {
      const int parent = (node - 1) / 2;
      const int sibling = node == 2 * parent + 1 ? 2 * parent + 2 : 2 * parent + 1;
      if (worst[sibling] > rewards_[j]) return false;
    }
    return true;
  }

  // Sum over live nodes of the policy's entropy at the node (unweighted by reach), and its
  // gradient: the entropy term of the MIS search.
  double Entropy(const Vector& theta, Vector* grad) const {
    double h = 0;
    if (grad) grad->setZero(dim());
    for (size_t k = 0; k < live_.size(); ++k) {
      const double u = theta[2 * k] - theta[2 * k + 1];
      const double p = Sigmoid(u);
      h += -(p * std::log(p) + (1 - p) * std::log(1 - p));
      if (grad) {
        const double dh = -p * (1 - p) * u;  // d/du of the binary entropy of sigmoid(u)
        (*grad)[2 * k] = dh;
        (*grad)[2 * k + 1] = -dh;
      }
    }
    return h;
  }

 private:
  struct Pass {
    std::vector<double> p, reach, value;  // value over all nodes (internal then leaves)
  };
  static double Sigmoid(double u) {
    return u >= 0 ? 1.0 / (1.0 + std::exp(-u)) : std::exp(u) / (1.0 + std::exp(u));
  }
  static double Delta(const Pass& a, int s) { return a.value[2 * s + 1] - a.value[2 * s + 2]; }

  Pass Forward(const Vector& theta) const {
    Pass a;
    const int internal = internal_nodes();
    a.p = LeftProbabilities(theta);
    a.value.assign(2 * internal + 1, 0.0);
    for (int j = 0; j <= internal; ++j) a.value[internal + j] = rewards_[j];
    for (int s = internal - 1; s >= 0; --s)
      a.value[s] = a.p[s] * a.value[2 * s + 1] + (1 - a.p[s]) * a.value[2 * s + 2];
    a.reach.assign(internal, 0.0);
    a.reach[0] = 1.0;
    for (int s = 0; 2 * s + 2 < internal; ++s) {
      a.reach[2 * s + 1] = a.reach[s] * a.p[s];
      a.reach[2 * s + 2] = a.reach[s] * (1 - a.p[s]);
    }
    return a;
  }

  int depth_;
  std::vector<double> rewards_;
  std::vector<int> live_;        // live node ids, ascending (so parents come first)
  std::vector<int> live_index_;  // node id -> position in live_, -1 when dead
};

}  // namespace ridgerider::experiments
