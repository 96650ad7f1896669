// Checkpoints: the whole search state, the evaluation counts and the options, written
// atomically after finished rides so that a run killed at any instant can be resumed and ends
// exactly as an uninterrupted one would. The previous checkpoint is kept beside the current
// one; a truncated or corrupt current one falls back to it.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "ridgerider/tree.hpp"

namespace ridgerider::io {

struct Checkpoint {
  nlohmann::json options;  // ConfigToJson of the run
  ExploreState state;
  EvalCounts counts;
  double wall_time_s = 0;  // search time spent before this checkpoint
  long events_bytes = 0;   // events.jsonl length matching this state
};

constexpr const char* kCheckpointFile = "checkpoint.json";
constexpr const char* kPreviousCheckpointFile = "checkpoint.prev.json";
constexpr const char* kNextCheckpointFile = "checkpoint.next.json";  // being written

void WriteCheckpoint(const std::filesystem::path& dir, const Checkpoint& c);
// Reads dir's checkpoint, or the previous one when the current is unusable (then *warning
// says why). Throws InputError when neither can be read.
Checkpoint ReadCheckpoint(const std::filesystem::path& dir, std::string* warning);

}  // namespace ridgerider::io
