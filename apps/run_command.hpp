// `ridgerider run` and `ridgerider problems`: build the objective a config names, explore it,
// write the result directory. Bad input surfaces as InputError before anything is written.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "io/run_config.hpp"
#include "ridgerider/tree.hpp"

namespace ridgerider::app {

// Where rides run other than here (MPI ranks): called once the run's options are final (a
// resumed run's included) with its options block; returns the executor, or nullptr.
using Distribute = std::function<Explorer::RideExecutor*(const nlohmann::json& options)>;

int RunCommand(const io::RunConfig& config, const Distribute& distribute = {});

// What a worker rank rides with: the objective and search options rebuilt from a run's options
// block (the one Distribute is given), as a function computing one ride's work.
std::function<Explorer::RideWork(const RideNode&)> RideComputerFor(const nlohmann::json& options);
int ProblemsCommand(bool as_json);

}  // namespace ridgerider::app
