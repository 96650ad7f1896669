// Model objectives: the flat-parameter layout against an independent Eigen forward pass,
// gradient and HVPs (reused graph, fresh graph) against finite differences and each other in
// float32 and float64, the batch policies' documented losses and Hessians, the search's ride
// key, TorchScript modules (same numbers as the built-in MLP), and the refusals.
#include "torch/model_objective.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "ridgerider/errors.hpp"
#include "ridgerider/rng.hpp"
#include "ridgerider/tree.hpp"

#ifndef RIDGERIDER_PYTHON
#define RIDGERIDER_PYTHON "/usr/bin/python3"
#endif

namespace ridgerider {
namespace {

namespace fs = std::filesystem;

// N samples of 6 features in [0, 1], 3 classes.
std::shared_ptr<const data::Dataset> Synthetic(long n = 40, std::uint64_t seed = 7) {
  auto d = std::make_shared<data::Dataset>();
  d->name = "synthetic";
  d->sample_shape = {6};
  d->num_classes = 3;
  KeyedRng rng(seed, 0);
  for (long i = 0; i < n * 6; ++i) d->inputs.push_back(static_cast<float>(rng.Uniform()));
  for (long i = 0; i < n; ++i) d->labels.push_back(static_cast<std::int64_t>(rng.NextU64() % 3));
  return d;
}

ModelSpec Mlp(const std::string& arch = "mlp:6-5-4-3", ModelDtype dtype = ModelDtype::kFloat64) {
  ModelSpec s;
  s.model = arch;
  s.dtype = dtype;
  return s;
}

Vector RandomVector(int n, std::uint64_t key, double scale = 1.0) {
  KeyedRng rng(99, key);
  return scale * rng.NormalVector(n);
}

double RelErr(const Vector& a, const Vector& b) { return (a - b).norm() / std::max(1e-300, b.norm()); }

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// The documented layout, evaluated independently: W_l as [out, in] row-major then b_l, tanh on
// hidden layers, mean cross-entropy over the samples `idx` (all when empty).
double EigenMlpLoss(const Vector& x, const std::vector<int>& widths, const data::Dataset& d,
                    const std::vector<long>& idx = {}) {
  std::vector<long> samples = idx;
  if (samples.empty())
    for (long i = 0; i < d.size(); ++i) samples.push_back(i);
  double total = 0;
  for (long s : samples) {
    Vector h(widths[0]);
    for (int k = 0; k < widths[0]; ++k) h[k] = d.inputs[s * widths[0] + k];
    long off = 0;
    for (size_t l = 0; l + 1 < widths.size(); ++l) {
      const int in = widths[l], out = widths[l + 1];
      Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>> w(x.data() + off, out, in);
      off += out * in;
      Vector z = w * h + x.segment(off, out);
      off += out;
      h = l + 2 < widths.size() ? Vector(z.array().tanh()) : z;
    }
    const double m = h.maxCoeff();
    total += std::log((h.array() - m).exp().sum()) + m - h[d.labels[s]];
  }
  return total / static_cast<double>(samples.size());
}

TEST(ModelObjective, FlatLayoutMatchesAnIndependentForwardPass) {
  auto data = Synthetic();
  auto obj = MakeModelObjective(Mlp(), data);
  EXPECT_EQ(obj->dim(), 6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3);
  long next = 0;
  for (const ParameterInfo& p : obj->parameters()) {
    EXPECT_EQ(p.offset, next) << p.name;
    next += p.size;
  }
  EXPECT_EQ(next, obj->dim());
  EXPECT_EQ(obj->parameters()[0].name, "layer0.weight");
  EXPECT_EQ(obj->parameters()[0].shape, (std::vector<std::int64_t>{5, 6}));
  // Seeded PyTorch-style initialisation: within +-1/sqrt(fan_in), reproducible, seed-dependent.
  const Vector x0 = obj->InitialParameters();
  EXPECT_LE(x0.head(30).cwiseAbs().maxCoeff(), 1 / std::sqrt(6.0));
  EXPECT_EQ(x0, MakeModelObjective(Mlp(), data)->InitialParameters());
  ModelSpec other = Mlp();
  other.seed = 1;
  EXPECT_NE(x0, MakeModelObjective(other, data)->InitialParameters());
  ModelSpec shaped = Mlp();
  shaped.input_shape = {2, 3};  // the MLP flattens whatever shape it is given
  auto obj2 = MakeModelObjective(shaped, data);
  for (const Vector& x : {x0, RandomVector(obj->dim(), 1)}) {
    double f = 0, f2 = 0;
    ASSERT_EQ(obj->Value(x, &f), EvalStatus::kOk);
    EXPECT_NEAR(f, EigenMlpLoss(x, {6, 5, 4, 3}, *data), 1e-12);
    obj2->Value(x, &f2);
    EXPECT_EQ(f, f2);
  }
}

TEST(ModelObjective, GradientMatchesFiniteDifferences) {
  auto data = Synthetic();
  for (ModelDtype dt : {ModelDtype::kFloat64, ModelDtype::kFloat32}) {
    auto obj = MakeModelObjective(Mlp("mlp:6-5-4-3", dt), data);
    const Vector x = RandomVector(obj->dim(), 2, 0.5);
    double f = 0;
    Vector g;
    ASSERT_EQ(obj->ValueAndGradient(x, &f, &g), EvalStatus::kOk);
    const double h = dt == ModelDtype::kFloat64 ? 1e-6 : 1e-2;
    Vector fd(obj->dim());
    for (int i = 0; i < obj->dim(); ++i) {
      Vector xp = x, xm = x;
      xp[i] += h;
      xm[i] -= h;
      double fp = 0, fm = 0;
      obj->Value(xp, &fp);
      obj->Value(xm, &fm);
      fd[i] = (fp - fm) / (2 * h);
    }
    EXPECT_LT(RelErr(g, fd), dt == ModelDtype::kFloat64 ? 1e-7 : 2e-3) << ToString(dt);
  }
}

TEST(ModelObjective, HvpReusedFreshAndFiniteDifferencesAgree) {
  auto data = Synthetic();
  for (ModelDtype dt : {ModelDtype::kFloat64, ModelDtype::kFloat32}) {
    const bool f64 = dt == ModelDtype::kFloat64;
    ModelSpec s = Mlp("mlp:6-5-4-3", dt);
    auto reused = MakeModelObjective(s, data);
    s.hvp = HvpMethod::kFreshGraph;
    auto fresh = MakeModelObjective(s, data);
    s.hvp = HvpMethod::kFiniteDifference;
    auto fd = MakeModelObjective(s, data);
    const Vector x = RandomVector(reused->dim(), 3, 0.5);
    for (std::uint64_t k = 0; k < 3; ++k) {
      const Vector v = RandomVector(reused->dim(), 10 + k);
      Vector a, b, c;
      ASSERT_EQ(reused->Hvp(x, v, &a), EvalStatus::kOk);
      ASSERT_EQ(fresh->Hvp(x, v, &b), EvalStatus::kOk);
      ASSERT_EQ(fd->Hvp(x, v, &c), EvalStatus::kOk);
      EXPECT_LT(RelErr(a, b), f64 ? 1e-12 : 1e-5) << ToString(dt);
      EXPECT_LT(RelErr(a, c), f64 ? 1e-7 : 2e-2) << ToString(dt);
    }
    // Reused graph: the graph survives HVPs and is rebuilt at a new point.
    Matrix h;
    ASSERT_EQ(reused->Hessian(x, &h), EvalStatus::kOk);
    const Vector v = RandomVector(reused->dim(), 20);
    Vector hv;
    reused->Hvp(x, v, &hv);
    EXPECT_LT(RelErr(h * v, hv), f64 ? 1e-12 : 1e-5);
    const Vector y = x + 0.1 * v;
    Vector hy, hy_fresh;
    reused->Hvp(y, v, &hy);
    fresh->Hvp(y, v, &hy_fresh);
    EXPECT_LT(RelErr(hy, hy_fresh), f64 ? 1e-12 : 1e-5);
    EXPECT_GT(RelErr(hy, hv), 1e-3);
  }
}

TEST(ModelObjective, ChunkedFullBatchEqualsOnePass) {
  auto data = Synthetic(41);
  auto one = MakeModelObjective(Mlp(), data);
  ModelSpec s = Mlp();
  s.batch.chunk = 7;  // 6 chunks, the last one short
  auto chunked = MakeModelObjective(s, data);
  const Vector x = RandomVector(one->dim(), 4, 0.5), v = RandomVector(one->dim(), 5);
  double f1 = 0, f2 = 0;
  Vector g1, g2, h1, h2;
  one->ValueAndGradient(x, &f1, &g1);
  chunked->ValueAndGradient(x, &f2, &g2);
  one->Hvp(x, v, &h1);
  chunked->Hvp(x, v, &h2);
  EXPECT_NEAR(f1, f2, 1e-13);
  EXPECT_LT(RelErr(g1, g2), 1e-12);
  EXPECT_LT(RelErr(h1, h2), 1e-12);
  double f3 = 0;
  chunked->Value(x + v, &f3);
  EXPECT_NEAR(f3, EigenMlpLoss(x + v, {6, 5, 4, 3}, *data), 1e-12);
  EXPECT_EQ(chunked->BatchIndices().size(), 41u);
}

// batch = B: the loss, gradient and Hessian of ride k are those of the full-batch loss on the
// samples S(k) alone; S(k) depends on (seed, k) only.
TEST(ModelObjective, FixedBatchIsTheDocumentedSubsetPerKey) {
  auto data = Synthetic(50);
  ModelSpec s = Mlp();
  s.batch.batch = 12;
  s.seed = 3;
  auto obj = MakeModelObjective(s, data);
  auto twin = MakeModelObjective(s, data);
  obj->SetRideKey(5);
  const std::vector<long> s5 = obj->BatchIndices();
  ASSERT_EQ(s5.size(), 12u);
  EXPECT_EQ(std::set<long>(s5.begin(), s5.end()).size(), 12u);
  EXPECT_TRUE(std::is_sorted(s5.begin(), s5.end()));
  twin->SetRideKey(5);
  EXPECT_EQ(twin->BatchIndices(), s5);
  obj->SetRideKey(6);
  EXPECT_NE(obj->BatchIndices(), s5);
  auto clone = obj->Clone();
  obj->SetRideKey(5);
  EXPECT_EQ(obj->BatchIndices(), s5);
  ModelSpec s2 = s;
  s2.seed = 4;
  auto other_seed = MakeModelObjective(s2, data);
  other_seed->SetRideKey(5);
  EXPECT_NE(other_seed->BatchIndices(), s5);

  // The same numbers as a full-batch objective on exactly those samples.
  auto subset = std::make_shared<data::Dataset>();
  subset->name = "subset";
  subset->sample_shape = data->sample_shape;
  subset->num_classes = 3;
  for (long i : s5) {
    subset->inputs.insert(subset->inputs.end(), data->inputs.begin() + i * 6, data->inputs.begin() + i * 6 + 6);
    subset->labels.push_back(data->labels[i]);
  }
  auto full = MakeModelObjective(Mlp(), subset);
  const Vector x = RandomVector(obj->dim(), 6, 0.5), v = RandomVector(obj->dim(), 7);
  double f1 = 0, f2 = 0;
  Vector g1, g2, h1, h2;
  obj->ValueAndGradient(x, &f1, &g1);
  full->ValueAndGradient(x, &f2, &g2);
  obj->Hvp(x, v, &h1);
  full->Hvp(x, v, &h2);
  EXPECT_NEAR(f1, f2, 1e-13);
  EXPECT_NEAR(f1, EigenMlpLoss(x, {6, 5, 4, 3}, *data, s5), 1e-12);
  EXPECT_LT(RelErr(g1, g2), 1e-12);
  EXPECT_LT(RelErr(h1, h2), 1e-12);
  // Chunks within a fixed batch: the same numbers.
  ModelSpec sc = s;
  sc.batch.chunk = 5;
  auto chunked = MakeModelObjective(sc, data);
  chunked->SetRideKey(5);
  EXPECT_EQ(chunked->BatchIndices(), s5);
  double fch = 0;
  Vector gch, hch;
  chunked->ValueAndGradient(x, &fch, &gch);
  chunked->Hvp(x, v, &hch);
  EXPECT_NEAR(fch, f1, 1e-13);
  EXPECT_LT(RelErr(gch, g1), 1e-12);
  EXPECT_LT(RelErr(hch, h1), 1e-12);
  // A new key invalidates the cached point: same x, other batch, other loss.
  obj->SetRideKey(6);
  double f6 = 0;
  obj->Value(x, &f6);
  EXPECT_NE(f6, f1);
  double fc = 0;
  clone->Value(x, &fc);  // the clone kept key 6
  EXPECT_EQ(fc, f6);
}

// The search tells the objective which node it computes: 0 for the start, then each ride's id.
TEST(ModelObjective, SearchSetsTheRideKeyBeforeEveryRide) {
  struct Spy : FunctionObjective {
    std::vector<long> keys;
    Spy()
        : FunctionObjective(2, "spy", [](const Vector& x, double* f, Vector* g) {
            *f = (x[0] * x[0] - 1) * (x[0] * x[0] - 1) + x[1] * x[1];
            *g = Vector(2);
            (*g) << 4 * x[0] * (x[0] * x[0] - 1), 2 * x[1];
          }) {}
    void SetRideKey(long node) override { keys.push_back(node); }
  } spy;
  ExploreResult r = Explore(spy, Vector::Zero(2), {});
  ASSERT_EQ(r.state.nodes.size(), 2u);
  EXPECT_EQ(spy.keys, (std::vector<long>{0, 1, 2}));
}

TEST(ModelObjective, CloneIsIndependentWithEqualNumbers) {
  auto data = Synthetic();
  auto obj = MakeModelObjective(Mlp(), data);
  auto c = obj->Clone();
  const Vector x = RandomVector(obj->dim(), 8, 0.5), y = RandomVector(obj->dim(), 9, 0.5);
  double f1 = 0, f2 = 0, fy = 0;
  Vector g1, g2;
  obj->ValueAndGradient(x, &f1, &g1);
  c->ValueAndGradient(y, &fy, &g2);
  c->ValueAndGradient(x, &f2, &g2);
  EXPECT_EQ(f1, f2);
  EXPECT_EQ(g1, g2);
  EXPECT_EQ(c->counts().gradients, 2);
}

TEST(ModelObjective, RefusesBadSpecsAndData) {
  auto data = Synthetic();
  EXPECT_NE(ErrorOf([&] { MakeModelObjective(Mlp("mlp:7-3"), data); }).find("takes 7 inputs but synthetic has 6"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] { MakeModelObjective(Mlp("mlp:6-4"), data); }).find("returns outputs of shape [2, 4]"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] { MakeModelObjective(Mlp("mlp:6-x-3"), data); }).find("positive integers"),
            std::string::npos);
  ModelSpec s = Mlp();
  s.batch.batch = 41;
  EXPECT_NE(ErrorOf([&] { MakeModelObjective(s, data); }).find("larger than synthetic"), std::string::npos);
  s = Mlp();
  s.input_shape = {4, 2};
  EXPECT_NE(ErrorOf([&] { MakeModelObjective(s, data); }).find("input shape [4, 2] holds 8"), std::string::npos);
  s = Mlp();
  s.activation = "swish";
  EXPECT_NE(ErrorOf([&] { MakeModelObjective(s, data); }).find("activation 'swish'"), std::string::npos);
  s = Mlp();
  s.model = "/nonexistent/net.pt";
  EXPECT_NE(ErrorOf([&] { MakeModelObjective(s, data); }).find("no such file"), std::string::npos);
}

