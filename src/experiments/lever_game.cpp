// `ridgerider reproduce lever-game`: zero-shot coordination (the paper's Sec. 5.2).
//
// Ten levers: seven pay 1.0, two pay 0.8, one pays 0.6; both players are paid only when they
// match. Each run (its own seed): jitter the uniform policies, find the MIS (gradient descent on
// |grad L|^2 / 2 - beta * entropy with beta annealed to 0, then Levenberg-Marquardt on the
// gradient to |g| < 1e-10), take one ridge per eigenvalue cluster of the Hessian there --
// inside a cluster of several equal eigenvalues any basis is as good as another, so each run
// draws its own (a seeded random rotation, what an eigensolver's arbitrary choice amounts to)
// -- ride every ridge with both signs, and finish with gradient ascent. Ridges are labelled by
// their index in the ascending spectrum and their sign (single eigenvectors are oriented so
// their largest component is positive, the same in every run). The cross-play between runs
// (player 1 of run a with player 2 of run b) picks the ridge to use with a stranger.
#include <algorithm>
#include <chrono>
#include <map>
#include <cstdio>
#include <sstream>

#include "experiments/experiment.hpp"
#include "experiments/lever_game_model.hpp"
#include "ridgerider/objective.hpp"
#include "ridgerider/ride.hpp"
#include "ridgerider/rng.hpp"
#include "ridgerider/saddle.hpp"

