// The matrix-free spectrum on a real network (LibTorch MLP, tanh, float32, cross-entropy) on the
// first N Fashion-MNIST training images (the full-batch loss of those N), each a ratio measured
// in one run (docs/benchmarks.md, "Network scale"):
//
//   --part spectrum  (784-128-128-10, d = 118,282) at a point with negative curvature: with
//                    --point gd (the default) the built-in init, seed 0, after --gd-steps plain
//                    gradient steps (a near-continuum of early training); with --point mis the
//                    MLP's symmetric saddle, found as `reproduce fashion-mnist` finds it
//                    (FindMlpMis from the scaled symmetric init, 20 + 20 L-BFGS iterations):
//                    the point Ridge Rider starts from, whose negative eigenvalues repeat
//                    exactly (use --block-size; docs/benchmarks.md, "At the symmetric saddle"):
//     1. GetRidges: the k most negative eigenpairs (PartialSpectrumAt) by our Krylov solver vs
//        Spectra cold, HVP counts and wall time (fastest of --repeats), eigenvalues against a
//        float64 reference; writes x.npy and result.json to --out for bench/bench_network.py,
//        which times SciPy's eigsh on a torch HVP of the same model, data and point.
//     2. A ride along the most negative ridge (--ride-steps fixed steps of --step-size): HVPs
//        per step of the tracker vs cold solves (our Krylov unseeded, Spectra k = 1) of the
//        same residual bound, cosine of each to a fresh tight solve.
//     3. Ride-step cost (gradient keeping its graph + tracker update) / plain gradient cost,
//        interleaved per step, fastest and median.
//   --part getridges one timed GetRidges solve at the same point (ours; Spectra too with
//                    --spectra-tol), HVP time counted apart; bench_network.py alternates it with
//                    eigsh so that both sides run under the same machine load.
//   --part memory    (784-512-512-10, d = 669,706): peak resident memory of GetRidges + a ride
//                    of --ride-steps steps (RideRidge, matrix-free, its final branch-point solve
//                    included) above the process with the data loaded, vs 50 d doubles.
//
//   bench_network --part spectrum|getridges|memory [--point gd|mis] [--samples N] [--gd-steps N] [--lr A] [--k K]
//                 [--tol T] [--krylov-basis B] [--block-size P] [--repeats N] [--ride-steps N] [--step-size A]
//                 [--track-tol T] [--track-max-hvps N] [--track-cosine C] [--threads N] [--out DIR]
//                 [--keep-sweep K1,K2,..]
//   --track-cosine C > 0: the ride's (timed) tracker stops by the gap rule (options.hpp, the gap
//                    lambda_1 - lambda_0 of the reference at the start); a tracker with the fixed
//                    rule follows the same points for comparison (fixed_tracker_*).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "experiments/nn_training.hpp"
#include "ridgerider/ride.hpp"
#include "ridgerider/spectrum/curvature.hpp"
#include "ridgerider/spectrum/tracker.hpp"
#include "torch/model_objective.hpp"
#include "torch/torchscript_objective.hpp"
#include "proc_memory.hpp"

namespace rr = ridgerider;
using json = nlohmann::json;

