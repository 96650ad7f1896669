// TorchCallable objective and the tensor-sharing helpers (see python_objectives.hpp). The only
// translation unit of the module that includes Torch headers.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/csrc/autograd/python_variable.h>  // THPVariable_Check
#include <torch/csrc/utils/pybind.h>  // torch.Tensor <-> at::Tensor casters (torch_python)

#include <cstring>
#include <limits>
#include <sstream>

#include "python_objectives.hpp"
#include "ridgerider/errors.hpp"

namespace ridgerider::python {

namespace {

std::string ShapeText(const at::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

// The caller's Python loss did something that is not a loss: a misuse, reported as ValueError.
struct NotALoss : InputError {
  using InputError::InputError;
};

class TorchCallableObjective final : public Objective {
 public:
  TorchCallableObjective(py::object fn, int dim, std::string name, std::shared_ptr<PythonErrors> errors)
      : fn_(std::move(fn)), dim_(dim), name_(std::move(name)), errors_(std::move(errors)) {}

  ~TorchCallableObjective() override {
    py::gil_scoped_acquire gil;  // fn_ and tensors made by Python code are released under the GIL
    xt_ = at::Tensor();
    grad_ = at::Tensor();
    fn_ = py::object();
  }

  int dim() const override { return dim_; }
  std::string name() const override { return name_; }
  // The Hessian costs dim backward passes on the cached graph, no further Python call.
  bool has_dense_hessian() const override { return dim_ <= 64; }

  // Evaluates at x0 with derivatives and throws on anything that is not a differentiable scalar
  // loss; a Python exception propagates as it is. GIL held on entry.
  void Validate(const Vector& x0) {
    try {
      py::gil_scoped_release release;
      BuildGraph(x0);
    } catch (const NotALoss&) {
      throw;
    } catch (const py::error_already_set&) {
      throw;
    } catch (const std::exception& e) {
      throw InputError("the loss could not be differentiated at x0: " + std::string(e.what()).substr(0, 400));
    }
    if (!depends_on_x_)
      throw InputError(
          "the loss does not depend on x through torch operations (its result has no autograd graph "
          "back to x): write it with torch functions of the tensor it receives, without .item(), "
          ".numpy() or .detach()");
  }

 protected:
  EvalStatus DoValue(const Vector& x, double* f) override {
    if (CacheHit(x)) {
      *f = f_;
      return EvalStatus::kOk;
    }
    try {
      torch::autograd::AutoGradMode no_grad(false);
      *f = ScalarOf(Call(TensorOf(x)));
      return EvalStatus::kOk;
    } catch (const py::error_already_set&) {
      errors_->Capture(std::current_exception());
    } catch (const NotALoss&) {
      errors_->Capture(std::current_exception());
    } catch (const std::exception&) {
    }
    return Failed(f);
  }

  EvalStatus DoValueAndGradient(const Vector& x, double* f, Vector* g) override {
    return Guarded(f, [&] {
      if (!CacheHit(x)) BuildGraph(x);
      *f = f_;
      *g = g_;
    });
  }

  EvalStatus DoHvp(const Vector& x, const Vector& v, Vector* out) override {
    return Guarded(nullptr, [&] {
      if (!CacheHit(x)) BuildGraph(x);
      if (!second_order_) {
        out->setZero();  // the gradient does not depend on x: H = 0
        return;
      }
      CopyOut(BackwardOfGradient(TensorOf(v)), out);  // H v = d(g . v)/dx, one backward pass
    });
  }

  EvalStatus DoHessian(const Vector& x, Matrix* h) override {
    return Guarded(nullptr, [&] {
      if (!CacheHit(x)) BuildGraph(x);
      if (!second_order_) {
        h->setZero();
        return;
      }
      Vector row(dim_);
      for (int i = 0; i < dim_; ++i) {  // row i = d g_i / dx, all on the cached graph
        at::Tensor e = at::zeros({dim_}, at::kDouble);
        e.data_ptr<double>()[i] = 1.0;
        CopyOut(BackwardOfGradient(e), &row);
        h->row(i) = row.transpose();
      }
      Matrix sym = 0.5 * (*h + h->transpose());
      *h = std::move(sym);
    });
  }

 private:
  template <class F>
  EvalStatus Guarded(double* f, F body) {
    try {
      body();
      return EvalStatus::kOk;
    } catch (const py::error_already_set&) {
      errors_->Capture(std::current_exception());
    } catch (const NotALoss&) {
      errors_->Capture(std::current_exception());
    } catch (const std::exception&) {  // autograd failures at this point: a status, as in Torch
    }
    return Failed(f);
  }

  bool CacheHit(const Vector& x) const {
    return cached_ && std::memcmp(x.data(), x_.data(), sizeof(double) * dim_) == 0;
  }

  // A tensor that owns a copy of x: Python code may keep the tensor it was given.
  at::Tensor TensorOf(const Vector& x) const {
    at::Tensor t = at::empty({dim_}, at::kDouble);
    std::memcpy(t.data_ptr<double>(), x.data(), sizeof(double) * dim_);
    return t;
  }

  // Calls the Python loss (under the GIL) and checks that it returned a one-element tensor.
  at::Tensor Call(const at::Tensor& x) {
    py::gil_scoped_acquire gil;
    py::object r = fn_(x);
    if (!THPVariable_Check(r.ptr()))
      throw NotALoss("the loss must return a torch tensor with one element, but returned " +
                     std::string(py::str(py::type::of(r).attr("__name__"))));
    at::Tensor t = r.cast<at::Tensor>();
    if (t.numel() != 1)
      throw NotALoss("the loss must return a tensor with one element, but returned shape " + ShapeText(t));
    return t;
  }

  static double ScalarOf(const at::Tensor& t) { return t.item<double>(); }

  // f = fn(x), g = df/dx with create_graph: later HVPs at x are backward passes of this graph.
  void BuildGraph(const Vector& x) {
    cached_ = false;
    xt_ = at::Tensor();
    grad_ = at::Tensor();
    at::Tensor xt = TensorOf(x);
    xt.requires_grad_(true);
    at::Tensor f;
    {
      torch::autograd::AutoGradMode grad_on(true);
      f = Call(xt);
    }
    f_ = ScalarOf(f);
    at::Tensor grad;
    depends_on_x_ = f.requires_grad();
    if (f.requires_grad()) {
      grad = torch::autograd::grad({f.reshape({})}, {xt}, /*grad_outputs=*/{}, /*retain_graph=*/true,
                                   /*create_graph=*/true, /*allow_unused=*/true)[0];
    }
    depends_on_x_ = depends_on_x_ && grad.defined();
    if (grad.defined()) {
      CopyOut(grad, &g_);
    } else {
      g_.setZero(dim_);
    }
    second_order_ = grad.defined() && grad.requires_grad();
    xt_ = std::move(xt);
    grad_ = std::move(grad);
    x_ = x;
    cached_ = true;
  }

  at::Tensor BackwardOfGradient(const at::Tensor& w) {
    return torch::autograd::grad({grad_}, {xt_}, {w}, /*retain_graph=*/true, /*create_graph=*/false,
                                 /*allow_unused=*/true)[0];
  }

  void CopyOut(const at::Tensor& t, Vector* out) const {
    out->resize(dim_);
    if (!t.defined()) {
      out->setZero();
      return;
    }
    const at::Tensor c = t.detach().to(at::kDouble).contiguous().reshape({-1});
    std::memcpy(out->data(), c.data_ptr<double>(), sizeof(double) * dim_);
  }

  EvalStatus Failed(double* f) {
    cached_ = false;
    if (xt_.defined() || grad_.defined()) {
      py::gil_scoped_acquire gil;
      xt_ = at::Tensor();
      grad_ = at::Tensor();
    }
    if (f) *f = std::numeric_limits<double>::quiet_NaN();
    return EvalStatus::kFailed;
  }

  py::object fn_;
  int dim_;
  std::string name_;
  std::shared_ptr<PythonErrors> errors_;

  bool cached_ = false;
  bool second_order_ = false;
  bool depends_on_x_ = false;
  Vector x_, g_;
  at::Tensor xt_, grad_;
  double f_ = 0;
};

}  // namespace

std::unique_ptr<Objective> MakeTorchCallableObjective(py::object fn, int dim, std::string name,
                                                      std::shared_ptr<PythonErrors> errors) {
  return std::make_unique<TorchCallableObjective>(std::move(fn), dim, std::move(name), std::move(errors));
}

void ValidateTorchCallableAt(Objective& objective, const Vector& x0) {
  if (auto* t = dynamic_cast<TorchCallableObjective*>(&objective)) t->Validate(x0);
}

void BindTensorSharing(py::module_& m) {
  m.def("_tensor_address", [](const at::Tensor& t) { return reinterpret_cast<std::uintptr_t>(t.data_ptr()); },
        "The address of a tensor's data as LibTorch (C++) sees it: equal to tensor.data_ptr() in Python "
        "when the tensor crossed without a copy.");
  m.def(
      "_tensor_fill_", [](at::Tensor t, double v) { t.fill_(v); },
      "Fills a tensor in place from C++ (the Python tensor sees it when the memory is shared).");
  m.def(
      "_tensor_from_cpp", [](int n) { return at::arange(n, at::kDouble); },
      "A tensor made by LibTorch in C++, handed to Python as a torch.Tensor.");
}

}  // namespace ridgerider::python
