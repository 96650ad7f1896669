// The derivatives of a LibTorch function of one flat float64 tensor at one point, all from one
// graph: Build runs f = fn(x) and g = df/dx with create_graph; every HVP and the dense Hessian
// at that point are then backward passes through g's graph (no second forward pass). Used by
// the TorchScript objective and by the Python module's torch objective, which differ only in
// what fn is. Includes ATen headers: include it from Torch translation units only.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>

#include "ridgerider/types.hpp"

namespace ridgerider {

class AutogradPoint {
 public:
  // fn gets x (requires_grad) and returns a one-element tensor. Throws what fn throws, or
  // std::runtime_error when the result is not a one-element tensor.
  using Function = std::function<at::Tensor(const at::Tensor&)>;

  // Builds the graph at x (the previous one is dropped first).
  void Build(const Vector& x, const Function& fn);
  // Whether the graph is of this x (compared bytewise).
  bool Holds(const Vector& x) const;
  void Clear();

  double value() const { return f_; }
  const Vector& gradient() const { return g_; }
  // False when f has no autograd path back to x (a constant, or the graph was cut): g = 0.
  bool depends_on_x() const { return depends_on_x_; }
  // H v and H (symmetrised) at the held point; zero when g does not depend on x.
  void Hvp(const Vector& v, Vector* out) const;
  void Hessian(Matrix* h) const;

  // A float64 tensor holding a copy of x; Copy writes a tensor of dim numbers (any dtype) to out.
  static at::Tensor TensorOf(const Vector& x);
  static void Copy(const at::Tensor& t, int dim, Vector* out);

 private:
  at::Tensor BackwardOfGradient(const at::Tensor& w) const;

  bool held_ = false;
  bool depends_on_x_ = false;
  bool second_order_ = false;  // g depends on x
  Vector x_, g_;
  double f_ = 0;
  at::Tensor xt_, grad_;
};

}  // namespace ridgerider
