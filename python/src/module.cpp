// ridgerider._core: the compiled half of the Python package. Objectives written in Python
// (a torch callable, or NumPy callables), the CLI's option table, and explore(), which runs the
// C++ search and writes a CLI-style result directory (io::RunToDirectory, the code the CLI
// runs). The pure-Python half (python/ridgerider/) wraps these in the documented API.
#include <pybind11/eigen.h>
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "io/output.hpp"
#include "io/run_config.hpp"
#include "io/run_directory.hpp"
#include "io/state_json.hpp"
#include "python_objectives.hpp"
#include "ridgerider/errors.hpp"
#include "torch/torchscript_objective.hpp"

namespace ridgerider::python {

namespace {

using nlohmann::json;

// A Python-visible objective: the C++ objective and the slot its Python exceptions go to.
struct ObjectiveHandle {
  std::shared_ptr<Objective> objective;
  std::shared_ptr<PythonErrors> errors;
  std::string kind;  // result.json problem.kind

  Objective& get() const { return *objective; }
  void RaiseIfFailed(EvalStatus s, const char* what) const {
    errors->RethrowIfAny();
    if (s == EvalStatus::kFailed) throw std::runtime_error(std::string(what) + " failed");
  }
};

py::object FromJson(const json& j) {
  // Never destroyed: a static py::object would be released after the interpreter has gone.
  static py::object* loads = new py::object(py::module_::import("json").attr("loads"));
  return (*loads)(j.dump());
}

// Python kwargs arrive as one JSON object (converted on the Python side); each key goes
// through the CLI's option table, so names, types, ranges and messages are the CLI's.
io::RunConfig ConfigFromJson(const std::string& options_json) {
  json j;
  try {
    j = json::parse(options_json);
  } catch (const json::exception& e) {
    throw InputError(std::string("options are not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw InputError("options must be a JSON object");
  io::RunConfig c;
  c.progress = false;  // a library prints nothing unless asked (progress=True)
  for (const auto& [key, value] : j.items()) {
    static const char* kNotHere[] = {"problem", "objective", "objective-source", "function", "x0", "out", "resume",
                                     "model", "data", "train-size", "loss", "dtype", "batch", "chunk", "hvp",
                                     "activation", "init", "input-shape", "model-mode"};
    for (const char* k : kNotHere)
      if (key == k)
        throw InputError("option '" + key +
                         "' does not apply here: the loss is the Python function, x0 and out are arguments");
    io::ApplyOption(c, key, value);
  }
  io::ValidateSearchOptions(c);
  return c;
}

CallbackAction ActionOf(const py::object& r) {
  if (r.is_none()) return CallbackAction::kContinue;
  if (py::isinstance<py::str>(r)) {
    const std::string s = r.cast<std::string>();
    if (s == "continue") return CallbackAction::kContinue;
    if (s == "stop-ride") return CallbackAction::kStopRide;
    if (s == "abort") return CallbackAction::kAbort;
  }
  throw InputError("a callback must return None, 'continue', 'stop-ride' or 'abort', not " +
                   std::string(py::repr(r)));
}

// Forwards the search's events to a Python object with on_step(dict), on_ride_end(dict) and
// on_leaf(solution dict, ride dict) (the dicts have the keys of events.jsonl / result.json).
// on_step is only called when the object's `wants_steps` is true (a dict per step costs).
class PythonCallback : public ExploreCallback {
 public:
  PythonCallback(py::object target, std::shared_ptr<PythonErrors> errors)
      : target_(std::move(target)), errors_(std::move(errors)) {
    wants_steps_ = py::bool_(py::getattr(target_, "wants_steps", py::bool_(true)));
  }
  CallbackAction OnStep(const StepEvent& e) override {
    if (!wants_steps_) return CallbackAction::kContinue;
    return Call([&] {
      py::dict d;
      d["event"] = "step";
      d["ride"] = e.node;
      d["step"] = e.step;
      // None where a concurrent ride did not keep a long x (kBufferedStepXLimit).
      d["x"] = e.x ? py::object(py::cast(Vector(*e.x))) : py::object(py::none());
      d["loss"] = e.loss;
      d["eigenvalue"] = e.eigenvalue;
      d["overlap"] = e.overlap;
      d["step_size"] = e.step_size;
      d["grad_norm"] = e.grad_norm;
      return target_.attr("on_step")(d);
    });
  }
  CallbackAction OnRideEnd(const RideNode& n) override {
    return Call([&] { return target_.attr("on_ride_end")(FromJson(io::ToJson(n))); });
  }
  CallbackAction OnLeaf(const Solution& s, const RideNode& n) override {
    return Call([&] { return target_.attr("on_leaf")(FromJson(io::ToJson(s)), FromJson(io::ToJson(n))); });
  }

 private:
  template <class F>
  CallbackAction Call(F f) {
    if (errors_->Has()) return CallbackAction::kAbort;
    py::gil_scoped_acquire gil;
    try {
      return ActionOf(f());
    } catch (...) {
      errors_->Capture(std::current_exception());
      return CallbackAction::kAbort;
    }
  }
  py::object target_;
  std::shared_ptr<PythonErrors> errors_;
  bool wants_steps_ = true;
};

// Runs the search on `h` from x0 and writes the result directory `out`; returns result.json's
// text. A Python exception from the loss or a callback is re-raised after the directory has
// been written (what was found up to then is in it).
py::dict ExploreToDirectory(const ObjectiveHandle& h, const std::vector<double>& x0, const std::string& options_json,
                            const std::string& out, py::object callback, const std::string& name, bool landscape) {
  io::RunConfig c = ConfigFromJson(options_json);
  const int dim = h.get().dim();
  if (static_cast<int>(x0.size()) != dim)
    throw InputError("x0 has " + std::to_string(x0.size()) + " numbers but the objective has dimension " +
                     std::to_string(dim));
  c.x0 = x0;
  c.out = out;
  const Vector x = Eigen::Map<const Vector>(x0.data(), dim);
  h.errors->Clear();
  ValidateTorchCallableAt(h.get(), x);

  CallbackList extra;
  std::unique_ptr<PythonCallback> py_callback;
  if (!callback.is_none()) {
    py_callback = std::make_unique<PythonCallback>(callback, h.errors);
    extra.Add(py_callback.get());
  }
  AbortOnPythonError abort_on_error(*h.errors);
  extra.Add(&abort_on_error);

  io::DirectoryRun run;
  try {
    py::gil_scoped_release release;
    run = io::RunToDirectory(c, io::RunTarget{h.objective.get(), x, name, h.kind, landscape}, out, std::nullopt,
                             &extra);
  } catch (const InputError&) {
    h.errors->RethrowIfAny();  // the Python exception behind it says more
    throw;
  }
  h.errors->RethrowIfAny();
  py::dict d;
  d["result"] = run.result_json.dump();
  d["landscape_bounds"] = py::none();
  if (run.landscape_lo.size() == 2) d["landscape_bounds"] = py::make_tuple(run.landscape_lo, run.landscape_hi);
  return d;
}

// The loss on a grid (result.json's "landscape") over the box [lo, hi] of a 2-D objective.
std::string Landscape(const ObjectiveHandle& h, const Vector& lo, const Vector& hi, int resolution) {
  if (h.get().dim() != 2 || lo.size() != 2 || hi.size() != 2) throw InputError("a landscape needs a 2-D objective");
  if (resolution < 8 || resolution > 2001) throw InputError("option 'landscape-resolution': must be in [8, 2001]");
  h.errors->Clear();
  json grid;
  {
    py::gil_scoped_release release;
    grid = io::LandscapeGrid(h.get(), lo, hi, resolution);
  }
  h.errors->RethrowIfAny();
  return grid.dump();
}

py::list OptionTableForPython() {
  py::list out;
  const io::RunConfig defaults;
  for (const io::OptionSpec& s : io::OptionTable()) {
    static const char* kKinds[] = {"number", "integer", "bool", "string", "number-list", "choice"};
    py::dict d;
    d["key"] = s.key;
    d["kind"] = kKinds[static_cast<int>(s.kind)];
    d["help"] = s.help;
    d["choices"] = s.choices;
    d["default"] = FromJson(s.get(defaults));
    d["recorded"] = s.recorded;
    out.append(d);
  }
  return out;
}

}  // namespace

}  // namespace ridgerider::python

PYBIND11_MODULE(_core, m) {
  using namespace ridgerider;
  using namespace ridgerider::python;
  m.doc() = "ridgerider's compiled core: Python objectives, the option table and the search.";
  // torch.Tensor conversions need torch's Python module initialised (libtorch_python's types).
  py::module_::import("torch");

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const InputError& e) {  // bad input: the CLI's exit 2, Python's ValueError
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  py::class_<ObjectiveHandle>(m, "Objective",
                              "An objective the C++ search can evaluate (made by torch_objective or "
                              "numpy_objective). Its methods evaluate it once, for tests and checks.")
      .def_property_readonly("dim", [](const ObjectiveHandle& h) { return h.get().dim(); })
      .def_property_readonly("name", [](const ObjectiveHandle& h) { return h.get().name(); })
      .def("value",
           [](const ObjectiveHandle& h, const Vector& x) {
             double f = 0;
             EvalStatus s;
             {
               py::gil_scoped_release release;
               s = h.get().Value(x, &f);
             }
             h.RaiseIfFailed(s, "value");
             return f;
           })
      .def("value_and_gradient",
           [](const ObjectiveHandle& h, const Vector& x) {
             double f = 0;
             Vector g;
             EvalStatus s;
             {
               py::gil_scoped_release release;
               s = h.get().ValueAndGradient(x, &f, &g);
             }
             h.RaiseIfFailed(s, "value_and_gradient");
             return py::make_tuple(f, g);
           })
      .def("hvp",
           [](const ObjectiveHandle& h, const Vector& x, const Vector& v) {
             Vector out;
             EvalStatus s;
             {
               py::gil_scoped_release release;
               s = h.get().Hvp(x, v, &out);
             }
             h.RaiseIfFailed(s, "hvp");
             return out;
           })
      .def("hessian",
           [](const ObjectiveHandle& h, const Vector& x) {
             Matrix out;
             EvalStatus s;
             {
               py::gil_scoped_release release;
               s = h.get().Hessian(x, &out);
             }
             h.RaiseIfFailed(s, "hessian");
             return out;
           })
      .def("counts", [](const ObjectiveHandle& h) {
        const EvalCounts& c = h.get().counts();
        py::dict d;
        d["values"] = c.values;
        d["gradients"] = c.gradients;
        d["hvps"] = c.hvps;
        d["hessians"] = c.hessians;
        return d;
      });

  m.def(
      "torch_objective",
      [](py::object fn, int dim, std::string name) {
        if (dim < 1) throw InputError("the dimension must be >= 1");
        auto errors = std::make_shared<PythonErrors>();
        return ObjectiveHandle{MakeTorchCallableObjective(std::move(fn), dim, std::move(name), errors), errors,
                               "python-torch"};
      },
      py::arg("fn"), py::arg("dim"), py::arg("name") = "python",
      "fn(x: torch.Tensor of dim float64) -> one-element tensor; derivatives by LibTorch autograd.");
  m.def(
      "torchscript_file_objective",
      [](const std::string& path, int dim) {
        py::gil_scoped_release release;
        auto errors = std::make_shared<PythonErrors>();
        return ObjectiveHandle{MakeTorchScriptFromFile(path, dim), errors, "python-torchscript"};
      },
      py::arg("path"), py::arg("dim"),
      "A TorchScript file (torch.jit.save of a scripted function) as the CLI's --objective loads it: "
      "derivatives by the native tape where the graph translates, else LibTorch autograd.");
  m.def(
      "numpy_objective",
      [](int dim, py::object value, py::object gradient, py::object hvp, py::object hessian, std::string name) {
        if (dim < 1) throw InputError("the dimension must be >= 1");
        auto errors = std::make_shared<PythonErrors>();
        return ObjectiveHandle{MakeNumpyObjective(dim, std::move(name), std::move(value), std::move(gradient),
                                                  std::move(hvp), std::move(hessian), errors),
                               errors, "python-numpy"};
      },
      py::arg("dim"), py::arg("value"), py::arg("gradient"), py::arg("hvp") = py::none(),
      py::arg("hessian") = py::none(), py::arg("name") = "python",
      "value(x) -> float and gradient(x) -> array on NumPy arrays; hvp(x, v) and hessian(x) optional.");
  m.def("option_table", &OptionTableForPython,
        "Every option of `ridgerider run` (key, kind, help, choices, default, recorded).");
  m.def(
      "check_options",
      [](const std::string& options_json) { return io::ConfigToJson(ConfigFromJson(options_json)).dump(); },
      py::arg("options_json"),
      "Validates options (a JSON object of option keys) as the CLI does; returns every recorded option "
      "as JSON. Raises ValueError with the CLI's message.");
  m.def("explore", &ExploreToDirectory, py::arg("objective"), py::arg("x0"), py::arg("options_json"), py::arg("out"),
        py::arg("callback") = py::none(), py::arg("name") = "python", py::arg("landscape") = true,
        "Explores the objective from x0 and writes the result directory `out`; returns {'result': result.json's "
        "text, 'landscape_bounds': (lo, hi) of a 2-D loss or None}. landscape=False leaves the grid out.");
  m.def("landscape", &Landscape, py::arg("objective"), py::arg("lo"), py::arg("hi"), py::arg("resolution"),
        "The loss of a 2-D objective on a resolution x resolution grid over [lo, hi], as result.json's "
        "\"landscape\" (JSON text).");
  BindTensorSharing(m);
}
