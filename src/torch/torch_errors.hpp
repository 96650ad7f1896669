// One-line messages from Torch exceptions (which are multi-line: message, source excerpt,
// TorchScript traceback, C++ backtrace). Defined in torchscript_objective.cpp. No Torch header.
#pragma once

#include <exception>
#include <string>

namespace ridgerider {

std::string TorchErrorMessage(const std::exception& e);

}  // namespace ridgerider
