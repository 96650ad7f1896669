// `ridgerider run` and `ridgerider problems`: build the objective a config names, explore it,
// write the result directory. Bad input surfaces as InputError before anything is written.
#pragma once

#include <string>

#include "io/run_config.hpp"

namespace ridgerider::app {

int RunCommand(const io::RunConfig& config);
int ProblemsCommand(bool as_json);

}  // namespace ridgerider::app
