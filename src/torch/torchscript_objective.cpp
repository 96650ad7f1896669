// LibTorch backend: TorchScript losses with float64 autograd derivatives. See the header.
#include "torch/torchscript_objective.hpp"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/passes/common_subexpression_elimination.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/jit.h>
#include <torch/script.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <mutex>
#include <sstream>
#include <utility>
#include <vector>

#include "ridgerider/errors.hpp"
#include "torch/autograd_point.hpp"
#include "torch/native_tape.hpp"
#include "torch/tape_translate.hpp"
#include "torch/torchscript_support.hpp"

namespace ridgerider {
namespace {

// ---------------------------------------------------------------------------------------------
// Messages: Torch errors are multi-line (message, source excerpt with a ~~~ <--- HERE marker,
// sometimes a TorchScript traceback and a C++ backtrace). InputError wants one line.

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

bool StartsWith(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

// Collapses a TorchScript/LibTorch error text to one line:
//  - interpreter failures ("The following operation failed in the TorchScript interpreter ...
//    RuntimeError: <what>") keep <what>;
//  - compile errors ("<what>:\n  File "<string>", line N\n<source>\n  ~~~ <--- HERE") become
//    "<what> (line N: <source line at the marker>)";
//  - anything else keeps its non-empty lines up to a C++ backtrace, joined by spaces.
std::string OneLine(const std::string& text) {
  const std::vector<std::string> lines = Lines(text);
  std::string result;
  auto append = [&result](const std::string& piece) {
    const std::string t = Trim(piece);
    if (t.empty()) return;
    if (!result.empty()) result += ' ';
    result += t;
  };

  if (text.find("failed in the TorchScript interpreter") != std::string::npos) {
    // The real error is the last "<Something>Error: ..." line and what follows it.
    int start = -1;
    for (int i = static_cast<int>(lines.size()) - 1; i >= 0; --i) {
      const std::string t = Trim(lines[i]);
      const auto colon = t.find("Error: ");
      if (colon != std::string::npos && t.find(' ') > colon) {
        start = i;
        break;
      }
    }
    if (start >= 0) {
      for (size_t i = start; i < lines.size(); ++i) {
        if (StartsWith(Trim(lines[i]), "Exception raised from")) break;
        append(lines[i]);
      }
      const auto colon = result.find("Error: ");
      if (colon != std::string::npos && result.find(' ') > colon) result = result.substr(colon + 7);
      return result;
    }
  }

  std::string where;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string t = Trim(lines[i]);
    if (StartsWith(t, "Exception raised from") || StartsWith(t, "frame #")) break;
    if (StartsWith(t, "File \"")) {
      // Source excerpt follows: report the line number and the marked source line.
      const auto at = t.find("line ");
      std::string line_no = at == std::string::npos ? "" : t.substr(at + 5);
      line_no = line_no.substr(0, line_no.find_first_not_of("0123456789"));
      std::string marked;
      for (size_t j = i + 1; j < lines.size(); ++j) {
        if (lines[j].find("<--- HERE") != std::string::npos) {
          if (j > i + 1) marked = Trim(lines[j - 1]);
          break;
        }
      }
      if (marked.empty() && i + 1 < lines.size()) {
        // No marker (e.g. unexpected end of input): show the last source line of the excerpt.
        for (size_t j = lines.size(); j-- > i + 1;) {
          if (!Trim(lines[j]).empty()) {
            marked = Trim(lines[j]);
            break;
          }
        }
      }
      where = " (line " + line_no + (marked.empty() ? "" : ": " + marked) + ")";
      break;
    }
    append(t);
  }
  if (!result.empty() && result.back() == ':') result.pop_back();
  if (result.empty()) result = "unknown error";
  return result + where;
}

// Python files usually start with "import torch" / "from torch import Tensor" and may decorate
// with @torch.jit.script; TorchScript's parser accepts neither. Blanks such top-level lines
// (keeping line numbers for error messages).
std::string StripPythonPreamble(const std::string& source) {
  std::string out;
  out.reserve(source.size() + 1);
  for (const std::string& line : Lines(source)) {
    const bool drop = StartsWith(line, "import ") ||
                      (StartsWith(line, "from ") && line.find(" import ") != std::string::npos) ||
                      StartsWith(line, "@torch.jit.");
    if (!drop) out += line;
    out += '\n';  // also gives the final newline the parser wants
  }
  return out;
}

std::string MessageOf(const std::exception& e) {
  if (auto* ce = dynamic_cast<const c10::Error*>(&e)) return OneLine(ce->what_without_backtrace());
  return OneLine(e.what());
}

// ---------------------------------------------------------------------------------------------
// Executor configuration. Torch's default profiling executor profiles the first runs, then
// specialises and re-optimises the graph (autodiff subgraphs, fusion) - machinery built for big
// tensors that buys nothing for a scalar loss of a few elements evaluated 1e4-1e6 times, and
// whose symbolic-autodiff subgraphs are one more thing to trust under double backward. We use
// the simple executor (required passes only; derivatives are plain eager autograd of the
// interpreted ops) and run inlining, constant propagation and CSE ourselves, once per function.
// On tiny losses this measured as fast as the other executors, or within ~25% of the legacy
// one. Torch's switch is process-wide; it is set once, on the first factory
// call. RIDGERIDER_TORCH_EXECUTOR = simple (default) | simple-nocse | legacy | noopt | default
// overrides the choice, for diagnosis.

const std::string& ExecutorChoice() {
  static const std::string choice = [] {
    const char* env = std::getenv("RIDGERIDER_TORCH_EXECUTOR");
    return std::string(env && *env ? env : "simple");
  }();
  return choice;
}

void ConfigureExecutorOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    const std::string& m = ExecutorChoice();
    if (m == "simple" || m == "simple-nocse") {
      torch::jit::getExecutorMode() = true;  // the "new" executors ...
      torch::jit::getProfilingMode() = false;  // ... but not the profiling one: Simple
    } else if (m == "legacy") {
      torch::jit::getExecutorMode() = false;
    } else if (m == "noopt") {
      torch::jit::setGraphExecutorOptimize(false);
    }  // "default": leave Torch's settings alone
  });
}

