// Every knob of an exploration, with its default and its check. The CLI, the JSON config and
// (later) Python share these names: src/io/option_table.cpp maps each field to one key.
// Enums round-trip through strings (ToString / FromString) so every front end spells them alike.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ridgerider {

enum class StepRule { kFixed, kTrustRadius };
enum class ArchiveOrder { kBreadthFirst, kDepthFirst, kMostNegativeFirst };
// How curvature is obtained: dense Hessians and full eigendecompositions (exact, O(d^2) memory),
// or Hessian-vector products only (Krylov solves and a warm-started ridge tracker).
enum class SpectrumMethod { kAuto, kDense, kMatrixFree };
// The matrix-free solver for the k most negative eigenpairs: our thick-restart Krylov method
// (from a keyed random start) or Spectra's SymEigsSolver (the reference).
enum class EigenSolver { kKrylov, kSpectra };

inline const char* ToString(StepRule r) { return r == StepRule::kFixed ? "fixed" : "trust-radius"; }
inline std::optional<StepRule> StepRuleFromString(std::string_view s) {
  if (s == "fixed") return StepRule::kFixed;
  if (s == "trust-radius") return StepRule::kTrustRadius;
  return std::nullopt;
}
inline const char* ToString(ArchiveOrder o) {
  switch (o) {
    case ArchiveOrder::kBreadthFirst: return "breadth-first";
    case ArchiveOrder::kDepthFirst: return "depth-first";
    case ArchiveOrder::kMostNegativeFirst: return "most-negative-first";
  }
  return "?";
}
inline std::optional<ArchiveOrder> ArchiveOrderFromString(std::string_view s) {
  if (s == "breadth-first") return ArchiveOrder::kBreadthFirst;
  if (s == "depth-first") return ArchiveOrder::kDepthFirst;
  if (s == "most-negative-first") return ArchiveOrder::kMostNegativeFirst;
  return std::nullopt;
}

inline const char* ToString(SpectrumMethod m) {
  switch (m) {
    case SpectrumMethod::kAuto: return "auto";
    case SpectrumMethod::kDense: return "dense";
    case SpectrumMethod::kMatrixFree: return "matrix-free";
  }
  return "?";
}
inline std::optional<SpectrumMethod> SpectrumMethodFromString(std::string_view s) {
  if (s == "auto") return SpectrumMethod::kAuto;
  if (s == "dense") return SpectrumMethod::kDense;
  if (s == "matrix-free") return SpectrumMethod::kMatrixFree;
  return std::nullopt;
}
inline const char* ToString(EigenSolver e) { return e == EigenSolver::kKrylov ? "krylov" : "spectra"; }
inline std::optional<EigenSolver> EigenSolverFromString(std::string_view s) {
  if (s == "krylov") return EigenSolver::kKrylov;
  if (s == "spectra") return EigenSolver::kSpectra;
  return std::nullopt;
}

namespace detail {
inline bool Fail(std::string* why, const std::string& msg) {
  if (why) *why = msg;
  return false;
}
inline bool Positive(double v) { return std::isfinite(v) && v > 0; }
}  // namespace detail

// GetRidges: which eigen-directions at a point become rides.
struct RidgeOptions {
  // eps_lambda: an eigenvalue is a ridge only if lambda < -eigen_threshold. Keeps exact zero
  // modes (shift or scale symmetries, round-off ~1e-12) from becoming ridges.
  double eigen_threshold = 1e-6;
  // Eigenvalues within cluster_tolerance * max(1, |lambda|) of each other form one cluster
  // (a symmetry class).
  double cluster_tolerance = 1e-6;
  // false: one ride per cluster (its first eigenvector); true: every eigenvector of a cluster.
  bool all_in_cluster = false;
  // At most this many ridges (clusters or vectors) per branch point, most negative first;
  // 0 = all.
  int max_ridges = 0;
  // At a branch point that is not stationary, skip a sign s whose first step is predicted to
  // raise the loss (a s g.e + a^2 lambda / 2 >= 0 with a = step_size): such a ride could only
  // end at once with loss-increased. At a saddle (g = 0) both signs always survive.
  bool skip_ascending = true;

  bool IsValid(std::string* why) const {
    using detail::Fail;
    if (!(std::isfinite(eigen_threshold) && eigen_threshold >= 0))
      return Fail(why, "eigen-threshold must be a finite number >= 0");
    if (!(std::isfinite(cluster_tolerance) && cluster_tolerance >= 0))
      return Fail(why, "cluster-tolerance must be a finite number >= 0");
    if (max_ridges < 0) return Fail(why, "max-ridges must be >= 0 (0 = all)");
    return true;
  }
};

