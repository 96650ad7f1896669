// NumpyCallables objective (see python_objectives.hpp).
#include <pybind11/numpy.h>

#include <limits>

#include "python_objectives.hpp"
#include "ridgerider/errors.hpp"

namespace ridgerider::python {

namespace {

class NumpyObjective final : public Objective {
 public:
  NumpyObjective(int dim, std::string name, py::object value, py::object gradient, py::object hvp,
                 py::object hessian, std::shared_ptr<PythonErrors> errors)
      : dim_(dim),
        name_(std::move(name)),
        value_(std::move(value)),
        gradient_(std::move(gradient)),
        hvp_(std::move(hvp)),
        hessian_(std::move(hessian)),
        errors_(std::move(errors)) {}

  ~NumpyObjective() override {
    py::gil_scoped_acquire gil;
    value_ = gradient_ = hvp_ = hessian_ = py::object();
  }

  int dim() const override { return dim_; }
  std::string name() const override { return name_; }
  bool has_dense_hessian() const override { return !hessian_.is_none(); }

 protected:
  EvalStatus DoValue(const Vector& x, double* f) override {
    return Guarded(f, [&] { *f = py::cast<double>(value_(Array(x))); });
  }
  EvalStatus DoValueAndGradient(const Vector& x, double* f, Vector* g) override {
    return Guarded(f, [&] {
      py::array_t<double> xa = Array(x);
      *f = py::cast<double>(value_(xa));
      CopyVector(gradient_(xa), "gradient", g);
    });
  }
  EvalStatus DoHvp(const Vector& x, const Vector& v, Vector* out) override {
    if (hvp_.is_none() && hessian_.is_none()) return Objective::DoHvp(x, v, out);  // finite differences
    return Guarded(nullptr, [&] {
      if (!hvp_.is_none()) {
        CopyVector(hvp_(Array(x), Array(v)), "hvp", out);
      } else {
        Matrix h;
        CopyMatrix(hessian_(Array(x)), &h);
        *out = h * v;
      }
    });
  }
  EvalStatus DoHessian(const Vector& x, Matrix* h) override {
    if (hessian_.is_none()) return Objective::DoHessian(x, h);  // d HVPs
    return Guarded(nullptr, [&] {
      CopyMatrix(hessian_(Array(x)), h);
      Matrix sym = 0.5 * (*h + h->transpose());
      *h = std::move(sym);
    });
  }

 private:
  // Runs body under the GIL; a Python exception is kept for the module to re-raise.
  template <class F>
  EvalStatus Guarded(double* f, F body) {
    py::gil_scoped_acquire gil;
    try {
      body();
      return EvalStatus::kOk;
    } catch (...) {
      errors_->Capture(std::current_exception());
    }
    if (f) *f = std::numeric_limits<double>::quiet_NaN();
    return EvalStatus::kFailed;
  }

  // A fresh array (a copy: Python code may keep what it was given).
  static py::array_t<double> Array(const Vector& x) { return py::array_t<double>(x.size(), x.data()); }

  void CopyVector(const py::object& r, const char* what, Vector* out) const {
    auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(r);
    if (!a || a.size() != dim_)
      throw InputError(std::string(what) + "(...) must return " + std::to_string(dim_) + " numbers, got " +
                       std::string(py::repr(r)).substr(0, 200));
    out->resize(dim_);
    std::copy(a.data(), a.data() + dim_, out->data());
  }
  void CopyMatrix(const py::object& r, Matrix* h) const {
    auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(r);
    if (!a || a.ndim() != 2 || a.shape(0) != dim_ || a.shape(1) != dim_)
      throw InputError("hessian(x) must return a " + std::to_string(dim_) + " x " + std::to_string(dim_) +
                       " array");
    h->resize(dim_, dim_);
    for (int i = 0; i < dim_; ++i)
      for (int j = 0; j < dim_; ++j) (*h)(i, j) = a.at(i, j);
  }

  int dim_;
  std::string name_;
  py::object value_, gradient_, hvp_, hessian_;
  std::shared_ptr<PythonErrors> errors_;
};

}  // namespace

std::unique_ptr<Objective> MakeNumpyObjective(int dim, std::string name, py::object value, py::object gradient,
                                              py::object hvp, py::object hessian,
                                              std::shared_ptr<PythonErrors> errors) {
  return std::make_unique<NumpyObjective>(dim, std::move(name), std::move(value), std::move(gradient),
                                          std::move(hvp), std::move(hessian), std::move(errors));
}

}  // namespace ridgerider::python
