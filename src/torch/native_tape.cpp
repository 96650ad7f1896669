// The native tape evaluator. See native_tape.hpp.
#include "torch/native_tape.hpp"

#include <Eigen/Core>
#include <unsupported/Eigen/AutoDiff>

#include <algorithm>
#include <cmath>
#include <limits>

namespace ridgerider {
namespace {

using Inner = Eigen::AutoDiffScalar<Eigen::VectorXd>;
using InnerVec = Eigen::Matrix<Inner, Eigen::Dynamic, 1>;
using Outer = Eigen::AutoDiffScalar<InnerVec>;

template <class D>
using PlainAD = Eigen::AutoDiffScalar<typename Eigen::internal::remove_all<D>::type::PlainObject>;

// ---- Scalar helpers: a double overload, and an AutoDiff overload that applies the chain rule
// with the derivative written in terms of the level below (so nesting gives exact second
// derivatives). Derivative formulas follow Torch's backward formulas (e.g. tanh' = 1 - y^2).

inline double ValueOf(double v) { return v; }
template <class D>
double ValueOf(const Eigen::AutoDiffScalar<D>& a) {
  return ValueOf(a.value());
}

double Apply(TapeUnary u, double v, double p1, double p2) {
  switch (u) {
    case TapeUnary::kNeg: return -v;
    case TapeUnary::kExp: return std::exp(v);
    case TapeUnary::kLog: return std::log(v);
    case TapeUnary::kSin: return std::sin(v);
    case TapeUnary::kCos: return std::cos(v);
    case TapeUnary::kTan: return std::tan(v);
    case TapeUnary::kTanh: return std::tanh(v);
    case TapeUnary::kSigmoid: return 1.0 / (1.0 + std::exp(-v));
    case TapeUnary::kSqrt: return std::sqrt(v);
    case TapeUnary::kAbs: return std::abs(v);
    case TapeUnary::kSquare: return v * v;
    case TapeUnary::kRelu: return v > 0 ? v : 0.0;
    case TapeUnary::kReciprocal: return 1.0 / v;
    case TapeUnary::kRsqrt: return 1.0 / std::sqrt(v);
    case TapeUnary::kLog1p: return std::log1p(v);
    case TapeUnary::kExpm1: return std::expm1(v);
    case TapeUnary::kSinh: return std::sinh(v);
    case TapeUnary::kCosh: return std::cosh(v);
    case TapeUnary::kSoftplus: {
      const double bv = p1 * v;
      return bv > p2 ? v : std::log1p(std::exp(bv)) / p1;
    }
  }
  return std::numeric_limits<double>::quiet_NaN();
}

template <class D>
PlainAD<D> Apply(TapeUnary u, const Eigen::AutoDiffScalar<D>& a, double p1, double p2);

// d unary / dv at v (y = unary(v)), at the level of v's type.
template <class V>
V Deriv(TapeUnary u, const V& v, const V& y, double p1, double p2) {
  switch (u) {
    case TapeUnary::kNeg: return V(-1.0);
    case TapeUnary::kExp: return y;
    case TapeUnary::kLog: return 1.0 / v;
    case TapeUnary::kSin: return Apply(TapeUnary::kCos, v, 0, 0);
    case TapeUnary::kCos: return -Apply(TapeUnary::kSin, v, 0, 0);
    case TapeUnary::kTan: return 1.0 + y * y;
    case TapeUnary::kTanh: return 1.0 - y * y;
    case TapeUnary::kSigmoid: return (1.0 - y) * y;
    case TapeUnary::kSqrt: return 0.5 / y;
    case TapeUnary::kAbs: return V(0.0);  // handled by value branching
    case TapeUnary::kSquare: return 2.0 * v;
    case TapeUnary::kRelu: return V(0.0);  // handled by value branching
    case TapeUnary::kReciprocal: return -(y * y);
    case TapeUnary::kRsqrt: return -0.5 * y * y * y;
    case TapeUnary::kLog1p: return 1.0 / (1.0 + v);
    case TapeUnary::kExpm1: return y + 1.0;
    case TapeUnary::kSinh: return Apply(TapeUnary::kCosh, v, 0, 0);
    case TapeUnary::kCosh: return Apply(TapeUnary::kSinh, v, 0, 0);
    case TapeUnary::kSoftplus: {
      if (ValueOf(v) * p1 > p2) return V(1.0);
      const V z = Apply(TapeUnary::kExp, V(p1 * v), 0, 0);
      return z / (z + 1.0);
    }
  }
  return V(std::numeric_limits<double>::quiet_NaN());
}

template <class D>
PlainAD<D> Apply(TapeUnary u, const Eigen::AutoDiffScalar<D>& a, double p1, double p2) {
  using R = PlainAD<D>;
  using V = typename R::Scalar;
  const double v0 = ValueOf(a);
  switch (u) {
    case TapeUnary::kNeg: return R(-a);
    case TapeUnary::kAbs:  // Torch: sgn(0) = 0
      if (v0 < 0) return R(-a);
      if (v0 > 0) return R(a);
      return R(a * 0.0);
    case TapeUnary::kRelu: return v0 > 0 ? R(a) : R(a * 0.0);
    case TapeUnary::kSquare: return R(a * a);
    default: break;
  }
  const V v = a.value();
  const V y = Apply(u, v, p1, p2);
  const V dy = Deriv<V>(u, v, y, p1, p2);
  return R(y, a.derivatives() * dy);
}

// x ** c (c a compile-time exponent).
double PowTS(double v, double c) { return c == 0.0 ? 1.0 : std::pow(v, c); }
template <class D>
PlainAD<D> PowTS(const Eigen::AutoDiffScalar<D>& a, double c) {
  using R = PlainAD<D>;
  using V = typename R::Scalar;
  if (c == 0.0) return R(a * 0.0 + 1.0);
  if (c == 1.0) return R(a);
  if (c == 2.0) return R(a * a);
  const V v = a.value();
  return R(V(PowTS(v, c)), a.derivatives() * V(c * PowTS(v, c - 1.0)));
}

// c ** x (c a compile-time base). Torch: d/dx = c**x log c, 0 where c == 0.
double PowST(double c, double v) { return std::pow(c, v); }
template <class D>
PlainAD<D> PowST(double c, const Eigen::AutoDiffScalar<D>& a) {
  using R = PlainAD<D>;
  using V = typename R::Scalar;
  const V y = PowST(c, a.value());
  const V dy = c == 0.0 ? V(0.0) : V(y * std::log(c));
  return R(y, a.derivatives() * dy);
}

// a ** b, both varying. Torch: d/da = b a^(b-1); d/db = a^b log a, 0 where a == 0 and b >= 0.
double PowTT(double a, double b) { return std::pow(a, b); }
template <class D>
PlainAD<D> PowTT(const Eigen::AutoDiffScalar<D>& a, const Eigen::AutoDiffScalar<D>& b) {
  using R = PlainAD<D>;
  using V = typename R::Scalar;
  const V av = a.value(), bv = b.value();
  const V y = PowTT(av, bv);
  const V da = bv * PowTT(av, V(bv - 1.0));
  const V db = (ValueOf(av) == 0.0 && ValueOf(bv) >= 0.0)
                   ? V(0.0)
                   : V(y * Apply(TapeUnary::kLog, av, 0, 0));
  const auto& ga = a.derivatives();
  const auto& gb = b.derivatives();
  if (ga.size() == 0 && gb.size() == 0) return R(y);
  if (ga.size() == 0) return R(y, gb * db);
  if (gb.size() == 0) return R(y, ga * da);
  return R(y, ga * da + gb * db);
}

// ---- Binary dispatch: register/register, register/scalar, scalar/register.

template <class A, class B>
auto Binary(TapeOp op, const A& a, const B& b) {
  using T = std::conditional_t<std::is_same_v<A, double>, B, A>;
  switch (op) {
    case TapeOp::kAdd: return T(a + b);
    case TapeOp::kSub: return T(a - b);
    case TapeOp::kMul: return T(a * b);
    case TapeOp::kDiv: return T(a / b);
    case TapeOp::kPow:
      if constexpr (std::is_same_v<A, double> && std::is_same_v<B, double>) {
        return std::pow(a, b);
      } else if constexpr (std::is_same_v<B, double>) {
        return T(PowTS(a, b));
      } else if constexpr (std::is_same_v<A, double>) {
        return T(PowST(a, b));
      } else {
        return T(PowTT(a, b));
      }
    default: break;
  }
  return T(std::numeric_limits<double>::quiet_NaN());
}

template <class T>
T Lift(double c) {
  return T(c);
}

}  // namespace

template <class T>
T EvalTape(const TapeProgram& p, const std::vector<T>& x) {
  std::vector<std::vector<T>> regs(p.reg_len.size());
  regs[0] = x;
  for (const auto& [reg, values] : p.constants) {
    auto& r = regs[reg];
    r.clear();
    r.reserve(values.size());
    for (double v : values) r.push_back(Lift<T>(v));
  }
  for (const TapeInstr& in : p.code) {
    std::vector<T>& out = regs[in.out];
    const int n = p.reg_len[in.out];
    out.clear();
    out.reserve(n);
    switch (in.op) {
      case TapeOp::kGather: {
        const std::vector<T>& a = regs[in.a.reg];
        for (int i : in.idx) out.push_back(a[i]);
        break;
      }
      case TapeOp::kConcat:
        for (int r : in.idx) out.insert(out.end(), regs[r].begin(), regs[r].end());
        break;
      case TapeOp::kCopy: {
        const std::vector<T>& a = regs[in.a.reg];
        const bool bc = a.size() == 1;
        for (int i = 0; i < n; ++i) out.push_back(a[bc ? 0 : i]);
        break;
      }
      case TapeOp::kAdd:
      case TapeOp::kSub:
      case TapeOp::kMul:
      case TapeOp::kDiv:
      case TapeOp::kPow: {
        const bool ra = in.a.reg >= 0, rb = in.b.reg >= 0;
        const std::vector<T>* a = ra ? &regs[in.a.reg] : nullptr;
        const std::vector<T>* b = rb ? &regs[in.b.reg] : nullptr;
        const bool ba = ra && a->size() == 1, bb = rb && b->size() == 1;
        for (int i = 0; i < n; ++i) {
          if (ra && rb) {
            out.push_back(Binary(in.op, (*a)[ba ? 0 : i], (*b)[bb ? 0 : i]));
          } else if (ra) {
            out.push_back(Binary(in.op, (*a)[ba ? 0 : i], in.b.scalar));
          } else {
            out.push_back(Binary(in.op, in.a.scalar, (*b)[bb ? 0 : i]));
          }
        }
        break;
      }
      case TapeOp::kUnary: {
        for (const T& v : regs[in.a.reg]) out.push_back(T(Apply(in.unary, v, in.p1, in.p2)));
        break;
      }
      case TapeOp::kSum:
      case TapeOp::kMean:
      case TapeOp::kProd: {
        const std::vector<T>& a = regs[in.a.reg];
        const bool prod = in.op == TapeOp::kProd;
        T acc = a.empty() ? Lift<T>(prod ? 1.0 : 0.0) : a[0];
        for (size_t i = 1; i < a.size(); ++i) acc = prod ? T(acc * a[i]) : T(acc + a[i]);
        if (in.op == TapeOp::kMean) {
          acc = a.empty() ? Lift<T>(std::numeric_limits<double>::quiet_NaN())
                          : T(acc / static_cast<double>(a.size()));
        }
        out.push_back(acc);
        break;
      }
      case TapeOp::kDot: {
        const std::vector<T>& a = regs[in.a.reg];
        const std::vector<T>& b = regs[in.b.reg];
        T acc = a.empty() ? Lift<T>(0.0) : T(a[0] * b[0]);
        for (size_t i = 1; i < a.size(); ++i) acc = T(acc + a[i] * b[i]);
        out.push_back(acc);
        break;
      }
      case TapeOp::kLogSumExp: {
        const std::vector<T>& a = regs[in.a.reg];
        double m = -std::numeric_limits<double>::infinity();
        for (const T& v : a) m = std::max(m, ValueOf(v));
        if (!std::isfinite(m)) m = 0.0;
        T acc = Lift<T>(0.0);
        for (size_t i = 0; i < a.size(); ++i) {
          T e = Apply(TapeUnary::kExp, T(a[i] - m), 0, 0);
          acc = i == 0 ? e : T(acc + e);
        }
        out.push_back(T(Apply(TapeUnary::kLog, acc, 0, 0) + m));
        break;
      }
    }
  }
  return regs[p.out_reg][0];
}

template double EvalTape<double>(const TapeProgram&, const std::vector<double>&);
template Inner EvalTape<Inner>(const TapeProgram&, const std::vector<Inner>&);
template Outer EvalTape<Outer>(const TapeProgram&, const std::vector<Outer>&);

// ---- TapeObjective -----------------------------------------------------------------------------

TapeObjective::TapeObjective(std::shared_ptr<const TapeProgram> program, std::string name)
    : program_(std::move(program)), name_(std::move(name)) {}

EvalStatus TapeObjective::DoValue(const Vector& x, double* f) {
  *f = EvalTape<double>(*program_, std::vector<double>(x.data(), x.data() + x.size()));
  return EvalStatus::kOk;
}

EvalStatus TapeObjective::DoValueAndGradient(const Vector& x, double* f, Vector* g) {
  const int d = dim();
  std::vector<Inner> xa(d);
  for (int i = 0; i < d; ++i) xa[i] = Inner(x[i], d, i);
  const Inner y = EvalTape<Inner>(*program_, xa);
  *f = y.value();
  if (y.derivatives().size() == d) {
    *g = y.derivatives();
  } else {
    g->setZero(d);  // a loss constant in x carries no derivative vector
  }
  return EvalStatus::kOk;
}

EvalStatus TapeObjective::DoHessian(const Vector& x, Matrix* h) {
  const int d = dim();
  std::vector<Outer> xa(d);
  for (int i = 0; i < d; ++i) {
    xa[i].value() = Inner(x[i], d, i);
    xa[i].derivatives() = InnerVec(d);
    for (int j = 0; j < d; ++j) {
      xa[i].derivatives()[j] = Inner(i == j ? 1.0 : 0.0, Eigen::VectorXd::Zero(d));
    }
  }
  const Outer y = EvalTape<Outer>(*program_, xa);
  h->setZero(d, d);
  if (y.derivatives().size() != d) return EvalStatus::kOk;
  for (int i = 0; i < d; ++i) {
    const auto& row = y.derivatives()[i].derivatives();
    if (row.size() == d) h->row(i) = row.transpose();
  }
  Matrix sym = 0.5 * (*h + h->transpose());
  *h = std::move(sym);
  return EvalStatus::kOk;
}

// Forward over forward along v: the outer derivative is grad f . v (an Inner), whose inner
// derivatives are H v.
EvalStatus TapeObjective::DoHvp(const Vector& x, const Vector& v, Vector* out) {
  const int d = dim();
  std::vector<Outer> xa(d);
  for (int i = 0; i < d; ++i) {
    xa[i].value() = Inner(x[i], d, i);
    xa[i].derivatives() = InnerVec(1);
    xa[i].derivatives()[0] = Inner(v[i], Eigen::VectorXd::Zero(d));
  }
  const Outer y = EvalTape<Outer>(*program_, xa);
  out->setZero(d);
  if (y.derivatives().size() == 1 && y.derivatives()[0].derivatives().size() == d) {
    *out = y.derivatives()[0].derivatives();
  }
  return EvalStatus::kOk;
}

}  // namespace ridgerider
