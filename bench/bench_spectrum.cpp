// The matrix-free spectrum on a network-shaped loss: a one-hidden-layer tanh MLP (analytic HVP,
// include/ridgerider/problems/tanh_mlp.hpp) fitted to a random teacher, stopped part-way through
// training (L-BFGS from a random init), where the Hessian has a positive bulk, large positive
// outliers and a few negative eigenvalues -- the shape network Hessians have.
//
// Two ratios, each from one run:
//   Track   a ride along the most negative eigenvector, re-tracked at every step: HVPs per step
//           of the warm tracker (RidgeTracker) against a cold solve of the same eigenpair
//           (Spectra SymEigsSolver, k = 1, and our Krylov solver without seeds), each checked
//           against a tight reference solve (cosine >= 0.999 required).
//   Branch  the k most negative eigenpairs at the ride's end (GetRidges): our Krylov solver
//           seeded with the tracked ridge against Spectra from its cold start, same tolerance;
//           eigenvalue errors against a tight reference reported.
//
//   bench_spectrum [--d=small|medium] [Google Benchmark flags]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "ridgerider/local_min.hpp"
#include "ridgerider/problems/tanh_mlp.hpp"
#include "ridgerider/spectrum/curvature.hpp"
#include "ridgerider/spectrum/tracker.hpp"

namespace rr = ridgerider;

namespace {

rr::TanhMlpShape g_shape = [] {
  rr::TanhMlpShape s;
  s.inputs = 32, s.hidden = 64, s.outputs = 10, s.samples = 512;  // d = 2762
  return s;
}();

// kind 0: a random init with weights ~ N(0, 1.5^2 / fan_in): a few clearly separated negative
// eigenvalues. kind 1: part-way through training (40 L-BFGS iterations from a N(0, 1/fan_in)
// init): many small negative eigenvalues packed near zero, below a large positive bulk.
rr::Vector BranchPoint(rr::TanhMlpObjective& obj, int kind = 0) {
  if (kind == 0) return rr::TanhMlpObjective::InitialPoint(obj.shape(), 11, 1.5);
  rr::Vector x = rr::TanhMlpObjective::InitialPoint(obj.shape(), 5, 1.0);
  rr::LeafOptions lo;
  lo.polish_max_iterations = 40;
  rr::SpectrumOptions so;
  so.method = rr::SpectrumMethod::kMatrixFree;
  x = rr::PolishLbfgs(obj, x, lo, so).x;
  return x;
}

// A tight reference eigenpair (Krylov to 1e-12).
rr::Spectrum Reference(rr::Objective& obj, const rr::Vector& x, int k) {
  rr::HessianOperator op(obj, x);
  rr::KrylovOptions ko;
  ko.tolerance = 1e-12;
  ko.max_basis = std::max(60, 3 * k);
  ko.max_hvps = 20000;
  return rr::KrylovSmallest(op, k, rr::Matrix(), ko, nullptr);
}

void Track(benchmark::State& state) {
  const int steps = 30;
  const double alpha = state.range(0) * 1e-3;  // step length along the ridge
  rr::TanhMlpObjective obj(g_shape);
  for (auto _ : state) {
    const rr::Vector x0 = BranchPoint(obj, static_cast<int>(state.range(1)));
    rr::Spectrum s0 = Reference(obj, x0, 3);
    state.counters["lambda0"] = s0.values[0];
    state.counters["lambda1"] = s0.values[1];
    state.counters["lambda2"] = s0.values[2];
    rr::Vector x = x0, e = s0.vectors.col(0);
    rr::SpectrumOptions so;
    so.track_block_size = static_cast<int>(state.range(2));
    so.track_max_hvps = std::max(so.track_max_hvps, 10 * so.track_block_size);
    if (state.range(4) > 0) so.track_tolerance = state.range(4) * 1e-4;
    so.track_cosine = state.range(5) * 1e-4;
    rr::RidgeTracker tracker(so, 1e-6, s0.values[0]);
    tracker.set_extrapolate(state.range(3) != 0);
    tracker.set_gap(s0.values[1] - s0.values[0]);  // used by the gap rule only (track_cosine > 0)
    long cold_spectra = 0, cold_krylov = 0;
    double min_cos = 1, min_cos_spectra = 1, min_cos_krylov = 1;
    int done = 0, lost = 0, not_smallest = 0;
    for (int k = 0; k < steps; ++k) {
      x += alpha * e;
      rr::TrackedRidge t;
      if (tracker.Update(obj, x, e, 0.5, &t) != rr::EvalStatus::kOk || t.lost) {
        ++lost;
        break;
      }
      // The fresh solve: the 8 most negative pairs, tight; the ridge is the one of largest
      // overlap with the tracked direction (as UpdateRidge picks it).
      const rr::Spectrum fresh = Reference(obj, x, 8);
      Eigen::Index at = 0;
      (fresh.vectors.transpose() * t.direction).cwiseAbs().maxCoeff(&at);
      const rr::Vector ref = fresh.vectors.col(at);
      not_smallest += at != 0;
      min_cos = std::min(min_cos, std::abs(t.direction.dot(ref)));
      // Cold solves of the same pair: Spectra k = 1 (ncv 20, tol 1e-6), our Krylov unseeded
      // to the tracker's tolerance.
      rr::EigenSolveSummary ss, ks;
      rr::SpectraOptions spo;
      spo.tolerance = 1e-6;
      const rr::Spectrum sp = rr::SpectraSmallest(obj, x, 1, spo, &ss);
      cold_spectra += ss.hvps;
      if (sp.ok) min_cos_spectra = std::min(min_cos_spectra, std::abs(sp.vectors.col(0).dot(ref)));
      rr::HessianOperator op(obj, x);
      rr::KrylovOptions ko;
      ko.tolerance = so.track_tolerance;
      ko.scale = tracker.scale();  // the tracker's criterion: residual / |lambda at the start|
      const rr::Spectrum kr = rr::KrylovSmallest(op, 1, rr::Matrix(), ko, &ks);
      cold_krylov += ks.hvps;
      if (kr.ok) min_cos_krylov = std::min(min_cos_krylov, std::abs(kr.vectors.col(0).dot(ref)));
      e = t.direction;
      ++done;
    }
    const double per_step = done ? double(tracker.hvps()) / done : 0;
    state.counters["d"] = obj.dim();
    state.counters["steps"] = done;
    state.counters["tracker_hvps_per_step"] = per_step;
    state.counters["tracker_min_cos"] = min_cos;
    state.counters["tracker_unconverged"] = tracker.unconverged();
    state.counters["cold_spectra_hvps_per_step"] = done ? double(cold_spectra) / done : 0;
    state.counters["cold_spectra_min_cos"] = min_cos_spectra;
    state.counters["cold_krylov_hvps_per_step"] = done ? double(cold_krylov) / done : 0;
    state.counters["cold_krylov_min_cos"] = min_cos_krylov;
    state.counters["ratio_tracker_vs_spectra"] = done ? per_step / (double(cold_spectra) / done) : 0;
    state.counters["lost"] = lost;
    state.counters["steps_ridge_not_smallest"] = not_smallest;
    state.counters["extrapolate"] = static_cast<double>(state.range(3));
    state.counters["track_tolerance"] = so.track_tolerance;
    state.counters["track_cosine"] = so.track_cosine;
    state.counters["gap_at_start"] = s0.values[1] - s0.values[0];
  }
}

void Branch(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0));
  rr::TanhMlpObjective obj(g_shape);
  for (auto _ : state) {
    const rr::Vector x0 = BranchPoint(obj, static_cast<int>(state.range(1)));
    // Ride a few steps so the seed is a tracked (not exact) ridge, as at a real branch point.
    rr::Spectrum s0 = Reference(obj, x0, 1);
    rr::Vector x = x0, e = s0.vectors.col(0);
    rr::SpectrumOptions so;
    so.eigenpairs = k;
    rr::RidgeTracker tracker(so, 1e-6, s0.values[0]);
    for (int i = 0; i < 10; ++i) {
      x += 0.02 * e;
      rr::TrackedRidge t;
      if (tracker.Update(obj, x, e, 0.5, &t) != rr::EvalStatus::kOk) break;
      e = t.direction;
    }
    const rr::Spectrum ref = Reference(obj, x, k);
    rr::EigenSolveSummary ks, ss, kc;
    const rr::Spectrum ours = rr::PartialSpectrumAt(obj, x, so, rr::Matrix(e), 7, &ks);  // seeded
    const rr::Spectrum cold = rr::PartialSpectrumAt(obj, x, so, rr::Matrix(), 7, &kc);
    so.solver = rr::EigenSolver::kSpectra;
    so.krylov_basis = std::max(20, 2 * k + 1);
    const rr::Spectrum spectra = rr::PartialSpectrumAt(obj, x, so, rr::Matrix(), 7, &ss);
    const auto err = [&](const rr::Spectrum& s) {
      if (!s.ok || s.size() < k) return 1e300;
      return (s.values.head(k) - ref.values.head(k)).cwiseAbs().maxCoeff();
    };
    int negative = 0;
    for (int i = 0; i < ref.size(); ++i) negative += ref.values[i] < 0;
    state.counters["d"] = obj.dim();
    state.counters["k"] = k;
    state.counters["negative_of_k"] = negative;
    state.counters["krylov_seeded_hvps"] = ks.hvps;
    state.counters["krylov_seeded_eig_err"] = err(ours);
    state.counters["krylov_cold_hvps"] = kc.hvps;
    state.counters["krylov_cold_eig_err"] = err(cold);
    state.counters["spectra_hvps"] = ss.hvps;
    state.counters["spectra_eig_err"] = err(spectra);
    state.counters["ratio_krylov_seeded_vs_spectra"] = double(ks.hvps) / ss.hvps;
  }
}