// ---- TorchScript modules ----------------------------------------------------------------------

// Fixtures are written once per build tree by tests/make_model_fixtures.py (ctest runs every
// test in its own process; Python + torch takes ~2 s to start).
std::string Fixtures() {
  static const std::string dir = [] {
    const std::string d = RIDGERIDER_FIXTURE_DIR;
    if (fs::exists(d + "/noisy.pt")) return d;
    const std::string tmp = d + ".tmp" + std::to_string(::getpid());
    fs::create_directories(tmp);
    const std::string cmd = std::string(RIDGERIDER_PYTHON) + " " + RIDGERIDER_FIXTURE_SCRIPT + " " + tmp +
                            " > " + tmp + "/log 2>&1";
    if (std::system(cmd.c_str()) != 0) return std::string();
    std::error_code ec;
    fs::rename(tmp, d, ec);  // another test process may have won the race: use its files
    fs::remove_all(tmp, ec);
    return fs::exists(d + "/noisy.pt") ? d : std::string();
  }();
  return dir;
}

ModelSpec Script(const std::string& name, ModelMode mode = ModelMode::kAsSaved) {
  ModelSpec s;
  s.model = Fixtures() + "/" + name + ".pt";
  s.dtype = ModelDtype::kFloat64;
  s.mode = mode;
  return s;
}

