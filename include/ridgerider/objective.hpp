// The Objective: a scalar loss L(x), x in R^d, with its gradient, Hessian-vector products and,
// where cheap, the dense Hessian. Callers use the public non-virtual methods, which count every
// evaluation and turn non-finite numbers into EvalStatus::kNonFinite; implementations override
// the Do* hooks. A missing HVP falls back to central differences of the gradient, a missing
// dense Hessian to d HVPs (symmetrised), so every Objective offers all four operations.
//
// FunctionObjective adapts plain callables (lambdas, functors): give it the value+gradient
// callable and, optionally, an HVP and a dense-Hessian callable.
#pragma once

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "ridgerider/types.hpp"

namespace ridgerider {

struct EvalCounts {
  long values = 0;     // value-only evaluations
  long gradients = 0;  // value+gradient evaluations
  long hvps = 0;       // Hessian-vector products (finite-difference ones included)
  long hessians = 0;   // dense Hessians

  EvalCounts operator-(const EvalCounts& o) const {
    return {values - o.values, gradients - o.gradients, hvps - o.hvps, hessians - o.hessians};
  }
  EvalCounts operator+(const EvalCounts& o) const {
    return {values + o.values, gradients + o.gradients, hvps + o.hvps, hessians + o.hessians};
  }
};

class Objective {
 public:
  virtual ~Objective() = default;

  virtual int dim() const = 0;
  // A short human name, used in reports.
  virtual std::string name() const { return "objective"; }
  // True when DoHessian is cheaper than d HVPs (closed form or autodiff of the whole matrix).
  virtual bool has_dense_hessian() const { return false; }
  // An independent copy (own counts, own caches) for another thread, or nullptr when the
  // objective cannot be copied; then rides run one at a time.
  virtual std::unique_ptr<Objective> Clone() const { return nullptr; }
  // The search calls this before it evaluates anything for tree node `node` (0: the start point
  // and its MIS search; k: ride k, its branch point and its leaf), on the objective (or clone)
  // that computes that node. An objective whose loss depends on random draws of its own (a
  // mini-batch fixed per ride) takes them from this key, so every ride sees one deterministic
  // loss whichever thread computes it. Most objectives ignore it.
  virtual void SetRideKey(long node) { (void)node; }

  EvalStatus Value(const Vector& x, double* f) {
    ++counts_.values;
    EvalStatus s = DoValue(x, f);
    return Checked(s, std::isfinite(*f));
  }
  EvalStatus ValueAndGradient(const Vector& x, double* f, Vector* g) {
    ++counts_.gradients;
    g->resize(dim());
    EvalStatus s = DoValueAndGradient(x, f, g);
    return Checked(s, std::isfinite(*f) && g->allFinite());
  }
  EvalStatus Hvp(const Vector& x, const Vector& v, Vector* out) {
    ++counts_.hvps;
    out->resize(dim());
    EvalStatus s = DoHvp(x, v, out);
    return Checked(s, out->allFinite());
  }
  EvalStatus Hessian(const Vector& x, Matrix* h) {
    ++counts_.hessians;
    h->resize(dim(), dim());
    EvalStatus s = DoHessian(x, h);
    return Checked(s, h->allFinite());
  }

  const EvalCounts& counts() const { return counts_; }
  void ResetCounts() { counts_ = EvalCounts{}; }
  // Resuming a search from a checkpoint continues its counts.
  void RestoreCounts(const EvalCounts& c) { counts_ = c; }

  // Step of the finite-difference HVP fallback, relative to max(1, |x|).
  double fd_step = 1e-5;

