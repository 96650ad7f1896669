// Derivatives of a templated formula by Eigen's forward-mode AutoDiff (Debian libeigen3-dev):
// write the loss once as `template <class T> T operator()(const Eigen::Matrix<T, -1, 1>&)`,
// get value, gradient and the exact dense Hessian (nested AutoDiff). Cost grows like d^2 per
// Hessian, so this suits the small landscapes (d <~ 20) the exact path is for.
#pragma once

#include <Eigen/Core>
#include <unsupported/Eigen/AutoDiff>
#include <string>
#include <utility>

#include "ridgerider/objective.hpp"

namespace ridgerider {

template <class Formula>
class AutoDiffObjective : public Objective {
 public:
  AutoDiffObjective(int dim, std::string name, Formula formula)
      : dim_(dim), name_(std::move(name)), formula_(std::move(formula)) {}

  int dim() const override { return dim_; }
  std::string name() const override { return name_; }
  bool has_dense_hessian() const override { return true; }
  const Formula& formula() const { return formula_; }
  std::unique_ptr<Objective> Clone() const override {
    return std::make_unique<AutoDiffObjective>(dim_, name_, formula_);
  }

 protected:
  using Inner = Eigen::AutoDiffScalar<Eigen::VectorXd>;
  using InnerVec = Eigen::Matrix<Inner, Eigen::Dynamic, 1>;
  using Outer = Eigen::AutoDiffScalar<InnerVec>;

  EvalStatus DoValue(const Vector& x, double* f) override {
    *f = formula_(Eigen::VectorXd(x));
    return EvalStatus::kOk;
  }
  EvalStatus DoValueAndGradient(const Vector& x, double* f, Vector* g) override {
    InnerVec xa(dim_);
    for (int i = 0; i < dim_; ++i) xa[i] = Inner(x[i], dim_, i);
    Inner y = formula_(xa);
    *f = y.value();
    if (y.derivatives().size() == dim_) {
      *g = y.derivatives();
    } else {
      g->setZero();  // a formula constant in x carries no derivative vector
    }
    return EvalStatus::kOk;
  }
  EvalStatus DoHessian(const Vector& x, Matrix* h) override {
    Eigen::Matrix<Outer, Eigen::Dynamic, 1> xa(dim_);
    for (int i = 0; i < dim_; ++i) {
      xa[i].value() = Inner(x[i], dim_, i);
      xa[i].derivatives() = InnerVec(dim_);
      for (int j = 0; j < dim_; ++j) {
        xa[i].derivatives()[j] = Inner(i == j ? 1.0 : 0.0, Eigen::VectorXd::Zero(dim_));
      }
    }
    Outer y = formula_(xa);
    h->setZero();
    if (y.derivatives().size() != dim_) return EvalStatus::kOk;
    for (int i = 0; i < dim_; ++i) {
      const auto& row = y.derivatives()[i].derivatives();
      if (row.size() == dim_) h->row(i) = row.transpose();
    }
    Matrix sym = 0.5 * (*h + h->transpose());
    *h = sym;
    return EvalStatus::kOk;
  }
  EvalStatus DoHvp(const Vector& x, const Vector& v, Vector* out) override {
    Matrix h(dim_, dim_);
    DoHessian(x, &h);
    *out = h * v;
    return EvalStatus::kOk;
  }

 private:
  int dim_;
  std::string name_;
  Formula formula_;
};

template <class Formula>
AutoDiffObjective<Formula> MakeAutoDiffObjective(int dim, std::string name, Formula formula) {
  return AutoDiffObjective<Formula>(dim, std::move(name), std::move(formula));
}

}  // namespace ridgerider
