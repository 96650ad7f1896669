// Pieces the neural-network experiments share: the symmetric (maximally invariant) start of an
// MLP, plain Adam on keyed mini-batches, and the evaluation tables (per-class accuracy, pairwise
// disagreement) the experiments report.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "ridgerider/options.hpp"
#include "ridgerider/types.hpp"
#include "torch/model_objective.hpp"

namespace ridgerider::experiments {

// The symmetry of an MLP's hidden units: permuting the units of a hidden layer (their incoming
// weights and bias, and their outgoing weights) leaves the function unchanged. The invariant
// subspace is the one where all units of a layer are identical; Project() is the orthogonal
// projection onto it (averages over each orbit of equal parameters).
class HiddenUnitSymmetry {
 public:
  explicit HiddenUnitSymmetry(const std::vector<ParameterInfo>& parameters);
  Vector Project(const Vector& x) const;
  // A point of the invariant subspace built from x: each orbit takes the value of its first
  // member (not the mean, which would shrink a random initialisation towards zero).
  Vector Representative(const Vector& x) const;
  // Representative(x) with every weight that reads hidden units divided by the square root of
  // their number: at a symmetric point those units are identical, so a unit's input adds up n
  // equal terms (scale n |w|) where a standard initialisation adds n independent ones (scale
  // sqrt(n) |w|). This keeps the standard initialisation's activation scale; without it the
  // symmetric network starts (and its MIS ends) with saturated tanh units.
  Vector ScaledRepresentative(const Vector& x) const;
  // max over orbits of (max - min): 0 on the invariant subspace.
  double Spread(const Vector& x) const;

 private:
  // orbit_[i]: the orbit of parameter i; orbits are numbered 0..count_-1.
  std::vector<int> orbit_;
  std::vector<int> first_;  // first member of each orbit
  std::vector<double> size_;
  std::vector<double> scale_;  // per orbit: 1 / sqrt(hidden units read), 1 for others
  int count_ = 0;
};

struct MisReport {
  Vector x;
  double loss = 0;
  double grad_norm_symmetric_min = 0;  // |g| after minimising the loss inside the subspace
  double grad_norm = 0;                // |g| after the gradient-norm refinement
  double spread = 0;                   // HiddenUnitSymmetry::Spread(x)
  int loss_iterations = 0, grad_norm_iterations = 0;
};

// The MIS of an MLP loss: minimise the loss inside the invariant subspace (L-BFGS on L(P x)),
// then refine by minimising |P g(P x)|^2 (its gradient P H P g: one HVP). Inside the subspace
// the gradient is itself invariant, so the point is stationary for the whole network: a saddle
// whose negative-curvature directions break the symmetry.
MisReport FindMlpMis(ModelObjective& obj, const HiddenUnitSymmetry& sym, const Vector& x0, int loss_iterations,
                     int grad_norm_iterations);

// FindMlpMis's second stage alone, for any loss of the MLP's flat parameters: from x0, a point
// of the invariant subspace (project it first), L-BFGS on |P g(P x)|^2 / 2 (gradient P H P g,
// one HVP). The result is the stationary point of the loss inside the invariant subspace nearest
// (in L-BFGS's sense) to x0, hence stationary for the whole network. Fills x, loss, grad_norm,
// spread and grad_norm_iterations.
MisReport RefineToSymmetricStationaryPoint(Objective& obj, const HiddenUnitSymmetry& sym, const Vector& x0,
                                           int grad_norm_iterations);

// Ridge Rider from an MLP's symmetric saddle with float32 derivatives (the experiments'
// settings): matrix-free, the `ridges` most negative clusters (ridges + 3 pairs solved, to
// 1e-4 of |H|: float32 residuals below that are noise), multiplets within 1e-3 (float32 splits
// them slightly), one level of rides of at most `ride_steps` steps, on one thread, no settle
// and no polish (the experiments finish leaves by training).
ExploreOptions MlpSaddleRideOptions(std::uint64_t seed, int ridges, int ride_steps);

struct AdamOptions {
  long steps = 1000;
  double learning_rate = 1e-3;
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  long key_base = 0;  // mini-batch t is the objective's fixed batch for key key_base + t
};

// Adam on an objective whose batch policy is a fixed batch per key: step t uses the batch of key
// key_base + t, so two runs with the same key_base see the same data in the same order.
// Returns false (x left at the last finite point) if the loss turns non-finite.
bool TrainAdam(ModelObjective& obj, Vector* x, const AdamOptions& o);

struct Accuracies {
  double loss = 0;
  double accuracy = 0;
  std::vector<double> per_class;
  std::vector<int> predictions;
};
Accuracies Measure(ModelObjective& obj, const Vector& x, const data::Dataset& d);

// Fraction of samples on which a and b predict differently.
double Disagreement(const std::vector<int>& a, const std::vector<int>& b);

}  // namespace ridgerider::experiments
