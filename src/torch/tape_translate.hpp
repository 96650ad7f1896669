// Translation of a TorchScript graph into a native tape (native_tape.hpp). Internal to the
// LibTorch backend: includes Torch headers, so only torch/*.cpp include it.
#pragma once

#include <torch/csrc/jit/ir/ir.h>

#include <memory>
#include <string>
#include <vector>

#include "torch/native_tape.hpp"

namespace ridgerider {

// Translates `graph` (a copy is inlined and simplified; the argument is not modified) into a
// tape for x of length dim. inputs holds a value for every graph input; the one at x_index is
// ignored (it is x). Returns nullptr, with the reason in *why, when the graph uses something the
// tape does not cover: control flow, an unknown op, a value computed from x's data (int(x[0])),
// non-float64 or >1-D intermediate tensors, mutation, randomness. The tape is checked against
// Torch's own evaluation of the graph at a reference point before it is returned.
std::shared_ptr<TapeProgram> TranslateToTape(const std::shared_ptr<torch::jit::Graph>& graph,
                                             const std::vector<c10::IValue>& inputs,
                                             int x_index, int dim, std::string* why);

}  // namespace ridgerider