 protected:
  virtual EvalStatus DoValue(const Vector& x, double* f) {
    Vector g(dim());
    return DoValueAndGradient(x, f, &g);
  }
  virtual EvalStatus DoValueAndGradient(const Vector& x, double* f, Vector* g) = 0;
  // Central differences of the gradient along v: O(h^2) accurate, two gradients.
  virtual EvalStatus DoHvp(const Vector& x, const Vector& v, Vector* out) {
    const double vn = v.norm();
    if (vn == 0.0) {
      out->setZero();
      return EvalStatus::kOk;
    }
    const double h = fd_step * std::max(1.0, x.norm()) / vn;
    double fp = 0, fm = 0;
    Vector gp(dim()), gm(dim());
    EvalStatus s1 = DoValueAndGradient(x + h * v, &fp, &gp);
    EvalStatus s2 = DoValueAndGradient(x - h * v, &fm, &gm);
    if (s1 != EvalStatus::kOk) return s1;
    if (s2 != EvalStatus::kOk) return s2;
    *out = (gp - gm) / (2.0 * h);
    return EvalStatus::kOk;
  }
  // d HVPs against the unit vectors, symmetrised (the HVPs are counted one by one).
  virtual EvalStatus DoHessian(const Vector& x, Matrix* h) {
    const int n = dim();
    Vector e = Vector::Zero(n), col(n);
    for (int i = 0; i < n; ++i) {
      e[i] = 1.0;
      ++counts_.hvps;
      EvalStatus s = DoHvp(x, e, &col);
      if (s != EvalStatus::kOk) return s;
      h->col(i) = col;
      e[i] = 0.0;
    }
    Matrix sym = 0.5 * (*h + h->transpose());
    *h = sym;
    return EvalStatus::kOk;
  }

 private:
  static EvalStatus Checked(EvalStatus s, bool finite) {
    if (s != EvalStatus::kOk) return s;
    return finite ? EvalStatus::kOk : EvalStatus::kNonFinite;
  }
  EvalCounts counts_;
};

// Adapts callables. value_and_gradient(x, f, g) is required; hvp(x, v, out) and hessian(x, H)
// are optional (empty std::function = use the fallback).
class FunctionObjective : public Objective {
 public:
  using ValueGradFn = std::function<void(const Vector&, double*, Vector*)>;
  using HvpFn = std::function<void(const Vector&, const Vector&, Vector*)>;
  using HessianFn = std::function<void(const Vector&, Matrix*)>;

  FunctionObjective(int dim, std::string name, ValueGradFn value_grad, HvpFn hvp = {},
                    HessianFn hessian = {})
      : dim_(dim),
        name_(std::move(name)),
        value_grad_(std::move(value_grad)),
        hvp_(std::move(hvp)),
        hessian_(std::move(hessian)) {}

  int dim() const override { return dim_; }
  std::string name() const override { return name_; }
  bool has_dense_hessian() const override { return static_cast<bool>(hessian_); }
  // The copy shares the callables: they must be safe to call from several threads.
  std::unique_ptr<Objective> Clone() const override {
    auto c = std::make_unique<FunctionObjective>(dim_, name_, value_grad_, hvp_, hessian_);
    c->fd_step = fd_step;
    return c;
  }

 protected:
  EvalStatus DoValueAndGradient(const Vector& x, double* f, Vector* g) override {
    value_grad_(x, f, g);
    return EvalStatus::kOk;
  }
  EvalStatus DoHvp(const Vector& x, const Vector& v, Vector* out) override {
    if (hvp_) {
      hvp_(x, v, out);
      return EvalStatus::kOk;
    }
    if (hessian_) {
      Matrix h(dim_, dim_);
      hessian_(x, &h);
      *out = h * v;
      return EvalStatus::kOk;
    }
    return Objective::DoHvp(x, v, out);
  }
  EvalStatus DoHessian(const Vector& x, Matrix* h) override {
    if (hessian_) {
      hessian_(x, h);
      return EvalStatus::kOk;
    }
    return Objective::DoHessian(x, h);
  }

 private:
  int dim_;
  std::string name_;
  ValueGradFn value_grad_;
  HvpFn hvp_;
  HessianFn hessian_;
};

}  // namespace ridgerider
