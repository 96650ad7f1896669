// `--threads N` runs N rides at once, each on one LibTorch intra-op thread (set once by the CLI
// with SetTorchThreads(1); MPI ranks set it too): ride threads inherit it, so N ride threads
// are N busy threads, not N x cores.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "torch/torchscript_objective.hpp"

namespace ridgerider {
namespace {

// The count set on the main thread is the one every ride thread's Torch work runs with (set to
// 2 and then 1, so that a count which did not carry over to new threads shows either way).
TEST(TorchThreads, RideThreadsInheritTheIntraOpThreadCount) {
  // Autograd, not the native tape, so LibTorch's own kernels run on the ride threads.
  auto objective = MakeTorchScriptFromSource("def f(x: Tensor) -> Tensor: return (x * x).sum() + x.prod()", 64, "",
                                             TorchDerivatives::kAutograd);
  for (int n : {2, 1}) {
    SetTorchThreads(n);
    ASSERT_EQ(TorchThreads(), n);
    std::vector<std::unique_ptr<Objective>> clones;
    for (int t = 0; t < 2; ++t) clones.push_back(objective->Clone());
    std::vector<int> seen(clones.size(), -1);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < clones.size(); ++t)
      threads.emplace_back([&, t] {
        double f = 0;
        Vector g;
        EXPECT_EQ(clones[t]->ValueAndGradient(Vector::Constant(64, 0.5), &f, &g), EvalStatus::kOk);
        seen[t] = TorchThreads();
      });
    for (auto& th : threads) th.join();
    for (int s : seen) EXPECT_EQ(s, n) << "set to " << n << " on the main thread";
  }
}

}  // namespace
}  // namespace ridgerider
