// `ridgerider reproduce tree-mdp`: exploration in tree-structured MDPs (the paper's Sec. 5.1).
//
// Per tree: find the MIS (gradient-norm minimisation with an entropy bonus from the uniform
// policy, Levenberg-Marquardt), run Ridge Rider from it (the paper's ride rule, see RideTree),
// finish every RR leaf with gradient ascent until the policy is near-deterministic, and count
// the distinct positive-reward leaves reached. Three baselines get the same number of
// evaluations as RR used (its gradients plus one per dense Hessian): gradient ascent from
// random starts, from the MIS (slightly perturbed), and from the MIS along random orthonormal
// directions instead of eigenvectors.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <sstream>

#include "experiments/experiment.hpp"
#include "experiments/tree_mdp_model.hpp"
#include "ridgerider/objective.hpp"
#include "ridgerider/rng.hpp"
#include "ridgerider/ridges.hpp"

namespace ridgerider::experiments {

namespace {

using nlohmann::json;

// The settings of one preset. Every number here is recorded in results.json.
struct TreeSetup {
  std::vector<int> depths = {4, 6, 8, 10};
  int trees = 20;
  // Reward generator: `positive_per_depth * depth` leaves, chosen uniformly without
  // replacement, pay U(reward_lo, reward_hi); every other leaf pays 0.
  int positive_per_depth = 1;
  double reward_lo = 0.1, reward_hi = 1.0;
  // MIS: Levenberg-Marquardt on |grad J|^2 / 2 - beta * entropy from the uniform policy.
  double mis_beta = 1e-4;
  int mis_iterations = 200;
  // RR with the paper's ride rule: fixed steps of rr_step (logit units) along the tracked
  // ridge until its eigenvalue turns non-negative (or the ridge is lost, or rr_max_steps);
  // both signs of every ridge at every branch point; depth first; budget in rides.
  double rr_step = 0.5;
  int rr_max_steps = 500;
  long rr_max_rides = 1000;
  // Finishing a policy: gradient ascent on J with this step until the greedy leaf is reached
  // with probability >= deterministic (or finish_max_steps).
  double finish_step = 20.0;
  int finish_max_steps = 300;
  double deterministic = 0.9;
  // Baselines
  double random_start_std = 1.0;   // gd_random: logits ~ N(0, std^2)
  double mis_perturbation = 0.1;   // gd_mis: MIS + N(0, std^2)
  double direction_step = 0.5;     // random_directions: step length along the direction
  int direction_max_steps = 40;    // ... while the loss falls, at most this many steps

