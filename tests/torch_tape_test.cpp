// The native tape of TorchScript objectives: for many formulas, the tape (default path) and
// LibTorch autograd (TorchDerivatives::kAutograd) must agree on value, gradient, HVP and dense
// Hessian to 1e-12 relative; untranslatable formulas fall back to autograd and still work;
// RIDGERIDER_TORCH_TAPE=0 forces autograd; NaN is EvalStatus::kNonFinite on the tape too.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "torch/torchscript_objective.hpp"

namespace ridgerider {
namespace {

struct Formula {
  const char* name;
  int dim;
  const char* source;
};

const std::vector<Formula>& Formulas() {
  static const std::vector<Formula> f = {
      {"neighbours", 4,
       "def f(x: Tensor) -> Tensor:\n    return (x[:-1]*x[1:]).sum() + (x**2).sum()\n"},
      {"gaussian", 3, "def f(x: Tensor) -> Tensor:\n    return torch.exp(-(x**2).sum())\n"},
      {"wells2d", 2,
       "def f(x: Tensor) -> Tensor:\n"
       "    return (x[0]**2 - 1)**2 + (x[1]**2 - 1)**2 + 0.5*x[0]*x[1] + 0.3*x[0]**2*x[1]\n"},
      {"tanh_log_sqrt", 2,
       "def f(x: Tensor) -> Tensor:\n"
       "    return torch.tanh(x[0]*x[1]) + torch.log(1 + x[0]**2) + torch.sqrt(1 + x[1]**2)\n"},
      {"division", 2,
       "def f(x: Tensor) -> Tensor:\n"
       "    return (x[0] + 2) / (1 + x[1]**2) - 3 / (2 + x[0]**2) + x[1] / 4\n"},
      {"tensor_pow", 2,
       "def f(x: Tensor) -> Tensor:\n"
       "    return (1.5 + x[0]**2) ** x[1] + 2 ** x[0] + x[1] ** 3 + torch.pow(x[0], 4)\n"},
      {"stacked", 3,
       "def f(x: Tensor) -> Tensor:\n"
       "    v = torch.stack([x[0]*x[1], x[1] - x[2], torch.sin(x[0])])\n"
       "    return (v*v).sum() + torch.dot(v, x) + torch.cat([v, x[1:]]).sum() ** 2\n"},
      {"smooth_activations", 3,
       "def f(x: Tensor) -> Tensor:\n"
       "    return torch.sigmoid(x[0]) * torch.softplus(x[1]) + "
       "torch.logsumexp(x, 0) + torch.softplus(2*x[2], 2.0, 3.0)\n"},
      {"mean_prod_cos_abs", 3,
       "def f(x: Tensor) -> Tensor:\n"
       "    return x.mean()**2 + torch.cat([x, x[1:]]).prod() + torch.cos(x).sum() + "
       "torch.abs(x[0] - 0.3) + x.sum(0) * x.mean(dim=0, keepdim=True).sum()\n"},
      {"arange_rosenbrock", 6,
       "def f(x: Tensor) -> Tensor:\n"
       "    w = torch.arange(1, x.shape[0] + 1, dtype=x.dtype)\n"
       "    r = (100*(x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2).sum()\n"
       "    return (w*x*x).sum() + 0.1*x.sum()**3 + r\n"},
      {"rsub_alpha_neg", 2,
       "def f(x: Tensor) -> Tensor:\n"
       "    return 1 - x[0] - torch.sub(x[1], x[0], alpha=2) + "
       "torch.add(x[0], x[1], alpha=0.5)**2 - (-x).sum()*x[1] + torch.neg(x[0])*x[0]\n"},
      {"matmul_square_recip", 2,
       "def f(x: Tensor) -> Tensor:\n"
       "    return (x @ x) * torch.tan(0.3*x[1]) + torch.square(x).sum() * "
       "torch.reciprocal(2 + x[0]**2) + torch.rsqrt(3 + x[1]**2)\n"},
      {"default_param_size", 3,
       "def f(x: Tensor, c: float = 0.7) -> Tensor:\n"
       "    n = x.size(0)\n"
       "    return c * (x ** 2).sum() / n + torch.sinh(x[0]) * torch.cosh(x[1]) + "
       "torch.expm1(x[2]) * torch.log1p(x[0]**2)\n"},
      {"constant_tensor", 3,
       "def f(x: Tensor) -> Tensor:\n"
       "    w = torch.tensor([1.0, -2.0, 0.5], dtype=x.dtype)\n"
       "    return (w * x).sum()**2 + (x[-1] * w[1:]).sum() + torch.relu(x[1] + 0.2)**2 + "
       "x.reshape(-1)[0] * x[2].unsqueeze(0).squeeze(0)\n"},
  };
  return f;
}

double Scale(double v) { return std::max(1.0, std::abs(v)); }

void ExpectClose(double got, double want, const std::string& what) {
  EXPECT_LE(std::abs(got - want), 1e-12 * Scale(want)) << what << ": " << got << " vs " << want;
}

void ExpectClose(const Vector& got, const Vector& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  const double scale = std::max(1.0, want.lpNorm<Eigen::Infinity>());
  EXPECT_LE((got - want).lpNorm<Eigen::Infinity>(), 1e-12 * scale)
      << what << ":\n" << got.transpose() << "\nvs\n" << want.transpose();
}

void ExpectClose(const Matrix& got, const Matrix& want, const std::string& what) {
  ASSERT_EQ(got.rows(), want.rows());
  ASSERT_EQ(got.cols(), want.cols());
  const double scale = std::max(1.0, want.lpNorm<Eigen::Infinity>());
  EXPECT_LE((got - want).lpNorm<Eigen::Infinity>(), 1e-12 * scale)
      << what << ":\n" << got << "\nvs\n" << want;
}

// Value, gradient, HVP and Hessian of `tape` and `ref` at x.
void Compare(Objective& tape, Objective& ref, const Vector& x, const Vector& v) {
  double ft = 0, fr = 0;
  ASSERT_EQ(tape.Value(x, &ft), EvalStatus::kOk);
  ASSERT_EQ(ref.Value(x, &fr), EvalStatus::kOk);
  ExpectClose(ft, fr, "value");
  Vector gt, gr;
  ASSERT_EQ(tape.ValueAndGradient(x, &ft, &gt), EvalStatus::kOk);
  ASSERT_EQ(ref.ValueAndGradient(x, &fr, &gr), EvalStatus::kOk);
  ExpectClose(ft, fr, "value with gradient");
  ExpectClose(gt, gr, "gradient");
  Matrix ht, hr;
  ASSERT_EQ(tape.Hessian(x, &ht), EvalStatus::kOk);
  ASSERT_EQ(ref.Hessian(x, &hr), EvalStatus::kOk);
  ExpectClose(ht, hr, "Hessian");
  Vector hvt, hvr;
  ASSERT_EQ(tape.Hvp(x, v, &hvt), EvalStatus::kOk);
  ASSERT_EQ(ref.Hvp(x, v, &hvr), EvalStatus::kOk);
  ExpectClose(hvt, hvr, "HVP");
  ExpectClose(hvt, ht * v, "HVP vs Hessian * v");
}

TEST(TorchTape, FormulasMatchAutograd) {
  std::mt19937 rng(20261204);
  std::uniform_real_distribution<double> uni(-1.2, 1.2);
  ASSERT_GE(Formulas().size(), 10u);
  for (const Formula& f : Formulas()) {
    SCOPED_TRACE(f.name);
    auto tape = MakeTorchScriptFromSource(f.source, f.dim);
    auto ref = MakeTorchScriptFromSource(f.source, f.dim, "", TorchDerivatives::kAutograd);
    EXPECT_TRUE(UsesNativeTape(*tape)) << f.name << " did not translate: " << tape->name();
    EXPECT_FALSE(UsesNativeTape(*ref));
    EXPECT_NE(tape->name().find("(native tape)"), std::string::npos) << tape->name();
    EXPECT_NE(ref->name().find("(autograd)"), std::string::npos) << ref->name();
    EXPECT_EQ(tape->dim(), f.dim);
    EXPECT_TRUE(tape->has_dense_hessian());
    for (int k = 0; k < 5; ++k) {
      Vector x(f.dim), v(f.dim);
      for (int i = 0; i < f.dim; ++i) {
        x[i] = uni(rng);
        v[i] = uni(rng);
      }
      SCOPED_TRACE(::testing::Message() << "x = " << x.transpose());
      Compare(*tape, *ref, x, v);
    }
  }
}

TEST(TorchTape, HelperFunctionsAreInlined) {
  // Calls of other TorchScript functions are inlined before translation.
  const char* src =
      "def g(t: Tensor) -> Tensor:\n"
      "    return torch.exp(0.5 * t)\n"
      "\n"
      "def f(x: Tensor) -> Tensor:\n"
      "    return g(x[0]) * x[1] + g(x).sum()\n";
  auto tape = MakeTorchScriptFromSource(src, 2, "f");
  auto ref = MakeTorchScriptFromSource(src, 2, "f", TorchDerivatives::kAutograd);
  EXPECT_TRUE(UsesNativeTape(*tape));
  Compare(*tape, *ref, (Vector(2) << 0.3, -0.9).finished(), Vector::Ones(2));
}

TEST(TorchTape, UnsupportedFormulasFallBackToAutograd) {
  // Control flow on a tensor value.
  auto branch = MakeTorchScriptFromSource(
      "def f(x: Tensor) -> Tensor:\n"
      "    if x[0] > 0:\n"
      "        return x[0]**2 + x[1]\n"
      "    return -x[0] + 3*x[1]\n",
      2);
  EXPECT_FALSE(UsesNativeTape(*branch));
  EXPECT_NE(branch->name().find("(autograd)"), std::string::npos) << branch->name();
  double f = 0;
  Vector g;
  ASSERT_EQ(branch->ValueAndGradient((Vector(2) << 2.0, 1.0).finished(), &f, &g), EvalStatus::kOk);
  EXPECT_NEAR(f, 5.0, 1e-12);
  EXPECT_NEAR(g[0], 4.0, 1e-12);
  ASSERT_EQ(branch->ValueAndGradient((Vector(2) << -2.0, 1.0).finished(), &f, &g),
            EvalStatus::kOk);
  EXPECT_NEAR(f, 5.0, 1e-12);
  EXPECT_NEAR(g[0], -1.0, 1e-12);

  // An op the tape does not know.
  auto sorted = MakeTorchScriptFromSource(
      "def f(x: Tensor) -> Tensor:\n"
      "    s = torch.sort(x)[0]\n"
      "    return s[0] * 2 + s[-1]**2\n",
      3);
  EXPECT_FALSE(UsesNativeTape(*sorted));
  ASSERT_EQ(sorted->ValueAndGradient((Vector(3) << 0.5, -1.0, 2.0).finished(), &f, &g),
            EvalStatus::kOk);
  EXPECT_NEAR(f, -2.0 + 4.0, 1e-12);
  EXPECT_NEAR(g[1], 2.0, 1e-12);
  EXPECT_NEAR(g[2], 4.0, 1e-12);
  Matrix h;
  ASSERT_EQ(sorted->Hessian((Vector(3) << 0.5, -1.0, 2.0).finished(), &h), EvalStatus::kOk);
  EXPECT_NEAR(h(2, 2), 2.0, 1e-12);

  // A value computed from x's data used as an index.
  auto dynamic_index = MakeTorchScriptFromSource(
      "def f(x: Tensor) -> Tensor:\n"
      "    return x[int(x[0])] * x[1]\n",
      2);
  EXPECT_FALSE(UsesNativeTape(*dynamic_index));

  // A float32 intermediate: Torch computes in float32, so the tape must not claim it.
  auto single = MakeTorchScriptFromSource(
      "def f(x: Tensor) -> Tensor:\n"
      "    return (x.float()**2).sum().double()\n",
      2);
  EXPECT_FALSE(UsesNativeTape(*single));
}

TEST(TorchTape, EnvironmentForcesAutograd) {
  const char* src = "def f(x: Tensor) -> Tensor: return (x**2).sum()";
  ASSERT_EQ(setenv("RIDGERIDER_TORCH_TAPE", "0", 1), 0);
  auto forced = MakeTorchScriptFromSource(src, 2);
  ASSERT_EQ(unsetenv("RIDGERIDER_TORCH_TAPE"), 0);
  auto normal = MakeTorchScriptFromSource(src, 2);
  EXPECT_FALSE(UsesNativeTape(*forced));
  EXPECT_TRUE(UsesNativeTape(*normal));
}

TEST(TorchTape, NaNIsNonFinite) {
  auto obj = MakeTorchScriptFromSource(
      "def f(x: Tensor) -> Tensor: return torch.log(x[0]) + x[1]**2", 2);
  ASSERT_TRUE(UsesNativeTape(*obj));
  const Vector bad = (Vector(2) << -1.0, 0.5).finished();
  double f = 0;
  Vector g, hv;
  Matrix h;
  EXPECT_EQ(obj->Value(bad, &f), EvalStatus::kNonFinite);
  EXPECT_TRUE(std::isnan(f));
  EXPECT_EQ(obj->ValueAndGradient(bad, &f, &g), EvalStatus::kNonFinite);
  // log's derivatives are finite at -1 (as in autograd); sqrt's are not.
  const char* sqrt_src = "def f(x: Tensor) -> Tensor: return torch.sqrt(x[0]) * x[1]";
  auto root = MakeTorchScriptFromSource(sqrt_src, 2);
  auto root_ref = MakeTorchScriptFromSource(sqrt_src, 2, "", TorchDerivatives::kAutograd);
  ASSERT_TRUE(UsesNativeTape(*root));
  EXPECT_EQ(root->Hessian(bad, &h), EvalStatus::kNonFinite);
  EXPECT_EQ(root_ref->Hessian(bad, &h), EvalStatus::kNonFinite);
  EXPECT_EQ(root->Hvp(bad, Vector::Ones(2), &hv), EvalStatus::kNonFinite);
  EXPECT_EQ(root->ValueAndGradient(bad, &f, &g), EvalStatus::kNonFinite);
  const Vector good = (Vector(2) << 2.0, 0.5).finished();
  EXPECT_EQ(obj->ValueAndGradient(good, &f, &g), EvalStatus::kOk);
  EXPECT_NEAR(f, std::log(2.0) + 0.25, 1e-14);
  EXPECT_NEAR(g[0], 0.5, 1e-14);
}

TEST(TorchTape, ConstantLossHasZeroDerivatives) {
  auto obj = MakeTorchScriptFromSource("def f(x: Tensor) -> Tensor: return torch.ones(1) * 3", 2);
  EXPECT_TRUE(UsesNativeTape(*obj));
  double f = 0;
  Vector g, hv;
  Matrix h;
  ASSERT_EQ(obj->ValueAndGradient(Vector::Ones(2), &f, &g), EvalStatus::kOk);
  EXPECT_EQ(f, 3.0);
  EXPECT_EQ(g.norm(), 0.0);
  ASSERT_EQ(obj->Hessian(Vector::Ones(2), &h), EvalStatus::kOk);
  EXPECT_EQ(h.norm(), 0.0);
  ASSERT_EQ(obj->Hvp(Vector::Ones(2), Vector::Ones(2), &hv), EvalStatus::kOk);
  EXPECT_EQ(hv.norm(), 0.0);
}

}  // namespace
}  // namespace ridgerider