// A loss written as (x[0]**2 - 1)**2 + 0.5*x[0]*x[1] selects x[0] several times; every duplicate
// op costs a node in the forward graph and more in the double-backward one (CSE: -12% per HVP on
// that loss). Runs semantics-preserving passes on the function's graph, before its first run.
void SimplifyGraph(torch::jit::Function& fn) {
  if (ExecutorChoice() == "simple-nocse") return;
  torch::jit::GraphFunction* gf = torch::jit::tryToGraphFunction(fn);
  if (!gf) return;
  std::shared_ptr<torch::jit::Graph> graph = gf->graph();
  torch::jit::Inline(*graph);
  torch::jit::ConstantPropagation(graph);
  torch::jit::EliminateCommonSubexpression(graph);
  torch::jit::EliminateDeadCode(graph);
}

// ---------------------------------------------------------------------------------------------
// The wrapped callable: a function of a compilation unit, or a module method (with self).

struct Callable {
  std::shared_ptr<torch::jit::CompilationUnit> unit;  // keeps `function` alive (source case)
  c10::optional<torch::jit::Module> module;           // keeps `function` alive (.pt case)
  torch::jit::Function* function = nullptr;
  std::vector<c10::IValue> defaults;  // values of the parameters after x (all have defaults)
  std::string name;

  // Runs the function; returns the result IValue.
  c10::IValue operator()(const at::Tensor& x) const {
    torch::jit::Stack stack;
    stack.reserve(2 + defaults.size());
    if (module) stack.emplace_back(module->_ivalue());
    stack.emplace_back(x);
    stack.insert(stack.end(), defaults.begin(), defaults.end());
    function->run(stack);
    return std::move(stack.back());
  }
};

