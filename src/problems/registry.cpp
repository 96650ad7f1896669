#include "ridgerider/problems/registry.hpp"

#include <Eigen/QR>
#include <algorithm>
#include <memory>

#include "ridgerider/problems/landscapes.hpp"
#include "ridgerider/saddle.hpp"

namespace ridgerider {

std::vector<std::string> ProblemNames() {
  return {"toy2d", "double-well", "himmelblau", "quadratic", "wells3d", "tanh-net"};
}

namespace problems {

// An exact stationary point near `guess` (the MIS search run to `tolerance`); the search's
// evaluations are not the problem's.
Vector RefinedSaddle(Objective& obj, const Vector& guess, double tolerance) {
  MisOptions mo;
  mo.grad_tolerance = tolerance;
  Vector x = FindMis(obj, guess, mo, 0).x;
  obj.ResetCounts();
  return x;
}

template <class F>
std::unique_ptr<Objective> Make(int dim, const std::string& name, F f) {
  return std::make_unique<AutoDiffObjective<F>>(dim, name, std::move(f));
}

Problem Toy2d() {
  Problem p;
  p.name = "toy2d";
  p.description =
      "2-D: (x^2-1)^2 + (y^2-1)^2 + 0.5xy + 0.3x^2y. A maximum at the origin, four wells of "
      "different depth; eigenvectors rotate along the rides.";
  p.objective = Make(2, p.name, Toy2dFormula{});
  p.saddle = Vec({0.0, 0.0});
  p.saddle_kind = "maximum (eigenvalues -4.5, -3.5)";
  p.minima = PolishedMinima(*p.objective, {Vec({1, 1}), Vec({1, -1}), Vec({-1, 1}), Vec({-1, -1})});
  p.minima_note = "four minima near (+-1, +-1), Newton-polished";
  return p;
}

Problem DoubleWell() {
  Problem p;
  p.name = "double-well";
  p.description = "2-D tilted double well: (x^2-1)^2 + 0.25x + 2y^2. One index-1 saddle, two minima.";
  p.objective = Make(2, p.name, DoubleWellFormula{});
  // The saddle is the middle root of 4x^3 - 4x + 0.25 = 0.
  p.saddle = RefinedSaddle(*p.objective, Vec({0.0625, 0.0}), 1e-14);
  p.saddle_kind = "index-1 saddle";
  p.minima = PolishedMinima(*p.objective, {Vec({-1, 0}), Vec({1, 0})});
  p.minima_note = "the outer roots of 4x^3 - 4x + 0.25 = 0, y = 0";
  return p;
}

Problem Himmelblau() {
  Problem p;
  p.name = "himmelblau";
  p.description =
      "2-D Himmelblau: (x^2+y-11)^2 + (x+y^2-7)^2. Started at its local maximum; four minima "
      "of loss 0.";
  p.objective = Make(2, p.name, HimmelblauFormula{});
  p.saddle = RefinedSaddle(*p.objective, Vec({-0.270845, -0.923039}), 1e-12);
  p.saddle_kind = "maximum";
  p.minima = PolishedMinima(*p.objective, {Vec({3.0, 2.0}), Vec({-2.805118, 3.131312}),
                                           Vec({-3.779310, -3.283186}), Vec({3.584428, -1.848126})});
  p.minima_note =
      "the four published minima, Newton-polished. (3, 2) is reached through the saddle near "
      "(3.39, 0.07): with --no-settle (branching where rides stop, as in the paper) only three are";
  return p;
}

Problem Quadratic() {
  Problem p;
  p.name = "quadratic";
  p.description =
      "5-D: prescribed spectrum (-2, -1, 0.5, 1, 3) at the origin in a fixed random basis, "
      "quartic walls on the negative directions. Four minima.";
  QuadraticFormula f;
  KeyedRng rng(7, 0);
  Matrix a(5, 5);
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) a(i, j) = rng.Normal();
  f.q = Eigen::HouseholderQR<Matrix>(a).householderQ();
  f.lambda = Vec({-2.0, -1.0, 0.5, 1.0, 3.0});
  for (double s0 : {1.0, -1.0})
    for (double s1 : {1.0, -1.0})
      p.minima.push_back(f.q.col(0) * s0 * std::sqrt(2.0) + f.q.col(1) * s1 * 1.0);
  p.objective = Make(5, p.name, f);
  p.saddle = Vector::Zero(5);
  p.saddle_kind = "index-2 saddle";
  p.minima_note = "exact: z = (+-sqrt 2, +-1, 0, 0, 0) in the eigenbasis";
  return p;
}

Problem Wells3d() {
  Problem p;
  p.name = "wells3d";
  p.description =
      "3-D coupled double wells: sum (x_i^2-1)^2 + 0.3 sum x_i x_{i+1}. A maximum at the "
      "origin, eight minima near the cube's corners; branching two levels deep.";
  p.objective = Make(3, p.name, WellsFormula{});
  p.saddle = Vector::Zero(3);
  p.saddle_kind = "maximum (index 3)";
  std::vector<Vector> corners;
  for (int m = 0; m < 8; ++m)
    corners.push_back(Vec({m & 1 ? 1.0 : -1.0, m & 2 ? 1.0 : -1.0, m & 4 ? 1.0 : -1.0}));
  p.minima = PolishedMinima(*p.objective, corners);
  p.minima_note = "eight minima near (+-1, +-1, +-1), Newton-polished";
  return p;
}

TanhNetFormula TanhNetData() {
  TanhNetFormula f;
  const int n = 21;
  f.inputs.resize(n);
  f.targets.resize(n);
  for (int k = 0; k < n; ++k) {
    const double t = -2.0 + 4.0 * k / (n - 1);
    f.inputs[k] = t;
    f.targets[k] = std::tanh(3.0 * t) - 0.5 * t;
  }
  f.weight_decay = 0.01;
  return f;
}

// The network's symmetry: flip each unit to w >= 0 ((w, v) -> (-w, -v) leaves tanh units
// unchanged), then sort the units by (w, v).
Vector TanhNetCanonical(const Vector& x) {
  std::vector<std::pair<double, double>> units;
  for (int j = 0; j < 3; ++j) {
    const double s = x[j] < 0 ? -1.0 : 1.0;
    units.emplace_back(s * x[j], s * x[3 + j]);
  }
  std::sort(units.begin(), units.end());
  Vector c(6);
  for (int j = 0; j < 3; ++j) {
    c[j] = units[j].first;
    c[3 + j] = units[j].second;
  }
  return c;
}

Problem TanhNet() {
  Problem p;
  p.name = "tanh-net";
  p.description =
      "6-D: a 1-input, 3-unit tanh network y = sum v_j tanh(w_j t) fitted to tanh(3t) - t/2 by "
      "least squares with weight decay 0.01, started at its symmetric saddle (all units equal): "
      "the ridges come as a pair of equal eigenvalues.";
  p.objective = Make(6, p.name, TanhNetData());
  p.saddle = RefinedSaddle(*p.objective, Vec({1.0, 1.0, 1.0, 0.3, 0.3, 0.3}), 1e-13);
  p.saddle_kind = "symmetric saddle (MIS), a pair of equal negative eigenvalues";
  p.mis_recommended = true;
  p.canonical = TanhNetCanonical;
  // One minimum class: two units equal, one apart (its 3 permutations x 8 sign flips are the
  // same network). 300 random-start minimisations below the saddle's loss find only it.
  p.minima = PolishedMinima(*p.objective, {Vec({0.386883, 0.386883, 1.64251, -0.696574, -0.696574, 1.0463})});
  p.minima_note =
      "one class up to unit permutations and sign flips, confirmed by multi-start minimisation";
  return p;
}

}  // namespace problems

std::optional<Problem> MakeProblem(const std::string& name) {
  if (name == "toy2d") return problems::Toy2d();
  if (name == "double-well") return problems::DoubleWell();
  if (name == "himmelblau") return problems::Himmelblau();
  if (name == "quadratic") return problems::Quadratic();
  if (name == "wells3d") return problems::Wells3d();
  if (name == "tanh-net") return problems::TanhNet();
  return std::nullopt;
}

}  // namespace ridgerider