// Branch args: (k, point kind).
// Track args: (step length in 1e-3, point kind, tracker block size, extrapolated start,
// track-tolerance in 1e-4 (0: the default), track-cosine in 1e-4 (0: the fixed rule; the gap is
// lambda_1 - lambda_0 at the start)).
BENCHMARK(Track)
    ->Args({5, 0, 1, 0, 0, 0})
    ->Args({5, 0, 1, 1, 0, 0})
    ->Args({5, 0, 1, 1, 0, 9990})
    ->Args({20, 0, 1, 0, 0, 0})
    ->Args({20, 0, 1, 1, 0, 0})
    ->Args({20, 0, 1, 1, 30, 0})
    ->Args({20, 0, 1, 1, 0, 9990})
    ->Args({50, 0, 1, 0, 0, 0})
    ->Args({50, 0, 1, 1, 0, 0})
    ->Args({50, 0, 1, 1, 0, 9990})
    ->Args({20, 1, 1, 0, 0, 0})
    ->Args({20, 1, 1, 1, 0, 0})
    ->Args({20, 1, 1, 1, 0, 9990})
    ->Args({20, 0, 3, 1, 0, 0})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(Branch)->Args({1, 0})->Args({5, 0})->Args({8, 0})->Args({5, 1})->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--d=small") == 0) {
      g_shape.inputs = 8, g_shape.hidden = 16, g_shape.outputs = 3, g_shape.samples = 128;
    } else if (std::strcmp(argv[i], "--d=medium") == 0) {
      g_shape.inputs = 64, g_shape.hidden = 128, g_shape.outputs = 10, g_shape.samples = 1024;  // d = 9610
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