namespace ridgerider::experiments {

namespace {

using nlohmann::json;

const std::vector<double> kPayoffs = {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 0.8, 0.6};

struct LeverSetup {
  int runs = 50;
  double jitter = 0.3;        // std of the logits' perturbation before the MIS search
  double mis_beta = 0.1;      // entropy weight at the start, annealed linearly to 0
  int mis_iterations = 300;
  double mis_step = 2.0;
  double finish_step = 2.0;   // gradient ascent after a ride
  int finish_steps = 2000;
  double self_play_std = 1.0; // self-play baseline: logits ~ N(0, std^2), then gradient ascent
  json ToJson() const {
    return {{"runs", runs}, {"payoffs", kPayoffs}, {"jitter", jitter}, {"mis_beta", mis_beta},
            {"mis_iterations", mis_iterations}, {"mis_step", mis_step}, {"finish_step", finish_step},
            {"finish_steps", finish_steps}, {"self_play_std", self_play_std}};
  }
};

FunctionObjective MakeLoss(const LeverGame& g) {
  return FunctionObjective(
      g.dim(), "lever-game",
      [g](const Vector& x, double* f, Vector* grad) {
        *f = -g.ReturnAndGradient(x, grad);
        *grad = -*grad;
      },
      {},
      [g](const Vector& x, Matrix* h) {
        g.ReturnHessian(x, h);
        *h = -*h;
      });
}

Vector Finish(const LeverGame& g, Vector x, const LeverSetup& s) {
  Vector grad;
  for (int k = 0; k < s.finish_steps; ++k) {
    g.ReturnAndGradient(x, &grad);
    x += s.finish_step * grad;
  }
  return x;
}

// The lever a policy picks (its most likely one) and how sure it is.
int Lever(const Vector& p, double* prob = nullptr) {
  Eigen::Index i = 0;
  const double m = p.maxCoeff(&i);
  if (prob) *prob = m;
  return static_cast<int>(i);
}

struct RidgeEnd {
  std::string label;  // "<index><sign>"
  int index = 0, sign = 1, cluster_size = 1;
  double eigenvalue = 0;
  Vector p, q;        // the finished policies
  int lever1 = 0, lever2 = 0;
  double self_play = 0;
  std::string end_reason;
};

struct RunResult {
  double mis_grad_norm = 0, mis_grad_norm_after_entropy = 0;
  Vector eigenvalues;
  std::vector<std::pair<int, int>> clusters;
  std::vector<RidgeEnd> ends;
  Vector self_p, self_q;  // self-play baseline
};

RunResult RunOnce(const LeverGame& g, const LeverSetup& s, std::uint64_t seed, int run) {
  RunResult out;
  KeyedRng rng(seed, static_cast<std::uint64_t>(run) + 1);
  FunctionObjective loss = MakeLoss(g);
  // MIS: gradient-norm minimisation with an annealed entropy bonus, then exact.
  Vector x = s.jitter * rng.NormalVector(g.dim()), grad, ge;
  Matrix h;
  for (int k = 0; k < s.mis_iterations; ++k) {
    const double beta = s.mis_beta * (1.0 - static_cast<double>(k) / s.mis_iterations);
    g.ReturnAndGradient(x, &grad);
    g.ReturnHessian(x, &h);
    g.Entropy(x, &ge);
    x -= s.mis_step * (h * grad - beta * ge);
  }
  g.ReturnAndGradient(x, &grad);
  out.mis_grad_norm_after_entropy = grad.norm();
  MisOptions mo;
  mo.max_iterations = 200;
  MisResult mis = FindMis(loss, x, mo, seed);
  x = mis.x;
  out.mis_grad_norm = mis.grad_norm;

  // Spectrum at the MIS, a random basis inside every cluster of equal eigenvalues.
  ExploreOptions eo;
  Spectrum spec;
  SpectrumAt(loss, x, &spec);
  out.eigenvalues = spec.values;
  out.clusters = Clusters(spec.values, 1e-6);
  for (auto [b, e] : out.clusters) {
    const int n = e - b;
    Matrix basis = spec.vectors.middleCols(b, n);
    if (n > 1) {
      Matrix rnd(n, n);
      for (int j = 0; j < n; ++j) rnd.col(j) = rng.NormalVector(n);
      basis = basis * Matrix(Eigen::HouseholderQR<Matrix>(rnd).householderQ());
    }
    Vector e0 = basis.col(0);
    if (n == 1) {  // a single eigenvector: the same orientation in every run
      Eigen::Index imax = 0;
      e0.cwiseAbs().maxCoeff(&imax);
      if (e0[imax] < 0) e0 = -e0;
    }
    if (!(spec.values[b] < -eo.ridge.eigen_threshold)) continue;
    double f = 0;
    Vector g0;
    loss.ValueAndGradient(x, &f, &g0);
    for (int sign : {+1, -1}) {
      RideStart rs{0, x, f, g0, sign * e0, spec.values[b]};
      const RideOutcome ride = RideRidge(loss, rs, eo, nullptr, {});
      RidgeEnd end;
      end.index = b;
      end.sign = sign;
      end.cluster_size = n;
      end.eigenvalue = spec.values[b];
      end.label = std::to_string(b) + (sign > 0 ? "+" : "-");
      end.end_reason = ToString(ride.reason);
      const Vector xf = Finish(g, ride.x, s);
      end.p = g.P(xf);
      end.q = g.Q(xf);
      end.lever1 = Lever(end.p);
      end.lever2 = Lever(end.q);
      end.self_play = g.Return(end.p, end.q);
      out.ends.push_back(std::move(end));
    }
  }
  // Self-play baseline: both players trained together from a random start.
  const Vector xs = Finish(g, s.self_play_std * rng.NormalVector(g.dim()), s);
  out.self_p = g.P(xs);
  out.self_q = g.Q(xs);
  return out;
}

// Mean of the off-diagonal entries: cross-play between different runs only.
double OffDiagonalMean(const Matrix& m) {
  const int n = static_cast<int>(m.rows());
  return n > 1 ? (m.sum() - m.trace()) / (n * (n - 1.0)) : m(0, 0);
}

json MatrixJson(const Matrix& m) {
  json rows = json::array();
  for (int i = 0; i < m.rows(); ++i) {
    std::vector<double> row(m.cols());
    for (int j = 0; j < m.cols(); ++j) row[j] = m(i, j);
    rows.push_back(row);
  }
  return rows;
}

std::string Markdown(const json& r) {
  std::ostringstream md;
  char buf[1024];
  md << "# Lever game: zero-shot coordination" << (r["quick"].get<bool>() ? " (--quick)" : "") << "\n\n"
     << "Payoffs: seven levers 1.0, two 0.8, one 0.6 (levers 0-6, 7-8, 9). " << r["setup"]["runs"]
     << " independent runs.\n\n"
     << "Eigenvalue clusters of the Hessian of -J at the MIS (size = symmetry class): ";
  for (const json& c : r["mis_clusters"]) {
    std::snprintf(buf, sizeof buf, "%.4g (x%d) ", c["eigenvalue"].get<double>(), c["size"].get<int>());
    md << buf;
  }
  md << "\n\n| ridge | eigenvalue | cluster size | levers reached (times over the runs) | mean self-play | mean cross-play |\n"
     << "|---|---|---|---|---|---|\n";
  for (const json& rd : r["ridges"]) {
    std::map<int, int> counts;
    for (int l : rd["lever_per_run"]) counts[l]++;
    std::string levers;
    for (auto [l, c] : counts) levers += (levers.empty() ? "" : ", ") + (l < 0 ? std::string("none") : "lever " + std::to_string(l)) + " x" + std::to_string(c);
    std::snprintf(buf, sizeof buf, "| %s | %.4g | %d | %s | %.3f | %.3f |\n", rd["label"].get<std::string>().c_str(),
                  rd["eigenvalue"].get<double>(), rd["cluster_size"].get<int>(), levers.c_str(),
                  rd["self_play_mean"].get<double>(), rd["cross_play"].get<double>());
    md << buf;
  }
  std::snprintf(buf, sizeof buf,
                "\n| | ours | paper |\n|---|---|---|\n"
                "| chosen ridge (best mean cross-play) | %s | the first ridge |\n"
                "| its cross-play | %.3f | 0.6 (optimal zero-shot) |\n"
                "| runs where it reaches the 0.6 lever | %d / %d | all |\n"
                "| self-play baseline cross-play | %.3f | ≈ 1/7 · 1.0 (arbitrary 1.0 lever) |\n",
                r["chosen_ridge"].get<std::string>().c_str(), r["chosen_cross_play"].get<double>(),
                r["chosen_runs_at_0_6"].get<int>(), r["setup"]["runs"].get<int>(), r["self_play_cross_play"].get<double>());
  md << buf;
  return md.str();
}

int Run(const ExperimentArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  LeverSetup s;
  if (a.quick) s.runs = 20;
  const LeverGame g(kPayoffs);
  std::vector<RunResult> runs(s.runs);
  ParallelFor(s.runs, a.threads, [&](int i) { runs[i] = RunOnce(g, s, a.seed, i); });

  json r;
  r["experiment"] = "lever-game";
  r["quick"] = a.quick;
  r["seed"] = a.seed;
  r["setup"] = s.ToJson();
  // Clusters at run 0's MIS (every run's MIS is the same point up to logit shifts).
  for (auto [b, e] : runs[0].clusters)
    r["mis_clusters"].push_back({{"eigenvalue", runs[0].eigenvalues[b]}, {"size", e - b}, {"first_index", b}});
  json jruns = json::array();
  for (const RunResult& rr : runs) {
    json jr = {{"mis_grad_norm", rr.mis_grad_norm}, {"mis_grad_norm_after_entropy", rr.mis_grad_norm_after_entropy}};
    for (const RidgeEnd& e : rr.ends)
      jr["ridges"][e.label] = {{"lever_player1", e.lever1}, {"lever_player2", e.lever2}, {"self_play", e.self_play},
                               {"end_reason", e.end_reason}};
    jr["self_play_baseline"] = {{"lever_player1", Lever(rr.self_p)}, {"lever_player2", Lever(rr.self_q)},
                                {"self_play", g.Return(rr.self_p, rr.self_q)}};
    jruns.push_back(jr);
  }
  r["runs"] = jruns;

  // Per ridge label present in every run: levers, cross-play matrix.
  std::string best;
  double best_xp = -1;
  for (const RidgeEnd& e0 : runs[0].ends) {
    std::vector<const RidgeEnd*> ends;
    for (const RunResult& rr : runs)
      for (const RidgeEnd& e : rr.ends)
        if (e.label == e0.label) ends.push_back(&e);
    if (static_cast<int>(ends.size()) != s.runs) continue;
    Matrix xp(s.runs, s.runs);
    for (int i = 0; i < s.runs; ++i)
      for (int j = 0; j < s.runs; ++j) xp(i, j) = g.Return(ends[i]->p, ends[j]->q);
    json rd = {{"label", e0.label}, {"index", e0.index}, {"sign", e0.sign}, {"eigenvalue", e0.eigenvalue},
               {"cluster_size", e0.cluster_size}, {"cross_play", OffDiagonalMean(xp)},
               {"cross_play_matrix", MatrixJson(xp)}, {"self_play_mean", xp.trace() / s.runs}};
    std::vector<int> lever, payoff_run;
    std::vector<double> payoff;
    for (const RidgeEnd* e : ends) {
      // The lever the run reaches: both players on it; -1 when they disagree.
      const int l = e->lever1 == e->lever2 ? e->lever1 : -1;
      lever.push_back(l);
      payoff.push_back(l >= 0 ? kPayoffs[l] : 0.0);
    }
    rd["lever_per_run"] = lever;
    rd["lever_payoff_per_run"] = payoff;
    if (rd["cross_play"].get<double>() > best_xp + 1e-12) {
      best_xp = rd["cross_play"].get<double>();
      best = e0.label;
    }
    r["ridges"].push_back(rd);
  }
  r["chosen_ridge"] = best;
  r["chosen_cross_play"] = best_xp;
  for (const json& rd : r["ridges"])
    if (rd["label"] == best) {
      r["chosen_lever_payoff_per_run"] = rd["lever_payoff_per_run"];
      r["chosen_lever_per_run"] = rd["lever_per_run"];
      r["chosen_cross_play_matrix"] = rd["cross_play_matrix"];
    }
  int at_06 = 0;
  for (double p : r["chosen_lever_payoff_per_run"]) at_06 += std::abs(p - 0.6) < 1e-12;
  r["chosen_runs_at_0_6"] = at_06;
  Matrix sp(s.runs, s.runs);
  for (int i = 0; i < s.runs; ++i)
    for (int j = 0; j < s.runs; ++j) sp(i, j) = g.Return(runs[i].self_p, runs[j].self_q);
  r["self_play_cross_play"] = OffDiagonalMean(sp);
  r["self_play_cross_play_matrix"] = MatrixJson(sp);
  r["wall_time_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r["threads"] = a.threads;
  WriteResults(a.out, r, Markdown(r));
  std::printf("chosen ridge %s: cross-play %.3f, 0.6 lever in %d of %d runs; self-play cross-play %.3f\n",
              best.c_str(), best_xp, at_06, s.runs, r["self_play_cross_play"].get<double>());
  std::printf("results: %s\n", (a.out / "results.json").c_str());
  std::fflush(stdout);
  if (a.plot) PlotResults(a.out);
  return 0;
}

}  // namespace

Experiment MakeLeverGameExperiment() {
  return {"lever-game",
          "zero-shot coordination in the 10-lever game: the ridge with the best cross-play and the levers each ridge reaches",
          "full: 50 independent runs; --quick: 20 runs. Writes results.json (runs, chosen_ridge,\n"
          "chosen_cross_play, chosen_lever_payoff_per_run, self_play_cross_play), results.md and cross_play.png.",
          Run};
}

}  // namespace ridgerider::experiments
