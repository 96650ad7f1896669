#include "run_command.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "io/checkpoint.hpp"
#include "io/output.hpp"
#include "io/run_directory.hpp"
#include "io/state_json.hpp"
#include "io/vector_files.hpp"
#include "ridgerider/errors.hpp"
#include "ridgerider/problems/registry.hpp"
#include "ridgerider/tree.hpp"
#include "data/dataset.hpp"
#include "torch/model_objective.hpp"
#include "torch/torchscript_objective.hpp"

namespace ridgerider::app {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Loaded {
  std::unique_ptr<Objective> objective;
  std::optional<Problem> problem;  // for built-ins
  Vector x0;
  std::string name;
  std::string kind;
  json model;  // for models: what result.json records about the network, data and batches
};

// A network's loss on a data set (--model): builds the objective, its start point and the
// description result.json records.
Loaded LoadModel(const io::RunConfig& c) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  SetTorchThreads(c.torch_threads > 0 ? c.torch_threads : std::max(1, cores / c.threads));
  auto data = std::make_shared<const data::Dataset>(data::LoadDataSpec(c.data, c.train_size));
  ModelSpec spec;
  spec.model = c.model;
  spec.activation = c.activation;
  spec.loss = *ModelLossFromString(c.loss);
  spec.dtype = *ModelDtypeFromString(c.dtype);
  spec.hvp = *HvpMethodFromString(c.hvp);
  spec.mode = *ModelModeFromString(c.model_mode);
  spec.batch.batch = c.batch == "full" ? 0 : std::stol(c.batch);
  spec.batch.chunk = c.chunk;
  spec.seed = c.explore.seed;
  for (double d : c.input_shape) spec.input_shape.push_back(static_cast<std::int64_t>(d));
  std::unique_ptr<ModelObjective> m = MakeModelObjective(spec, data);
  Loaded l;
  l.x0 = c.init == "zero" ? Vector::Zero(m->dim()) : m->InitialParameters();
  const bool mlp = c.model.rfind("mlp:", 0) == 0;
  l.name = mlp ? "mlp-" + c.model.substr(4) : fs::path(c.model).stem().string();
  l.kind = "model";
  json layout = json::array();
  for (const ParameterInfo& p : m->parameters())
    layout.push_back({{"name", p.name}, {"shape", p.shape}, {"offset", p.offset}, {"size", p.size}});
  l.model = {{"model", c.model},
             {"activation", mlp ? json(c.activation) : json(nullptr)},
             {"parameters", m->dim()},
             {"layout", layout},
             {"data", m->data_name()},
             {"samples", m->data_size()},
             {"loss", ToString(spec.loss)},
             {"dtype", ToString(spec.dtype)},
             {"batch", spec.batch.ToString()},
             {"batch_size", spec.batch.batch == 0 ? m->data_size() : spec.batch.batch},
             {"chunk", spec.batch.chunk},
             {"hvp", ToString(spec.hvp)},
             {"mode", ToString(spec.mode)},
             {"init", c.init}};
  l.objective = std::move(m);
  return l;
}

Loaded LoadObjective(const io::RunConfig& c) {
  if (!c.model.empty()) return LoadModel(c);
  Loaded l;
  if (!c.x0.empty()) l.x0 = Eigen::Map<const Vector>(c.x0.data(), static_cast<Eigen::Index>(c.x0.size()));
  if (!c.problem.empty()) {
    l.problem = MakeProblem(c.problem);
    if (!l.problem) {
      std::string names;
      for (const auto& n : ProblemNames()) names += (names.empty() ? "" : ", ") + n;
      throw InputError("unknown problem '" + c.problem + "' (built-in problems: " + names + ")");
    }
    l.objective = std::move(l.problem->objective);
    l.name = c.problem;
    l.kind = "builtin";
    if (l.x0.size() == 0) l.x0 = l.problem->saddle;
    if (l.x0.size() != l.objective->dim())
      throw InputError("--x0 has " + std::to_string(l.x0.size()) + " numbers but problem '" + c.problem +
                       "' has dimension " + std::to_string(l.objective->dim()));
    return l;
  }
  SetTorchThreads(1);  // tiny tensors gain nothing from intra-op threads; rides use the cores
  const int dim = static_cast<int>(l.x0.size());
  if (!c.objective_source.empty()) {
    l.objective = MakeTorchScriptFromSource(c.objective_source, dim, c.function);
    l.name = "objective-source";
    l.kind = "torchscript-source";
  } else {
    l.objective = MakeTorchScriptFromFile(c.objective_file, dim);
    l.name = fs::path(c.objective_file).stem().string();
    l.kind = "torchscript-file";
  }
  return l;
}

void PrintReport(const ExploreResult& r, const fs::path& out) {
  const ExploreSummary& s = r.summary;
  std::printf("%ld solution%s (%ld verified minim%s) from %ld rides; stop: %s; %.3f s\n", s.solutions,
              s.solutions == 1 ? "" : "s", s.minima, s.minima == 1 ? "um" : "a", s.rides, s.stop_reason.c_str(),
              s.wall_time_s);
  std::printf("  %-4s %-22s %-8s %-12s %s\n", "id", "loss", "minimum", "|g|", "fingerprint");
  for (const Solution& sol : r.state.solutions) {
    std::string fp;
    for (const Branch& b : sol.fingerprint) fp += (fp.empty() ? "" : "/") + std::string(b.sign > 0 ? "+" : "-") + std::to_string(b.index);
    std::printf("  %-4ld %-22.15g %-8s %-12.3g %s\n", sol.id, sol.loss, sol.is_minimum ? "yes" : "no", sol.grad_norm,
                fp.c_str());
  }
  std::printf("results: %s\n", (out / "result.json").c_str());
}