// One ride: stepping along a ridge and re-tracking it.
struct RideOptions {
  // fixed: every step has length step_size (the paper). trust-radius: the length grows x2 while
  // the actual decrease matches the predicted one (g.e*a + lambda*a^2/2; ratio > 0.75), shrinks
  // /2 when it does not (ratio < 0.25), or when the loss rises or the ridge's overlap drops.
  StepRule step_rule = StepRule::kTrustRadius;
  double step_size = 0.05;       // alpha, or the initial trust radius
  double max_step_size = 0.5;    // trust radius cap
  double min_step_size = 1e-7;   // below this a rising loss / lost overlap ends the ride
  int max_steps = 2000;          // step cap per ride
  // UpdateRidge: the ridge is lost (an eigenvalue crossing) when the best |overlap| with the
  // previous direction is below this.
  double overlap_floor = 0.5;
  // A ride also ends "at-minimum" when |g| < grad_tolerance and lambda_min >= -eps_lambda.
  double grad_tolerance = 1e-8;
  // After a ride, move to the stationary point next to its end (minimising |g|^2) and branch
  // there: branch points become saddles, so every ridge is followed both ways. Not the paper's
  // rule (it branches where the ride stopped); rides that end off a symmetry line otherwise
  // lose the branch across it. The move is kept only when it converges to |g| <
  // grad_tolerance within settle_max_iterations, does not raise the loss and is no longer than
  // the ride.
  bool settle = true;
  int settle_max_iterations = 50;

  bool IsValid(std::string* why) const {
    using detail::Fail;
    using detail::Positive;
    if (settle_max_iterations < 1) return Fail(why, "settle-max-iterations must be >= 1");
    if (!Positive(step_size)) return Fail(why, "step-size must be > 0");
    if (!Positive(max_step_size) || max_step_size < step_size)
      return Fail(why, "max-step-size must be >= step-size");
    if (!Positive(min_step_size) || min_step_size > step_size)
      return Fail(why, "min-step-size must be > 0 and <= step-size");
    if (max_steps < 1) return Fail(why, "max-steps must be >= 1");
    if (!(overlap_floor >= 0 && overlap_floor < 1)) return Fail(why, "overlap-floor must be in [0, 1)");
    if (!Positive(grad_tolerance)) return Fail(why, "grad-tolerance must be > 0");
    return true;
  }
};

// The archive of pending rides and the budgets that stop the search.
struct TreeOptions {
  ArchiveOrder order = ArchiveOrder::kBreadthFirst;
  long max_rides = 1000;     // rides started, all depths together
  int max_depth = 8;         // root children have depth 1; deeper branch points become leaves
  long max_leaves = 0;       // 0 = no limit
  long max_gradients = 0;    // 0 = no limit; checked between rides (a ride is bounded by max-steps)
  long max_hvps = 0;         // 0 = no limit; dense Hessians count as d HVPs
  // Rides computed concurrently (breadth-first order only; other orders ride one at a time).
  // The result is the same for every count: rides are merged in node order, and budgets are
  // checked between rides.
  int threads = 1;
  bool IsValid(std::string* why) const {
    using detail::Fail;
    if (max_rides < 1) return Fail(why, "max-rides must be >= 1");
    if (max_depth < 1) return Fail(why, "max-depth must be >= 1");
    if (threads < 1) return Fail(why, "threads must be >= 1");
    if (max_leaves < 0 || max_gradients < 0 || max_hvps < 0)
      return Fail(why, "max-leaves, max-gradients and max-hvps must be >= 0 (0 = no limit)");
    return true;
  }
};

// Leaves: polished by a local minimiser, verified, de-duplicated.
struct LeafOptions {
  int polish_max_iterations = 500;   // modified-Newton iterations
  double polish_grad_tolerance = 1e-9;
  // Two leaves are one solution when |x1 - x2| <= dedupe_distance and
  // |L1 - L2| <= dedupe_loss * max(1, |L1|).
  double dedupe_distance = 1e-4;
  double dedupe_loss = 1e-7;
  // A verified minimum: |g| <= verify_grad_tolerance and lambda_min >= -eps_lambda.
  double verify_grad_tolerance = 1e-6;
  bool IsValid(std::string* why) const {
    using detail::Fail;
    using detail::Positive;
    if (polish_max_iterations < 0) return Fail(why, "polish-max-iterations must be >= 0");
    if (!Positive(polish_grad_tolerance)) return Fail(why, "polish-grad-tolerance must be > 0");
    if (!Positive(dedupe_distance)) return Fail(why, "dedupe-distance must be > 0");
    if (!(std::isfinite(dedupe_loss) && dedupe_loss >= 0)) return Fail(why, "dedupe-loss must be >= 0");
    if (!Positive(verify_grad_tolerance)) return Fail(why, "verify-grad-tolerance must be > 0");
    return true;
  }
};

// MIS: minimise |g|^2 from the start point before exploring.
struct MisOptions {
  bool enabled = false;
  int max_iterations = 500;
  double grad_tolerance = 1e-10;  // stop when |g| falls below this
  // Standard deviation of a random perturbation of x0 before the search (0 = none); drawn from
  // the seed, so runs repeat.
  double jitter = 0.0;
  bool IsValid(std::string* why) const {
    using detail::Fail;
    if (max_iterations < 1) return Fail(why, "mis-max-iterations must be >= 1");
    if (!detail::Positive(grad_tolerance)) return Fail(why, "mis-grad-tolerance must be > 0");
    if (!(std::isfinite(jitter) && jitter >= 0)) return Fail(why, "mis-jitter must be >= 0");
    return true;
  }
};

