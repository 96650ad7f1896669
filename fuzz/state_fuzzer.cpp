// libFuzzer target for the JSON readers of the search state: arbitrary bytes parsed as JSON
// and handed to io::StateFromJson (the "state" of result.json / checkpoints), and the same
// bytes written as a checkpoint file and read with io::ReadCheckpoint (the --resume path).
// The only acceptable exception is ridgerider::InputError. An accepted state must also
// survive StateToJson -> StateFromJson -> StateToJson unchanged (a fixed point after one pass).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_common.hpp"
#include "io/checkpoint.hpp"
#include "io/state_json.hpp"

using nlohmann::json;
namespace io = ridgerider::io;
namespace fz = ridgerider::fuzz;
namespace fs = std::filesystem;

namespace {

const fs::path& Dir() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("ridgerider-state-fuzzer-" + std::to_string(getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

void FuzzState(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception&) {
    return;
  }
  ridgerider::ExploreState st;
  if (!fz::OnlyInputErrors("StateFromJson", [&] { st = io::StateFromJson(j); })) return;
  json once, twice;
  fz::OnlyInputErrors("StateToJson", [&] { once = io::StateToJson(st); });
  if (!fz::OnlyInputErrors("StateFromJson(StateToJson)", [&] { twice = io::StateToJson(io::StateFromJson(once)); }))
    fz::Fail("round trip", "StateToJson output rejected by StateFromJson");
  if (once != twice) fz::Fail("round trip", "not a fixed point:\n" + once.dump() + "\n" + twice.dump());
}

void FuzzCheckpoint(const std::string& text) {
  // The current checkpoint gets the bytes; the previous one is absent, so a bad current one
  // must be an InputError mentioning there is nothing to fall back to.
  {
    std::ofstream out(Dir() / io::kCheckpointFile, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  std::string warning;
  fz::OnlyInputErrors("ReadCheckpoint", [&] { (void)io::ReadCheckpoint(Dir(), &warning); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  FuzzState(text);
  FuzzCheckpoint(text);
  return 0;
}
