// The Hessian at a fixed point as a linear operator, in Spectra's shape (Scalar, rows(),
// cols(), perform_op(in, out) const), so Spectra's solvers and ours share it. Every product is
// one Objective::Hvp, counted by the objective; a non-finite or failed product is remembered
// (status()) and its output zeroed, because Spectra's perform_op cannot return an error.
// Optionally shifted: the operator is H - shift I (Spectra's largest-magnitude rule then finds
// the smallest algebraic eigenvalues when shift >= lambda_max).
#pragma once

#include <Eigen/Core>

#include "ridgerider/objective.hpp"

namespace ridgerider {

class HessianOperator {
 public:
  using Scalar = double;

  HessianOperator(Objective& obj, const Vector& x, double shift = 0.0) : obj_(&obj), x_(x), shift_(shift) {}

  Eigen::Index rows() const { return x_.size(); }
  Eigen::Index cols() const { return x_.size(); }

  void perform_op(const Scalar* in, Scalar* out) const {
    Eigen::Map<const Vector> v(in, rows());
    Eigen::Map<Vector> w(out, rows());
    in_ = v;
    ++products_;
    const EvalStatus s = obj_->Hvp(x_, in_, &out_);
    if (s != EvalStatus::kOk) {
      if (status_ == EvalStatus::kOk) status_ = s;
      w.setZero();
      return;
    }
    if (shift_ != 0.0) out_ -= shift_ * in_;
    w = out_;
  }

  // (H - shift I) v for Eigen vectors; same bookkeeping, without perform_op's scratch copies
  // (at network scale every d-vector counts).
  EvalStatus Apply(const Vector& v, Vector* out) const {
    ++products_;
    const EvalStatus s = obj_->Hvp(x_, v, out);
    if (s != EvalStatus::kOk) {
      if (status_ == EvalStatus::kOk) status_ = s;
      out->setZero(rows());
      return status_;
    }
    if (shift_ != 0.0) *out -= shift_ * v;
    return status_;
  }

  const Vector& x() const { return x_; }
  double shift() const { return shift_; }
  long products() const { return products_; }
  // kOk unless some product was non-finite or failed (the first such status).
  EvalStatus status() const { return status_; }

 private:
  Objective* obj_;
  Vector x_;
  double shift_;
  mutable Vector in_, out_;  // perform_op's scratch (Objective::Hvp takes Eigen vectors), sized on first use
  mutable long products_ = 0;
  mutable EvalStatus status_ = EvalStatus::kOk;
};

}  // namespace ridgerider
