// A built-in problem: an objective with what is known about it (its saddle, its minima), used
// by the CLI (`ridgerider problems`, `run --problem`), the tests and the benchmarks.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ridgerider/local_min.hpp"
#include "ridgerider/objective.hpp"

namespace ridgerider {

struct Problem {
  std::string name;
  std::string description;
  std::unique_ptr<Objective> objective;
  Vector saddle;                 // the default start: an exact stationary point
  std::string saddle_kind;       // "maximum", "index-1 saddle", ...
  std::vector<Vector> minima;    // every minimum the ridges from the saddle lead to
  std::vector<Vector> other_minima;  // known minima no ridge from the saddle reaches
  // When set, maps a point to a representative of its symmetry class: minima are compared
  // after it.
  std::function<Vector(const Vector&)> canonical;
  std::string minima_note;       // how the minima are known
  bool mis_recommended = false;  // start is symmetric; --mis refines it
};

// Newton-polishes approximate minima so the stored ones are exact to round-off.
inline std::vector<Vector> PolishedMinima(Objective& obj, const std::vector<Vector>& guesses) {
  LeafOptions o;
  o.polish_grad_tolerance = 1e-13;
  std::vector<Vector> out;
  for (const Vector& g : guesses) out.push_back(Polish(obj, g, o).x);
  obj.ResetCounts();
  return out;
}

inline Vector Vec(std::initializer_list<double> v) {
  Vector out(static_cast<Eigen::Index>(v.size()));
  int i = 0;
  for (double x : v) out[i++] = x;
  return out;
}

}  // namespace ridgerider