#define REQUIRE_FIXTURES() \
  if (Fixtures().empty()) GTEST_SKIP() << "could not write .pt fixtures with " << RIDGERIDER_PYTHON

TEST(ModelObjectiveScript, ScriptedSequentialEqualsTheBuiltInMlp) {
  REQUIRE_FIXTURES();
  auto data = Synthetic();
  auto script = MakeModelObjective(Script("seq"), data);
  ModelSpec m = Mlp("mlp:6-5-3");
  auto mlp = MakeModelObjective(m, data);
  ASSERT_EQ(script->dim(), mlp->dim());
  EXPECT_EQ(script->parameters()[0].name, "0.weight");
  EXPECT_EQ(script->parameters()[3].name, "2.bias");
  const Vector x0 = script->InitialParameters();  // the weights saved in the file
  EXPECT_GT(x0.norm(), 0.1);
  for (const Vector& x : {x0, RandomVector(mlp->dim(), 11, 0.5)}) {
    double f1 = 0, f2 = 0;
    Vector g1, g2, h1, h2;
    script->ValueAndGradient(x, &f1, &g1);
    mlp->ValueAndGradient(x, &f2, &g2);
    const Vector v = RandomVector(mlp->dim(), 12);
    script->Hvp(x, v, &h1);
    mlp->Hvp(x, v, &h2);
    EXPECT_NEAR(f1, f2, 1e-13);
    EXPECT_LT(RelErr(g1, g2), 1e-12);
    EXPECT_LT(RelErr(h1, h2), 1e-12);
  }
  // Accuracy on the data set: argmax of the output against the labels.
  const ModelEvaluation e = script->Evaluate(x0, *data, 16);
  double f = 0;
  script->Value(x0, &f);
  EXPECT_NEAR(e.loss, f, 1e-12);
  EXPECT_GE(e.accuracy, 0.0);
  EXPECT_LE(e.accuracy, 1.0);
  EXPECT_EQ(e.class_accuracy.size(), 3u);
  // Threads: a clone has its own module and parameters.
  auto c = script->Clone();
  double fc = 0;
  c->Value(x0, &fc);
  EXPECT_EQ(fc, f);
}

