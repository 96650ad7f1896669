// Everything one `ridgerider run` needs, and the single table that names each field for the
// command line, the JSON config and the `options` block of result.json. One key, one meaning,
// everywhere: adding an option means adding one row to the table in run_config.cpp.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ridgerider/options.hpp"

namespace ridgerider::io {

struct RunConfig {
  ExploreOptions explore;
  std::string problem;           // a built-in problem
  std::string objective_source;  // TorchScript source text
  std::string objective_file;    // a .pt file or a file of TorchScript source
  std::string function;          // which function of the source (empty: the first)
  // A network's loss on a data set (see src/torch/model_objective.hpp): x = all its parameters.
  std::string model;                      // "mlp:784-128-10" or a TorchScript module .pt
  std::string data;                       // "fashion-mnist", "fashion-mnist:test", "IMAGES,LABELS"
  int train_size = 0;                     // first N samples only (0: all)
  std::string loss = "cross-entropy";
  std::string dtype = "float32";
  std::string batch = "full";             // "full" or N: a fixed batch of N samples per ride
  int chunk = 0;                          // samples per forward/backward pass (0: one pass)
  std::string hvp = "reused-graph";
  std::string activation = "tanh";        // built-in MLP only
  std::string init = "model";             // model: saved / seeded init; zero: all parameters 0
  std::vector<double> input_shape;        // one sample as the model takes it (empty: flat)
  std::string model_mode = "as-saved";
  int torch_threads = 0;                  // LibTorch intra-op threads (0: cores / ride threads)
  std::vector<double> x0;        // start point (empty: the problem's saddle)
  std::string out;               // result directory (empty: runs/<name>)
  int threads = 1;               // ride threads (LibTorch: 1 intra-op thread each)
  bool plot = true;              // landscape.png for 2-D problems
  bool progress = true;          // progress lines on stderr
  int landscape_resolution = 121;
  std::string resume;                // continue the run whose checkpoint is in this directory
  double checkpoint_interval = 1.0;  // seconds between checkpoints (0 = after every ride)
  bool overwrite = false;            // replace the run already in `out` (else refused)
};

enum class OptionKind { kNumber, kInteger, kBool, kString, kNumberList, kChoice };

struct OptionSpec {
  std::string key;   // "step-size": --step-size on the command line, "step-size" in JSON
  OptionKind kind;
  std::string help;
  std::vector<std::string> choices;  // kChoice only
  std::function<void(RunConfig&, const nlohmann::json&)> set;  // value already type-checked
  std::function<nlohmann::json(const RunConfig&)> get;
  bool recorded = true;  // written to result.json's options (false for "config", "out")
};

const std::vector<OptionSpec>& OptionTable();
const OptionSpec* FindOption(const std::string& key);
// The known key closest to `key` by edit distance (for "did you mean").
std::string NearestOptionKey(const std::string& key);
// The name in `names` closest to `key` by edit distance (for "did you mean" hints).
std::string NearestName(const std::string& key, const std::vector<std::string>& names);

// Sets one option from a JSON value; throws InputError naming the key on a wrong type or an
// unknown key (with the nearest valid key).
void ApplyOption(RunConfig& c, const std::string& key, const nlohmann::json& value);
// Converts command-line text to the option's JSON value (numbers, lists "1,2", booleans).
nlohmann::json ParseOptionText(const OptionSpec& spec, const std::string& text);
// Reads a JSON config file: an object of option keys. Throws InputError.
void ApplyConfigFile(RunConfig& c, const std::string& path);
// Validates the whole configuration (option ranges, one objective source); throws InputError.
void ValidateConfig(const RunConfig& c);
// The part of ValidateConfig that does not concern the objective (option ranges only), for front
// ends that bring their own objective (the Python module).
void ValidateSearchOptions(const RunConfig& c);
// The options block of result.json: every recorded option, enough to rerun.
nlohmann::json ConfigToJson(const RunConfig& c);

}  // namespace ridgerider::io
