#include "io/run_config.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "ridgerider/errors.hpp"

namespace ridgerider::io {
namespace {

using nlohmann::json;
using Kind = OptionKind;

// Field accessors for the table: each row names the key once and points at one field.
template <class T>
OptionSpec Field(std::string key, Kind kind, std::string help, T RunConfig::*outer) {
  OptionSpec s{std::move(key), kind, std::move(help), {}, {}, {}};
  s.set = [outer](RunConfig& c, const json& v) { c.*outer = v.get<T>(); };
  s.get = [outer](const RunConfig& c) { return json(c.*outer); };
  return s;
}
template <class Group, class T>
OptionSpec Field(std::string key, Kind kind, std::string help, Group ExploreOptions::*group,
                 T Group::*field) {
  OptionSpec s{std::move(key), kind, std::move(help), {}, {}, {}};
  s.set = [group, field](RunConfig& c, const json& v) { c.explore.*group.*field = v.get<T>(); };
  s.get = [group, field](const RunConfig& c) { return json(c.explore.*group.*field); };
  return s;
}

std::vector<OptionSpec> BuildTable() {
  std::vector<OptionSpec> t;
  auto add = [&](OptionSpec s, bool recorded = true) {
    s.recorded = recorded;
    t.push_back(std::move(s));
  };
  // What to explore.
  add(Field("problem", Kind::kString, "built-in problem (see `ridgerider problems`)", &RunConfig::problem));
  add(Field("objective-source", Kind::kString,
            "TorchScript source of the loss, e.g. 'def f(x: Tensor) -> Tensor: return (x[0]**2-1)**2 + x[1]**2'",
            &RunConfig::objective_source));
  add(Field("objective", Kind::kString,
            "file with the loss: a TorchScript .pt (torch.jit.save) or a file of TorchScript source",
            &RunConfig::objective_file));
  add(Field("function", Kind::kString, "function of the TorchScript source to use (default: the first)",
            &RunConfig::function));
  add(Field("model", Kind::kString,
            "a network to explore, x = all its parameters: mlp:IN-H1-...-OUT (built in) or a TorchScript "
            "nn.Module file (.pt, torch.jit.save) mapping a batch of inputs to one score per class",
            &RunConfig::model));
  add(Field("data", Kind::kString,
            "the model's data: fashion-mnist (training split), fashion-mnist:test, or IMAGES,LABELS (two IDX files)",
            &RunConfig::data));
  add(Field("train-size", Kind::kInteger, "use only the first N samples of --data (0 = all)",
            &RunConfig::train_size));
  {
    OptionSpec s = Field("loss", Kind::kChoice, "the model's per-sample loss, averaged over the batch",
                         &RunConfig::loss);
    s.choices = {"cross-entropy", "mse"};
    add(s);
  }
  {
    OptionSpec s = Field("dtype", Kind::kChoice, "the model's floating-point type", &RunConfig::dtype);
    s.choices = {"float32", "float64"};
    add(s);
  }
  add(Field("batch", Kind::kString,
            "full: the loss over all of --data; N: a fixed batch of N samples per ride, drawn from (seed, ride id)",
            &RunConfig::batch));
  add(Field("chunk", Kind::kInteger, "samples per forward/backward pass of the model (0 = the whole batch at once)",
            &RunConfig::chunk));
  {
    OptionSpec s = Field("hvp", Kind::kChoice,
                         "model HVPs: reuse the gradient's graph at a point, rebuild it for every HVP, or "
                         "finite differences of gradients",
                         &RunConfig::hvp);
    s.choices = {"reused-graph", "fresh-graph", "finite-difference"};
    add(s);
  }
  {
    OptionSpec s = Field("activation", Kind::kChoice, "hidden-layer activation of the built-in MLP",
                         &RunConfig::activation);
    s.choices = {"tanh", "relu", "sigmoid", "softplus"};
    add(s);
  }
  {
    OptionSpec s = Field("init", Kind::kChoice,
                         "the model's start point: model (the .pt's saved parameters; the MLP's seeded "
                         "PyTorch-style init) or zero (all parameters 0)",
                         &RunConfig::init);
    s.choices = {"model", "zero"};
    add(s);
  }
  add(Field("input-shape", Kind::kNumberList,
            "the shape of one sample as the model takes it, e.g. 1,28,28 (default: flat)", &RunConfig::input_shape));
  {
    OptionSpec s = Field("model-mode", Kind::kChoice,
                         "as-saved: use the module in the mode it was saved in; eval: switch it to eval mode",
                         &RunConfig::model_mode);
    s.choices = {"as-saved", "eval"};
    add(s);
  }
  add(Field("torch-threads", Kind::kInteger, "LibTorch intra-op threads for models (0 = cores / --threads)",
            &RunConfig::torch_threads), false);
  add(Field("x0", Kind::kNumberList,
            "start point, comma-separated (default: the built-in problem's saddle; required otherwise)",
            &RunConfig::x0));
  add(Field("out", Kind::kString, "result directory (default: runs/<problem>)", &RunConfig::out), false);
  add(Field("threads", Kind::kInteger,
            "rides computed at once (breadth-first order); the result is the same for any count. "
            "LibTorch gets 1 intra-op thread per ride thread",
            &RunConfig::threads), false);
  add(Field("plot", Kind::kBool, "write landscape.png for 2-D problems", &RunConfig::plot));
  add(Field("progress", Kind::kBool, "progress lines on stderr", &RunConfig::progress), false);
  add(Field("resume", Kind::kString,
            "continue the killed run in this directory from its checkpoint (its options are reused)",
            &RunConfig::resume), false);
  add(Field("overwrite", Kind::kBool,
            "replace the run already in --out (without it, a directory holding a run is refused)",
            &RunConfig::overwrite), false);
  add(Field("checkpoint-interval", Kind::kNumber,
            "seconds between checkpoints, written after a finished ride (0 = after every ride)",
            &RunConfig::checkpoint_interval), false);
  add(Field("landscape-resolution", Kind::kInteger, "grid points per axis of the 2-D landscape",
            &RunConfig::landscape_resolution));
  {
    OptionSpec s{"seed", Kind::kInteger, "seed of every random draw (keyed by tree node)", {}, {}, {}};
    s.set = [](RunConfig& c, const json& v) { c.explore.seed = v.get<std::uint64_t>(); };
    s.get = [](const RunConfig& c) { return json(c.explore.seed); };
    add(s);
  }
  // GetRidges.
  add(Field("eigen-threshold", Kind::kNumber, "eps_lambda: ridges are eigenvalues < -eps_lambda",
            &ExploreOptions::ridge, &RidgeOptions::eigen_threshold));
  add(Field("cluster-tolerance", Kind::kNumber,
            "eigenvalues within this relative tolerance form one cluster (a symmetry class)",
            &ExploreOptions::ridge, &RidgeOptions::cluster_tolerance));
  add(Field("all-in-cluster", Kind::kBool, "ride every eigenvector of a cluster, not one representative",
            &ExploreOptions::ridge, &RidgeOptions::all_in_cluster));
  add(Field("max-ridges", Kind::kInteger, "ridges per branch point, most negative first (0 = all)",
            &ExploreOptions::ridge, &RidgeOptions::max_ridges));
  add(Field("skip-ascending", Kind::kBool,
            "at non-stationary branch points, skip the sign along which the loss rises",
            &ExploreOptions::ridge, &RidgeOptions::skip_ascending));
  // Rides.
  {
    OptionSpec s{"step-rule", Kind::kChoice,
                 "fixed: every step has length step-size (the paper); trust-radius: the length adapts",
                 {"fixed", "trust-radius"}, {}, {}};
    s.set = [](RunConfig& c, const json& v) { c.explore.ride.step_rule = *StepRuleFromString(v.get<std::string>()); };
    s.get = [](const RunConfig& c) { return json(ToString(c.explore.ride.step_rule)); };
    add(s);
  }
  add(Field("step-size", Kind::kNumber, "alpha: the step length, or the initial trust radius",
            &ExploreOptions::ride, &RideOptions::step_size));
  add(Field("max-step-size", Kind::kNumber, "largest trust radius", &ExploreOptions::ride,
            &RideOptions::max_step_size));
  add(Field("min-step-size", Kind::kNumber, "smallest trust radius before a ride gives up",
            &ExploreOptions::ride, &RideOptions::min_step_size));
  add(Field("max-steps", Kind::kInteger, "step cap per ride", &ExploreOptions::ride, &RideOptions::max_steps));
  add(Field("overlap-floor", Kind::kNumber, "the ridge is lost when |<e_new, e_old>| falls below this",
            &ExploreOptions::ride, &RideOptions::overlap_floor));
  add(Field("grad-tolerance", Kind::kNumber, "a ride ends at-minimum when |g| < this and no curvature is negative",
            &ExploreOptions::ride, &RideOptions::grad_tolerance));
  add(Field("settle", Kind::kBool, "branch at the stationary point next to a ride's end, not at the end itself",
            &ExploreOptions::ride, &RideOptions::settle));
  add(Field("settle-max-iterations", Kind::kInteger, "iterations of that search", &ExploreOptions::ride,
            &RideOptions::settle_max_iterations));
  // The archive.
  {
    OptionSpec s{"order", Kind::kChoice, "which pending ride goes next",
                 {"breadth-first", "depth-first", "most-negative-first"}, {}, {}};
    s.set = [](RunConfig& c, const json& v) { c.explore.tree.order = *ArchiveOrderFromString(v.get<std::string>()); };
    s.get = [](const RunConfig& c) { return json(ToString(c.explore.tree.order)); };
    add(s);
  }
  add(Field("max-rides", Kind::kInteger, "rides budget", &ExploreOptions::tree, &TreeOptions::max_rides));
  add(Field("max-depth", Kind::kInteger, "branching depth budget; deeper branch points become leaves",
            &ExploreOptions::tree, &TreeOptions::max_depth));
  add(Field("max-leaves", Kind::kInteger, "leaves budget (0 = none)", &ExploreOptions::tree, &TreeOptions::max_leaves));
  add(Field("max-gradients", Kind::kInteger, "gradient evaluations budget (0 = none)", &ExploreOptions::tree,
            &TreeOptions::max_gradients));
  add(Field("max-hvps", Kind::kInteger, "HVP budget, a dense Hessian counting d (0 = none)",
            &ExploreOptions::tree, &TreeOptions::max_hvps));
  // Leaves.
  add(Field("polish-max-iterations", Kind::kInteger, "Newton iterations polishing a leaf",
            &ExploreOptions::leaf, &LeafOptions::polish_max_iterations));
  add(Field("polish-grad-tolerance", Kind::kNumber, "polishing stops below this |g|", &ExploreOptions::leaf,
            &LeafOptions::polish_grad_tolerance));
  add(Field("dedupe-distance", Kind::kNumber, "leaves closer than this are one solution (with equal loss)",
            &ExploreOptions::leaf, &LeafOptions::dedupe_distance));
  add(Field("dedupe-loss", Kind::kNumber, "relative loss tolerance of the de-duplication",
            &ExploreOptions::leaf, &LeafOptions::dedupe_loss));
  add(Field("verify-grad-tolerance", Kind::kNumber, "a solution is a verified minimum when |g| <= this",
            &ExploreOptions::leaf, &LeafOptions::verify_grad_tolerance));
  // MIS.
  add(Field("mis", Kind::kBool, "first refine x0 into a saddle by minimising |g|^2", &ExploreOptions::mis,
            &MisOptions::enabled));
  add(Field("mis-max-iterations", Kind::kInteger, "iterations of the MIS search", &ExploreOptions::mis,
            &MisOptions::max_iterations));
  add(Field("mis-grad-tolerance", Kind::kNumber, "the MIS search stops below this |g|", &ExploreOptions::mis,
            &MisOptions::grad_tolerance));
  add(Field("mis-jitter", Kind::kNumber, "std of a seeded random perturbation of x0 before the MIS search",
            &ExploreOptions::mis, &MisOptions::jitter));
  // Curvature: dense or matrix-free.
  {
    OptionSpec s{"spectrum-method", Kind::kChoice,
                 "auto: dense Hessians up to dense-max-dim, Hessian-vector products only above; "
                 "dense; matrix-free (Krylov solves and a warm-started ridge tracker)",
                 {"auto", "dense", "matrix-free"}, {}, {}};
    s.set = [](RunConfig& c, const json& v) {
      c.explore.spectrum.method = *SpectrumMethodFromString(v.get<std::string>());
    };
    s.get = [](const RunConfig& c) { return json(ToString(c.explore.spectrum.method)); };
    add(s);
  }
  add(Field("dense-max-dim", Kind::kInteger, "largest d whose Hessian may be formed (auto's switch)",
            &ExploreOptions::spectrum, &SpectrumOptions::dense_max_dim));
  add(Field("eigenpairs", Kind::kInteger, "matrix-free: most negative eigenpairs solved at each branch point",
            &ExploreOptions::spectrum, &SpectrumOptions::eigenpairs));
  {
    OptionSpec s{"eigen-solver", Kind::kChoice,
                 "matrix-free branch points: krylov (ours, seeded with the ridge) or spectra (SymEigsSolver)",
                 {"krylov", "spectra"}, {}, {}};
    s.set = [](RunConfig& c, const json& v) {
      c.explore.spectrum.solver = *EigenSolverFromString(v.get<std::string>());
    };
    s.get = [](const RunConfig& c) { return json(ToString(c.explore.spectrum.solver)); };
    add(s);
  }
  add(Field("eigen-block-size", Kind::kInteger,
            "krylov: vectors per expansion; >= a repeated eigenvalue's multiplicity to resolve its eigenspace",
            &ExploreOptions::spectrum, &SpectrumOptions::eigen_block_size));
  add(Field("eigen-tolerance", Kind::kNumber, "matrix-free solves: residual / |H| estimate",
            &ExploreOptions::spectrum, &SpectrumOptions::eigen_tolerance));
  add(Field("krylov-basis", Kind::kInteger, "vectors kept by the matrix-free solvers (Spectra's ncv)",
            &ExploreOptions::spectrum, &SpectrumOptions::krylov_basis));
  add(Field("solve-max-hvps", Kind::kInteger, "HVP cap of one branch-point solve", &ExploreOptions::spectrum,
            &SpectrumOptions::solve_max_hvps));
  add(Field("track-tolerance", Kind::kNumber,
            "ride steps: the tracked ridge's residual / |lambda| of the ridge at the ride's start",
            &ExploreOptions::spectrum, &SpectrumOptions::track_tolerance));
  add(Field("track-cosine", Kind::kNumber,
            "ride steps, if > 0: stop tracking once the residual bounds the angle to the ridge's eigenvector "
            "(Davis-Kahan, with its gap to the next eigenvalue) by this cosine instead of track-tolerance; 0: off",
            &ExploreOptions::spectrum, &SpectrumOptions::track_cosine));
  add(Field("track-block-size", Kind::kInteger, "vectors the ridge tracker carries from step to step",
            &ExploreOptions::spectrum, &SpectrumOptions::track_block_size));
  add(Field("track-max-hvps", Kind::kInteger, "HVP cap of one tracking solve", &ExploreOptions::spectrum,
            &SpectrumOptions::track_max_hvps));
  return t;
}

std::string KindName(Kind k) {
  switch (k) {
    case Kind::kNumber: return "a number";
    case Kind::kInteger: return "an integer";
    case Kind::kBool: return "true or false";
    case Kind::kString: return "a string";
    case Kind::kNumberList: return "a list of numbers";
    case Kind::kChoice: return "one of the listed names";
  }
  return "?";
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

[[noreturn]] void Bad(const std::string& key, const std::string& msg) {
  throw InputError("option '" + key + "': " + msg);
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

const std::vector<OptionSpec>& OptionTable() {
  static const std::vector<OptionSpec> table = BuildTable();
  return table;
}

const OptionSpec* FindOption(const std::string& key) {
  for (const auto& s : OptionTable())
    if (s.key == key) return &s;
  return nullptr;
}

std::string NearestName(const std::string& key, const std::vector<std::string>& names) {
  std::string best;
  size_t best_d = std::numeric_limits<size_t>::max();
  for (const auto& n : names) {
    const size_t d = EditDistance(key, n);
    if (d < best_d) best_d = d, best = n;
  }
  return best;
}

std::string NearestOptionKey(const std::string& key) {
  std::vector<std::string> keys;
  for (const auto& s : OptionTable()) keys.push_back(s.key);
  return NearestName(key, keys);
}

void ApplyOption(RunConfig& c, const std::string& key, const json& v) {
  const OptionSpec* s = FindOption(key);
  if (!s) throw InputError("unknown option '" + key + "' (did you mean '" + NearestOptionKey(key) + "'?)");
  const auto expect = [&](bool ok) {
    if (!ok) Bad(key, "expected " + KindName(s->kind) + ", got " + v.dump());
  };
  switch (s->kind) {
    case Kind::kNumber:
      expect(v.is_number());
      if (!std::isfinite(v.get<double>())) Bad(key, "must be finite");
      break;
    case Kind::kInteger: {
      expect(v.is_number_integer());
      // Every integer field is an int except seed (uint64) and the budgets (long): refuse what
      // the field cannot hold instead of truncating it.
      const bool wide = key == "seed" || key.rfind("max-", 0) == 0 && key != "max-steps" &&
                                             key != "max-depth" && key != "max-ridges";
      const long long lo = wide ? std::numeric_limits<long>::min() : std::numeric_limits<int>::min();
      const long long hi = wide ? std::numeric_limits<long>::max() : std::numeric_limits<int>::max();
      if (v.is_number_unsigned() ? v.get<unsigned long long>() > static_cast<unsigned long long>(hi)
                                 : (v.get<long long>() < lo || v.get<long long>() > hi))
        Bad(key, v.dump() + " is out of range");
      break;
    }
    case Kind::kBool: expect(v.is_boolean()); break;
    case Kind::kString: expect(v.is_string()); break;
    case Kind::kChoice:
      expect(v.is_string());
      if (std::find(s->choices.begin(), s->choices.end(), v.get<std::string>()) == s->choices.end())
        Bad(key, "'" + v.get<std::string>() + "' is not one of: " + Join(s->choices));
      break;
    case Kind::kNumberList:
      expect(v.is_array());
      for (const auto& e : v) {
        if (!e.is_number()) Bad(key, "expected a list of numbers, got element " + e.dump());
        if (!std::isfinite(e.get<double>())) Bad(key, "element " + e.dump() + " is not finite");
      }
      break;
  }
  if (s->kind == Kind::kInteger && key == "seed" && v.get<long long>() < 0) Bad(key, "must be >= 0");
  s->set(c, v);
}

json ParseOptionText(const OptionSpec& spec, const std::string& text) {
  const auto number = [&](const std::string& t) {
    size_t used = 0;
    double d = 0;
    try {
      d = std::stod(t, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    while (used < t.size() && std::isspace(static_cast<unsigned char>(t[used]))) ++used;
    if (t.empty() || used != t.size()) Bad(spec.key, "'" + t + "' is not a number");
    if (!std::isfinite(d)) Bad(spec.key, "'" + t + "' is not finite");
    return d;
  };
  switch (spec.kind) {
    case Kind::kNumber: return number(text);
    case Kind::kInteger: {
      const double d = number(text);
      if (d != std::floor(d) || std::abs(d) > 9e15) Bad(spec.key, "'" + text + "' is not an integer");
      return static_cast<long long>(d);
    }
    case Kind::kBool:
      if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
      if (text == "false" || text == "0" || text == "no" || text == "off") return false;
      Bad(spec.key, "'" + text + "' is not true or false");
    case Kind::kNumberList: {
      json list = json::array();
      std::stringstream ss(text);
      std::string item;
      while (std::getline(ss, item, ',')) list.push_back(number(item));
      if (list.empty()) Bad(spec.key, "expected comma-separated numbers, got '" + text + "'");
      return list;
    }
    case Kind::kString:
    case Kind::kChoice: return text;
  }
  return text;
}

void ApplyConfigFile(RunConfig& c, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError("config file '" + path + "' cannot be read");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {  // parse errors, and numbers that overflow a double
    std::string msg = e.what();
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    throw InputError("config file '" + path + "' is not valid JSON: " + msg);
  }
  if (!j.is_object()) throw InputError("config file '" + path + "' must hold a JSON object of options");
  for (const auto& [key, value] : j.items()) {
    if (key == "config") throw InputError("config file '" + path + "': 'config' cannot nest");
    try {
      ApplyOption(c, key, value);
    } catch (const InputError& e) {
      throw InputError("config file '" + path + "': " + e.what());
    }
  }
}

void ValidateConfig(const RunConfig& c) {
  const int sources =
      !c.problem.empty() + !c.objective_source.empty() + !c.objective_file.empty() + !c.model.empty();
  if (sources == 0)
    throw InputError("nothing to explore: give --problem NAME, --objective FILE, --objective-source TEXT or --model");
  if (sources > 1)
    throw InputError("give only one of --problem, --objective, --objective-source and --model");
  if (!c.model.empty()) {
    if (c.data.empty()) throw InputError("--model needs --data (e.g. --data fashion-mnist)");
    if (!c.x0.empty()) throw InputError("--x0 does not apply to --model: the start is its parameters (see --init)");
  } else if (!c.data.empty()) {
    throw InputError("--data is only used with --model");
  }
  if (c.problem.empty() && c.model.empty() && c.x0.empty())
    throw InputError("--x0 is required with --objective/--objective-source (it also sets the dimension)");
  if (c.batch != "full") {
    size_t used = 0;
    long b = 0;
    try {
      b = std::stol(c.batch, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != c.batch.size() || b < 1) Bad("batch", "expected full or a positive number of samples, got '" + c.batch + "'");
  }
  if (c.train_size < 0) Bad("train-size", "must be >= 0");
  if (c.chunk < 0) Bad("chunk", "must be >= 0");
  if (c.torch_threads < 0) Bad("torch-threads", "must be >= 0");
  for (double s : c.input_shape)
    if (s < 1 || s != std::floor(s)) Bad("input-shape", "every entry must be a positive integer");
  ValidateSearchOptions(c);
}

void ValidateSearchOptions(const RunConfig& c) {
  if (c.threads < 1) Bad("threads", "must be >= 1");
  if (c.checkpoint_interval < 0) Bad("checkpoint-interval", "must be >= 0");
  if (c.landscape_resolution < 8 || c.landscape_resolution > 2001) Bad("landscape-resolution", "must be in [8, 2001]");
  std::string why;
  if (!c.explore.IsValid(&why)) throw InputError("invalid options: " + why);
}

json ConfigToJson(const RunConfig& c) {
  json j = json::object();
  for (const auto& s : OptionTable())
    if (s.recorded) j[s.key] = s.get(c);
  return j;
}

}  // namespace ridgerider::io