// Clones ride on threads at the same time: each must own its module (the parameter slots are
// re-pointed at every forward) and its parameters.
TEST(ModelObjectiveScript, ClonesEvaluateConcurrently) {
  REQUIRE_FIXTURES();
  auto data = Synthetic();
  auto a = MakeModelObjective(Script("seq"), data);
  std::unique_ptr<Objective> b = a->Clone();
  const Vector x = a->InitialParameters(), y = RandomVector(a->dim(), 14, 0.5);
  double fx = 0, fy = 0;
  Vector gx, gy;
  a->ValueAndGradient(x, &fx, &gx);
  b->ValueAndGradient(y, &fy, &gy);
  ASSERT_NE(fx, fy);
  std::vector<double> got_a, got_b;
  std::vector<Vector> grad_a, grad_b;
  auto work = [](Objective* o, const Vector& p, const Vector& q, std::vector<double>* f, std::vector<Vector>* g) {
    for (int i = 0; i < 40; ++i) {
      double v = 0;
      Vector gr;
      o->ValueAndGradient(i % 2 ? q : p, &v, &gr);  // alternate points: every call rebuilds
      if (i % 2 == 0) f->push_back(v), g->push_back(gr);
    }
  };
  const Vector far = x + RandomVector(a->dim(), 15, 0.1);
  std::thread t1(work, a.get(), x, far, &got_a, &grad_a);
  std::thread t2(work, b.get(), y, far, &got_b, &grad_b);
  t1.join();
  t2.join();
  for (size_t i = 0; i < got_a.size(); ++i) {
    EXPECT_EQ(got_a[i], fx);
    EXPECT_EQ(got_b[i], fy);
    EXPECT_EQ(grad_a[i], gx);
    EXPECT_EQ(grad_b[i], gy);
  }
}

