// One exploration written to a result directory (docs/result-format.md): events.jsonl while it
// runs, checkpoints after finished rides, then solutions.csv and result.json. The CLI's `run`
// and the Python module's explore() both go through here, so a directory written by either
// reads the same.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "io/checkpoint.hpp"
#include "io/run_config.hpp"
#include "ridgerider/callbacks.hpp"
#include "ridgerider/tree.hpp"

namespace ridgerider::io {

// What is explored: the objective, its start point and how result.json names it.
struct RunTarget {
  Objective* objective = nullptr;
  Vector x0;
  std::string name;  // result.json problem.name
  std::string kind;  // problem.kind: "builtin", "torchscript-source", "python", ...
  // 2-D losses: put the loss on a grid into result.json (landscape-resolution^2 evaluations).
  // The Python module defers it to the first plot when the result is held in memory.
  bool landscape = true;
  // Networks (--model): what result.json records about the network, data and batches
  // (problem.model); null for other losses.
  nlohmann::json model;
  // Where rides are computed (MPI ranks); null: this process (ride threads).
  Explorer::RideExecutor* executor = nullptr;
};

struct DirectoryRun {
  ExploreResult result;
  nlohmann::json result_json;  // what was written to result.json
  Vector landscape_lo, landscape_hi;  // 2-D losses: the box of the landscape grid
};

// Explores `target` with c's options (c.threads ride threads, c.progress lines on stderr,
// c.checkpoint_interval) and writes the directory `out` (created if missing). `resume`
// continues the search of a checkpoint written here before. `extra` (may be null) sees every
// event after the events log. Throws InputError before anything is written when the loss is
// not finite at x0 or the directory cannot be created.
DirectoryRun RunToDirectory(const RunConfig& c, const RunTarget& target, const std::filesystem::path& out,
                            std::optional<Checkpoint> resume = std::nullopt, ExploreCallback* extra = nullptr);

}  // namespace ridgerider::io