// Checks the signature: one Tensor parameter (after self for methods; further parameters must
// have defaults, recorded in c.defaults) and a Tensor result.
void CheckSignature(Callable& c) {
  const c10::FunctionSchema& schema = c.function->getSchema();
  const auto& args = schema.arguments();
  const size_t first = c.module ? 1 : 0;
  std::ostringstream sig;
  sig << schema;
  const std::string what = "TorchScript function '" + c.name + "'";
  if (args.size() <= first) {
    throw InputError(what + " must take one Tensor argument x, but takes none: " + sig.str());
  }
  const auto& x = args[first];
  if (!x.type()->isSubtypeOf(*c10::TensorType::get())) {
    throw InputError(what + " must take one Tensor argument x, but its parameter '" + x.name() +
                     "' has type " + x.type()->annotation_str() + ": " + sig.str());
  }
  for (size_t i = first + 1; i < args.size(); ++i) {
    if (!args[i].default_value()) {
      throw InputError(what + " must take one Tensor argument x, but also requires '" +
                       args[i].name() + "': " + sig.str());
    }
    c.defaults.push_back(*args[i].default_value());
  }
  const auto& rets = schema.returns();
  if (rets.size() != 1 || !rets[0].type()->isSubtypeOf(*c10::TensorType::get())) {
    std::string got = rets.size() == 1 ? rets[0].type()->annotation_str()
                                       : std::to_string(rets.size()) + " values";
    throw InputError(what + " must return a scalar tensor, but returns " + got);
  }
}

