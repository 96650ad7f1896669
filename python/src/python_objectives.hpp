// Objectives whose loss is Python code, for the extension module ridgerider._core.
//
// TorchCallable: a Python callable taking a 1-D float64 torch.Tensor x and returning a scalar
// tensor; derivatives by LibTorch autograd on the graph the call builds. The tensors cross the
// boundary as the same objects (Debian's python3-torch and libtorch-dev are one build; the
// module links torch_python), so x is handed to Python without conversion and the result comes
// back without one. The graph of the last point is cached: the gradient, every HVP and the
// dense Hessian at that point reuse it (one Python call per point, not per derivative).
//
// NumpyCallables: value(x) and gradient(x) (and optionally hvp(x, v), hessian(x)) on NumPy
// arrays, for losses that are not written in torch; a missing HVP falls back to central
// differences of the gradient (objective.hpp).
//
// GIL: the search runs with the GIL released; these objectives take it for each Python call
// and release it around autograd (which refuses to run on Python-built graphs otherwise).
// A Python exception raised by the loss is kept in a PythonErrors slot (the evaluation reports
// EvalStatus::kFailed), the search is aborted at its next callback, and the module re-raises it.
#pragma once

#include <pybind11/pybind11.h>

#include <exception>
#include <memory>
#include <mutex>
#include <string>

#include "ridgerider/callbacks.hpp"
#include "ridgerider/objective.hpp"

namespace ridgerider::python {

namespace py = pybind11;

// The first Python exception raised during a search.
class PythonErrors {
 public:
  void Capture(std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(m_);
    if (!first_) first_ = std::move(e);
  }
  bool Has() const {
    std::lock_guard<std::mutex> lock(m_);
    return static_cast<bool>(first_);
  }
  // Re-raises the kept exception (once) and clears the slot; the GIL must be held.
  void RethrowIfAny() {
    std::exception_ptr e;
    {
      std::lock_guard<std::mutex> lock(m_);
      std::swap(e, first_);
    }
    if (e) std::rethrow_exception(e);
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(m_);
    first_ = nullptr;
  }

 private:
  mutable std::mutex m_;
  std::exception_ptr first_;
};

// Aborts the search as soon as a Python exception has been kept.
class AbortOnPythonError : public ExploreCallback {
 public:
  explicit AbortOnPythonError(const PythonErrors& errors) : errors_(errors) {}
  CallbackAction OnStep(const StepEvent&) override { return Check(); }
  CallbackAction OnRideEnd(const RideNode&) override { return Check(); }
  CallbackAction OnLeaf(const Solution&, const RideNode&) override { return Check(); }

 private:
  CallbackAction Check() const { return errors_.Has() ? CallbackAction::kAbort : CallbackAction::kContinue; }
  const PythonErrors& errors_;
};

// fn(x: torch.Tensor[float64, (dim,)]) -> scalar tensor. Throws InputError when fn cannot be
// evaluated and differentiated at x0 (the Python exception's message included).
std::unique_ptr<Objective> MakeTorchCallableObjective(py::object fn, int dim, std::string name,
                                                      std::shared_ptr<PythonErrors> errors);

// value(x) -> float, gradient(x) -> array (dim,), hvp(x, v) -> array (dim,) or None,
// hessian(x) -> array (dim, dim) or None.
std::unique_ptr<Objective> MakeNumpyObjective(int dim, std::string name, py::object value, py::object gradient,
                                              py::object hvp, py::object hessian,
                                              std::shared_ptr<PythonErrors> errors);

// Checks that the torch callable works at x0 (value, gradient, graph reaching x); throws
// InputError naming what is wrong, or re-raises the Python exception. GIL held on entry.
void ValidateTorchCallableAt(Objective& objective, const Vector& x0);

// Helpers that show the torch.Tensor <-> at::Tensor hand-over shares memory (tests).
void BindTensorSharing(py::module_& m);

}  // namespace ridgerider::python