TEST(ModelObjectiveScript, TrainingModeDropoutAndBatchNormAreRefused) {
  REQUIRE_FIXTURES();
  auto data = Synthetic();
  std::string msg = ErrorOf([&] { MakeModelObjective(Script("dropout_train"), data); });
  EXPECT_NE(msg.find("is in training mode and uses aten::dropout"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--model-mode eval"), std::string::npos) << msg;
  msg = ErrorOf([&] { MakeModelObjective(Script("batchnorm_train"), data); });
  EXPECT_NE(msg.find("aten::batch_norm"), std::string::npos) << msg;
  // Explicitly switched to eval mode, or saved in eval mode: accepted (dropout is the identity,
  // batch norm a fixed affine map).
  EXPECT_NO_THROW(MakeModelObjective(Script("dropout_train", ModelMode::kEval), data));
  EXPECT_NO_THROW(MakeModelObjective(Script("batchnorm_train", ModelMode::kEval), data));
  EXPECT_NO_THROW(MakeModelObjective(Script("dropout_eval"), data));
  msg = ErrorOf([&] { MakeModelObjective(Script("noisy"), data); });
  EXPECT_NE(msg.find("different outputs for the same input"), std::string::npos) << msg;
}

TEST(ModelObjectiveScript, ShapeMismatchIsOneLine) {
  REQUIRE_FIXTURES();
  auto data = Synthetic();
  std::string msg = ErrorOf([&] { MakeModelObjective(Script("wrong_input"), data); });
  EXPECT_NE(msg.find("does not accept the data's inputs of shape [2, 6]"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  msg = ErrorOf([&] { MakeModelObjective(Script("wrong_output"), data); });
  EXPECT_NE(msg.find("returns outputs of shape [2, 4]"), std::string::npos) << msg;
  ModelSpec s = Script("seq");
  s.model = Fixtures() + "/log";
  msg = ErrorOf([&] { MakeModelObjective(s, data); });
  EXPECT_NE(msg.find("cannot be loaded as a TorchScript module"), std::string::npos) << msg;
}

TEST(ModelObjectiveScript, Float32ModuleMatchesFloat64) {
  REQUIRE_FIXTURES();
  auto data = Synthetic();
  auto f64 = MakeModelObjective(Script("seq"), data);
  ModelSpec s = Script("seq");
  s.dtype = ModelDtype::kFloat32;
  auto f32 = MakeModelObjective(s, data);
  const Vector x = f64->InitialParameters(), v = RandomVector(f64->dim(), 13);
  double a = 0, b = 0;
  Vector ga, gb, ha, hb;
  f64->ValueAndGradient(x, &a, &ga);
  f32->ValueAndGradient(x, &b, &gb);
  f64->Hvp(x, v, &ha);
  f32->Hvp(x, v, &hb);
  EXPECT_NEAR(a, b, 1e-6);
  EXPECT_LT(RelErr(gb, ga), 1e-5);
  EXPECT_LT(RelErr(hb, ha), 1e-5);
}

}  // namespace
}  // namespace ridgerider