std::string ShapeString(const at::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

// ---------------------------------------------------------------------------------------------

class TorchScriptObjective final : public Objective {
 public:
  TorchScriptObjective(Callable callable, int dim, std::string name)
      : callable_(std::move(callable)), dim_(dim), name_(std::move(name)) {}

  int dim() const override { return dim_; }
  std::string name() const override { return name_; }
  // The Hessian from the cached graph costs dim backward passes, one HVP costs one.
  bool has_dense_hessian() const override { return dim_ <= 64; }
  // Shares the compiled function (calling it from several threads is safe); the copy has its
  // own graph cache.
  std::unique_ptr<Objective> Clone() const override {
    return std::make_unique<TorchScriptObjective>(callable_, dim_, name_);
  }

  // Evaluates at x = 0 and throws InputError if the function cannot be evaluated or
  // differentiated there, or does not return a one-element tensor.
  void Validate() {
    const std::string what = "TorchScript function '" + callable_.name + "'";
    const std::string at_zero = " at x = 0 (dim = " + std::to_string(dim_) + ")";
    c10::IValue out;
    try {
      torch::NoGradGuard no_grad;
      out = callable_(torch::zeros({dim_}, torch::kDouble));
    } catch (const std::exception& e) {
      const std::string msg = MessageOf(e);
      const bool indexing = msg.find("index") != std::string::npos ||
                            msg.find("out of range") != std::string::npos ||
                            msg.find("out of bounds") != std::string::npos;
      throw InputError(what + " failed" + at_zero +
                       (indexing ? " (is the dimension large enough for the indices it uses?)"
                                 : "") +
                       ": " + msg);
    }
    if (!out.isTensor()) {
      throw InputError(what + " must return a scalar tensor, but returned " +
                       out.tagKind());
    }
    const at::Tensor& t = out.toTensor();
    if (t.numel() != 1) {
      throw InputError(what + " must return a scalar tensor, but returned a tensor of shape " +
                       ShapeString(t) + at_zero);
    }
    try {
      BuildGraph(Vector::Zero(dim_));
    } catch (const std::exception& e) {
      throw InputError(what + " could not be differentiated" + at_zero + ": " + MessageOf(e));
    }
  }

 protected:
  EvalStatus DoValue(const Vector& x, double* f) override {
    if (point_.Holds(x)) {
      *f = point_.value();
      return EvalStatus::kOk;
    }
    try {
      c10::InferenceMode guard;
      const c10::IValue out = callable_(AutogradPoint::TensorOf(x));
      *f = ScalarOf(out);
      return EvalStatus::kOk;
    } catch (const std::exception&) {
      return Failed(f);
    }
  }

  EvalStatus DoValueAndGradient(const Vector& x, double* f, Vector* g) override {
    try {
      if (!point_.Holds(x)) BuildGraph(x);
      *f = point_.value();
      *g = point_.gradient();
      return EvalStatus::kOk;
    } catch (const std::exception&) {
      return Failed(f);
    }
  }

  EvalStatus DoHvp(const Vector& x, const Vector& v, Vector* out) override {
    try {
      if (!point_.Holds(x)) BuildGraph(x);
      point_.Hvp(v, out);  // one backward pass through the cached double-backward graph
      return EvalStatus::kOk;
    } catch (const std::exception&) {
      return Failed(nullptr);
    }
  }

  EvalStatus DoHessian(const Vector& x, Matrix* h) override {
    try {
      if (!point_.Holds(x)) BuildGraph(x);
      point_.Hessian(h);  // dim backward passes, all on the cached graph
      return EvalStatus::kOk;
    } catch (const std::exception&) {
      return Failed(nullptr);
    }
  }

 private:
  static double ScalarOf(const c10::IValue& out) {
    if (!out.isTensor()) throw std::runtime_error("result is not a tensor");
    const at::Tensor& t = out.toTensor();
    if (t.numel() != 1) throw std::runtime_error("result is not a scalar");
    return t.item<double>();
  }

  // f = fn(x) and g = df/dx with create_graph, cached with their graph.
  void BuildGraph(const Vector& x) {
    point_.Build(x, [this](const at::Tensor& xt) {
      const c10::IValue out = callable_(xt);
      if (!out.isTensor()) throw std::runtime_error("result is not a tensor");
      return out.toTensor();
    });
  }

  // Evaluation errors (Torch exceptions) are a status, not an exception, per types.hpp.
  EvalStatus Failed(double* f) {
    point_.Clear();
    if (f) *f = std::numeric_limits<double>::quiet_NaN();
    return EvalStatus::kFailed;
  }

  Callable callable_;
  int dim_;
  std::string name_;
  AutogradPoint point_;  // the graph of the last point
};

void CheckDim(int dim) {
  if (dim < 1) {
    throw InputError("TorchScript objective needs a dimension >= 1, got " + std::to_string(dim));
  }
}

bool TorchDebug() {
  const char* env = std::getenv("RIDGERIDER_TORCH_DEBUG");
  return env && *env && std::string(env) != "0";
}

// RIDGERIDER_TORCH_TAPE=0 (or "off", "no", "false") forces the autograd path.
bool TapeAllowedByEnvironment() {
  const char* env = std::getenv("RIDGERIDER_TORCH_TAPE");
  if (!env) return true;
  const std::string v = env;
  return !(v == "0" || v == "off" || v == "no" || v == "false");
}

// Tries to translate the (validated) function into a native tape; nullptr when it cannot.
std::shared_ptr<TapeProgram> TryTape(const Callable& c, int dim, std::string* why) {
  torch::jit::GraphFunction* gf = torch::jit::tryToGraphFunction(*c.function);
  if (!gf) {
    *why = "not a graph function";
    return nullptr;
  }
  std::vector<c10::IValue> inputs;
  if (c.module) inputs.emplace_back(c.module->_ivalue());
  const int x_index = static_cast<int>(inputs.size());
  inputs.emplace_back();  // x
  inputs.insert(inputs.end(), c.defaults.begin(), c.defaults.end());
  return TranslateToTape(gf->graph(), inputs, x_index, dim, why);
}

std::unique_ptr<Objective> Finish(Callable c, int dim, std::string name,
                                  TorchDerivatives derivatives) {
  CheckSignature(c);
  try {
    SimplifyGraph(*c.function);
  } catch (const std::exception& e) {
    throw InputError("cannot prepare TorchScript function '" + c.name + "': " + MessageOf(e));
  }
  auto obj = std::make_unique<TorchScriptObjective>(c, dim, name + " (autograd)");
  obj->Validate();  // the autograd path's checks and messages come first
  std::string why;
  if (derivatives == TorchDerivatives::kAutograd) {
    why = "autograd requested";
  } else if (!TapeAllowedByEnvironment()) {
    why = "RIDGERIDER_TORCH_TAPE=" + std::string(std::getenv("RIDGERIDER_TORCH_TAPE"));
  } else if (std::shared_ptr<TapeProgram> tape = TryTape(c, dim, &why)) {
    if (TorchDebug()) {
      std::cerr << "ridgerider: TorchScript '" << c.name << "': native tape (" << tape->summary
                << ")\n";
    }
    return std::make_unique<TapeObjective>(std::move(tape), name + " (native tape)");
  }
  if (TorchDebug()) {
    std::cerr << "ridgerider: TorchScript '" << c.name << "': autograd path (" << why << ")\n";
  }
  return obj;
}

std::unique_ptr<Objective> FromSource(const std::string& source, int dim,
                                      const std::string& function_name,
                                      const std::string& origin, TorchDerivatives derivatives) {
  CheckDim(dim);
  ConfigureExecutorOnce();
  const std::string prefix = origin.empty() ? "" : origin + ": ";
  Callable c;
  try {
    c.unit = torch::jit::compile(StripPythonPreamble(source));
  } catch (const std::exception& e) {
    throw InputError(prefix + "TorchScript does not compile: " + MessageOf(e));
  }
  const std::vector<torch::jit::Function*> fns = c.unit->get_functions();
  if (fns.empty()) throw InputError(prefix + "no TorchScript function defined");
  if (function_name.empty()) {
    c.function = fns.front();
  } else {
    std::string names;
    for (torch::jit::Function* fn : fns) {
      if (fn->name() == function_name) c.function = fn;
      names += (names.empty() ? "" : ", ") + fn->name();
    }
    if (!c.function) {
      throw InputError(prefix + "no TorchScript function named '" + function_name +
                       "' (defined: " + names + ")");
    }
  }
  c.name = c.function->name();
  try {
    c.function->ensure_defined();
  } catch (const std::exception& e) {
    throw InputError(prefix + "TorchScript does not compile: " + MessageOf(e));
  }
  const std::string name = "torchscript:" + c.name;
  try {
    return Finish(std::move(c), dim, name, derivatives);
  } catch (const InputError& e) {
    throw InputError(prefix + e.what());
  }
}

}  // namespace

