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
  std::vector<double> x0;        // start point (empty: the problem's saddle)
  std::string out;               // result directory (empty: runs/<name>)
  int threads = 1;               // ride threads (LibTorch: 1 intra-op thread each)
  bool plot = true;              // landscape.png for 2-D problems
  bool progress = true;          // progress lines on stderr
  int landscape_resolution = 121;
  std::string resume;                // continue the run whose checkpoint is in this directory
  double checkpoint_interval = 1.0;  // seconds between checkpoints (0 = after every ride)
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
