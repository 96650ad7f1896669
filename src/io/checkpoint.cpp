#include "io/checkpoint.hpp"

#include <fstream>
#include <sstream>

#include "io/output.hpp"
#include "io/state_json.hpp"
#include "io/vector_files.hpp"
#include "ridgerider/errors.hpp"

namespace ridgerider::io {

namespace fs = std::filesystem;
using nlohmann::json;

void WriteCheckpoint(const fs::path& dir, const Checkpoint& c) {
  json j{{"format", "ridgerider-checkpoint/1"},
               {"options", c.options},
               {"state", StateToJson(c.state)},
               {"counts",
                {{"values", c.counts.values},
                 {"gradients", c.counts.gradients},
                 {"hvps", c.counts.hvps},
                 {"hessians", c.counts.hessians}}},
               {"wall_time_s", c.wall_time_s},
               {"events_bytes", c.events_bytes}};
  ExternalizeVectors(&j["state"], dir);  // long vectors in DIR/vectors/, written before the JSON
  // The slow part (writing and syncing) happens first, beside the current checkpoint; then two
  // renames. A kill between them leaves the previous checkpoint, which ReadCheckpoint uses.
  const fs::path next = dir / kNextCheckpointFile;
  WriteFileAtomically(next, j.dump() + "\n");
  std::error_code ec;
  if (fs::exists(dir / kCheckpointFile)) fs::rename(dir / kCheckpointFile, dir / kPreviousCheckpointFile, ec);
  fs::rename(next, dir / kCheckpointFile, ec);
  if (ec) throw InputError("cannot write the checkpoint in '" + dir.string() + "': " + ec.message());
}

namespace {

Checkpoint Parse(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw InputError("cannot read '" + path.string() + "'");
  std::stringstream text;
  text << in.rdbuf();
  try {
    const json j = json::parse(text.str());
    if (j.at("format") != "ridgerider-checkpoint/1") throw InputError("'" + path.string() + "' is not a ridgerider checkpoint");
    Checkpoint c;
    c.options = j.at("options");
    json state = j.at("state");
    InternalizeVectors(&state, path.parent_path());
    c.state = StateFromJson(state);
    const json& n = j.at("counts");
    c.counts.values = IntFromJson<long>(n.at("values"));
    c.counts.gradients = IntFromJson<long>(n.at("gradients"));
    c.counts.hvps = IntFromJson<long>(n.at("hvps"));
    c.counts.hessians = IntFromJson<long>(n.at("hessians"));
    c.wall_time_s = j.at("wall_time_s").get<double>();
    c.events_bytes = IntFromJson<long>(j.at("events_bytes"));
    return c;
  } catch (const json::exception& e) {
    throw InputError("checkpoint '" + path.string() + "' is truncated or corrupt: " + e.what());
  }
}

}  // namespace

Checkpoint ReadCheckpoint(const fs::path& dir, std::string* warning) {
  try {
    return Parse(dir / kCheckpointFile);
  } catch (const InputError& current) {
    if (!fs::exists(dir / kPreviousCheckpointFile)) {
      throw InputError(std::string(current.what()) + "; no previous checkpoint in '" + dir.string() + "' to fall back to");
    }
    Checkpoint c = Parse(dir / kPreviousCheckpointFile);
    if (warning) *warning = std::string(current.what()) + "; resuming from the previous checkpoint";
    return c;
  }
}

}  // namespace ridgerider::io