std::unique_ptr<Objective> MakeTorchScriptFromSource(const std::string& source, int dim,
                                                     const std::string& function_name,
                                                     TorchDerivatives derivatives) {
  return FromSource(source, dim, function_name, "", derivatives);
}

std::unique_ptr<Objective> MakeTorchScriptFromFile(const std::string& path, int dim,
                                                   TorchDerivatives derivatives) {
  CheckDim(dim);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw InputError("TorchScript file '" + path + "' is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot open TorchScript file '" + path + "'");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError("cannot read TorchScript file '" + path + "'");
  const bool archive = content.size() >= 4 && std::memcmp(content.data(), "PK\x03\x04", 4) == 0;
  if (!archive) return FromSource(content, dim, "", "'" + path + "'", derivatives);

  ConfigureExecutorOnce();
  const std::string prefix = "'" + path + "': ";
  Callable c;
  try {
    std::istringstream stream(std::move(content));
    c.module = torch::jit::load(stream);
  } catch (const std::exception& e) {
    throw InputError(prefix + "cannot load TorchScript archive: " + MessageOf(e));
  }
  torch::jit::Module& m = *c.module;
  try {
    m.eval();
    m.to(torch::kDouble);
    for (at::Tensor p : m.parameters()) p.requires_grad_(false);
  } catch (const std::exception& e) {
    throw InputError(prefix + "cannot prepare TorchScript module: " + MessageOf(e));
  }
  c10::optional<torch::jit::Method> method = m.find_method("forward");
  if (!method) {
    const auto methods = m.get_methods();
    if (methods.size() != 1) {
      throw InputError(prefix + "TorchScript module has no forward method");
    }
    method = methods.front();
  }
  c.function = &method->function();
  c.name = method->name();
  const std::string base = path.substr(path.find_last_of("/\\") + 1);
  try {
    return Finish(std::move(c), dim, "torchscript:" + base, derivatives);
  } catch (const InputError& e) {
    throw InputError(prefix + e.what());
  }
}

std::string TorchErrorMessage(const std::exception& e) { return MessageOf(e); }

void ConfigureTorchScriptExecutor() { ConfigureExecutorOnce(); }

bool UsesNativeTape(const Objective& objective) {
  return dynamic_cast<const TapeObjective*>(&objective) != nullptr;
}

void SetTorchThreads(int n) {
  if (n > 0) at::set_num_threads(n);
}

int TorchThreads() { return at::get_num_threads(); }

}  // namespace ridgerider
