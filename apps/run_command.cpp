#include "run_command.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>

#include "io/checkpoint.hpp"
#include "io/output.hpp"
#include "io/run_directory.hpp"
#include "io/state_json.hpp"
#include "ridgerider/errors.hpp"
#include "ridgerider/problems/registry.hpp"
#include "ridgerider/tree.hpp"
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
};

Loaded LoadObjective(const io::RunConfig& c) {
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

int RunCommand(const io::RunConfig& given) {
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
  const io::DirectoryRun run =
      io::RunToDirectory(c, io::RunTarget{l.objective.get(), l.x0, l.name, l.kind}, out, std::move(ck));
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
