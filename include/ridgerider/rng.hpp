// Random draws keyed by (seed, tree-node id): a node's draws do not depend on the order in
// which nodes are processed, so serial, threaded and distributed runs agree. SplitMix64 and
// Box-Muller are written out (not std:: distributions) so results match across standard
// libraries too.
#pragma once

#include <cmath>
#include <cstdint>

#include "ridgerider/types.hpp"

namespace ridgerider {

class KeyedRng {
 public:
  KeyedRng(std::uint64_t seed, std::uint64_t node_id)
      : state_(Mix(seed ^ Mix(node_id + 0x9E3779B97F4A7C15ull))) {}

  std::uint64_t NextU64() { return Mix(state_ += 0x9E3779B97F4A7C15ull); }
  // Uniform in (0, 1).
  double Uniform() { return (static_cast<double>(NextU64() >> 11) + 0.5) * 0x1.0p-53; }
  double Normal() {
    const double u1 = Uniform(), u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  Vector NormalVector(int n) {
    Vector v(n);
    for (int i = 0; i < n; ++i) v[i] = Normal();
    return v;
  }

 private:
  static std::uint64_t Mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::uint64_t state_;
};

}  // namespace ridgerider