  json ToJson() const {
    return {{"depths", depths},
            {"trees_per_depth", trees},
            {"positive_leaves", std::to_string(positive_per_depth) + " * depth"},
            {"positive_reward", {reward_lo, reward_hi}},
            {"mis_beta", mis_beta},
            {"mis_iterations", mis_iterations},
            {"rr_step", rr_step},
            {"rr_max_steps", rr_max_steps},
            {"rr_ride_rule", "paper: fixed step, ends only when the tracked eigenvalue >= 0 or the ridge is lost"},
            {"rr_order", "depth-first"},
            {"rr_max_rides", rr_max_rides},
            {"finish_step", finish_step},
            {"finish_max_steps", finish_max_steps},
            {"deterministic", deterministic},
            {"random_start_std", random_start_std},
            {"mis_perturbation", mis_perturbation},
            {"direction_step", direction_step},
            {"direction_max_steps", direction_max_steps}};
  }
};

TreeSetup FullSetup() { return TreeSetup{}; }
TreeSetup QuickSetup() {
  TreeSetup s;
  s.depths = {4, 6};
  s.trees = 6;
  s.rr_max_rides = 300;
  return s;
}

// The documented reward generator, keyed by (seed, depth, tree).
std::vector<double> MakeRewards(int depth, int tree, const TreeSetup& s, std::uint64_t seed) {
  KeyedRng rng(seed, 1000003ull * static_cast<std::uint64_t>(depth) + static_cast<std::uint64_t>(tree));
  const int leaves = 1 << depth;
  std::vector<int> order(leaves);
  std::iota(order.begin(), order.end(), 0);
  for (int i = leaves - 1; i > 0; --i) std::swap(order[i], order[rng.NextU64() % static_cast<std::uint64_t>(i + 1)]);
  std::vector<double> r(leaves, 0.0);
  const int k = std::min(leaves, s.positive_per_depth * depth);
  for (int i = 0; i < k; ++i) r[order[i]] = s.reward_lo + (s.reward_hi - s.reward_lo) * rng.Uniform();
  return r;
}

// Counts gradient evaluations of J for the baselines and the finisher.
struct Budget {
  long used = 0;
  long limit = 0;  // 0 = none
  bool Left() const { return limit == 0 || used < limit; }
};

// Gradient ascent on J until the greedy leaf is near-deterministic; returns that leaf, or -1
// when the budget ran out first. Every call spends at least one gradient (the check a real
// optimiser makes), so a loop of attempts always ends.
int Finish(const TreeMdp& m, Vector theta, const TreeSetup& s, Budget* b) {
  Vector g;
  for (int k = 0; k < s.finish_max_steps; ++k) {
    if (!b->Left()) return -1;
    ++b->used;
    m.ReturnAndGradient(theta, &g);
    double prob = 0;
    const int leaf = m.GreedyLeaf(theta, &prob);
    if (prob >= s.deterministic) return leaf;
    theta += s.finish_step * g;
  }
  double prob = 0;
  const int leaf = m.GreedyLeaf(theta, &prob);
  return prob >= s.deterministic ? leaf : -1;
}

struct MisOutcome {
  Vector x;
  double grad_norm_start = 0, grad_norm = 0, entropy = 0;
  double greedy_probability = 0;  // how deterministic the MIS already is
  int iterations = 0;
};

// The MIS search: minimise M = |grad J|^2 / 2 - beta * entropy from the uniform policy by
// Levenberg-Marquardt (Gauss-Newton model H^2 of the first term; the gradient of M is
// H grad J - beta grad entropy). The entropy keeps the policy interior: a tree with distinct
// rewards has no interior stationary point, and |grad J| alone would be minimised by
// saturating the policy.
MisOutcome FindTreeMis(const TreeMdp& m, const TreeSetup& s) {
  MisOutcome o;
  Vector x = Vector::Zero(m.dim()), g, ge;
  Matrix h;
  const auto merit = [&](const Vector& y) {
    Vector gy;
    m.ReturnAndGradient(y, &gy);
    return 0.5 * gy.squaredNorm() - s.mis_beta * m.Entropy(y, nullptr);
  };
  m.ReturnAndGradient(x, &g);
  o.grad_norm_start = g.norm();
  double mu = 1e-3;
  for (; o.iterations < s.mis_iterations; ++o.iterations) {
    m.ReturnAndGradient(x, &g);
    m.ReturnHessian(x, &h);
    m.Entropy(x, &ge);
    const Vector grad = h * g - s.mis_beta * ge;
    const Matrix a = h * h;
    const double scale = std::max(1e-12, a.diagonal().maxCoeff());
    const double m0 = merit(x);
    bool accepted = false;
    for (int k = 0; k < 30 && !accepted; ++k) {
      Matrix b = a;
      b.diagonal().array() += mu * scale;
      const Vector dx = b.ldlt().solve(-grad);
      if (dx.allFinite() && merit(x + dx) < m0) {
        x += dx;
        mu = std::max(mu / 10, 1e-12);
        accepted = true;
      } else {
        mu *= 10;
      }
    }
    if (!accepted) break;
  }
  m.ReturnAndGradient(x, &g);
  o.grad_norm = g.norm();
  o.entropy = m.Entropy(x, nullptr);
  m.GreedyLeaf(x, &o.greedy_probability);
  o.x = x;
  return o;
}

FunctionObjective MakeLoss(std::shared_ptr<const TreeMdp> m) {
  return FunctionObjective(
      m->dim(), "tree-mdp",
      [m](const Vector& x, double* f, Vector* g) {
        *f = -m->ReturnAndGradient(x, g);
        *g = -*g;
      },
      {},
      [m](const Vector& x, Matrix* h) {
        m->ReturnHessian(x, h);
        *h = -*h;
      });
}

struct RideRiderOutcome {
  std::vector<Vector> leaves;  // end points of the rides that did not branch
  long rides = 0;
  std::string stop;
};

// Ridge Rider with the paper's EndRide: a ride takes fixed steps along its ridge, re-tracking
// it (UpdateRidge), and ends only when the tracked eigenvalue turns non-negative or the ridge
// is lost -- not when the loss rises. The library's rides (ride.hpp) also end on a rising
// loss; at a branch point that is not stationary (every branch point here: the return has no
// interior stationary points) that removes the uphill sign of every ridge, and with it every
// leaf behind a better sibling subtree (measured: 42% of the leaves at depth 8 instead of
// ~90%). Both signs of every ridge are ridden, depth first.
RideRiderOutcome RideTree(Objective& loss, const Vector& mis, const TreeSetup& s, int depth) {
  struct Pending {
    Vector x, e;
    int level = 0;
  };
  RideRiderOutcome out;
  const RidgeOptions ro;
  std::vector<Pending> stack;
  // Pushes the ridges at x (most negative ridden first); false when there are none.
  const auto branch = [&](const Vector& x, const Spectrum& spec, int level) {
    const std::vector<Ridge> ridges = GetRidges(spec, ro);
    if (ridges.empty() || level >= 2 * depth) return false;
    for (auto r = ridges.rbegin(); r != ridges.rend(); ++r)
      for (int sign : {-1, +1}) stack.push_back({x, sign * r->direction, level + 1});
    return true;
  };
  Spectrum spec;
  if (SpectrumAt(loss, mis, &spec) != EvalStatus::kOk) {
    out.stop = "non-finite-start";
    return out;
  }
  if (!branch(mis, spec, 0)) out.leaves.push_back(mis);
  while (!stack.empty() && out.rides < s.rr_max_rides) {
    Pending p = std::move(stack.back());
    stack.pop_back();
    ++out.rides;
    Vector x = p.x, e = p.e;
    for (int step = 0; step < s.rr_max_steps; ++step) {
      x += s.rr_step * e;
      if (SpectrumAt(loss, x, &spec) != EvalStatus::kOk) break;
      const TrackedRidge t = UpdateRidge(spec, e, ro, /*overlap_floor=*/0.5);
      if (t.lost || t.eigenvalue >= -ro.eigen_threshold) break;
      e = t.direction;
    }
    if (!spec.ok || !branch(x, spec, p.level)) out.leaves.push_back(x);
  }
  out.stop = stack.empty() ? "archive-empty" : "max-rides";
  return out;
}

struct MethodResult {
  std::set<int> leaves;  // distinct positive-reward leaves reached
  long gradients = 0;
  long hessians = 0;
  long attempts = 0;     // policies finished
};

double Fraction(const MethodResult& r, int positives) {
  return positives > 0 ? static_cast<double>(r.leaves.size()) / positives : 1.0;
}

void Record(const TreeMdp& m, int leaf, MethodResult* r) {
  ++r->attempts;
  if (leaf >= 0 && m.rewards()[leaf] > 0) r->leaves.insert(leaf);
}

struct TreeResult {
  int positives = 0, params = 0;
  MisOutcome mis;
  MethodResult rr, gd_random, gd_mis, random_directions;
  long rr_rides = 0, rr_solutions = 0;
  std::string rr_stop;
  double seconds = 0;
};

TreeResult RunTree(int depth, int tree, const TreeSetup& s, std::uint64_t seed) {
  const auto t0 = std::chrono::steady_clock::now();
  TreeResult out;
  auto m = std::make_shared<const TreeMdp>(depth, MakeRewards(depth, tree, s, seed));
  for (double r : m->rewards()) out.positives += r > 0;
  out.params = m->dim();
  out.mis = FindTreeMis(*m, s);
  const std::uint64_t key = 1000003ull * static_cast<std::uint64_t>(depth) + static_cast<std::uint64_t>(tree);

  // Ridge Rider from the MIS.
  FunctionObjective loss = MakeLoss(m);
  const RideRiderOutcome rr = RideTree(loss, out.mis.x, s, depth);
  out.rr_rides = rr.rides;
  out.rr_solutions = static_cast<long>(rr.leaves.size());
  out.rr_stop = rr.stop;
  Budget rb;
  for (const Vector& x : rr.leaves) Record(*m, Finish(*m, x, s, &rb), &out.rr);
  // The budget of every method: RR's gradients (its finishing included) plus one per dense
  // Hessian (a generous exchange rate for RR: a Hessian costs d HVPs).
  out.rr.gradients = loss.counts().gradients + loss.counts().hessians + rb.used;
  out.rr.hessians = loss.counts().hessians;
  const long budget = out.rr.gradients;

  // Gradient ascent from random starts, until the same number of gradients is spent.
  {
    Budget b{0, budget};
    for (std::uint64_t run = 0; b.Left(); ++run) {
      KeyedRng rng(seed ^ key, 1'000'000 + run);
      Record(*m, Finish(*m, s.random_start_std * rng.NormalVector(m->dim()), s, &b), &out.gd_random);
    }
    out.gd_random.gradients = b.used;
  }
  // Gradient ascent from the MIS, perturbed so the runs differ.
  {
    Budget b{0, budget};
    for (std::uint64_t run = 0; b.Left(); ++run) {
      KeyedRng rng(seed ^ key, 2'000'000 + run);
      Record(*m, Finish(*m, out.mis.x + s.mis_perturbation * rng.NormalVector(m->dim()), s, &b), &out.gd_mis);
    }
    out.gd_mis.gradients = b.used;
  }
  // Random orthonormal directions from the MIS, both signs: step along the direction while
  // the loss falls, then finish like every other method.
  {
    Budget b{0, budget};
    Vector g;
    for (std::uint64_t batch = 0; b.Left(); ++batch) {
      KeyedRng rng(seed ^ key, 3'000'000 + batch);
      Matrix q = Matrix::Zero(m->dim(), m->dim());
      for (int j = 0; j < m->dim(); ++j) q.col(j) = rng.NormalVector(m->dim());
      q = Eigen::HouseholderQR<Matrix>(q).householderQ();
      for (int j = 0; j < m->dim() && b.Left(); ++j)
        for (int sign : {+1, -1}) {
          if (!b.Left()) break;
          Vector x = out.mis.x;
          double j_now = m->Return(x);
          for (int k = 0; k < s.direction_max_steps && b.Left(); ++k) {
            const Vector xn = x + sign * s.direction_step * q.col(j);
            ++b.used;
            const double jn = m->ReturnAndGradient(xn, &g);
            if (!(jn > j_now)) break;
            x = xn;
            j_now = jn;
          }
          Record(*m, Finish(*m, x, s, &b), &out.random_directions);
        }
    }
    out.random_directions.gradients = b.used;
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

json Stats(const std::vector<double>& v) {
  const double n = static_cast<double>(v.size());
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / n;
  double var = 0;
  for (double x : v) var += (x - mean) * (x - mean);
  return {{"mean", mean},
          {"std", v.size() > 1 ? std::sqrt(var / (n - 1)) : 0.0},
          {"min", *std::min_element(v.begin(), v.end())},
          {"max", *std::max_element(v.begin(), v.end())}};
}

const char* const kMethods[] = {"rr", "gd_random", "gd_mis", "random_directions"};

const MethodResult& Method(const TreeResult& t, const std::string& name) {
  if (name == "rr") return t.rr;
  if (name == "gd_random") return t.gd_random;
  if (name == "gd_mis") return t.gd_mis;
  return t.random_directions;
}

std::string Markdown(const json& r) {
  std::ostringstream md;
  md << "# Tree-MDP exploration" << (r["quick"].get<bool>() ? " (--quick)" : "") << "\n\n"
     << "Fraction of the distinct positive-reward leaves reached by the finished (near-deterministic)\n"
     << "policies, mean ± std (min) over " << r["setup"]["trees_per_depth"] << " random trees per depth. "
     << "Every baseline spends as many gradient evaluations as RR spent gradients and dense Hessians (one each).\n\n"
     << "| depth | params (mean) | RR | GD, random starts | GD from MIS | random directions from MIS | paper |\n"
     << "|---|---|---|---|---|---|---|\n";
  char buf[128];
  // Depths in numeric order (JSON objects sort their keys as strings: "10" < "4").
  for (int di : r["setup"]["depths"]) {
    const std::string depth = std::to_string(di);
    const json& d = r["depths"][depth];
    md << "| " << depth << " | " << d["params_mean"].get<double>();
    for (const char* m : kMethods) {
      const json& st = d["spread"][m];
      std::snprintf(buf, sizeof buf, " | %.1f%% ± %.1f (min %.0f%%)", 100 * st["mean"].get<double>(),
                    100 * st["std"].get<double>(), 100 * st["min"].get<double>());
      md << buf;
    }
    md << " | RR ≈ all; baselines < 50% |\n";
  }
  md << "\n";
  for (int di : r["setup"]["depths"]) {
    const std::string depth = std::to_string(di);
    const json& d = r["depths"][depth];
    std::snprintf(buf, sizeof buf, "- depth %s: RR %.0f rides; budget %.0f evaluations, %.0f of them dense Hessians, per tree (mean); %.2f s per tree\n",
                  depth.c_str(), d["rr_rides_mean"].get<double>(), d["gradients_mean"].get<double>(),
                  d["rr_hessians_mean"].get<double>(), d["seconds_mean"].get<double>());
    md << buf;
  }
  md << "\nTarget (issue): RR ≥ 95% at every depth. "
     << (r["target_met"].get<bool>() ? "Met." : "**Not met**: see the RR column.") << "\n";
  return md.str();
}

int Run(const ExperimentArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  const TreeSetup s = a.quick ? QuickSetup() : FullSetup();
  json r;
  r["experiment"] = "tree-mdp";
  r["quick"] = a.quick;
  r["seed"] = a.seed;
  r["setup"] = s.ToJson();
  bool target = true;
  for (int depth : s.depths) {
    std::vector<TreeResult> trees(s.trees);
    ParallelFor(s.trees, a.threads, [&](int i) { trees[i] = RunTree(depth, i, s, a.seed); });
    json d;
    std::vector<json> per_tree;
    double params = 0, rides = 0, grads = 0, hess = 0, secs = 0;
    for (const TreeResult& t : trees) {
      params += t.params, rides += t.rr_rides, grads += t.rr.gradients, hess += t.rr.hessians, secs += t.seconds;
      json jt = {{"positive_leaves", t.positives}, {"params", t.params},
                 {"mis_grad_norm_start", t.mis.grad_norm_start}, {"mis_grad_norm", t.mis.grad_norm},
                 {"mis_iterations", t.mis.iterations}, {"mis_greedy_leaf_probability", t.mis.greedy_probability},
                 {"rr_rides", t.rr_rides}, {"rr_solutions", t.rr_solutions}, {"rr_stop", t.rr_stop},
                 {"rr_hessians", t.rr.hessians}, {"seconds", t.seconds}};
      for (const char* mname : kMethods) {
        const MethodResult& mr = Method(t, mname);
        jt[mname] = {{"fraction", Fraction(mr, t.positives)}, {"found", mr.leaves.size()},
                     {"gradients", mr.gradients}, {"policies", mr.attempts}};
      }
      per_tree.push_back(jt);
    }
    const double n = static_cast<double>(trees.size());
    for (const char* mname : kMethods) {
      std::vector<double> f;
      for (const TreeResult& t : trees) f.push_back(Fraction(Method(t, mname), t.positives));
      d["spread"][mname] = Stats(f);
      d[mname] = d["spread"][mname]["mean"];
    }
    target = target && d["rr"].get<double>() >= 0.95;
    d["params_mean"] = params / n;
    d["rr_rides_mean"] = rides / n;
    d["gradients_mean"] = grads / n;
    d["rr_hessians_mean"] = hess / n;
    d["seconds_mean"] = secs / n;
    d["trees"] = per_tree;
    r["depths"][std::to_string(depth)] = d;
    std::printf("depth %d: RR %.3f  GD random %.3f  GD MIS %.3f  random directions %.3f\n", depth,
                d["rr"].get<double>(), d["gd_random"].get<double>(), d["gd_mis"].get<double>(),
                d["random_directions"].get<double>());
    std::fflush(stdout);
  }
  r["target_met"] = target;
  r["wall_time_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r["threads"] = a.threads;
  WriteResults(a.out, r, Markdown(r));
  std::printf("results: %s\n", (a.out / "results.json").c_str());
  std::fflush(stdout);
  if (a.plot) PlotResults(a.out);
  return 0;
}

}  // namespace

Experiment MakeTreeMdpExperiment() {
  return {"tree-mdp",
          "exploration in random tree-structured MDPs: fraction of positive-reward leaves found by RR vs 3 baselines",
          "full: 20 random trees at each of depths 4, 6, 8, 10 (RR: 1000 rides); --quick: 6 trees at depths 4\n"
          "and 6 (300 rides). "
          "Writes results.json (depths -> mean fraction per method), results.md and fractions.png.",
          Run};
}

}  // namespace ridgerider::experiments