namespace {

using bench::ResetPeak;
using bench::StatusBytes;

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
double Min(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }
double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// A 1-D float64 .npy file (NumPy format 1.0).
void WriteNpy(const std::string& path, const rr::Vector& x) {
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + std::to_string(x.size()) + ",), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  f.write("\x93NUMPY\x01\x00", 8);
  const unsigned short n = static_cast<unsigned short>(header.size());
  f.write(reinterpret_cast<const char*>(&n), 2);
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(reinterpret_cast<const char*>(x.data()), static_cast<std::streamsize>(x.size() * sizeof(double)));
}

struct Args {
  std::string part = "spectrum", out = "bench_network_out";
  std::string point = "gd";  // gd: after --gd-steps of gradient descent; mis: the symmetric saddle
  long samples = 1024;
  int gd_steps = 40, k = 5, repeats = 3, ride_steps = 8, threads = 1, krylov_basis = 40, block_size = 1;
  double lr = 0.1, tol = 1e-4, step_size = 0.1;
  double track_tol = 1e-3;  // the search's default
  int track_max_hvps = 20;
  double track_cosine = 0;  // > 0: the gap-aware stopping rule
  double spectra_tol = 0;  // --part getridges: also time Spectra at this tolerance
  std::vector<int> keep_sweep;  // --keep-sweep 11,20,30: HVPs of our solve per restart_keep
};

std::unique_ptr<rr::ModelObjective> Make(const std::string& arch, rr::ModelDtype dtype, rr::HvpMethod hvp,
                                         const std::shared_ptr<const rr::data::Dataset>& data) {
  rr::ModelSpec s;
  s.model = arch;
  s.dtype = dtype;
  s.hvp = hvp;
  s.batch.batch = 0;  // the full loss of the given samples, one pass
  return rr::MakeModelObjective(s, data);
}

// The built-in init (seed 0) after plain gradient descent.
rr::Vector TrainedPoint(rr::Objective& obj, rr::Vector x, int steps, double lr, double* loss) {
  rr::Vector g;
  for (int i = 0; i < steps; ++i) {
    obj.ValueAndGradient(x, loss, &g);
    x -= lr * g;
  }
  obj.ValueAndGradient(x, loss, &g);
  return x;
}

// The benchmark's point for the MLP 784-128-128-10 (--point).
rr::Vector StartPoint(const Args& a, rr::ModelObjective& obj, double* loss) {
  if (a.point == "gd") return TrainedPoint(obj, obj.InitialParameters(), a.gd_steps, a.lr, loss);
  const rr::experiments::HiddenUnitSymmetry sym(obj.parameters());
  const rr::experiments::MisReport mis =
      rr::experiments::FindMlpMis(obj, sym, sym.ScaledRepresentative(obj.InitialParameters()), 20, 20);
  std::fprintf(stderr, "MIS: loss %.6f, |g| %.2e, symmetry spread %.1e\n", mis.loss, mis.grad_norm, mis.spread);
  *loss = mis.loss;
  return mis.x;
}

// GetRidges as both parts time it: ours (Krylov, the search's default except k, tolerance, basis
// and block size), and Spectra at `tolerance` (relative to |lambda|) with eigsh's default ncv.
rr::SpectrumOptions OurGetRidges(const Args& a) {
  rr::SpectrumOptions so;
  so.method = rr::SpectrumMethod::kMatrixFree;
  so.eigenpairs = a.k;
  so.eigen_tolerance = a.tol;
  so.krylov_basis = a.krylov_basis;
  so.eigen_block_size = a.block_size;
  return so;
}
rr::SpectrumOptions SpectraGetRidges(const Args& a, double tolerance) {
  rr::SpectrumOptions so = OurGetRidges(a);
  so.solver = rr::EigenSolver::kSpectra;
  so.krylov_basis = std::max(20, 2 * a.k + 1);
  so.eigen_tolerance = tolerance;
  return so;
}

// Makes the next HVP at x rebuild the gradient graph (a solve is timed from a cold cache).
void Invalidate(rr::Objective& obj, const rr::Vector& x) {
  double f;
  rr::Vector g;
  obj.ValueAndGradient(x + rr::Vector::Constant(x.size(), 1e-3), &f, &g);
}

json SpectrumPart(const Args& a, const std::shared_ptr<const rr::data::Dataset>& data) {
  const std::string arch = "mlp:784-128-128-10";
  auto obj = Make(arch, rr::ModelDtype::kFloat32, rr::HvpMethod::kReusedGraph, data);
  auto plain = Make(arch, rr::ModelDtype::kFloat32, rr::HvpMethod::kFreshGraph, data);  // plain gradients
  auto ref64 = Make(arch, rr::ModelDtype::kFloat64, rr::HvpMethod::kReusedGraph, data);
  const int d = obj->dim();
  double loss = 0;
  const rr::Vector x = StartPoint(a, *obj, &loss);
  std::filesystem::create_directories(a.out);
  WriteNpy(a.out + "/x.npy", x);

  // Float64 reference of the k most negative pairs (and the largest |eigenvalue| estimate).
  rr::HessianOperator op64(*ref64, x);
  rr::KrylovOptions ko;
  ko.tolerance = 1e-9;
  ko.max_basis = 60;
  ko.max_hvps = 5000;
  rr::EigenSolveSummary ref_sum;
  const rr::Spectrum ref = rr::KrylovSmallest(op64, a.k + 1, rr::Matrix(), ko, &ref_sum);

  // 1. GetRidges: ours (Krylov, the search's default except k and tolerance) vs Spectra cold.
  const rr::SpectrumOptions so = OurGetRidges(a);
  rr::Spectrum ours, spectra;
  rr::EigenSolveSummary ours_sum, spectra_sum;
  std::vector<double> t_ours, t_spectra;
  for (int r = 0; r < a.repeats; ++r) {
    Invalidate(*obj, x);
    auto t0 = std::chrono::steady_clock::now();
    ours = rr::PartialSpectrumAt(*obj, x, so, rr::Matrix(), 1, &ours_sum);
    t_ours.push_back(Seconds(t0));
  }
  // Spectra's (and ARPACK's) criterion is |r_i| <= tol |lambda_i|; ours |r_i| <= tol * s with s
  // the largest |Ritz value| seen. The same bound for the k-th pair: tol_s = tol * s / |lambda_k|
  // (the other pairs' bounds are then looser than ours: this favours Spectra and eigsh).
  const double scale = ours_sum.scale;
  const double lambda_k = std::abs(ours.values[a.k - 1]);
  const double tol_rel = a.tol * scale / lambda_k;
  const rr::SpectrumOptions sp = SpectraGetRidges(a, tol_rel);
  for (int r = 0; r < a.repeats; ++r) {
    Invalidate(*obj, x);
    auto t0 = std::chrono::steady_clock::now();
    spectra = rr::PartialSpectrumAt(*obj, x, sp, rr::Matrix(), 1, &spectra_sum);
    t_spectra.push_back(Seconds(t0));
  }
  // HVPs of our solve against what its thick restart keeps (--keep-sweep).
  json sweep = json::array();
  for (int keep : a.keep_sweep) {
    rr::HessianOperator sop(*obj, x);
    rr::KrylovOptions sk;
    sk.max_basis = so.krylov_basis;
    sk.tolerance = so.eigen_tolerance;
    sk.seed = 1;
    sk.restart_keep = keep;
    rr::EigenSolveSummary ss;
    const rr::Spectrum sv = rr::KrylovSmallest(sop, a.k, rr::Matrix(), sk, &ss);
    sweep.push_back({{"keep", keep}, {"hvps", ss.hvps}, {"converged", ss.converged},
                     {"max_abs_err", sv.ok ? (sv.values.head(a.k) - ref.values.head(a.k)).cwiseAbs().maxCoeff() : 1e300}});
    std::fprintf(stderr, "keep %d: %ld HVPs\n", keep, ss.hvps);
  }
  // One HVP and one gradient, for scale.
  std::vector<double> t_hvp, t_grad;
  {
    rr::KeyedRng rng(3, 4);
    rr::Vector g, hv;
    double f;
    for (int r = 0; r < 5; ++r) {
      const rr::Vector xp = x + 1e-4 * rng.NormalVector(d);  // a new point: no cache hit
      auto t0 = std::chrono::steady_clock::now();
      plain->ValueAndGradient(xp, &f, &g);
      t_grad.push_back(Seconds(t0));
      obj->ValueAndGradient(x, &f, &g);
      t0 = std::chrono::steady_clock::now();
      obj->Hvp(x, rng.NormalVector(d), &hv);
      t_hvp.push_back(Seconds(t0));
    }
  }
  const auto values = [](const rr::Spectrum& s) {
    std::vector<double> v(s.values.data(), s.values.data() + s.values.size());
    return v;
  };
  const auto err = [&](const rr::Spectrum& s) {
    if (!s.ok || s.size() < a.k) return 1e300;
    return (s.values.head(a.k) - ref.values.head(a.k)).cwiseAbs().maxCoeff();
  };
  json spec = {{"k", a.k},
               {"tolerance", a.tol},
               {"scale", scale},
               {"spectra_eigsh_tolerance", tol_rel},
               {"reference_values", values(ref)},
               {"reference_converged", ref_sum.converged},
               {"reference_scale", ref_sum.scale},
               {"ours", {{"hvps", ours_sum.hvps}, {"restarts", ours_sum.restarts}, {"converged", ours_sum.converged},
                         {"values", values(ours)}, {"max_abs_err", err(ours)}, {"seconds", t_ours},
                         {"krylov_basis", so.krylov_basis}}},
               {"spectra", {{"hvps", spectra_sum.hvps}, {"restarts", spectra_sum.restarts},
                            {"converged", spectra_sum.converged}, {"values", values(spectra)},
                            {"max_abs_err", err(spectra)}, {"seconds", t_spectra}, {"ncv", sp.krylov_basis}}},
               {"keep_sweep", sweep},
               {"hvp_seconds", t_hvp},
               {"gradient_seconds", t_grad}};

  // 2 + 3. A ride along the most negative ridge, fixed steps.
  rr::SpectrumOptions tso;  // the search's defaults for tracking
  tso.method = rr::SpectrumMethod::kMatrixFree;
  tso.track_tolerance = a.track_tol;
  tso.track_max_hvps = a.track_max_hvps;
  rr::RidgeTracker fixed_tracker(tso, 1e-6, ref.values[0]);  // the fixed rule, when tracker is not
  tso.track_cosine = a.track_cosine;
  rr::RidgeTracker tracker(tso, 1e-6, ref.values[0]);
  tracker.set_gap(ref.values[1] - ref.values[0]);
  // The same tracker without extrapolating the start vector, following the same points.
  rr::RidgeTracker plain_tracker(tso, 1e-6, ref.values[0]);
  plain_tracker.set_gap(ref.values[1] - ref.values[0]);
  rr::Vector e_fixed = ours.vectors.col(0);
  std::vector<double> cos_fixed, residual_at_stop, gap_at_stop, t_graph, t_fixed_update;
  std::vector<long> hvps_fixed;
  plain_tracker.set_extrapolate(false);
  rr::Vector e_plain = ours.vectors.col(0);
  std::vector<double> cos_plain, fresh_gap, fresh_drift;
  std::vector<long> hvps_plain;
  rr::Vector v_last;
  rr::Vector xr = x;
  rr::Vector e = ours.vectors.col(0);
  double lambda = ours.values[0];
  std::vector<double> t_step, t_plain, cos_tracker, cos_krylov, cos_spectra, step_loss, step_lambda;
  std::vector<long> hvps_tracker, hvps_krylov, hvps_spectra, matched;
  int lost = 0;
  for (int s = 0; s < a.ride_steps; ++s) {
    const rr::Vector xn = xr + a.step_size * e;
    double f = 0;
    rr::Vector g;
    // Interleaved: a plain gradient at xn, then the ride step (gradient keeping its graph + track).
    Invalidate(*plain, xn);
    auto t0 = std::chrono::steady_clock::now();
    plain->ValueAndGradient(xn, &f, &g);
    t_plain.push_back(Seconds(t0));
    Invalidate(*obj, xn);
    const long h0 = tracker.hvps();
    rr::TrackedRidge t;
    t0 = std::chrono::steady_clock::now();
    obj->ValueAndGradient(xn, &f, &g);
    t_graph.push_back(Seconds(t0));
    const rr::EvalStatus st = tracker.Update(*obj, xn, e, 0.5, &t);
    t_step.push_back(Seconds(t0));
    if (st != rr::EvalStatus::kOk || t.lost) {
      ++lost;
      break;
    }
    hvps_tracker.push_back(tracker.hvps() - h0);
    residual_at_stop.push_back(tracker.last_residual());
    gap_at_stop.push_back(tracker.last_gap());
    step_loss.push_back(f);
    step_lambda.push_back(t.eigenvalue);
    // A fresh tight solve (float64) of the most negative pair, and cold solves of the tracker's
    // residual bound: our Krylov unseeded, Spectra k = 1 at tol_track * scale / |lambda|.
    rr::HessianOperator fop(*ref64, xn);
    rr::KrylovOptions fo;
    fo.tolerance = 1e-8;
    fo.max_basis = 60;
    fo.max_hvps = 5000;
    // The tracked ridge is the fresh eigenvector it overlaps most among the k + 1 most
    // negative (after an eigenvalue crossing it need not be the most negative one any more);
    // the cold solves (k = 1) are checked against the most negative one.
    const rr::Spectrum fresh = rr::KrylovSmallest(fop, a.k + 1, rr::Matrix(), fo, nullptr);
    const rr::Vector v = fresh.vectors.col(0);
    Eigen::Index match = 0;
    cos_tracker.push_back((fresh.vectors.transpose() * t.direction).cwiseAbs().maxCoeff(&match));
    matched.push_back(static_cast<long>(match));
    // The tracked eigenvalue's gap to its neighbours, and how far the fresh eigenvector moved
    // since the last step (what a tracker has to catch up with).
    {
      const int i = static_cast<int>(match);
      double gap = 1e300;
      if (i > 0) gap = std::min(gap, fresh.values[i] - fresh.values[i - 1]);
      if (i + 1 < fresh.size()) gap = std::min(gap, fresh.values[i + 1] - fresh.values[i]);
      fresh_gap.push_back(gap);
      const rr::Vector vm = fresh.vectors.col(i);
      fresh_drift.push_back(std::abs(vm.dot(v_last.size() ? v_last : e)));
      v_last = vm;
    }
    {
      rr::TrackedRidge tp;
      const long hp0 = plain_tracker.hvps();
      if (plain_tracker.Update(*obj, xn, e_plain, 0.5, &tp) == rr::EvalStatus::kOk) {
        hvps_plain.push_back(plain_tracker.hvps() - hp0);
        cos_plain.push_back((fresh.vectors.transpose() * tp.direction).cwiseAbs().maxCoeff());
        e_plain = tp.direction;
      }
    }
    if (a.track_cosine > 0) {
      rr::TrackedRidge tf;
      const long hf0 = fixed_tracker.hvps();
      const auto tf0 = std::chrono::steady_clock::now();  // the graph at xn is kept: HVPs only
      const rr::EvalStatus sf = fixed_tracker.Update(*obj, xn, e_fixed, 0.5, &tf);
      t_fixed_update.push_back(Seconds(tf0));
      if (sf == rr::EvalStatus::kOk) {
        hvps_fixed.push_back(fixed_tracker.hvps() - hf0);
        cos_fixed.push_back((fresh.vectors.transpose() * tf.direction).cwiseAbs().maxCoeff());
        e_fixed = tf.direction;
      }
    }
    rr::HessianOperator cop(*obj, xn);
    rr::KrylovOptions co;
    co.tolerance = tso.track_tolerance;
    co.scale = tracker.scale();
    rr::EigenSolveSummary cs, ss;
    const rr::Spectrum cold = rr::KrylovSmallest(cop, 1, rr::Matrix(), co, &cs);
    hvps_krylov.push_back(cs.hvps);
    cos_krylov.push_back(cold.ok ? std::abs(cold.vectors.col(0).dot(v)) : 0);
    rr::SpectraOptions spo;
    spo.tolerance = tso.track_tolerance * tracker.scale() / std::abs(fresh.values[0]);
    const rr::Spectrum spc = rr::SpectraSmallest(*obj, xn, 1, spo, &ss);
    hvps_spectra.push_back(ss.hvps);
    cos_spectra.push_back(spc.ok ? std::abs(spc.vectors.col(0).dot(v)) : 0);
    xr = xn;
    e = t.direction;
    lambda = t.eigenvalue;
  }
  const auto mean = [](const std::vector<long>& v) {
    double s = 0;
    for (long x : v) s += x;
    return v.empty() ? 0.0 : s / v.size();
  };
  json ride = {{"step_size", a.step_size},
               {"steps", hvps_tracker.size()},
               {"lost", lost},
               {"track_tolerance", tso.track_tolerance},
               {"track_max_hvps", tso.track_max_hvps},
               {"loss", step_loss},
               {"eigenvalue", step_lambda},
               {"tracker_hvps", hvps_tracker},
               {"tracker_matched_index", matched},
               {"tracker_cos", cos_tracker},
               {"cold_krylov_hvps", hvps_krylov},
               {"cold_spectra_hvps", hvps_spectra},
               {"tracker_hvps_per_step", mean(hvps_tracker)},
               {"cold_krylov_hvps_per_step", mean(hvps_krylov)},
               {"cold_spectra_hvps_per_step", mean(hvps_spectra)},
               {"tracker_min_cos", cos_tracker.empty() ? 0 : Min(cos_tracker)},
               {"cold_krylov_min_cos", cos_krylov.empty() ? 0 : Min(cos_krylov)},
               {"cold_spectra_min_cos", cos_spectra.empty() ? 0 : Min(cos_spectra)},
               {"tracker_unconverged", tracker.unconverged()},
               {"track_cosine", a.track_cosine},
               {"gap_at_start", ref.values[1] - ref.values[0]},
               {"tracker_gap", gap_at_stop},
               {"tracker_residual", residual_at_stop},
               {"fixed_tracker_hvps", hvps_fixed},
               {"fixed_tracker_cos", cos_fixed},
               {"fixed_tracker_hvps_per_step", mean(hvps_fixed)},
               {"fixed_tracker_min_cos", cos_fixed.empty() ? 0 : Min(cos_fixed)},
               {"graph_gradient_seconds", t_graph},
               {"fixed_tracker_update_seconds", t_fixed_update},
               {"plain_tracker_hvps", hvps_plain},
               {"plain_tracker_cos", cos_plain},
               {"plain_tracker_hvps_per_step", mean(hvps_plain)},
               {"plain_tracker_min_cos", cos_plain.empty() ? 0 : Min(cos_plain)},
               {"fresh_gap", fresh_gap},
               {"fresh_cos_to_last_step", fresh_drift},
               {"step_seconds", t_step},
               {"gradient_seconds", t_plain},
               {"step_over_gradient_fastest", Min(t_step) / Min(t_plain)},
               {"step_over_gradient_median", Median(t_step) / Median(t_plain)}};
  return {{"point", a.point}, {"arch", arch},   {"dim", d},          {"samples", data->size()}, {"gd_steps", a.gd_steps},
          {"lr", a.lr},     {"loss", loss},      {"spectrum", spec},        {"ride", ride}};
}

// --part getridges: one timed GetRidges solve (ours, and Spectra's) at the --part spectrum
// point, with the time spent inside HVPs counted apart from the solver's own work, so that
// bench_network.py can alternate it with eigsh runs (both sides under the same load).
json GetRidgesPart(const Args& a, const std::shared_ptr<const rr::data::Dataset>& data) {
  const std::string arch = "mlp:784-128-128-10";
  auto obj = Make(arch, rr::ModelDtype::kFloat32, rr::HvpMethod::kReusedGraph, data);
  double loss = 0;
  const rr::Vector x = StartPoint(a, *obj, &loss);
  double hvp_seconds = 0;
  rr::FunctionObjective timed(
      obj->dim(), "timed",
      [&](const rr::Vector& xx, double* f, rr::Vector* g) { return obj->ValueAndGradient(xx, f, g); },
      [&](const rr::Vector& xx, const rr::Vector& v, rr::Vector* out) {
        const auto t0 = std::chrono::steady_clock::now();
        obj->Hvp(xx, v, out);
        hvp_seconds += Seconds(t0);
      });
  json out = {{"loss", loss}};
  for (const bool spectra : {false, true}) {
    const rr::SpectrumOptions so = spectra ? SpectraGetRidges(a, a.spectra_tol) : OurGetRidges(a);
    Invalidate(*obj, x);
    hvp_seconds = 0;
    rr::EigenSolveSummary sum;
    const auto t0 = std::chrono::steady_clock::now();
    const rr::Spectrum s = rr::PartialSpectrumAt(timed, x, so, rr::Matrix(), 1, &sum);
    const double total = Seconds(t0);
    std::vector<double> vals(s.values.data(), s.values.data() + s.values.size());
    out[spectra ? "spectra" : "ours"] = {{"seconds", total}, {"hvp_seconds", hvp_seconds}, {"hvps", sum.hvps},
                                         {"converged", sum.converged}, {"values", vals}};
    if (a.spectra_tol <= 0) break;
  }
  return out;
}

json MemoryPart(const Args& a, const std::shared_ptr<const rr::data::Dataset>& data, long rss_data) {
  const std::string arch = "mlp:784-512-512-10";
  const bool reset = ResetPeak();
  const long before = StatusBytes("VmRSS");
  long peak = 0, d = 0;
  json out;
  {
    auto obj = Make(arch, rr::ModelDtype::kFloat32, rr::HvpMethod::kReusedGraph, data);
    d = obj->dim();
    double loss = 0;
    const rr::Vector x = TrainedPoint(*obj, obj->InitialParameters(), a.gd_steps, a.lr, &loss);
    rr::ExploreOptions o;
    o.spectrum.method = rr::SpectrumMethod::kMatrixFree;
    o.spectrum.eigenpairs = a.k;
    o.spectrum.eigen_tolerance = a.tol;
    o.spectrum.krylov_basis = a.krylov_basis;
    o.spectrum.track_tolerance = a.track_tol;
    o.spectrum.track_max_hvps = a.track_max_hvps;
    o.ride.max_steps = a.ride_steps;
    std::string why;
    if (!o.spectrum.IsValid(&why)) throw std::runtime_error(why);
    rr::Spectrum s;
    rr::EigenSolveSummary sum;
    auto t0 = std::chrono::steady_clock::now();
    const rr::EvalStatus st = rr::SearchSpectrumAt(*obj, x, o.spectrum, &s, rr::Matrix(), 1, &sum);
    const double t_solve = Seconds(t0);
    const long peak_solve = StatusBytes("VmHWM");
    rr::RideStart start;
    start.x = x;
    rr::Vector g;
    obj->ValueAndGradient(x, &start.loss, &g);
    start.grad = g;
    start.direction = s.vectors.col(0);
    start.eigenvalue = s.values[0];
    t0 = std::chrono::steady_clock::now();
    const rr::RideOutcome ride = rr::RideRidge(*obj, start, o, nullptr, nullptr);
    const double t_ride = Seconds(t0);
    peak = StatusBytes("VmHWM");
    std::vector<double> vals(s.values.data(), s.values.data() + s.values.size());
    out = {{"arch", arch},
           {"dim", d},
           {"krylov_basis", a.krylov_basis},
           {"track_max_hvps", a.track_max_hvps},
           {"k", a.k},
           {"tolerance", a.tol},
           {"solve_ok", st == rr::EvalStatus::kOk},
           {"solve_hvps", sum.hvps},
           {"solve_converged", sum.converged},
           {"solve_seconds", t_solve},
           {"peak_after_solve_above_data_d_doubles", reset ? double(peak_solve - before) / (8.0 * d) : -1},
           {"values", vals},
           {"ride_steps", ride.steps},
           {"ride_end", rr::ToString(ride.reason)},
           {"ride_track_hvps", ride.track_hvps},
           {"ride_seconds_with_final_solve", t_ride}};
  }
  out["data_bytes"] = static_cast<long>(data->inputs.size() * sizeof(float) + data->labels.size() * 8);
  out["rss_with_data_bytes"] = rss_data;
  out["peak_above_data_bytes"] = reset ? peak - before : -1;
  out["peak_above_data_d_doubles"] = reset ? double(peak - before) / (8.0 * d) : -1;
  out["bound_bytes"] = 50L * d * 8;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--part") a.part = v;
    else if (k == "--out") a.out = v;
    else if (k == "--point") a.point = v;
    else if (k == "--samples") a.samples = std::stol(v);
    else if (k == "--gd-steps") a.gd_steps = std::stoi(v);
    else if (k == "--lr") a.lr = std::stod(v);
    else if (k == "--k") a.k = std::stoi(v);
    else if (k == "--tol") a.tol = std::stod(v);
    else if (k == "--krylov-basis") a.krylov_basis = std::stoi(v);
    else if (k == "--block-size") a.block_size = std::stoi(v);
    else if (k == "--repeats") a.repeats = std::stoi(v);
    else if (k == "--ride-steps") a.ride_steps = std::stoi(v);
    else if (k == "--step-size") a.step_size = std::stod(v);
    else if (k == "--track-tol") a.track_tol = std::stod(v);
    else if (k == "--track-max-hvps") a.track_max_hvps = std::stoi(v);
    else if (k == "--track-cosine") a.track_cosine = std::stod(v);
    else if (k == "--threads") a.threads = std::stoi(v);
    else if (k == "--spectra-tol") a.spectra_tol = std::stod(v);
    else if (k == "--keep-sweep") {
      for (size_t p = 0; p < v.size();) {
        const size_t q = v.find(',', p);
        a.keep_sweep.push_back(std::stoi(v.substr(p, q - p)));
        p = q == std::string::npos ? v.size() : q + 1;
      }
    }
    else {
      std::fprintf(stderr, "bench_network: unknown option %s (see the header of bench/bench_network.cpp)\n", k.c_str());
      return 2;
    }
  }
  if (argc % 2 == 0 || (a.part != "spectrum" && a.part != "memory" && a.part != "getridges") ||
      (a.point != "gd" && a.point != "mis") || (a.point == "mis" && a.part == "memory")) {
    std::fprintf(stderr, "usage: bench_network --part spectrum|getridges|memory [--point gd|mis (not with memory)] "
                         "[options]\n");
    return 2;
  }
  rr::SetTorchThreads(a.threads);
  const long rss_start = StatusBytes("VmRSS");
  auto data = std::make_shared<const rr::data::Dataset>(rr::data::LoadDataSpec("fashion-mnist", a.samples));
  const long rss_data = StatusBytes("VmRSS");
  json out = {{"part", a.part}, {"threads", a.threads}, {"samples", a.samples}, {"rss_start_bytes", rss_start}};
  out["result"] = a.part == "spectrum"    ? SpectrumPart(a, data)
                  : a.part == "getridges" ? GetRidgesPart(a, data)
                                          : MemoryPart(a, data, rss_data);
  if (a.part == "spectrum") {
    std::ofstream(a.out + "/result.json") << out.dump(1) << "\n";
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
