#include "torch/autograd_point.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <cstring>
#include <stdexcept>

namespace ridgerider {

at::Tensor AutogradPoint::TensorOf(const Vector& x) {
  at::Tensor t = at::empty({x.size()}, at::kDouble);
  std::memcpy(t.data_ptr<double>(), x.data(), sizeof(double) * x.size());
  return t;
}

void AutogradPoint::Copy(const at::Tensor& t, int dim, Vector* out) {
  out->resize(dim);
  if (!t.defined()) {
    out->setZero();
    return;
  }
  if (t.scalar_type() == at::kDouble && t.is_contiguous() && t.numel() == dim) {
    std::memcpy(out->data(), t.data_ptr<double>(), sizeof(double) * dim);  // the usual case
    return;
  }
  const at::Tensor c = t.detach().to(at::kDouble).contiguous().reshape({-1});
  if (c.numel() != dim) throw std::runtime_error("derivative has the wrong size");
  std::memcpy(out->data(), c.data_ptr<double>(), sizeof(double) * dim);
}

bool AutogradPoint::Holds(const Vector& x) const {
  return held_ && x.size() == x_.size() && std::memcmp(x.data(), x_.data(), sizeof(double) * x.size()) == 0;
}

void AutogradPoint::Clear() {
  held_ = false;
  xt_ = at::Tensor();
  grad_ = at::Tensor();
}

void AutogradPoint::Build(const Vector& x, const Function& fn) {
  Clear();
  const int dim = static_cast<int>(x.size());
  at::Tensor xt = TensorOf(x);
  xt.requires_grad_(true);
  at::Tensor f = fn(xt);
  if (!f.defined() || f.numel() != 1) throw std::runtime_error("result is not a scalar");
  f_ = f.item<double>();
  at::Tensor grad;
  if (f.requires_grad()) {
    grad = torch::autograd::grad({f.reshape({})}, {xt}, /*grad_outputs=*/{}, /*retain_graph=*/true,
                                 /*create_graph=*/true, /*allow_unused=*/true)[0];
  }
  Copy(grad, dim, &g_);
  depends_on_x_ = grad.defined();
  second_order_ = grad.defined() && grad.requires_grad();
  xt_ = std::move(xt);
  grad_ = std::move(grad);
  x_ = x;
  held_ = true;
}

at::Tensor AutogradPoint::BackwardOfGradient(const at::Tensor& w) const {
  // d(g . w)/dx on the held graph, kept for further calls; undefined = zero.
  return torch::autograd::grad({grad_}, {xt_}, {w}, /*retain_graph=*/true, /*create_graph=*/false,
                               /*allow_unused=*/true)[0];
}

void AutogradPoint::Hvp(const Vector& v, Vector* out) const {
  const int dim = static_cast<int>(x_.size());
  if (!second_order_) {
    out->setZero(dim);  // the gradient does not depend on x (or f does not): H = 0
    return;
  }
  Copy(BackwardOfGradient(TensorOf(v)), dim, out);
}

void AutogradPoint::Hessian(Matrix* h) const {
  const int dim = static_cast<int>(x_.size());
  h->resize(dim, dim);
  if (!second_order_) {
    h->setZero();
    return;
  }
  Vector row(dim);
  for (int i = 0; i < dim; ++i) {  // row i = d g_i / dx: one backward pass each
    at::Tensor e = at::zeros({dim}, at::kDouble);
    e.data_ptr<double>()[i] = 1.0;
    Copy(BackwardOfGradient(e), dim, &row);
    h->row(i) = row.transpose();
  }
  Matrix sym = 0.5 * (*h + h->transpose());
  *h = std::move(sym);
}

}  // namespace ridgerider