// Curvature: dense or matrix-free, and the matrix-free solvers' accuracy and cost.
struct SpectrumOptions {
  // auto: dense when d <= dense_max_dim, matrix-free above. dense: refused above dense_max_dim
  // (raise it to force dense). matrix-free: HVPs only at any d.
  SpectrumMethod method = SpectrumMethod::kAuto;
  // No d x d matrix is ever formed by the search above this dimension (guarded).
  int dense_max_dim = 500;
  // Matrix-free: the k most negative eigenpairs computed at each branch point (and at the
  // start). When all k are ridges more may exist beyond them: raise k to see them.
  int eigenpairs = 8;
  EigenSolver solver = EigenSolver::kKrylov;
  // Krylov branch-point solves: vectors added per expansion (and random start vectors). One
  // start vector finds one vector per eigenspace; to resolve all eigenvectors of a repeated
  // eigenvalue (a symmetry) it must be >= its multiplicity.
  int eigen_block_size = 1;
  // A matrix-free eigenpair is converged when |H v - lambda v| <= eigen_tolerance * s, with s
  // the largest |Ritz value| seen (an estimate of |H|).
  double eigen_tolerance = 1e-8;
  // Vectors the Krylov solver keeps before a thick restart (memory: krylov_basis +
  // eigen_block_size vectors of d doubles); Spectra's ncv.
  int krylov_basis = 40;
  // HVP cap of one branch-point solve; a solve that hits it is used as it stands.
  int solve_max_hvps = 3000;
  // Ride steps: the tracked ridge is re-solved from the previous direction (and
  // track_block_size - 1 neighbouring Ritz vectors) until its residual is <= track_tolerance
  // times |lambda| of the ridge where the ride started, or track_max_hvps HVPs were spent.
  double track_tolerance = 1e-3;
  // > 0: the gap-aware rule instead, where the ride knows the ridge's gap (the distance from its
  // eigenvalue to the nearest other one at the ride's start): stop once the residual r bounds
  // the angle to the true eigenvector, sin <= r / (gap - r) (Davis-Kahan), by
  // sqrt(1 - track_cosine^2) -- looser than the fixed rule where the ridge is separated, tighter
  // where it is not. Along the ride the gap is the start's, lowered to the distance to the
  // nearest other Ritz value of each solve (which shows a neighbour closing in); with no gap
  // known (RideStart::gap == 0) the fixed rule applies (spectrum/tracker.hpp, krylov.hpp).
  double track_cosine = 0;
  int track_block_size = 1;
  int track_max_hvps = 20;

  bool IsValid(std::string* why) const {
    using detail::Fail;
    if (dense_max_dim < 1) return Fail(why, "dense-max-dim must be >= 1");
    if (eigenpairs < 1) return Fail(why, "eigenpairs must be >= 1");
    if (!detail::Positive(eigen_tolerance) || eigen_tolerance >= 1)
      return Fail(why, "eigen-tolerance must be in (0, 1)");
    if (!detail::Positive(track_tolerance) || track_tolerance >= 1)
      return Fail(why, "track-tolerance must be in (0, 1)");
    if (!(track_cosine >= 0 && track_cosine < 1)) return Fail(why, "track-cosine must be in [0, 1)");
    if (track_block_size < 1) return Fail(why, "track-block-size must be >= 1");
    if (eigen_block_size < 1) return Fail(why, "eigen-block-size must be >= 1");
    if (krylov_basis < 2 * eigenpairs + 2 * eigen_block_size)
      return Fail(why, "krylov-basis must be >= 2 * (eigenpairs + eigen-block-size)");
    if (solve_max_hvps < krylov_basis) return Fail(why, "solve-max-hvps must be >= krylov-basis");
    if (track_max_hvps < track_block_size + 1)
      return Fail(why, "track-max-hvps must be > track-block-size");
    return true;
  }
  // The dense path for an objective of dimension d?
  bool UseDense(int d) const {
    return method == SpectrumMethod::kDense ||
           (method == SpectrumMethod::kAuto && d <= dense_max_dim);
  }
};

struct ExploreOptions {
  RidgeOptions ridge;
  RideOptions ride;
  TreeOptions tree;
  LeafOptions leaf;
  MisOptions mis;
  SpectrumOptions spectrum;
  std::uint64_t seed = 0;  // every random draw is keyed by (seed, tree-node id)
  bool IsValid(std::string* why) const {
    return ridge.IsValid(why) && ride.IsValid(why) && tree.IsValid(why) && leaf.IsValid(why) &&
           mis.IsValid(why) && spectrum.IsValid(why);
  }
};

}  // namespace ridgerider
