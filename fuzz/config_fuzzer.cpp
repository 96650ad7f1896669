// libFuzzer target for the run configuration: arbitrary bytes as a JSON config file (the
// body of io::ApplyConfigFile, without the file), then ValidateConfig; and the same bytes as
// command-line text for one option (ParseOptionText + ApplyOption). The only acceptable
// exception is ridgerider::InputError; any other exception, crash or sanitizer report is a bug.
// Invariant also checked: the options block of an accepted config (ConfigToJson) can be
// applied again, which is what `run --resume` relies on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_common.hpp"
#include "io/run_config.hpp"

using nlohmann::json;
using ridgerider::InputError;
namespace io = ridgerider::io;
namespace fz = ridgerider::fuzz;

namespace {

void FuzzConfigJson(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception&) {
    return;  // ApplyConfigFile turns every parse failure (number overflow included) into InputError
  }
  if (!j.is_object()) return;
  io::RunConfig c;
  const bool applied = fz::OnlyInputErrors("ApplyOption", [&] {
    for (const auto& [key, value] : j.items()) {
      if (key == "config") throw InputError("'config' cannot nest");
      io::ApplyOption(c, key, value);
    }
  });
  if (!applied) return;
  const bool valid = fz::OnlyInputErrors("ValidateConfig", [&] { io::ValidateConfig(c); });
  // The recorded options of any config the table accepted must be accepted again.
  json recorded;
  fz::OnlyInputErrors("ConfigToJson", [&] { recorded = io::ConfigToJson(c); });
  io::RunConfig again;
  if (!fz::OnlyInputErrors("ApplyOption(ConfigToJson)", [&] {
        for (const auto& [key, value] : recorded.items()) io::ApplyOption(again, key, value);
      }))
    fz::Fail("round trip", "ConfigToJson output rejected by ApplyOption: " + recorded.dump());
  (void)valid;
}

void FuzzOptionText(const uint8_t* data, size_t size) {
  if (size == 0) return;
  const auto& table = io::OptionTable();
  const io::OptionSpec& spec = table[data[0] % table.size()];
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  io::RunConfig c;
  fz::OnlyInputErrors("ParseOptionText/ApplyOption", [&] {
    const json v = io::ParseOptionText(spec, text);
    io::ApplyOption(c, spec.key, v);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  FuzzConfigJson(text);
  FuzzOptionText(data, size);
  return 0;
}
