// What the TorchScript objectives and the model objectives share, defined in
// torchscript_objective.cpp. No Torch header.
#pragma once

#include <exception>
#include <string>

namespace ridgerider {

// One-line messages from Torch exceptions (which are multi-line: message, source excerpt,
// TorchScript traceback, C++ backtrace).
std::string TorchErrorMessage(const std::exception& e);

// Selects the TorchScript graph executor once per process (the simple executor unless
// RIDGERIDER_TORCH_EXECUTOR says otherwise). Besides speed, it keeps results reproducible: the
// profiling executor re-optimises a graph after its first runs, and the optimised graph's
// derivatives differ from the first runs' in the last bits.
void ConfigureTorchScriptExecutor();

}  // namespace ridgerider
