// Plain records of an exploration: the rides of the tree, the solutions at its leaves, the
// per-step events and the run summary. They carry no behaviour, so the writers (JSON, CSV,
// checkpoints) and the front ends (CLI, Python) all read the same data.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ridgerider/objective.hpp"

namespace ridgerider {

enum class EndReason {
  kPending,                // not ridden yet
  kEigenvalueNonNegative,  // tracked lambda >= -eps_lambda: the ridge turned convex
  kLossIncreased,          // no step along the ridge lowered the loss
  kOverlapLost,            // no eigenvector continued the ridge (eigenvalue crossing)
  kAtMinimum,              // |g| small and no negative curvature left
  kMaxSteps,               // step cap
  kNonFinite,              // the loss or a derivative was NaN/Inf
  kStoppedByCallback,      // a callback ended this ride
  kAborted,                // a callback aborted the whole search
  kBudget,                 // gradient/HVP budget ran out mid-ride
};
constexpr std::array<EndReason, 10> kAllEndReasons = {
    EndReason::kPending,       EndReason::kEigenvalueNonNegative, EndReason::kLossIncreased,
    EndReason::kOverlapLost,   EndReason::kAtMinimum,             EndReason::kMaxSteps,
    EndReason::kNonFinite,     EndReason::kStoppedByCallback,     EndReason::kAborted,
    EndReason::kBudget};

inline const char* ToString(EndReason r) {
  switch (r) {
    case EndReason::kPending: return "pending";
    case EndReason::kEigenvalueNonNegative: return "eigenvalue-nonnegative";
    case EndReason::kLossIncreased: return "loss-increased";
    case EndReason::kOverlapLost: return "overlap-lost";
    case EndReason::kAtMinimum: return "at-minimum";
    case EndReason::kMaxSteps: return "max-steps";
    case EndReason::kNonFinite: return "non-finite";
    case EndReason::kStoppedByCallback: return "stopped-by-callback";
    case EndReason::kAborted: return "aborted";
    case EndReason::kBudget: return "budget";
  }
  return "?";
}
inline std::optional<EndReason> EndReasonFromString(std::string_view s) {
  for (EndReason r : kAllEndReasons)
    if (s == ToString(r)) return r;
  return std::nullopt;
}

// One choice on the way from the root: follow eigenvector `index` of the sorted spectrum with
// `sign`. A leaf's fingerprint is the list of choices that led to it.
struct Branch {
  int index = 0;
  int sign = 1;
  bool operator==(const Branch&) const = default;
};
using Fingerprint = std::vector<Branch>;

// A ride: created pending when its branch point is reached, filled in when ridden.
struct RideNode {
  long id = 0;      // 1, 2, ... in creation order
  long parent = 0;  // 0 = the start point
  int depth = 1;
  Fingerprint path;
  Vector start_x;
  Vector start_direction;
  double start_loss = 0;
  double start_eigenvalue = 0;
  double start_gap = 0;  // Ridge::gap of the ridge at the branch point (0: unknown)
  int cluster_size = 1;

  EndReason reason = EndReason::kPending;
  Vector end_x;
  double end_loss = 0;
  double end_eigenvalue = 0;  // tracked eigenvalue at the end
  double end_grad_norm = 0;
  int steps = 0;
  long gradients = 0;  // cost of this ride (value+gradient evaluations)
  long hvps = 0;       // HVPs, a dense Hessian counted as d
  std::vector<long> children;
  bool settled = false;     // the end was moved to the stationary point next to it
  Vector branch_x;          // that point (children start there); empty unless settled
  double branch_loss = 0;
  long solution = -1;       // the solution this ride's leaf merged into, if any
  bool truncated = false;   // had ridges but the depth budget stopped branching
  bool done() const { return reason != EndReason::kPending; }
};

struct Solution {
  long id = 0;  // 0, 1, ... in discovery order
  Vector x;
  double loss = 0;
  double grad_norm = 0;
  double min_eigenvalue = 0;
  bool is_minimum = false;         // verified: small gradient and lambda_min >= -eps_lambda
  bool polish_converged = false;
  int polish_iterations = 0;
  long node = 0;                   // the first ride that led here
  Fingerprint fingerprint;         // that ride's path
  std::vector<long> reached_by;    // every ride whose leaf merged into this solution
};

// Rides that run concurrently (threads, MPI workers) buffer their step events until the merge;
// they keep x only up to this many coordinates, because a network's parameters at every step
// of a long ride would take gigabytes (670k parameters x 2000 steps = 10 GB).
inline constexpr long kBufferedStepXLimit = 1000;

struct StepEvent {
  long node = 0;
  int step = 0;
  const Vector* x = nullptr;  // null for a buffered step longer than kBufferedStepXLimit
  double loss = 0;
  double eigenvalue = 0;
  double overlap = 0;
  double step_size = 0;
  double grad_norm = 0;
};

// What the search looked like at its start point.
struct StartInfo {
  Vector x;              // after the MIS search when enabled
  double loss = 0;
  double grad_norm = 0;
  Vector eigenvalues;    // ascending
  bool mis_run = false;
  double mis_grad_norm_start = 0;
  int mis_iterations = 0;
  bool mis_converged = false;
};

struct ExploreSummary {
  std::string stop_reason;  // "archive-empty", "max-rides", "max-leaves", "max-gradients", ...
  long rides = 0;
  long pending = 0;         // rides left in the archive when the search stopped
  long leaves = 0;          // leaf events (before de-duplication)
  long solutions = 0;
  long minima = 0;
  EvalCounts counts;
  long hvp_equivalents = 0;  // HVPs + d per dense Hessian
  std::string spectrum_method;  // "dense" or "matrix-free" (as chosen for this dimension)
  std::string polish_method;    // "newton" (dense) or "lbfgs" (matrix-free)
  std::string settle_method;    // "newton", "off", or "off (matrix-free)"
  double wall_time_s = 0;
  std::vector<std::pair<std::string, long>> end_reasons;  // reason -> rides
};

}  // namespace ridgerider
