// A one-hidden-layer tanh network fitted by least squares to synthetic data, with analytic
// gradient (backprop) and Hessian-vector product (Pearlmutter's R-operator): a network-shaped
// loss of any size whose HVP costs about two gradients and never forms the Hessian. The tests
// and benchmarks of the matrix-free spectrum use it (d = h (p + 1) + o (h + 1)).
//
//   L(theta) = 1/(2n) sum_k |W2 tanh(W1 x_k + b1) + b2 - y_k|^2 + wd/2 |theta|^2
//   theta = [W1 (h x p, column-major), b1 (h), W2 (o x h, column-major), b2 (o)]
//
// The targets come from a random teacher network of the same shape plus noise, all drawn from a
// fixed seed, so every run sees the same loss.
#pragma once

#include <cmath>
#include <memory>
#include <string>

#include "ridgerider/objective.hpp"
#include "ridgerider/rng.hpp"

namespace ridgerider {

struct TanhMlpShape {
  int inputs = 8;    // p
  int hidden = 16;   // h
  int outputs = 3;   // o
  int samples = 64;  // n
  double weight_decay = 1e-3;
  std::uint64_t seed = 1;
  int dim() const { return hidden * (inputs + 1) + outputs * (hidden + 1); }
};

class TanhMlpObjective : public Objective {
 public:
  explicit TanhMlpObjective(const TanhMlpShape& shape) : s_(shape) {
    KeyedRng rng(s_.seed, 0);
    x_ = Matrix(s_.inputs, s_.samples);
    for (int j = 0; j < s_.samples; ++j)
      for (int i = 0; i < s_.inputs; ++i) x_(i, j) = rng.Normal();
    // Teacher: same shape, weights ~ N(0, 1/fan_in), plus 0.1 noise on the targets.
    const Vector teacher = InitialPoint(s_, s_.seed + 1, 1.0);
    Matrix a, yhat;
    Forward(teacher, &a, &yhat);
    y_ = yhat;
    for (int j = 0; j < s_.samples; ++j)
      for (int i = 0; i < s_.outputs; ++i) y_(i, j) += 0.1 * rng.Normal();
  }

  // Weights ~ N(0, scale^2 / fan_in), biases 0.
  static Vector InitialPoint(const TanhMlpShape& s, std::uint64_t seed, double scale) {
    KeyedRng rng(seed, 0);
    Vector th = Vector::Zero(s.dim());
    const int w1 = s.hidden * s.inputs, w2 = s.outputs * s.hidden;
    for (int i = 0; i < w1; ++i) th[i] = scale * rng.Normal() / std::sqrt(double(s.inputs));
    for (int i = 0; i < w2; ++i) th[w1 + s.hidden + i] = scale * rng.Normal() / std::sqrt(double(s.hidden));
    return th;
  }

  int dim() const override { return s_.dim(); }
  std::string name() const override { return "tanh-mlp"; }
  std::unique_ptr<Objective> Clone() const override { return std::make_unique<TanhMlpObjective>(*this); }
  const TanhMlpShape& shape() const { return s_; }

 protected:
  EvalStatus DoValueAndGradient(const Vector& th, double* f, Vector* g) override {
    Matrix a, yhat;
    Forward(th, &a, &yhat);
    const Matrix e = yhat - y_;
    const double n = s_.samples;
    *f = 0.5 * e.squaredNorm() / n + 0.5 * s_.weight_decay * th.squaredNorm();
    const Matrix dy = e / n;
    const Matrix da = W2(th).transpose() * dy;
    const Matrix dz = da.cwiseProduct((1.0 - a.array().square()).matrix());
    Views gv = Split(g->data());
    gv.w1 = dz * x_.transpose();
    gv.b1 = dz.rowwise().sum();
    gv.w2 = dy * a.transpose();
    gv.b2 = dy.rowwise().sum();
    *g += s_.weight_decay * th;
    return EvalStatus::kOk;
  }

  // Pearlmutter: differentiate the forward and backward passes along v.
  EvalStatus DoHvp(const Vector& th, const Vector& v, Vector* out) override {
    Matrix a, yhat;
    Forward(th, &a, &yhat);
    const double n = s_.samples;
    const Matrix dy = (yhat - y_) / n;
    const Matrix w2 = W2(th);
    const Matrix da = w2.transpose() * dy;
    const Eigen::ArrayXXd sech2 = 1.0 - a.array().square();
    Vector vc = v;
    Views vv = Split(vc.data());
    const Matrix rz = (vv.w1 * x_).colwise() + Vector(vv.b1);
    const Matrix ra = (sech2 * rz.array()).matrix();
    const Matrix ryhat = ((Matrix(vv.w2) * a + w2 * ra).colwise() + Vector(vv.b2));
    const Matrix rdy = ryhat / n;
    const Matrix rda = Matrix(vv.w2).transpose() * dy + w2.transpose() * rdy;
    const Matrix rdz = (rda.array() * sech2 - 2.0 * da.array() * a.array() * ra.array()).matrix();
    Views ov = Split(out->data());
    ov.w1 = rdz * x_.transpose();
    ov.b1 = rdz.rowwise().sum();
    ov.w2 = rdy * a.transpose() + dy * ra.transpose();
    ov.b2 = rdy.rowwise().sum();
    *out += s_.weight_decay * v;
    return EvalStatus::kOk;
  }

 private:
  struct Views {
    Eigen::Map<Matrix> w1;
    Eigen::Map<Vector> b1;
    Eigen::Map<Matrix> w2;
    Eigen::Map<Vector> b2;
  };
  Views Split(double* p) const {
    const int h = s_.hidden, i = s_.inputs, o = s_.outputs;
    return Views{Eigen::Map<Matrix>(p, h, i), Eigen::Map<Vector>(p + h * i, h),
                 Eigen::Map<Matrix>(p + h * i + h, o, h), Eigen::Map<Vector>(p + h * i + h + o * h, o)};
  }
  Matrix W2(const Vector& th) const {
    Vector c = th;
    return Matrix(Split(c.data()).w2);
  }
  void Forward(const Vector& th, Matrix* a, Matrix* yhat) const {
    Vector c = th;
    Views v = Split(c.data());
    *a = ((Matrix(v.w1) * x_).colwise() + Vector(v.b1)).array().tanh().matrix();
    *yhat = (Matrix(v.w2) * *a).colwise() + Vector(v.b2);
  }

  TanhMlpShape s_;
  Matrix x_, y_;
};

}  // namespace ridgerider
