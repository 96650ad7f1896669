// The k most negative eigenpairs without a d x d matrix: Spectra's SymEigsSolver (implicitly
// restarted Lanczos) on the HessianOperator, smallest algebraic first; optionally on H - shift I
// with shift >= lambda_max, where the wanted end is the largest in magnitude. Spectra is the
// reference the search's own solvers are tested and benchmarked against.
//
// PartialSpectrumAt is the one entry point of the matrix-free search for "the k most negative
// eigenpairs at x": Spectra or our seeded Krylov solver (spectrum/krylov.hpp) as options say.
#pragma once

#include <Spectra/SymEigsSolver.h>

#include <algorithm>

#include "ridgerider/operator.hpp"
#include "ridgerider/options.hpp"
#include "ridgerider/spectrum/krylov.hpp"

namespace ridgerider {

struct SpectraOptions {
  int ncv = 20;          // Lanczos basis size (> k, <= d)
  int max_restarts = 1000;
  double tolerance = 1e-10;  // Spectra's: |residual| < tolerance * max(eps^(2/3), |lambda|)
  double shift = 0;          // 0: smallest algebraic of H; else largest magnitude of H - shift I
};

// k is capped at d - 1 (Spectra's limit); vectors from Spectra's fixed-seed start, so runs
// repeat. summary->converged is false when Spectra did not converge (its pairs are kept).
inline Spectrum SpectraSmallest(Objective& obj, const Vector& x, int k, const SpectraOptions& o,
                                EigenSolveSummary* summary) {
  const int d = static_cast<int>(x.size());
  k = std::max(1, std::min(k, d - 1));
  const int ncv = std::min(d, std::max(o.ncv, 2 * k + 1));
  HessianOperator op(obj, x, o.shift);
  Spectra::SymEigsSolver<HessianOperator> solver(op, k, ncv);
  solver.init();
  const Spectra::SortRule rule = o.shift != 0 ? Spectra::SortRule::LargestMagn : Spectra::SortRule::SmallestAlge;
  solver.compute(rule, o.max_restarts, o.tolerance, Spectra::SortRule::SmallestAlge);
  Spectrum s;
  EigenSolveSummary sum;
  sum.hvps = op.products();
  sum.restarts = static_cast<int>(solver.num_iterations());
  sum.status = op.status();
  sum.converged = solver.info() == Spectra::CompInfo::Successful && sum.status == EvalStatus::kOk;
  if (sum.status == EvalStatus::kOk && solver.info() != Spectra::CompInfo::NotComputed) {
    s.values = solver.eigenvalues().array() + o.shift;
    s.vectors = solver.eigenvectors();
    s.ok = s.values.size() > 0 && s.values.allFinite() && s.vectors.allFinite();
    s.partial = true;
    if (s.ok) sum.scale = s.values.cwiseAbs().maxCoeff();
  }
  if (summary) *summary = sum;
  return s;
}

// The matrix-free "k most negative eigenpairs at x", as the spectrum options choose. `seeds`
// (d x s, may be empty) warm-start our Krylov solver; Spectra takes none. The result is
// ascending and flagged partial unless it holds all d pairs.
inline Spectrum PartialSpectrumAt(Objective& obj, const Vector& x, const SpectrumOptions& so, const Matrix& seeds,
                                  std::uint64_t seed, EigenSolveSummary* summary) {
  const int d = static_cast<int>(x.size());
  EigenSolveSummary sum;
  Spectrum s;
  if (so.solver == EigenSolver::kSpectra && so.eigenpairs < d) {
    SpectraOptions o;
    o.ncv = so.krylov_basis;
    o.tolerance = so.eigen_tolerance;
    s = SpectraSmallest(obj, x, so.eigenpairs, o, &sum);
  } else {
    HessianOperator op(obj, x);
    KrylovOptions o;
    o.max_basis = so.krylov_basis;
    o.block_size = so.eigen_block_size;
    o.max_hvps = so.solve_max_hvps;
    o.tolerance = so.eigen_tolerance;
    o.seed = seed;
    s = KrylovSmallest(op, so.eigenpairs, seeds, o, &sum);
    s.partial = s.size() < d;
  }
  if (summary) *summary = sum;
  return s;
}

}  // namespace ridgerider
