// TorchScript objectives: autograd derivatives against closed forms, evaluation counts, graph
// cache invalidation, .pt and source files, and one-line InputErrors for bad input.
#include "torch/torchscript_objective.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "ridgerider/errors.hpp"

#ifndef RIDGERIDER_PYTHON
#define RIDGERIDER_PYTHON "/usr/bin/python3"
#endif

namespace ridgerider {
namespace {

constexpr double kTol = 1e-10;

// ---- Closed forms ------------------------------------------------------------------------------

// f1(x) = (x0^2 - 1)^2 + 2 x1^2 + 0.5 x0 x1
const char* kPolySource =
    "def f(x: Tensor) -> Tensor:\n"
    "    return (x[0]**2 - 1)**2 + 2*x[1]**2 + 0.5*x[0]*x[1]\n";

struct Closed {
  double f;
  Vector g;
  Matrix h;
};

Closed Poly(const Vector& x) {
  const double a = x[0], b = x[1];
  Closed c;
  c.f = (a * a - 1) * (a * a - 1) + 2 * b * b + 0.5 * a * b;
  c.g = Vector(2);
  c.g << 4 * a * (a * a - 1) + 0.5 * b, 4 * b + 0.5 * a;
  c.h = Matrix(2, 2);
  c.h << 12 * a * a - 4, 0.5, 0.5, 4;
  return c;
}

// f2(x) = tanh(x0 x1) + exp(0.5 x2) + log(1 + x0^2), with a helper function defined after f.
const char* kTranscendentalSource =
    "def f(x: Tensor) -> Tensor:\n"
    "    return torch.tanh(x[0] * x[1]) + torch.exp(0.5 * x[2]) + helper(x[0])\n"
    "\n"
    "def helper(t: Tensor) -> Tensor:\n"
    "    return torch.log(1 + t * t)\n";

Closed Transcendental(const Vector& x) {
  const double a = x[0], b = x[1], c = x[2];
  const double t = std::tanh(a * b), s = 1 - t * t, e = std::exp(0.5 * c), q = 1 + a * a;
  Closed r;
  r.f = t + e + std::log(q);
  r.g = Vector(3);
  r.g << b * s + 2 * a / q, a * s, 0.5 * e;
  r.h = Matrix::Zero(3, 3);
  r.h(0, 0) = -2 * t * s * b * b + (2 - 2 * a * a) / (q * q);
  r.h(0, 1) = r.h(1, 0) = s - 2 * t * s * a * b;
  r.h(1, 1) = -2 * t * s * a * a;
  r.h(2, 2) = 0.25 * e;
  return r;
}

void ExpectNear(const Vector& a, const Vector& b, double tol) {
  ASSERT_EQ(a.size(), b.size());
  EXPECT_LE((a - b).lpNorm<Eigen::Infinity>(), tol) << "got " << a.transpose() << "\nwant "
                                                    << b.transpose();
}

void ExpectNear(const Matrix& a, const Matrix& b, double tol) {
  ASSERT_EQ(a.rows(), b.rows());
  ASSERT_EQ(a.cols(), b.cols());
  EXPECT_LE((a - b).lpNorm<Eigen::Infinity>(), tol) << "got\n" << a << "\nwant\n" << b;
}

// Checks value, gradient, HVP and Hessian of `obj` at x against the closed form.
void CheckAgainst(Objective& obj, const Vector& x, const Closed& want) {
  double f = 0;
  ASSERT_EQ(obj.Value(x, &f), EvalStatus::kOk);
  EXPECT_NEAR(f, want.f, kTol);
  Vector g;
  ASSERT_EQ(obj.ValueAndGradient(x, &f, &g), EvalStatus::kOk);
  EXPECT_NEAR(f, want.f, kTol);
  ExpectNear(g, want.g, kTol);
  Vector v = Vector::LinSpaced(x.size(), -1.0, 2.0), hv;
  ASSERT_EQ(obj.Hvp(x, v, &hv), EvalStatus::kOk);
  ExpectNear(hv, want.h * v, kTol);
  Matrix h;
  ASSERT_EQ(obj.Hessian(x, &h), EvalStatus::kOk);
  ExpectNear(h, want.h, kTol);
  EXPECT_EQ((h - h.transpose()).norm(), 0.0);
}

// Fresh points where nothing is cached yet: each operation first at its own point.
void CheckColdStart(const std::string& source, int dim, Closed (*closed)(const Vector&),
                    const Vector& x) {
  {
    auto obj = MakeTorchScriptFromSource(source, dim);
    Vector hv, v = Vector::Ones(dim);
    ASSERT_EQ(obj->Hvp(x, v, &hv), EvalStatus::kOk);
    ExpectNear(hv, closed(x).h * v, kTol);
  }
  {
    auto obj = MakeTorchScriptFromSource(source, dim);
    Matrix h;
    ASSERT_EQ(obj->Hessian(x, &h), EvalStatus::kOk);
    ExpectNear(h, closed(x).h, kTol);
  }
}

// ---- Derivatives ---------------------------------------------------------------------------------

TEST(TorchScriptObjective, PolynomialMatchesClosedForm) {
  auto obj = MakeTorchScriptFromSource(kPolySource, 2);
  EXPECT_EQ(obj->dim(), 2);
  EXPECT_TRUE(obj->has_dense_hessian());
  EXPECT_NE(obj->name().find("f"), std::string::npos);
  for (const Vector& x : {Vector(Vector::Zero(2)), Vector(Vector::Constant(2, 0.7)),
                          Vector((Vector(2) << -1.3, 2.25).finished())}) {
    SCOPED_TRACE(::testing::Message() << "x = " << x.transpose());
    CheckAgainst(*obj, x, Poly(x));
  }
  CheckColdStart(kPolySource, 2, Poly, (Vector(2) << 0.3, -0.8).finished());
}

TEST(TorchScriptObjective, TranscendentalMatchesClosedForm) {
  auto obj = MakeTorchScriptFromSource(kTranscendentalSource, 3);
  for (const Vector& x : {Vector(Vector::Zero(3)), Vector((Vector(3) << 0.4, -1.1, 0.9).finished()),
                          Vector((Vector(3) << -2.0, 0.3, -1.5).finished())}) {
    SCOPED_TRACE(::testing::Message() << "x = " << x.transpose());
    CheckAgainst(*obj, x, Transcendental(x));
  }
  CheckColdStart(kTranscendentalSource, 3, Transcendental,
                 (Vector(3) << 0.5, 0.25, -0.5).finished());
}

TEST(TorchScriptObjective, FunctionSelectedByName) {
  // "helper" takes one tensor too: selecting it by name gives log(1 + x0^2).
  auto obj = MakeTorchScriptFromSource(kTranscendentalSource, 1, "helper");
  Vector x(1), g;
  x << 0.5;
  double f = 0;
  ASSERT_EQ(obj->ValueAndGradient(x, &f, &g), EvalStatus::kOk);
  EXPECT_NEAR(f, std::log(1.25), kTol);
  EXPECT_NEAR(g[0], 1.0 / 1.25, kTol);
  try {
    MakeTorchScriptFromSource(kPolySource, 2, "nope");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos) << e.what();
  }
}

TEST(TorchScriptObjective, LinearAndConstantFunctionsHaveZeroCurvature) {
  // The gradient of a linear function does not depend on x; a constant has no graph at all.
  auto lin = MakeTorchScriptFromSource("def f(x: Tensor) -> Tensor: return 3*x[0] - x[1]", 2);
  auto cst = MakeTorchScriptFromSource("def f(x: Tensor) -> Tensor: return torch.ones(1)", 2);
  Vector x = Vector::Constant(2, 0.5), g, hv;
  Matrix h;
  double f = 0;
  ASSERT_EQ(lin->ValueAndGradient(x, &f, &g), EvalStatus::kOk);
  EXPECT_NEAR(f, 1.0, kTol);
  ExpectNear(g, (Vector(2) << 3, -1).finished(), kTol);
  ASSERT_EQ(lin->Hessian(x, &h), EvalStatus::kOk);
  EXPECT_EQ(h.norm(), 0.0);
  ASSERT_EQ(cst->ValueAndGradient(x, &f, &g), EvalStatus::kOk);
  EXPECT_EQ(f, 1.0);
  EXPECT_EQ(g.norm(), 0.0);
  ASSERT_EQ(cst->Hvp(x, Vector::Ones(2), &hv), EvalStatus::kOk);
  EXPECT_EQ(hv.norm(), 0.0);
}

// ---- Counts and cache ------------------------------------------------------------------------------

TEST(TorchScriptObjective, CountsFollowObjectiveContract) {
  auto obj = MakeTorchScriptFromSource(kPolySource, 2);
  // Validation in the factory is not counted.
  EXPECT_EQ(obj->counts().values, 0);
  EXPECT_EQ(obj->counts().gradients, 0);
  EXPECT_EQ(obj->counts().hvps, 0);
  EXPECT_EQ(obj->counts().hessians, 0);
  Vector x = Vector::Constant(2, 0.1), g, hv;
  Matrix h;
  double f = 0;
  obj->Value(x, &f);
  obj->Value(x, &f);
  obj->ValueAndGradient(x, &f, &g);
  obj->Hvp(x, x, &hv);
  obj->Hvp(x, x, &hv);
  obj->Hvp(x, x, &hv);
  obj->Hessian(x, &h);  // a dense Hessian is one count, not d HVPs
  EXPECT_EQ(obj->counts().values, 2);
  EXPECT_EQ(obj->counts().gradients, 1);
  EXPECT_EQ(obj->counts().hvps, 3);
  EXPECT_EQ(obj->counts().hessians, 1);
  obj->ResetCounts();
  EXPECT_EQ(obj->counts().hvps, 0);
}

TEST(TorchScriptObjective, CachedGraphMatchesFreshEvaluation) {
  auto cached = MakeTorchScriptFromSource(kTranscendentalSource, 3);
  const Vector x1 = (Vector(3) << 0.4, -1.1, 0.9).finished();
  const Vector x2 = (Vector(3) << -0.7, 0.2, -0.3).finished();
  const Vector v = (Vector(3) << 1.0, -2.0, 0.5).finished();
  for (const Vector* x : {&x1, &x2, &x1, &x2, &x2, &x1}) {
    SCOPED_TRACE(::testing::Message() << "x = " << x->transpose());
    auto fresh = MakeTorchScriptFromSource(kTranscendentalSource, 3);
    double fc = 0, ff = 0;
    Vector gc, gf, hvc, hvf;
    Matrix hc, hf;
    // Cached object: HVP first (builds or reuses), then the rest on the same graph.
    ASSERT_EQ(cached->Hvp(*x, v, &hvc), EvalStatus::kOk);
    ASSERT_EQ(cached->ValueAndGradient(*x, &fc, &gc), EvalStatus::kOk);
    ASSERT_EQ(cached->Hessian(*x, &hc), EvalStatus::kOk);
    ASSERT_EQ(fresh->ValueAndGradient(*x, &ff, &gf), EvalStatus::kOk);
    ASSERT_EQ(fresh->Hvp(*x, v, &hvf), EvalStatus::kOk);
    ASSERT_EQ(fresh->Hessian(*x, &hf), EvalStatus::kOk);
    EXPECT_EQ(fc, ff);
    EXPECT_EQ(gc, gf);
    EXPECT_EQ(hvc, hvf);
    EXPECT_EQ(hc, hf);
    const Closed want = Transcendental(*x);
    EXPECT_NEAR(fc, want.f, kTol);
    ExpectNear(hc, want.h, kTol);
  }
  // The same vector object mutated in place is a new point.
  Vector x = x1;
  double f1 = 0, f2 = 0;
  Vector g1, g2;
  ASSERT_EQ(cached->ValueAndGradient(x, &f1, &g1), EvalStatus::kOk);
  x[0] = 1.5;
  ASSERT_EQ(cached->ValueAndGradient(x, &f2, &g2), EvalStatus::kOk);
  EXPECT_NEAR(f2, Transcendental(x).f, kTol);
  ExpectNear(g2, Transcendental(x).g, kTol);
  // -0.0 and +0.0 differ bytewise: a cache miss that must give the same numbers.
  Vector z = Vector::Zero(3), zm = -Vector::Zero(3);
  double fz = 0, fzm = 0;
  Vector gz, gzm;
  ASSERT_EQ(cached->ValueAndGradient(z, &fz, &gz), EvalStatus::kOk);
  ASSERT_EQ(cached->ValueAndGradient(zm, &fzm, &gzm), EvalStatus::kOk);
  EXPECT_EQ(fz, fzm);
  EXPECT_EQ(gz, gzm);
  ASSERT_EQ(cached->ValueAndGradient(x, &f2, &g2), EvalStatus::kOk);
  // A value-only call at another point leaves the cached graph intact.
  double fv = 0;
  ASSERT_EQ(cached->Value(x2, &fv), EvalStatus::kOk);
  EXPECT_NEAR(fv, Transcendental(x2).f, kTol);
  Matrix h;
  ASSERT_EQ(cached->Hessian(x, &h), EvalStatus::kOk);
  ExpectNear(h, Transcendental(x).h, kTol);
}

TEST(TorchScriptObjective, LargerDimensionHvpAndHessian) {
  // f = sum_i (i+1) x_i^2 + 0.1 (sum_i x_i)^3: H = diag(2(i+1)) + 0.6 s 11^T.
  const int d = 6;
  auto obj = MakeTorchScriptFromSource(
      "def f(x: Tensor) -> Tensor:\n"
      "    w = torch.arange(1, x.shape[0] + 1, dtype=x.dtype)\n"
      "    return (w * x * x).sum() + 0.1 * x.sum() ** 3\n",
      d);
  Vector x = Vector::LinSpaced(d, -0.5, 0.8);
  const double s = x.sum();
  Matrix want = Matrix::Constant(d, d, 0.6 * s);
  for (int i = 0; i < d; ++i) want(i, i) += 2.0 * (i + 1);
  Matrix h;
  ASSERT_EQ(obj->Hessian(x, &h), EvalStatus::kOk);
  ExpectNear(h, want, kTol);
  Vector v = Vector::LinSpaced(d, 1.0, -1.0), hv;
  ASSERT_EQ(obj->Hvp(x, v, &hv), EvalStatus::kOk);
  ExpectNear(hv, want * v, kTol);
}

// ---- Non-finite and failing evaluations ------------------------------------------------------------

TEST(TorchScriptObjective, NaNIsNonFiniteNotError) {
  auto obj = MakeTorchScriptFromSource("def f(x: Tensor) -> Tensor: return torch.log(x[0]) + x[1]",
                                       2);
  Vector x(2), g;
  x << -1.0, 0.0;
  double f = 0;
  EXPECT_EQ(obj->Value(x, &f), EvalStatus::kNonFinite);
  EXPECT_TRUE(std::isnan(f));
  EXPECT_EQ(obj->ValueAndGradient(x, &f, &g), EvalStatus::kNonFinite);
  x << 2.0, 0.0;
  EXPECT_EQ(obj->Value(x, &f), EvalStatus::kOk);
  EXPECT_NEAR(f, std::log(2.0), kTol);
}

TEST(TorchScriptObjective, RuntimeFailureIsFailedStatus) {
  // Index computed from the data: fine at x = 0, out of range at x0 = 5.
  auto obj = MakeTorchScriptFromSource(
      "def f(x: Tensor) -> Tensor:\n"
      "    i = int(x[0])\n"
      "    return x[i] * x[1]\n",
      2);
  Vector x(2), g, hv;
  Matrix h;
  x << 5.0, 1.0;
  double f = 0;
  EXPECT_EQ(obj->Value(x, &f), EvalStatus::kFailed);
  EXPECT_EQ(obj->ValueAndGradient(x, &f, &g), EvalStatus::kFailed);
  EXPECT_EQ(obj->Hvp(x, x, &hv), EvalStatus::kFailed);
  EXPECT_EQ(obj->Hessian(x, &h), EvalStatus::kFailed);
  x << 1.0, 3.0;  // x[1] * x[1]
  EXPECT_EQ(obj->ValueAndGradient(x, &f, &g), EvalStatus::kOk);
  EXPECT_NEAR(f, 9.0, kTol);
  EXPECT_NEAR(g[1], 6.0, kTol);
}

// ---- Bad input ---------------------------------------------------------------------------------------

std::string InputErrorOf(const std::function<void()>& make) {
  try {
    make();
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "multi-line message: " << msg;
    EXPECT_FALSE(msg.empty());
    return msg;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected InputError, got another exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected InputError, nothing thrown";
  return "";
}

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(TorchScriptObjectiveErrors, CompileErrorCarriesTorchScriptMessage) {
  std::string msg = InputErrorOf([] {
    MakeTorchScriptFromSource("def f(x: Tensor) -> Tensor:\n    return y + x.sum()\n", 2);
  });
  EXPECT_TRUE(Contains(msg, "undefined value y")) << msg;
  EXPECT_TRUE(Contains(msg, "line 2")) << msg;
  msg = InputErrorOf(
      [] { MakeTorchScriptFromSource("def f(x: Tensor) -> Tensor: return (x[0]**2 - 1", 2); });
  EXPECT_TRUE(Contains(msg, "expected")) << msg;
  msg = InputErrorOf([] { MakeTorchScriptFromSource("x = 1\n", 2); });
  EXPECT_FALSE(msg.empty());
}

TEST(TorchScriptObjectiveErrors, NonScalarResult) {
  std::string msg =
      InputErrorOf([] { MakeTorchScriptFromSource("def f(x: Tensor) -> Tensor: return 2*x", 3); });
  EXPECT_TRUE(Contains(msg, "scalar")) << msg;
  EXPECT_TRUE(Contains(msg, "3")) << msg;  // the shape
  msg = InputErrorOf([] {
    MakeTorchScriptFromSource("def f(x: Tensor) -> float: return float(x[0])", 2);
  });
  EXPECT_TRUE(Contains(msg, "scalar")) << msg;
}

TEST(TorchScriptObjectiveErrors, WrongSignature) {
  std::string msg = InputErrorOf(
      [] { MakeTorchScriptFromSource("def f(x: float) -> Tensor: return torch.ones(1)", 2); });
  EXPECT_TRUE(Contains(msg, "one Tensor")) << msg;
  msg = InputErrorOf([] {
    MakeTorchScriptFromSource("def f(x: Tensor, y: Tensor) -> Tensor: return (x*y).sum()", 2);
  });
  EXPECT_TRUE(Contains(msg, "one Tensor")) << msg;
  // A further parameter with a default is fine.
  auto obj =
      MakeTorchScriptFromSource("def f(x: Tensor, c: float = 2.0) -> Tensor: return c*x.sum()", 2);
  double f = 0;
  ASSERT_EQ(obj->Value(Vector::Ones(2), &f), EvalStatus::kOk);
  EXPECT_NEAR(f, 4.0, kTol);
}

TEST(TorchScriptObjectiveErrors, DimensionTooSmall) {
  std::string msg = InputErrorOf([] {
    MakeTorchScriptFromSource("def f(x: Tensor) -> Tensor: return x[0] * x[3]", 2);
  });
  EXPECT_TRUE(Contains(msg, "dim")) << msg;
  EXPECT_TRUE(Contains(msg, "2")) << msg;
  EXPECT_TRUE(Contains(msg, "index 3")) << msg;  // Torch's own reason
  msg = InputErrorOf([] { MakeTorchScriptFromSource(kPolySource, 0); });
  EXPECT_TRUE(Contains(msg, "dimension")) << msg;
}

TEST(TorchScriptObjectiveErrors, MissingFileNamesPath) {
  const std::string path = "/nonexistent/dir/loss_that_is_missing.pt";
  std::string msg = InputErrorOf([&] { MakeTorchScriptFromFile(path, 2); });
  EXPECT_TRUE(Contains(msg, path)) << msg;
}

// ---- Files -----------------------------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rr_torch_XXXXXX").string();
    if (char* p = mkdtemp(tmpl.data())) path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

TEST(TorchScriptObjectiveFiles, SourceTextFile) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string py = dir.path() + "/loss.py";
  WriteFile(py, std::string("import torch\nfrom torch import Tensor\n\n\n@torch.jit.script\n") +
                    kPolySource);
  auto obj = MakeTorchScriptFromFile(py, 2);
  const Vector x = (Vector(2) << 0.9, -0.4).finished();
  CheckAgainst(*obj, x, Poly(x));

  const std::string bad = dir.path() + "/bad.ts";
  WriteFile(bad, "import torch\n\ndef f(x: Tensor) -> Tensor:\n    return y\n");
  std::string msg = InputErrorOf([&] { MakeTorchScriptFromFile(bad, 2); });
  EXPECT_TRUE(Contains(msg, bad)) << msg;
  EXPECT_TRUE(Contains(msg, "undefined value y")) << msg;
  EXPECT_TRUE(Contains(msg, "line 4")) << msg;  // line numbers survive the stripped import

  const std::string junk = dir.path() + "/junk.pt";
  WriteFile(junk, std::string("PK\x03\x04", 4) + "not really a zip archive");
  msg = InputErrorOf([&] { MakeTorchScriptFromFile(junk, 2); });
  EXPECT_TRUE(Contains(msg, junk)) << msg;
}

// Writes fn.pt (torch.jit.script of a function) and mod.pt (a scripted module with float32
// parameters) with the Python torch; false if that Python or its torch is unavailable.
bool MakePtFixtures(const std::string& dir, std::string* log) {
  const std::string script = dir + "/make_fixture_pt.py";
  WriteFile(script,
            "import sys\n"
            "import torch\n"
            "from torch import Tensor\n"
            "\n"
            "def f(x: Tensor) -> Tensor:\n"
            "    return (x[0]**2 - 1)**2 + 2*x[1]**2 + 0.5*x[0]*x[1]\n"
            "\n"
            "class M(torch.nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.a = torch.nn.Parameter(torch.tensor([1.0, 2.0]))\n"
            "\n"
            "    def forward(self, x: Tensor) -> Tensor:\n"
            "        return (self.a * x * x).sum() + torch.sin(x[0])\n"
            "\n"
            "torch.jit.save(torch.jit.script(f), sys.argv[1] + '/fn.pt')\n"
            "torch.jit.save(torch.jit.script(M()), sys.argv[1] + '/mod.pt')\n");
  const std::string out = dir + "/python.log";
  const std::string cmd =
      std::string(RIDGERIDER_PYTHON) + " " + script + " " + dir + " > " + out + " 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(out);
  log->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return rc == 0 && std::filesystem::exists(dir + "/fn.pt") &&
         std::filesystem::exists(dir + "/mod.pt");
}

TEST(TorchScriptObjectiveFiles, PtArchivesFromPython) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string log;
  if (!MakePtFixtures(dir.path(), &log)) {
    GTEST_SKIP() << "could not create .pt fixtures with " << RIDGERIDER_PYTHON
                 << " (python3-torch missing?): " << log;
  }
  auto fn = MakeTorchScriptFromFile(dir.path() + "/fn.pt", 2);
  for (const Vector& x : {Vector((Vector(2) << 0.9, -0.4).finished()),
                          Vector((Vector(2) << -1.7, 0.6).finished())}) {
    CheckAgainst(*fn, x, Poly(x));
  }

  // Module: a0 x0^2 + a1 x1^2 + sin(x0) with a = (1, 2), run in float64.
  auto mod = MakeTorchScriptFromFile(dir.path() + "/mod.pt", 2);
  const Vector x = (Vector(2) << 0.3, -0.7).finished();
  Closed want;
  want.f = x[0] * x[0] + 2 * x[1] * x[1] + std::sin(x[0]);
  want.g = (Vector(2) << 2 * x[0] + std::cos(x[0]), 4 * x[1]).finished();
  want.h = (Matrix(2, 2) << 2 - std::sin(x[0]), 0, 0, 4).finished();
  CheckAgainst(*mod, x, want);

  std::string msg = InputErrorOf([&] { MakeTorchScriptFromFile(dir.path() + "/fn.pt", 1); });
  EXPECT_TRUE(Contains(msg, "dim = 1")) << msg;
}

}  // namespace
}  // namespace ridgerider
