// TorchCallable objective and the tensor-sharing helpers (see python_objectives.hpp). The only
// translation unit of the module that includes Torch headers.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/csrc/autograd/python_variable.h>  // THPVariable_Check
#include <torch/csrc/utils/pybind.h>  // torch.Tensor <-> at::Tensor casters (torch_python)

#include <limits>
#include <sstream>

#include "python_objectives.hpp"
#include "ridgerider/errors.hpp"
#include "torch/autograd_point.hpp"

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
    py::gil_scoped_acquire gil;  // fn_ and the tensors Python code made are released under the GIL
    point_.Clear();
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
    if (!point_.depends_on_x())
      throw InputError(
          "the loss does not depend on x through torch operations (its result has no autograd graph "
          "back to x): write it with torch functions of the tensor it receives, without .item(), "
          ".numpy() or .detach()");
  }

 protected:
  EvalStatus DoValue(const Vector& x, double* f) override {
    return Guarded(f, [&] {
      if (point_.Holds(x)) {
        *f = point_.value();
        return;
      }
      torch::autograd::AutoGradMode no_grad(false);  // thread-local: the Python call sees it
      *f = Call(AutogradPoint::TensorOf(x)).item<double>();
    });
  }

  EvalStatus DoValueAndGradient(const Vector& x, double* f, Vector* g) override {
    return Guarded(f, [&] {
      if (!point_.Holds(x)) BuildGraph(x);
      *f = point_.value();
      *g = point_.gradient();
    });
  }

  EvalStatus DoHvp(const Vector& x, const Vector& v, Vector* out) override {
    return Guarded(nullptr, [&] {
      if (!point_.Holds(x)) BuildGraph(x);
      point_.Hvp(v, out);  // one backward pass, no Python call
    });
  }

  EvalStatus DoHessian(const Vector& x, Matrix* h) override {
    return Guarded(nullptr, [&] {
      if (!point_.Holds(x)) BuildGraph(x);
      point_.Hessian(h);
    });
  }

 private:
  // Python exceptions (and losses that are not losses) are kept for the module to re-raise;
  // autograd failures are a status, as for TorchScript losses.
  template <class F>
  EvalStatus Guarded(double* f, F body) {
    try {
      body();
      return EvalStatus::kOk;
    } catch (const py::error_already_set&) {
      errors_->Capture(std::current_exception());
    } catch (const NotALoss&) {
      errors_->Capture(std::current_exception());
    } catch (const std::exception&) {
    }
    point_.Clear();
    if (f) *f = std::numeric_limits<double>::quiet_NaN();
    return EvalStatus::kFailed;
  }

  // Calls the Python loss under the GIL; x crosses as the same tensor (no copy), and so does
  // the result. Checks that the result is a one-element tensor.
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

  // f = fn(x), g = df/dx with create_graph: later HVPs at x are backward passes of this graph,
  // run with the GIL released (the search thread does not hold it).
  void BuildGraph(const Vector& x) {
    point_.Build(x, [this](const at::Tensor& xt) {
      torch::autograd::AutoGradMode grad_on(true);
      return Call(xt);
    });
  }

  py::object fn_;
  int dim_;
  std::string name_;
  std::shared_ptr<PythonErrors> errors_;
  AutogradPoint point_;  // the graph of the last point
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
