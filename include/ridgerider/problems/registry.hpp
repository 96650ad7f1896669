// The built-in problems by name. Each comes with its saddle (an exact stationary point) and
// the minima its ridges lead to, Newton-polished at construction. Defined in
// src/problems/registry.cpp, so the AutoDiff instantiations are compiled once.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ridgerider/problems/problem.hpp"

namespace ridgerider {

std::vector<std::string> ProblemNames();
// nullopt for an unknown name.
std::optional<Problem> MakeProblem(const std::string& name);

}  // namespace ridgerider
