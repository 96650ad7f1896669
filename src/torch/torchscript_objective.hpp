// LibTorch backend: an Objective whose loss is a TorchScript function of one 1-D float64 tensor
// x of length dim, returning a scalar tensor. Derivatives come from a native tape (the function's
// graph translated to our own straight-line evaluator with Eigen AutoDiff, see native_tape.hpp)
// when the graph translates, else from LibTorch autograd in float64.
//
// This header deliberately includes no Torch header (the implementation class lives entirely in
// torchscript_objective.cpp), so including it costs nothing at compile time.
//
// Performance notes: the tape costs ~1-3 us per gradient on a loss of a few parameters, where
// LibTorch spends ~1-5 us per op on tiny tensors. On the autograd path every evaluation at a new
// point builds one double-backward-capable graph (f and g = df/dx with create_graph). Gradient,
// HVP and Hessian requests at the same x (compared bytewise with the cached point) reuse that
// graph. An objective is not thread-safe: use one per thread.
#pragma once

#include <memory>
#include <string>

#include "ridgerider/objective.hpp"

namespace ridgerider {

// How derivatives are computed. kAuto: a native tape (native_tape.hpp) when the function's
// graph translates to one - straight-line code over 0-D/1-D float64 tensors with the ops listed
// in tape_translate.cpp - else LibTorch autograd. The environment variable
// RIDGERIDER_TORCH_TAPE=0 turns kAuto into kAutograd; RIDGERIDER_TORCH_DEBUG=1 prints the choice
// (and why the tape was not used) to stderr. The objective's name() ends in " (native tape)"
// or " (autograd)"; UsesNativeTape tells the same.
enum class TorchDerivatives { kAuto, kAutograd };

// Compiles TorchScript source text, e.g.
//   "def f(x: Tensor) -> Tensor: return (x[0]**2 - 1)**2 + 2*x[1]**2"
// and wraps the function `function_name` (empty: the first function defined in the source).
// The function must take one Tensor (further parameters need defaults) and return a scalar
// (one-element) tensor. The factory evaluates it once at x = 0 to validate it.
// Throws InputError (one-line message) on compile errors, a missing function, a wrong signature,
// a non-scalar result, or a failure at x = 0 (typically: dim too small for the indexing used).
std::unique_ptr<Objective> MakeTorchScriptFromSource(
    const std::string& source, int dim, const std::string& function_name = "",
    TorchDerivatives derivatives = TorchDerivatives::kAuto);

// Loads a TorchScript file: a .pt archive written by torch.jit.save of a scripted function or
// module (the module's forward is called; parameters are converted to float64, frozen and the
// module put in eval mode), or a text file (.py, .ts, ...) holding TorchScript source, whose
// first function is used. Archives are recognised by content (zip magic), not by extension.
// In source text (here and in MakeTorchScriptFromSource) top-level "import ...", "from ...
// import ..." and "@torch.jit.*" decorator lines are ignored, so a plain Python module works.
// Throws InputError as MakeTorchScriptFromSource, and when the file is missing or unreadable.
std::unique_ptr<Objective> MakeTorchScriptFromFile(
    const std::string& path, int dim, TorchDerivatives derivatives = TorchDerivatives::kAuto);

// True when `objective` came from the factories above and evaluates on the native tape.
bool UsesNativeTape(const Objective& objective);

// Number of intra-op threads LibTorch uses (torch::set_num_threads); n <= 0 leaves it unchanged.
// Tiny losses run fastest on one thread.
void SetTorchThreads(int n);
// The intra-op thread count LibTorch uses on the calling thread (threads started later inherit
// the count set above: ride threads and MPI ranks each run on one).
int TorchThreads();

}  // namespace ridgerider
