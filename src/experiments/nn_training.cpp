#include "experiments/nn_training.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ridgerider/errors.hpp"
#include "ridgerider/local_min.hpp"

namespace ridgerider::experiments {

HiddenUnitSymmetry::HiddenUnitSymmetry(const std::vector<ParameterInfo>& parameters) {
  // An MLP: layer l's weight is [out, in] and its bias [out]; layers 0..L-2 output hidden units,
  // layers 1..L-1 read hidden units.
  const int layers = static_cast<int>(parameters.size()) / 2;
  if (layers < 2 || static_cast<int>(parameters.size()) != 2 * layers)
    throw InputError("hidden-unit symmetry: expected an MLP's weight/bias pairs, got " +
                     std::to_string(parameters.size()) + " parameter tensors");
  long total = 0;
  for (const ParameterInfo& p : parameters) total = std::max(total, p.offset + p.size);
  orbit_.assign(total, -1);
  for (int l = 0; l < layers; ++l) {
    const ParameterInfo& w = parameters[2 * l];
    const ParameterInfo& b = parameters[2 * l + 1];
    if (w.shape.size() != 2 || b.shape.size() != 1 || b.shape[0] != w.shape[0])
      throw InputError("hidden-unit symmetry: " + w.name + " / " + b.name + " are not a linear layer");
    const long out = w.shape[0], in = w.shape[1];
    const bool hidden_out = l < layers - 1, hidden_in = l > 0;
    // Orbit of W[o, i]: all o alike when the outputs are hidden units, all i alike when the
    // inputs are.
    const long rows = hidden_out ? 1 : out, cols = hidden_in ? 1 : in;
    const int base = count_;
    count_ += static_cast<int>(rows * cols);
    scale_.resize(count_, hidden_in ? 1.0 / std::sqrt(static_cast<double>(in)) : 1.0);
    for (long o = 0; o < out; ++o)
      for (long i = 0; i < in; ++i)
        orbit_[w.offset + o * in + i] = base + static_cast<int>((hidden_out ? 0 : o) * cols + (hidden_in ? 0 : i));
    const int bbase = count_;
    count_ += static_cast<int>(hidden_out ? 1 : out);
    scale_.resize(count_, 1.0);
    for (long o = 0; o < out; ++o) orbit_[b.offset + o] = bbase + static_cast<int>(hidden_out ? 0 : o);
  }
  first_.assign(count_, -1);
  size_.assign(count_, 0.0);
  for (size_t i = 0; i < orbit_.size(); ++i) {
    if (orbit_[i] < 0) throw InputError("hidden-unit symmetry: parameters do not tile the flat vector");
    if (first_[orbit_[i]] < 0) first_[orbit_[i]] = static_cast<int>(i);
    size_[orbit_[i]] += 1.0;
  }
}

Vector HiddenUnitSymmetry::Project(const Vector& x) const {
  std::vector<double> sum(count_, 0.0);
  for (size_t i = 0; i < orbit_.size(); ++i) sum[orbit_[i]] += x[static_cast<long>(i)];
  Vector p(x.size());
  for (size_t i = 0; i < orbit_.size(); ++i) p[static_cast<long>(i)] = sum[orbit_[i]] / size_[orbit_[i]];
  return p;
}

Vector HiddenUnitSymmetry::Representative(const Vector& x) const {
  Vector p(x.size());
  for (size_t i = 0; i < orbit_.size(); ++i) p[static_cast<long>(i)] = x[first_[orbit_[i]]];
  return p;
}

Vector HiddenUnitSymmetry::ScaledRepresentative(const Vector& x) const {
  Vector p(x.size());
  for (size_t i = 0; i < orbit_.size(); ++i) p[static_cast<long>(i)] = x[first_[orbit_[i]]] * scale_[orbit_[i]];
  return p;
}

double HiddenUnitSymmetry::Spread(const Vector& x) const {
  std::vector<double> lo(count_, std::numeric_limits<double>::infinity()), hi(count_, -lo[0]);
  for (size_t i = 0; i < orbit_.size(); ++i) {
    lo[orbit_[i]] = std::min(lo[orbit_[i]], x[static_cast<long>(i)]);
    hi[orbit_[i]] = std::max(hi[orbit_[i]], x[static_cast<long>(i)]);
  }
  double s = 0;
  for (int k = 0; k < count_; ++k) s = std::max(s, hi[k] - lo[k]);
  return s;
}

MisReport FindMlpMis(ModelObjective& obj, const HiddenUnitSymmetry& sym, const Vector& x0, int loss_iterations,
                     int grad_norm_iterations) {
  const int d = obj.dim();
  // The loss restricted to the subspace, as a function on R^d: L(P x), gradient P g(P x).
  FunctionObjective restricted(
      d, "loss on the invariant subspace",
      [&](const Vector& x, double* f, Vector* g) {
        Vector full;
        obj.ValueAndGradient(sym.Project(x), f, &full);
        *g = sym.Project(full);
      },
      [&](const Vector& x, const Vector& v, Vector* out) {
        Vector hv;
        obj.Hvp(sym.Project(x), sym.Project(v), &hv);
        *out = sym.Project(hv);
      });
  MisReport r;
  Vector x = sym.Project(x0);
  PolishResult p = MinimizeLbfgs(restricted, x, loss_iterations, 1e-7);
  x = sym.Project(p.x);
  r.loss_iterations = p.iterations;
  {
    double f = 0;
    Vector g;
    obj.ValueAndGradient(x, &f, &g);
    r.grad_norm_symmetric_min = g.norm();
  }
  MisReport refined = RefineToSymmetricStationaryPoint(obj, sym, x, grad_norm_iterations);
  r.x = std::move(refined.x);
  r.loss = refined.loss;
  r.grad_norm = refined.grad_norm;
  r.spread = refined.spread;
  r.grad_norm_iterations = refined.grad_norm_iterations;
  return r;
}

ExploreOptions MlpSaddleRideOptions(std::uint64_t seed, int ridges, int ride_steps) {
  ExploreOptions o;
  o.seed = seed;
  o.spectrum.method = SpectrumMethod::kMatrixFree;
  o.spectrum.eigenpairs = ridges + 3;
  o.spectrum.eigen_tolerance = 1e-4;
  o.spectrum.solve_max_hvps = 400;
  o.ridge.max_ridges = ridges;
  o.ridge.cluster_tolerance = 1e-3;
  o.ride.settle = false;
  o.ride.max_steps = ride_steps;
  o.tree.max_depth = 1;
  o.tree.threads = 1;
  o.leaf.polish_max_iterations = 0;
  return o;
}

MisReport RefineToSymmetricStationaryPoint(Objective& obj, const HiddenUnitSymmetry& sym, const Vector& x0,
                                           int grad_norm_iterations) {
  const int d = obj.dim();
  // |P g|^2 / 2, gradient P H P g.
  FunctionObjective grad_norm(d, "gradient norm on the invariant subspace", [&](const Vector& y, double* f, Vector* g) {
    const Vector py = sym.Project(y);
    double loss = 0;
    Vector full, hv;
    obj.ValueAndGradient(py, &loss, &full);
    const Vector pg = sym.Project(full);
    obj.Hvp(py, pg, &hv);
    *f = 0.5 * pg.squaredNorm();
    *g = sym.Project(hv);
  });
  MisReport r;
  const PolishResult p = MinimizeLbfgs(grad_norm, x0, grad_norm_iterations, 1e-12);
  r.grad_norm_iterations = p.iterations;
  r.x = sym.Project(p.x);
  Vector g;
  obj.ValueAndGradient(r.x, &r.loss, &g);
  r.grad_norm = g.norm();
  r.spread = sym.Spread(r.x);
  return r;
}

bool TrainAdam(ModelObjective& obj, Vector* x, const AdamOptions& o) {
  Vector m = Vector::Zero(x->size()), v = Vector::Zero(x->size()), g;
  double b1t = 1.0, b2t = 1.0;
  for (long t = 0; t < o.steps; ++t) {
    obj.SetRideKey(o.key_base + t);
    double f = 0;
    if (obj.ValueAndGradient(*x, &f, &g) != EvalStatus::kOk) return false;
    m = o.beta1 * m + (1 - o.beta1) * g;
    v = o.beta2 * v + (1 - o.beta2) * g.cwiseAbs2();
    b1t *= o.beta1;
    b2t *= o.beta2;
    const double step = o.learning_rate / (1 - b1t);
    const double vscale = 1.0 / (1 - b2t);
    *x -= step * (m.array() / ((v.array() * vscale).sqrt() + o.epsilon)).matrix();
  }
  return true;
}

Accuracies Measure(ModelObjective& obj, const Vector& x, const data::Dataset& d) {
  Accuracies a;
  ModelEvaluation e = obj.Evaluate(x, d, 4096);
  a.predictions = std::move(e.predictions);
  a.loss = e.loss;
  a.accuracy = e.accuracy;
  a.per_class = e.class_accuracy;
  return a;
}

double Disagreement(const std::vector<int>& a, const std::vector<int>& b) {
  if (a.empty() || a.size() != b.size()) return std::numeric_limits<double>::quiet_NaN();
  long differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ += a[i] != b[i] ? 1 : 0;
  return static_cast<double>(differ) / static_cast<double>(a.size());
}

}  // namespace ridgerider::experiments
