// reproduce colored-fashion-mnist: IRM's Colored MNIST protocol (Arjovsky et al. 2019) on
// Fashion-MNIST, the paper's out-of-distribution experiment. Binary label = (class < 5), flipped
// with probability 0.25; the colour (which of two channels holds the 14x14 image) is the label
// flipped with probability 0.2 and 0.1 in the two training environments and 0.9 in the test
// environment, so colour predicts the label better than shape in training and worse at test.
//
// Baselines, trained here with LibTorch directly (IRM's penalty is a gradient of a gradient,
// which ModelObjective does not offer): ERM (full-batch Adam on the pooled risk with L2) and IRMv1
// (the same plus the squared gradient of each environment's risk with respect to a dummy scale
// on the logits, weight ramped up after an anneal). Ridge Rider, two variants, each one level of
// rides (two on IRM's objective) with matrix-free curvature from a symmetric saddle (all hidden
// units identical):
//  rr        on the pooled training loss from its symmetric saddle (FindMlpMis): the RR.
//            That saddle is one shared feature, and the best single feature of the pooled data
//            is colour: every ride from it keeps colour.
//  rr_irm    on IRM's objective, from an environment-aware saddle: the symmetric network
//            trained by IRM's own schedule, moved to the nearest stationary point of IRM's
//            objective in the symmetric subspace. The environments (not knowledge of which
//            input is colour) make the shared feature an invariant one; the saddle, not the
//            rides, does most of the work (docs/RESULTS.md).
// Candidates: the saddle, every ride end and its finished version (Adam on the ride's own
// objective); one is chosen without looking at the test environment: the candidate whose
// accuracies on held-out samples of the two training environments differ least (a colour
// predictor scores ~0.8 vs ~0.9 there, a shape predictor the same in both), among candidates
// clearly above chance on held-out data.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "experiments/experiment.hpp"
#include "experiments/nn_training.hpp"
#include "ridgerider/rng.hpp"
#include "ridgerider/tree.hpp"
#include "torch/autograd_point.hpp"
#include "torch/torchscript_objective.hpp"