void Plot(const fs::path& out) {
  const std::string cmd = std::string("PYTHONPATH='") + RIDGERIDER_PYTHON_DIR + "' '" + RIDGERIDER_PYTHON +
                          "' -m ridgerider.plot '" + out.string() + "' --what landscape";
  if (std::system(cmd.c_str()) != 0)
    std::fprintf(stderr, "ridgerider: warning: plotting failed (%s); results are complete without it\n",
                 cmd.c_str());
}

// A new run never writes over an earlier one: a directory holding any file a run writes is
// refused, unless --overwrite, which removes those files (and only those) first.
void ClaimOutputDirectory(const fs::path& out, bool overwrite) {
  std::vector<fs::path> found;
  for (const char* name : {"result.json", "events.jsonl", "solutions.csv", "landscape.png", io::kCheckpointFile,
                           io::kPreviousCheckpointFile, io::kNextCheckpointFile})
    if (fs::exists(out / name)) found.push_back(out / name);
  if (found.empty()) return;
  if (!overwrite) {
    const bool unfinished = !fs::exists(out / "result.json") && fs::exists(out / io::kCheckpointFile);
    throw InputError("'" + out.string() + "' already holds " + (unfinished ? "an unfinished run" : "a run") + " (" +
                     found.front().filename().string() + "); choose another --out" +
                     (unfinished ? ", continue it with --resume " + out.string() : std::string()) +
                     ", or replace it with --overwrite");
  }
  for (const fs::path& p : found) {
    std::error_code ec;
    fs::remove(p, ec);
    if (ec) throw InputError("cannot remove '" + p.string() + "' to overwrite it: " + ec.message());
  }
}

}  // namespace

// The configuration of a resumed run: the checkpoint's options, with the given run's output
// settings (progress, plot, checkpoint interval) and its directory.
io::RunConfig ResumedConfig(const io::RunConfig& given, const io::Checkpoint& ck) {
  io::RunConfig c;
  for (const auto& [key, value] : ck.options.items()) io::ApplyOption(c, key, value);
  c.out = given.resume;
  c.progress = given.progress;
  c.plot = given.plot;
  c.checkpoint_interval = given.checkpoint_interval;
  return c;
}

std::function<Explorer::RideWork(const RideNode&)> RideComputerFor(const json& options) {
  io::RunConfig c;
  for (const auto& [key, value] : options.items()) io::ApplyOption(c, key, value);
  io::ValidateConfig(c);
  auto loaded = std::make_shared<Loaded>(LoadObjective(c));
  auto explorer = std::make_shared<Explorer>(*loaded->objective, c.explore);
  return [loaded, explorer](const RideNode& n) { return explorer->ComputeRide(n, *loaded->objective); };
}

int RunCommand(const io::RunConfig& given, const Distribute& distribute) {
  io::RunConfig c = given;
  std::optional<io::Checkpoint> ck;
  if (!given.resume.empty()) {
    const fs::path dir = given.resume;
    if (fs::exists(dir / "result.json")) {
      std::printf("the run in %s is already complete: %s\n", dir.c_str(), (dir / "result.json").c_str());
      return 0;
    }
    std::string warning;
    ck = io::ReadCheckpoint(dir, &warning);
    if (!warning.empty()) std::fprintf(stderr, "ridgerider: warning: %s\n", warning.c_str());
    c = ResumedConfig(given, *ck);
  }
  io::ValidateConfig(c);
  Loaded l = LoadObjective(c);
  const fs::path out = c.out.empty() ? fs::path("runs") / l.name : fs::path(c.out);
  if (!ck) ClaimOutputDirectory(out, c.overwrite);
  io::RunTarget target{l.objective.get(), l.x0, l.name, l.kind};
  target.model = l.model;
  if (distribute) target.executor = distribute(io::ConfigToJson(c));
  const io::DirectoryRun run = io::RunToDirectory(c, target, out, std::move(ck));
  const ExploreResult& r = run.result;
  const int dim = l.objective->dim();
  PrintReport(r, out);
  if (dim == 2 && c.plot) Plot(out);
  return 0;
}

int ProblemsCommand(bool as_json) {
  json list = json::array();
  for (const std::string& name : ProblemNames()) {
    Problem p = *MakeProblem(name);
    json minima = json::array(), other = json::array();
    for (const Vector& m : p.minima) minima.push_back(io::ToJson(m));
    for (const Vector& m : p.other_minima) other.push_back(io::ToJson(m));
    list.push_back({{"name", name},
                    {"dim", p.objective->dim()},
                    {"description", p.description},
                    {"saddle", io::ToJson(p.saddle)},
                    {"saddle_kind", p.saddle_kind},
                    {"minima", minima},
                    {"other_minima", other},
                    {"minima_note", p.minima_note}});
  }
  if (as_json) {
    std::cout << list.dump(1) << "\n";
    return 0;
  }
  for (const json& p : list) {
    std::cout << p["name"].get<std::string>() << " (d = " << p["dim"] << ")\n  "
              << p["description"].get<std::string>() << "\n  start: " << p["saddle_kind"].get<std::string>()
              << " at " << p["saddle"].dump() << "\n  minima reached from it: " << p["minima"].size() << " ("
              << p["minima_note"].get<std::string>() << ")\n";
  }
  return 0;
}

}  // namespace ridgerider::app