namespace ridgerider::experiments {
namespace {

using nlohmann::json;

struct Preset {
  int seeds;
  long env_samples;      // per training environment (IRM: 25,000)
  long heldout_samples;  // per training environment, from training images 50,000..59,999
  int hidden;            // units per hidden layer (two hidden layers, tanh)
  int steps;             // full-batch Adam steps for ERM / IRM (IRM: 501)
  int anneal;            // IRM: penalty weight 1 before this step, penalty_weight after
  long rr_per_env;       // samples per environment behind the RR loss
  int ridges, ride_steps, mis_iterations, grad_norm_iterations;
  int finish_steps;      // ERM steps that finish a ride end
  int irm_saddle_iterations;  // L-BFGS iterations moving the symmetric IRM network to a stationary point
  int irm_depth;              // tree depth of the rides on IRM's objective
};

// Far smaller than IRM's 25,000 samples per environment and 390 units: these presets are what a
// loaded 2-core machine runs in minutes (docs/RESULTS.md has the measured wall times).
Preset QuickPreset() { return {2, 1000, 1000, 32, 200, 80, 500, 2, 10, 60, 10, 60, 100, 2}; }
Preset FullPreset() { return {5, 2000, 2000, 32, 250, 100, 1000, 3, 15, 150, 25, 100, 100, 2}; }

constexpr double kLabelNoise = 0.25;
constexpr double kL2 = 1e-3;
constexpr double kLearningRate = 1e-3;
constexpr double kPenaltyWeight = 1e4;
// First step (trust radius) of rides on IRM's objective, whose penalty makes it far stiffer than
// the pooled loss.
constexpr double kIrmRideStep = 0.01;

// One environment: images [begin, end) of `fm` as 2x14x14 coloured inputs with binary labels.
// `grayscale`: the image in channel 0 whatever its colour (the oracle's inputs).
data::Dataset MakeEnvironment(const data::Dataset& fm, long begin, long end, double colour_flip, std::uint64_t seed,
                              std::uint64_t key, const std::string& name, bool grayscale = false) {
  data::Dataset d;
  d.name = name;
  d.sample_shape = {2 * 14 * 14};
  d.num_classes = 2;
  const long n = end - begin;
  d.inputs.assign(n * 392, 0.0f);
  d.labels.resize(n);
  KeyedRng rng(seed, key);
  for (long i = 0; i < n; ++i) {
    const long s = begin + i;
    long y = fm.labels[s] < 5 ? 1 : 0;  // IRM: (digit < 5)
    if (rng.Uniform() < kLabelNoise) y = 1 - y;
    long colour = y;
    if (rng.Uniform() < colour_flip) colour = 1 - colour;
    if (grayscale) colour = 0;
    d.labels[i] = y;
    const float* img = &fm.inputs[s * 784];
    float* out = &d.inputs[i * 392 + colour * 196];
    for (int r = 0; r < 14; ++r)
      for (int c = 0; c < 14; ++c) out[r * 14 + c] = img[(2 * r) * 28 + 2 * c];  // [::2, ::2]
  }
  return d;
}

data::Dataset Concat(const data::Dataset& a, const data::Dataset& b, long per, const std::string& name) {
  data::Dataset d;
  d.name = name;
  d.sample_shape = a.sample_shape;
  d.num_classes = 2;
  for (const data::Dataset* e : {&a, &b}) {
    d.inputs.insert(d.inputs.end(), e->inputs.begin(), e->inputs.begin() + per * 392);
    d.labels.insert(d.labels.end(), e->labels.begin(), e->labels.begin() + per);
  }
  return d;
}

struct TorchEnv {
  at::Tensor x, y;
};
TorchEnv ToTorch(const data::Dataset& d) {
  TorchEnv e;
  e.x = at::from_blob(const_cast<float*>(d.inputs.data()), {d.size(), 392}, at::kFloat).clone();
  e.y = at::from_blob(const_cast<std::int64_t*>(d.labels.data()), {d.size()}, at::kLong).clone();
  return e;
}

// The MLP 392-H-H-2 (tanh) in ModelObjective's flat layout: W1 [H,392], b1, W2 [H,H], b2, W3 [2,H], b3,
// as views of one flat tensor (autograd reaches the flat tensor through them).
std::vector<at::Tensor> Views(const at::Tensor& flat, int hidden) {
  const std::vector<std::vector<std::int64_t>> shapes = {{hidden, 392}, {hidden}, {hidden, hidden},
                                                         {hidden},      {2, hidden}, {2}};
  std::vector<at::Tensor> p;
  long off = 0;
  for (const auto& s : shapes) {
    long n = 1;
    for (auto v : s) n *= v;
    p.push_back(flat.slice(0, off, off + n).view(s));
    off += n;
  }
  if (off != flat.numel()) throw std::logic_error("colored-fashion-mnist: parameter layout mismatch");
  return p;
}
// The same as separate float32 tensors (each its own leaf for training).
std::vector<at::Tensor> Unflatten(const Vector& x, int hidden) {
  std::vector<at::Tensor> p = Views(AutogradPoint::TensorOf(x).to(at::kFloat), hidden);
  for (at::Tensor& t : p) t = t.clone();
  return p;
}
Vector Flatten(const std::vector<at::Tensor>& p) {
  std::vector<at::Tensor> flat;
  for (const at::Tensor& t : p) flat.push_back(t.detach().reshape({-1}).to(at::kDouble));
  const at::Tensor all = at::cat(flat).contiguous();
  Vector x(all.numel());
  std::memcpy(x.data(), all.data_ptr<double>(), sizeof(double) * x.size());
  return x;
}
at::Tensor Forward(const std::vector<at::Tensor>& p, const at::Tensor& x) {
  at::Tensor h = at::tanh(at::addmm(p[1], x, p[0].t()));
  h = at::tanh(at::addmm(p[3], h, p[2].t()));
  return at::addmm(p[5], h, p[4].t());
}

struct TrainOptions {
  int steps = 500;
  double penalty_weight = 0;  // 0: ERM
  int anneal = 100;
  // Keep every hidden unit identical: each gradient is averaged over its orbit of the
  // hidden-unit permutations (HiddenUnitSymmetry's orbits, in tensor form), so a symmetric start
  // stays symmetric (Adam treats equal coordinates alike).
  bool symmetric = false;
};

// IRM's objective at penalty weight w (w = 0: ERM's): mean_e risk_e + l2 |theta|^2 +
// w mean_e |d risk_e(scale * logits) / d scale|^2 at scale = 1. The penalty is a gradient built
// with create_graph, so the objective can be differentiated twice more (RR's HVPs need that).
at::Tensor PenalisedRisk(const std::vector<at::Tensor>& p, const std::vector<TorchEnv>& envs, double w) {
  const at::TensorOptions real = p[0].options().requires_grad(false);  // float32, or float64 for RR
  at::Tensor nll = at::zeros({}, real), pen = at::zeros({}, real);
  for (const TorchEnv& e : envs) {
    const at::Tensor logits = Forward(p, e.x);
    if (w > 0) {
      const at::Tensor scale = at::ones({}, real).requires_grad_(true);
      const at::Tensor risk = at::cross_entropy_loss(logits * scale, e.y);
      const at::Tensor g = torch::autograd::grad({risk}, {scale}, {}, true, true)[0];
      nll = nll + risk;
      pen = pen + g.pow(2);
    } else {
      nll = nll + at::cross_entropy_loss(logits, e.y);
    }
  }
  const double ne = static_cast<double>(envs.size());
  at::Tensor l2 = at::zeros({}, real);
  for (const at::Tensor& t : p) l2 = l2 + t.pow(2).sum();
  at::Tensor loss = nll / ne + kL2 * l2;
  if (w > 0) loss = loss + w * pen / ne;
  return loss;
}

// The orbit average of each parameter's gradient (layout of Unflatten).
void ProjectSymmetric(std::vector<at::Tensor>& g) {
  g[0] = g[0].mean(0, true).expand_as(g[0]).contiguous();  // W1: every row (unit) alike
  g[1] = g[1].mean().expand_as(g[1]).contiguous();
  g[2] = g[2].mean().expand_as(g[2]).contiguous();  // W2: units read and written alike
  g[3] = g[3].mean().expand_as(g[3]).contiguous();
  g[4] = g[4].mean(1, true).expand_as(g[4]).contiguous();  // W3: every column (unit) alike
}

// IRM's training loop (its reference code, two-class cross-entropy instead of one logit + BCE):
// PenalisedRisk with weight w(t) (1 before the anneal step, penalty_weight after), divided by
// w(t) once w(t) > 1; full-batch Adam.
Vector Train(const Vector& x0, int hidden, const std::vector<TorchEnv>& envs, const TrainOptions& o) {
  std::vector<at::Tensor> p = Unflatten(x0, hidden);
  for (at::Tensor& t : p) t.requires_grad_(true);
  std::vector<at::Tensor> m, v;
  for (const at::Tensor& t : p) {
    m.push_back(at::zeros_like(t));
    v.push_back(at::zeros_like(t));
  }
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  double b1t = 1, b2t = 1;
  for (int step = 0; step < o.steps; ++step) {
    const double w = o.penalty_weight <= 0 ? 0.0 : (step >= o.anneal ? o.penalty_weight : 1.0);
    at::Tensor loss = PenalisedRisk(p, envs, w);
    if (w > 1) loss = loss / w;
    std::vector<at::Tensor> grads = torch::autograd::grad({loss}, p);
    if (o.symmetric) ProjectSymmetric(grads);
    b1t *= b1;
    b2t *= b2;
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < p.size(); ++i) {
      m[i].mul_(b1).add_(grads[i], 1 - b1);
      v[i].mul_(b2).addcmul_(grads[i], grads[i], 1 - b2);
      const at::Tensor denom = (v[i] / (1 - b2t)).sqrt_().add_(eps);
      p[i].sub_(m[i] / denom * (kLearningRate / (1 - b1t)));
    }
  }
  return Flatten(p);
}

// IRM's objective (PenalisedRisk at the full penalty weight, not divided by it) as an Objective
// on the flat parameters, for Ridge Rider: value and gradient by one backward pass, HVPs by
// differentiating the gradient once more (a third derivative of the risks, through the penalty)
// through the graph AutogradPoint keeps for the last point, so the tracker's HVPs at one point
// share one forward pass and one gradient. In float64: the penalty weight 1e4 makes the
// objective stiff, and the saddle search drives its gradient norm far below what float32
// resolves.
std::unique_ptr<FunctionObjective> MakeIrmObjective(int dim, int hidden, const std::vector<TorchEnv>& envs, double w) {
  std::vector<TorchEnv> envs64;
  for (const TorchEnv& e : envs) envs64.push_back({e.x.to(at::kDouble), e.y});
  // Clones of a FunctionObjective share its callables (and so this graph): the mutex makes them
  // safe on several threads; the rides here run on one.
  struct Graph {
    std::mutex mutex;
    AutogradPoint point;
    AutogradPoint::Function fn;
    const AutogradPoint& At(const Vector& x) {
      if (!point.Holds(x)) point.Build(x, fn);
      return point;
    }
  };
  const auto graph = std::make_shared<Graph>();
  graph->fn = [hidden, envs64, w](const at::Tensor& flat) { return PenalisedRisk(Views(flat, hidden), envs64, w); };
  return std::make_unique<FunctionObjective>(
      dim, "IRM objective (IRMv1 penalty) on the training environments",
      [graph](const Vector& x, double* f, Vector* g) {
        const std::lock_guard<std::mutex> lock(graph->mutex);
        const AutogradPoint& p = graph->At(x);
        *f = p.value();
        *g = p.gradient();
      },
      [graph](const Vector& x, const Vector& v, Vector* out) {
        const std::lock_guard<std::mutex> lock(graph->mutex);
        graph->At(x).Hvp(v, out);
      });
}

double Accuracy(const Vector& x, int hidden, const TorchEnv& e) {
  at::NoGradGuard no_grad;
  const at::Tensor pred = Forward(Unflatten(x, hidden), e.x).argmax(1);
  return pred.eq(e.y).to(at::kDouble).mean().item<double>();
}

// Accuracies a predictor is judged by: pooled training environments, the held-out samples of
// each training environment (the only thing RR's selection sees) and the test environment.
struct Scores {
  double train = 0, heldout1 = 0, heldout2 = 0, test = 0;
  double Gap() const { return std::abs(heldout1 - heldout2); }
  double HeldoutMean() const { return 0.5 * (heldout1 + heldout2); }
  json ToJson() const {
    return {{"train_accuracy", train}, {"heldout_env1_accuracy", heldout1}, {"heldout_env2_accuracy", heldout2},
            {"test_accuracy", test}};
  }
};

struct SeedData {
  std::vector<TorchEnv> train;  // the two training environments
  TorchEnv pooled, heldout1, heldout2, test;
};

Scores Score(const Vector& x, int hidden, const SeedData& s) {
  return {Accuracy(x, hidden, s.pooled), Accuracy(x, hidden, s.heldout1), Accuracy(x, hidden, s.heldout2),
          Accuracy(x, hidden, s.test)};
}

// Selection (test-blind): candidates whose held-out accuracy is clearly above chance (0.6; a
// constant predictor scores 0.5 in both environments and so has no gap), the smallest gap
// between the two held-out environments; ties to the higher held-out accuracy.
constexpr double kSelectionFloor = 0.6;
int Select(const std::vector<Scores>& c) {
  int best = -1;
  for (int i = 0; i < static_cast<int>(c.size()); ++i) {
    if (c[i].HeldoutMean() < kSelectionFloor) continue;
    if (best < 0 || c[i].Gap() < c[best].Gap() ||
        (c[i].Gap() == c[best].Gap() && c[i].HeldoutMean() > c[best].HeldoutMean()))
      best = i;
  }
  return best;
}

struct RrOutcome {
  Scores answer;  // the chosen candidate's scores (the saddle's if none qualifies)
  json detail;    // the saddle, every candidate, the choice
};

// How a ride end is finished: `steps` Adam steps of the training loop on the ride's own
// objective (penalty_weight 0: the pooled risk; > 0: IRM's objective at that weight throughout).
struct Finish {
  int steps = 0;
  double penalty_weight = 0;
  std::string Label() const {
    return fmt::format("ride end + {} {} steps", steps, penalty_weight > 0 ? "IRM-objective" : "ERM");
  }
};

// Rides from the saddle `mis` of `obj`; the candidates are the saddle (the tree's root), every
// leaf's ride end and, if finish.steps > 0, every ride end finished; Select chooses.
RrOutcome RideAndSelect(Objective& obj, const MisReport& mis, const ExploreOptions& o, const Finish& finish,
                        int hidden, const SeedData& sd) {
  const ExploreResult er = Explore(obj, mis.x, o, nullptr);
  const Scores mis_sc = Score(mis.x, hidden, sd);
  std::vector<Scores> cands = {mis_sc};
  json cand_json = json::array();
  {
    json j = mis_sc.ToJson();
    j["node"] = 0;
    j["fingerprint"] = json::array();
    j["ride_steps"] = 0;
    j["point"] = "saddle";
    cand_json.push_back(j);
  }
  for (const RideNode& node : er.state.nodes) {
    if (!node.done() || !node.children.empty() || node.steps == 0) continue;
    json fp = json::array();
    for (const Branch& b : node.path) fp.push_back({b.index, b.sign});
    for (int f = 0; f < (finish.steps > 0 ? 2 : 1); ++f) {
      const Vector x = f == 0 ? node.end_x
                              : Train(node.end_x, hidden, sd.train, TrainOptions{finish.steps, finish.penalty_weight, 0});
      cands.push_back(Score(x, hidden, sd));
      json j = cands.back().ToJson();
      j["node"] = node.id;
      j["fingerprint"] = fp;
      j["ride_steps"] = node.steps;
      j["start_eigenvalue"] = node.start_eigenvalue;
      j["end_reason"] = ToString(node.reason);
      j["point"] = f == 0 ? "ride end" : finish.Label();
      cand_json.push_back(j);
    }
  }
  const int chosen = Select(cands);
  RrOutcome r;
  // No candidate above the floor: the saddle, the tree's root, is RR's answer (chosen = -1), so
  // the mean covers every seed.
  r.answer = chosen >= 0 ? cands[chosen] : mis_sc;
  double best_test = 0;
  for (const Scores& c : cands) best_test = std::max(best_test, c.test);
  r.detail = json({{"mis", {{"loss", mis.loss}, {"grad_norm", mis.grad_norm}, {"symmetry_spread", mis.spread},
                            {"scores", mis_sc.ToJson()}}},
                   {"rides", er.summary.rides},
                   {"hvps", er.summary.counts.hvps},
                   {"candidates", cand_json},
                   {"chosen", chosen},
                   {"best_candidate_test_accuracy_not_used_for_selection", best_test}});
  return r;
}

void Log(std::uint64_t seed, const char* what, const MisReport& mis, const RrOutcome& r) {
  const json& m = r.detail["mis"]["scores"];
  std::fprintf(stderr,
               "colored-fashion-mnist: seed %llu: %s: saddle loss %.4f |g| %.2e held-out %.3f / %.3f; %d rides, "
               "chose candidate %d of %zu (held-out %.3f / %.3f), test %.3f\n",
               static_cast<unsigned long long>(seed), what, mis.loss, mis.grad_norm,
               m["heldout_env1_accuracy"].get<double>(), m["heldout_env2_accuracy"].get<double>(),
               r.detail["rides"].get<int>(), r.detail["chosen"].get<int>(), r.detail["candidates"].size(),
               r.answer.heldout1, r.answer.heldout2, r.answer.test);
}

json Stats(const std::vector<Scores>& per_seed, const std::vector<std::uint64_t>& seeds) {
  double tr = 0, te = 0, te2 = 0, tr2 = 0;
  const double n = static_cast<double>(per_seed.size());
  json list = json::array();
  for (size_t i = 0; i < per_seed.size(); ++i) {
    tr += per_seed[i].train;
    te += per_seed[i].test;
    json j = per_seed[i].ToJson();
    j["seed"] = seeds[i];
    list.push_back(j);
  }
  tr /= n;
  te /= n;
  for (const Scores& s : per_seed) {
    te2 += (s.test - te) * (s.test - te);
    tr2 += (s.train - tr) * (s.train - tr);
  }
  // Population std over seeds, as IRM's reference code reports (np.std).
  return {{"train_accuracy_mean", tr}, {"train_accuracy_std", std::sqrt(tr2 / n)}, {"test_accuracy_mean", te},
          {"test_accuracy_std", std::sqrt(te2 / n)}, {"seeds", seeds}, {"per_seed", list}};
}

int Run(const ExperimentArgs& args) {
  const auto t0 = std::chrono::steady_clock::now();
  const Preset p = args.quick ? QuickPreset() : FullPreset();
  const data::Dataset fm_train = data::LoadFashionMnist("train");
  const data::Dataset fm_test = data::LoadFashionMnist("test");
  const long n = p.env_samples, h = p.heldout_samples;
  const std::string model = fmt::format("mlp:392-{}-{}-2", p.hidden, p.hidden);

  // Seeds run in parallel (--threads), each on one Torch thread: slot k holds seed k's results,
  // so the outcome does not depend on the thread count.
  SetTorchThreads(1);
  std::vector<std::uint64_t> seeds(p.seeds);
  std::vector<Scores> erm_s(p.seeds), irm_s(p.seeds), oracle_s(p.seeds), rr_s(p.seeds), rr_irm_s(p.seeds);
  std::vector<json> seed_details(p.seeds);
  ParallelFor(p.seeds, args.threads, [&](int k) {
    const std::uint64_t seed = args.seed + static_cast<std::uint64_t>(k);
    seeds[k] = seed;
    // Environments: IRM's split (first and second block of the training set, the test set),
    // held-out training samples from images 50,000.. (never used for training).
    const data::Dataset e1 = MakeEnvironment(fm_train, 0, n, 0.2, seed, 1, "train env 1 (colour flip 0.2)");
    const data::Dataset e2 = MakeEnvironment(fm_train, 25000, 25000 + n, 0.1, seed, 2, "train env 2 (colour flip 0.1)");
    const data::Dataset v1 = MakeEnvironment(fm_train, 50000, 50000 + h, 0.2, seed, 3, "held-out env 1");
    const data::Dataset v2 = MakeEnvironment(fm_train, 55000, 55000 + h, 0.1, seed, 4, "held-out env 2");
    const data::Dataset te = MakeEnvironment(fm_test, 0, fm_test.size(), 0.9, seed, 5, "test env (colour flip 0.9)");
    SeedData sd;
    sd.train = {ToTorch(e1), ToTorch(e2)};
    sd.pooled = ToTorch(Concat(e1, e2, n, "pooled"));
    sd.heldout1 = ToTorch(v1);
    sd.heldout2 = ToTorch(v2);
    sd.test = ToTorch(te);

    auto rr_data = std::make_shared<const data::Dataset>(Concat(e1, e2, p.rr_per_env, "pooled RR subset"));
    ModelSpec spec;
    spec.model = model;
    spec.activation = "tanh";
    spec.loss = ModelLoss::kCrossEntropy;
    spec.dtype = ModelDtype::kFloat32;
    spec.hvp = HvpMethod::kReusedGraph;
    spec.seed = seed;
    spec.batch = BatchPolicy{0, 0};
    std::unique_ptr<ModelObjective> rr = MakeModelObjective(spec, rr_data);
    const Vector init = rr->InitialParameters();

    // Baselines from the same initialisation.
    TrainOptions erm_o{p.steps, 0.0, p.anneal}, irm_o{p.steps, kPenaltyWeight, p.anneal};
    std::fprintf(stderr, "colored-fashion-mnist: seed %llu: ERM, IRM, grayscale oracle (%d full-batch steps on 2 x %ld)\n",
                 static_cast<unsigned long long>(seed), p.steps, n);
    erm_s[k] = Score(Train(init, p.hidden, sd.train, erm_o), p.hidden, sd);
    irm_s[k] = Score(Train(init, p.hidden, sd.train, irm_o), p.hidden, sd);
    {
      const data::Dataset g1 = MakeEnvironment(fm_train, 0, n, 0.2, seed, 1, "gray 1", true);
      const data::Dataset g2 = MakeEnvironment(fm_train, 25000, 25000 + n, 0.1, seed, 2, "gray 2", true);
      const data::Dataset gt = MakeEnvironment(fm_test, 0, fm_test.size(), 0.9, seed, 5, "gray test", true);
      SeedData gd;
      gd.train = {ToTorch(g1), ToTorch(g2)};
      gd.pooled = ToTorch(Concat(g1, g2, n, "gray pooled"));
      gd.heldout1 = ToTorch(MakeEnvironment(fm_train, 50000, 50000 + h, 0.2, seed, 3, "", true));
      gd.heldout2 = ToTorch(MakeEnvironment(fm_train, 55000, 55000 + h, 0.1, seed, 4, "", true));
      gd.test = ToTorch(gt);
      oracle_s[k] = Score(Train(init, p.hidden, gd.train, erm_o), p.hidden, gd);
    }
    std::fprintf(stderr, "colored-fashion-mnist: seed %llu: ERM test %.3f, IRM test %.3f, oracle test %.3f\n",
                 static_cast<unsigned long long>(seed), erm_s[k].test, irm_s[k].test, oracle_s[k].test);

    // Ridge Rider, (a) on the pooled training loss from its symmetric saddle (FindMlpMis).
    const HiddenUnitSymmetry sym(rr->parameters());
    const MisReport mis = FindMlpMis(*rr, sym, sym.Representative(init), p.mis_iterations, p.grad_norm_iterations);
    ExploreOptions o = MlpSaddleRideOptions(seed, p.ridges, p.ride_steps);
    o.ride.step_size = 0.1;
    o.ride.max_step_size = 2.0;
    RrOutcome pooled = RideAndSelect(*rr, mis, o, Finish{p.finish_steps, 0.0}, p.hidden, sd);
    rr_s[k] = pooled.answer;
    Log(seed, "RR on the pooled loss", mis, pooled);

    // (b) on IRM's objective from its symmetric saddle: the symmetric network (one shared
    // feature) trained by IRM's own schedule, then moved to the stationary point of IRM's
    // objective in the symmetric subspace next to it. Rides along that objective's ridges; the
    // ride ends are not ERM-finished (ERM would bring back the colour feature).
    const Vector sym_irm = Train(sym.ScaledRepresentative(init), p.hidden, sd.train,
                                 TrainOptions{p.steps, kPenaltyWeight, p.anneal, true});
    const std::unique_ptr<FunctionObjective> irm_obj = MakeIrmObjective(rr->dim(), p.hidden, sd.train, kPenaltyWeight);
    const MisReport env_mis = RefineToSymmetricStationaryPoint(*irm_obj, sym, sym.Project(sym_irm), p.irm_saddle_iterations);
    double unrefined_loss = 0;
    Vector unrefined_g;
    irm_obj->ValueAndGradient(sym_irm, &unrefined_loss, &unrefined_g);
    o = MlpSaddleRideOptions(seed, p.ridges, p.ride_steps);
    o.ride.step_size = kIrmRideStep;
    o.ride.max_step_size = 10 * kIrmRideStep;
    o.tree.max_depth = p.irm_depth;
    RrOutcome inv = RideAndSelect(*irm_obj, env_mis, o, Finish{p.finish_steps, kPenaltyWeight}, p.hidden, sd);
    rr_irm_s[k] = inv.answer;
    inv.detail["symmetric_irm_network"] = {{"loss", unrefined_loss},
                                           {"grad_norm", unrefined_g.norm()},
                                           {"scores", Score(sym_irm, p.hidden, sd).ToJson()}};
    Log(seed, "RR on IRM's objective", env_mis, inv);
    seed_details[k] = json({{"seed", seed}, {"rr", pooled.detail}, {"rr_irm", inv.detail}});
  });
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  json results = {
      {"experiment", "colored-fashion-mnist"},
      {"quick", args.quick},
      {"seed", args.seed},
      {"model", model + " (tanh)"},
      {"protocol",
       {{"label", "class < 5, flipped with probability 0.25"},
        {"colour_flip", {{"train_env1", 0.2}, {"train_env2", 0.1}, {"test", 0.9}}},
        {"train_samples_per_env", n},
        {"heldout_samples_per_env", h},
        {"test_samples", fm_test.size()},
        {"optimizer", "full-batch Adam"},
        {"learning_rate", kLearningRate},
        {"l2", kL2},
        {"steps", p.steps},
        {"irm_penalty_weight", kPenaltyWeight},
        {"irm_anneal_steps", p.anneal}}},
      {"rr_irm_setup",
       {{"loss", "IRM's objective (IRMv1: mean training risk + l2 + penalty weight x mean squared gradient of "
                 "each environment's risk w.r.t. a dummy logit scale), full batch over the training environments"},
        {"saddle", "the MLP with all hidden units identical, trained by IRM's schedule (the IRM baseline's, "
                   "gradients averaged over each hidden-unit orbit), then moved to the nearest stationary point of "
                   "IRM's objective in that symmetric subspace (L-BFGS on the projected gradient norm)"},
        {"ridges", p.ridges},
        {"ride_steps", p.ride_steps},
        {"depth", p.irm_depth},
        {"candidates", fmt::format("the saddle, every leaf's ride end, and each ride end after {} Adam steps on IRM's "
                                   "objective (penalty weight {} throughout; not ERM, which brings colour back)",
                                   p.finish_steps, kPenaltyWeight)},
        {"selection", fmt::format("smallest |held-out env1 accuracy - held-out env2 accuracy| among candidates with "
                                  "mean held-out accuracy >= {}; the test environment is never looked at",
                                  kSelectionFloor)}}},
      {"rr_setup",
       {{"loss", fmt::format("pooled cross-entropy, full batch over the first {} samples of each training env",
                             p.rr_per_env)},
        {"saddle", "FindMlpMis: the pooled loss minimised with all hidden units identical, then its projected "
                   "gradient norm"},
        {"ridges", p.ridges},
        {"ride_steps", p.ride_steps},
        {"candidates", fmt::format("the saddle, every ride end, and each ride end after {} ERM steps", p.finish_steps)},
        {"selection", "as rr_irm_setup.selection"}}},
      {"rr_irm", Stats(rr_irm_s, seeds)},
      {"erm", Stats(erm_s, seeds)},
      {"rr", Stats(rr_s, seeds)},
      {"irm", Stats(irm_s, seeds)},
      {"oracle", Stats(oracle_s, seeds)},
      {"per_seed", json(seed_details)},
      {"paper_mnist", {{"rr", 0.58}, {"irm", 0.669}, {"irm_std", 0.025}, {"erm", 0.171}, {"erm_std", 0.007},
                       {"oracle", 0.73}}},
      {"wall_time_s", wall}};

  std::string md = "# Colored Fashion-MNIST (IRM's Colored MNIST protocol)\n\n";
  md += fmt::format("{} (tanh), {} training samples per environment, {} seeds ({}), full-batch Adam, {} steps. "
                    "Wall time {:.0f} s{}.\n\n",
                    model, n, p.seeds, args.quick ? "--quick" : "full", p.steps, wall, args.quick ? " (--quick)" : "");
  md += "| method | train acc. | test acc. (mean ± std) | paper (MNIST) test acc. |\n|---|---|---|---|\n";
  const auto row = [&](const char* name, const json& s, const std::string& paper) {
    md += fmt::format("| {} | {} | {} ± {} | {} |\n", name, Percent(s["train_accuracy_mean"]), Percent(s["test_accuracy_mean"]),
                      Percent(s["test_accuracy_std"]), paper);
  };
  row("ERM", results["erm"], "17.1 ± 0.7%");
  row("IRM", results["irm"], "66.9 ± 2.5%");
  row("Ridge Rider on the pooled loss (selected leaf; the issue's RR)", results["rr"], "≈ 58%");
  row("Ridge Rider on IRM's objective from an IRM-trained saddle (selected leaf)", results["rr_irm"],
      "- (the paper's RR is on the pooled loss)");
  row("grayscale oracle (ERM, no colour)", results["oracle"], "73.0%");
  md += "\nRR selection: " + results["rr_irm_setup"]["selection"].get<std::string>() + ".\n\n";
  md += "## Every RR candidate\n\n| seed | RR on | node | point | train | held-out env1 | held-out env2 | test | chosen |\n"
        "|---|---|---|---|---|---|---|---|---|\n";
  for (const json& s : seed_details) {
    for (const char* variant : {"rr", "rr_irm"}) {
      const json& v = s[variant];
      int i = 0;
      for (const json& c : v["candidates"]) {
        md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", s["seed"].get<std::uint64_t>(),
                          std::string(variant) == "rr_irm" ? "IRM objective" : "pooled loss", c["node"].get<long>(),
                          c["point"].get<std::string>(), Percent(c["train_accuracy"]),
                          Percent(c["heldout_env1_accuracy"]), Percent(c["heldout_env2_accuracy"]),
                          Percent(c["test_accuracy"]), v["chosen"].get<int>() == i ? "yes" : "");
        ++i;
      }
    }
  }
  WriteResults(args.out, results, md);
  if (args.plot) PlotResults(args.out);
  return 0;
}

}  // namespace

Experiment MakeColoredFashionMnistExperiment() {
  return {"colored-fashion-mnist",
          "IRM's Colored MNIST protocol on Fashion-MNIST: ERM, IRM and a Ridge Rider leaf chosen test-blind",
          "Binary label class < 5 (25% label noise), colour agreeing with the label 80% / 90% in the two "
          "training environments and 10% at test. An MLP 392-32-32-2 (tanh) trained by ERM and IRMv1 (full-batch "
          "Adam, L2), a grayscale oracle, and Ridge Rider (rr) on the pooled loss from the MLP's symmetric saddle "
          "and (rr_irm) on IRM's objective from its symmetric saddle (the one-feature network trained by IRM's "
          "schedule, moved to a stationary point); the leaf chosen by the smallest accuracy gap between held-out samples of the "
          "training environments. Full: 5 seeds, 2,000 samples per environment, 32 units, 250 steps. --quick: 2 "
          "seeds, 1,000 per environment, 200 steps. --threads runs seeds in parallel.",
          Run};
}

}  // namespace ridgerider::experiments
