// Model objectives: a network's loss on a data set, parameters as one flat tensor. See the header.
#include "torch/model_objective.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <numeric>
#include <set>
#include <sstream>
#include <utility>

#include "ridgerider/errors.hpp"
#include "ridgerider/rng.hpp"
#include "torch/torchscript_support.hpp"

namespace ridgerider {

// ---- Names ------------------------------------------------------------------------------------

const char* ToString(ModelDtype d) { return d == ModelDtype::kFloat32 ? "float32" : "float64"; }
const char* ToString(ModelLoss l) { return l == ModelLoss::kCrossEntropy ? "cross-entropy" : "mse"; }
const char* ToString(HvpMethod h) {
  switch (h) {
    case HvpMethod::kReusedGraph: return "reused-graph";
    case HvpMethod::kFreshGraph: return "fresh-graph";
    case HvpMethod::kFiniteDifference: return "finite-difference";
  }
  return "?";
}
const char* ToString(ModelMode m) { return m == ModelMode::kAsSaved ? "as-saved" : "eval"; }

std::optional<ModelDtype> ModelDtypeFromString(const std::string& s) {
  if (s == "float32") return ModelDtype::kFloat32;
  if (s == "float64") return ModelDtype::kFloat64;
  return std::nullopt;
}
std::optional<ModelLoss> ModelLossFromString(const std::string& s) {
  if (s == "cross-entropy") return ModelLoss::kCrossEntropy;
  if (s == "mse") return ModelLoss::kMse;
  return std::nullopt;
}
std::optional<HvpMethod> HvpMethodFromString(const std::string& s) {
  for (HvpMethod h : {HvpMethod::kReusedGraph, HvpMethod::kFreshGraph, HvpMethod::kFiniteDifference})
    if (s == ToString(h)) return h;
  return std::nullopt;
}
std::optional<ModelMode> ModelModeFromString(const std::string& s) {
  if (s == "as-saved") return ModelMode::kAsSaved;
  if (s == "eval") return ModelMode::kEval;
  return std::nullopt;
}

std::string BatchPolicy::ToString() const {
  std::string s = batch == 0 ? "full" : "fixed " + std::to_string(batch) + " per ride";
  if (chunk > 0) s += ", chunks of " + std::to_string(chunk);
  return s;
}

bool ModelSpec::IsValid(std::string* why) const {
  if (model.empty()) return *why = "no model given", false;
  if (batch.batch < 0) return *why = "the batch size must be >= 0 (0 = the full data set)", false;
  if (batch.chunk < 0) return *why = "the chunk size must be >= 0 (0 = one pass)", false;
  for (std::int64_t s : input_shape)
    if (s < 1) return *why = "every input-shape entry must be >= 1", false;
  static const std::set<std::string> activations = {"tanh", "relu", "sigmoid", "softplus"};
  if (!activations.count(activation))
    return *why = "activation '" + activation + "' is not one of tanh, relu, sigmoid, softplus", false;
  return true;
}

namespace {

std::string ShapeText(at::IntArrayRef s) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  o << "]";
  return o.str();
}

at::ScalarType TorchType(ModelDtype d) { return d == ModelDtype::kFloat32 ? at::kFloat : at::kDouble; }

// ---- Networks: a forward pass given the parameter tensors (views of theta) ----------------------

class Net {
 public:
  virtual ~Net() = default;
  virtual at::Tensor Forward(const std::vector<at::Tensor>& params, const at::Tensor& input) = 0;
};

struct MlpArch {
  std::vector<std::int64_t> widths;  // input, hidden..., output
  std::string activation;
};

MlpArch ParseMlp(const std::string& model, const std::string& activation) {
  MlpArch a;
  a.activation = activation;
  const std::string body = model.substr(4);
  std::stringstream ss(body);
  std::string item;
  while (std::getline(ss, item, '-')) {
    size_t used = 0;
    long w = 0;
    try {
      w = std::stol(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || w < 1) {
      throw InputError("model '" + model + "': layer widths must be positive integers joined by '-', e.g. mlp:784-128-10");
    }
    a.widths.push_back(w);
  }
  if (a.widths.size() < 2) throw InputError("model '" + model + "' needs at least an input and an output width");
  return a;
}

class MlpNet final : public Net {
 public:
  explicit MlpNet(MlpArch arch) : arch_(std::move(arch)) {}
  at::Tensor Forward(const std::vector<at::Tensor>& p, const at::Tensor& input) override {
    at::Tensor h = input.reshape({input.size(0), -1});
    const size_t layers = arch_.widths.size() - 1;
    for (size_t l = 0; l < layers; ++l) {
      h = at::addmm(p[2 * l + 1], h, p[2 * l].t());
      if (l + 1 < layers) h = Activate(h);
    }
    return h;
  }

 private:
  at::Tensor Activate(const at::Tensor& h) const {
    const std::string& a = arch_.activation;
    if (a == "tanh") return at::tanh(h);
    if (a == "relu") return at::relu(h);
    if (a == "sigmoid") return at::sigmoid(h);
    return at::softplus(h);
  }
  MlpArch arch_;
};

// A TorchScript module whose parameter slots are re-pointed at the current views of theta before
// each forward, so autograd differentiates with respect to theta directly.
class ScriptNet final : public Net {
 public:
  ScriptNet(const torch::jit::Module& pristine, std::vector<std::string> names)
      : module_(pristine.clone()), names_(std::move(names)) {
    for (const std::string& full : names_) {
      torch::jit::Module owner = module_;
      std::string rest = full;
      for (size_t dot = rest.find('.'); dot != std::string::npos; dot = rest.find('.')) {
        owner = owner.attr(rest.substr(0, dot)).toModule();
        rest = rest.substr(dot + 1);
      }
      slots_.emplace_back(owner, rest);
    }
  }
  at::Tensor Forward(const std::vector<at::Tensor>& p, const at::Tensor& input) override {
    for (size_t i = 0; i < slots_.size(); ++i) slots_[i].first.setattr(slots_[i].second, p[i]);
    const c10::IValue out = module_.forward({input});
    if (!out.isTensor()) throw std::runtime_error("the module's forward returned " + std::string(out.tagKind()) + ", not a tensor");
    return out.toTensor();
  }

 private:
  torch::jit::Module module_;
  std::vector<std::string> names_;
  std::vector<std::pair<torch::jit::Module, std::string>> slots_;
};

// Ops that make a module in training mode random or stateful.
const std::set<std::string>& TrainingModeOps() {
  static const std::set<std::string> ops = {
      "aten::dropout", "aten::dropout_", "aten::feature_dropout", "aten::alpha_dropout",
      "aten::feature_alpha_dropout", "aten::native_dropout", "aten::batch_norm",
      "aten::instance_norm", "aten::rrelu", "aten::rrelu_with_noise"};
  return ops;
}

void CollectOps(const torch::jit::Block* b, std::set<std::string>* found) {
  for (const torch::jit::Node* n : b->nodes()) {
    const std::string k = n->kind().toQualString();
    if (TrainingModeOps().count(k)) found->insert(k);
    for (const torch::jit::Block* sub : n->blocks()) CollectOps(sub, found);
  }
}

std::string Join(const std::set<std::string>& s) {
  std::string out;
  for (const std::string& x : s) out += (out.empty() ? "" : ", ") + x;
  return out;
}

// Everything the clones of one objective share: read-only after construction.
struct Shared {
  ModelSpec spec;
  std::string name;
  std::shared_ptr<const data::Dataset> data;
  at::Tensor inputs;  // [N, *input_shape], model dtype (float32 aliases data->inputs)
  at::Tensor labels;  // [N], int64 (aliases data->labels)
  std::vector<ParameterInfo> layout;
  long dim = 0;
  Vector init;
  std::optional<MlpArch> mlp;
  std::optional<torch::jit::Module> pristine;  // loaded, converted, mode set; never run
  std::vector<std::string> names;
};

// ---- The objective ------------------------------------------------------------------------------

class ModelObjectiveImpl final : public ModelObjective {
 public:
  explicit ModelObjectiveImpl(std::shared_ptr<const Shared> sh) : sh_(std::move(sh)) {
    if (sh_->mlp) {
      net_ = std::make_unique<MlpNet>(*sh_->mlp);
    } else {
      net_ = std::make_unique<ScriptNet>(*sh_->pristine, sh_->names);
    }
    theta_ = at::zeros({sh_->dim}, at::TensorOptions().dtype(TorchType(sh_->spec.dtype)));
    theta_.requires_grad_(true);
    // Central differences need a larger step in float32 (gradient noise ~1e-7 relative).
    fd_step = sh_->spec.dtype == ModelDtype::kFloat32 ? 1e-3 : 1e-5;
    SelectBatch(0);
  }

  int dim() const override { return static_cast<int>(sh_->dim); }
  std::string name() const override { return sh_->name; }
  std::unique_ptr<Objective> Clone() const override {
    auto c = std::make_unique<ModelObjectiveImpl>(sh_);
    c->fd_step = fd_step;
    c->SelectBatch(key_);
    return c;
  }
  void SetRideKey(long node) override {
    if (sh_->spec.batch.batch > 0 && node != key_) SelectBatch(node);
  }

  const ModelSpec& spec() const override { return sh_->spec; }
  const std::vector<ParameterInfo>& parameters() const override { return sh_->layout; }
  std::string data_name() const override { return sh_->data->name; }
  long data_size() const override { return sh_->data->size(); }
  Vector InitialParameters() const override { return sh_->init; }
  std::vector<long> BatchIndices() const override {
    if (!batch_idx_.empty()) return batch_idx_;
    std::vector<long> all(sh_->data->size());
    std::iota(all.begin(), all.end(), 0L);
    return all;
  }

  ModelEvaluation Evaluate(const Vector& x, const data::Dataset& d, long chunk) override {
    at::NoGradGuard no_grad;
    SetX(x);
    const at::Tensor inputs = InputsOf(d);
    const at::Tensor labels = LabelsOf(d);
    const std::vector<at::Tensor> p = Views();
    ModelEvaluation e;
    e.samples = d.size();
    std::vector<long> correct(d.num_classes, 0), total(d.num_classes, 0);
    double loss = 0;
    long right = 0;
    if (chunk <= 0) chunk = d.size();
    for (long s = 0; s < d.size(); s += chunk) {
      const long n = std::min(chunk, d.size() - s);
      const at::Tensor out = net_->Forward(p, inputs.narrow(0, s, n));
      const at::Tensor lab = labels.narrow(0, s, n);
      loss += LossSum(out, lab).item<double>();
      const at::Tensor arg = out.argmax(1);
      const at::Tensor hit = arg.eq(lab).to(at::kLong).contiguous();
      const at::Tensor pred = arg.to(at::kLong).contiguous();
      const std::int64_t* h = hit.data_ptr<std::int64_t>();
      const std::int64_t* pr = pred.data_ptr<std::int64_t>();
      for (long i = 0; i < n; ++i) {
        const long c = d.labels[s + i];
        e.predictions.push_back(static_cast<int>(pr[i]));
        ++total[c];
        correct[c] += h[i];
        right += h[i];
      }
    }
    e.loss = loss / static_cast<double>(d.size());
    e.accuracy = static_cast<double>(right) / static_cast<double>(d.size());
    for (int c = 0; c < d.num_classes; ++c)
      e.class_accuracy.push_back(total[c] ? static_cast<double>(correct[c]) / total[c]
                                          : std::numeric_limits<double>::quiet_NaN());
    cached_ = false;
    return e;
  }

  // Checks that the network accepts the data and is deterministic; throws InputError.
  void Validate(const std::string& what) {
    at::NoGradGuard no_grad;
    SetX(sh_->init);
    const long n = std::min<long>(2, sh_->data->size());
    const at::Tensor in = sh_->inputs.narrow(0, 0, n);
    at::Tensor out, again;
    try {
      out = net_->Forward(Views(), in);
      again = net_->Forward(Views(), in);
    } catch (const std::exception& e) {
      throw InputError(what + " does not accept the data's inputs of shape " + ShapeText(in.sizes()) + " (" +
                       sh_->data->name + ", samples of shape " + ShapeText(sh_->data->sample_shape) +
                       "; --input-shape reshapes them): " + TorchErrorMessage(e));
    }
    const long classes = sh_->data->num_classes;
    if (out.dim() != 2 || out.size(0) != n || out.size(1) != classes) {
      throw InputError(what + " returns outputs of shape " + ShapeText(out.sizes()) + " for inputs of shape " +
                       ShapeText(in.sizes()) + "; the loss needs [" + std::to_string(n) + ", " +
                       std::to_string(classes) + "] (one score per class of " + sh_->data->name + ")");
    }
    if (!at::equal(out, again)) {
      throw InputError(what + " gives different outputs for the same input (random ops such as dropout?); "
                       "the loss must be a deterministic function of the parameters");
    }
    cached_ = false;
  }

 protected:
  EvalStatus DoValue(const Vector& x, double* f) override {
    if (CacheHit(x)) return *f = f_, EvalStatus::kOk;
    try {
      at::NoGradGuard no_grad;
      SetX(x);
      const std::vector<at::Tensor> p = Views();
      double sum = 0;
      for (long s = 0; s < batch_n_; s += chunk_) sum += LossSum(p, s).item<double>();
      *f = sum / static_cast<double>(batch_n_);
      return EvalStatus::kOk;
    } catch (const std::exception&) {
      return Failed(f);
    }
  }

  EvalStatus DoValueAndGradient(const Vector& x, double* f, Vector* g) override {
    try {
      if (!CacheHit(x)) Build(x);
      *f = f_;
      *g = g_;
      return EvalStatus::kOk;
    } catch (const std::exception&) {
      return Failed(f);
    }
  }

  EvalStatus DoHvp(const Vector& x, const Vector& v, Vector* out) override {
    if (sh_->spec.hvp == HvpMethod::kFiniteDifference) return Objective::DoHvp(x, v, out);
    try {
      if (!CacheHit(x)) Build(x);
      at::Tensor vt = FromEigen(v);
      at::Tensor hv;
      if (graph_.defined()) {
        // One backward pass through the kept gradient graph.
        hv = torch::autograd::grad({graph_}, {theta_}, {vt}, /*retain_graph=*/true,
                                   /*create_graph=*/false, /*allow_unused=*/true)[0];
      } else {
        // Per chunk: forward, gradient with its graph, backward along v; each graph freed.
        const std::vector<at::Tensor> p = Views();
        for (long s = 0; s < batch_n_; s += chunk_) {
          const at::Tensor l = LossSum(p, s) / static_cast<double>(batch_n_);
          const at::Tensor gc = torch::autograd::grad({l}, {theta_}, {}, /*retain_graph=*/true,
                                                      /*create_graph=*/true, /*allow_unused=*/true)[0];
          if (!gc.defined() || !gc.requires_grad()) continue;  // linear in theta on this chunk
          const at::Tensor hc = torch::autograd::grad({gc}, {theta_}, {vt}, /*retain_graph=*/false,
                                                      /*create_graph=*/false, /*allow_unused=*/true)[0];
          if (hc.defined()) hv = hv.defined() ? hv.add_(hc) : hc;
        }
      }
      ToEigen(hv, out);
      return EvalStatus::kOk;
    } catch (const std::exception&) {
      return Failed(nullptr);
    }
  }

 private:
  // theta <- x: one copy (and cast). Drops the graph first: it saved views of theta.
  void SetX(const Vector& x) {
    graph_ = at::Tensor();
    cached_ = false;
    at::NoGradGuard no_grad;
    theta_.copy_(at::from_blob(const_cast<double*>(x.data()), {sh_->dim}, at::kDouble));
  }

  std::vector<at::Tensor> Views() const {
    std::vector<at::Tensor> p;
    p.reserve(sh_->layout.size());
    for (const ParameterInfo& pi : sh_->layout) p.push_back(theta_.narrow(0, pi.offset, pi.size).view(pi.shape));
    return p;
  }

  at::Tensor LossSum(const at::Tensor& out, const at::Tensor& labels) const {
    if (sh_->spec.loss == ModelLoss::kCrossEntropy)
      return -at::log_softmax(out, 1).gather(1, labels.unsqueeze(1)).sum();
    const at::Tensor target = at::one_hot(labels, out.size(1)).to(out.scalar_type());
    return (out - target).pow(2).sum();
  }
  // Summed loss of the current batch's samples [s, s + chunk).
  at::Tensor LossSum(const std::vector<at::Tensor>& p, long s) {
    const long n = std::min(chunk_, batch_n_ - s);
    return LossSum(net_->Forward(p, batch_inputs_.narrow(0, s, n)), batch_labels_.narrow(0, s, n));
  }

  // f and g at x; keeps the gradient's graph when HVPs will reuse it (one chunk, reused-graph).
  void Build(const Vector& x) {
    SetX(x);
    const bool keep = sh_->spec.hvp == HvpMethod::kReusedGraph && chunk_ >= batch_n_;
    const std::vector<at::Tensor> p = Views();
    double f = 0;
    at::Tensor g;
    for (long s = 0; s < batch_n_; s += chunk_) {
      const at::Tensor l = LossSum(p, s) / static_cast<double>(batch_n_);
      f += l.item<double>();
      at::Tensor gc = torch::autograd::grad({l}, {theta_}, {}, /*retain_graph=*/keep,
                                            /*create_graph=*/keep, /*allow_unused=*/true)[0];
      if (!gc.defined()) continue;
      if (keep) {
        g = gc;
      } else {
        g = g.defined() ? g.add_(gc) : gc;
      }
    }
    f_ = f;
    ToEigen(g, &g_);
    if (keep && g.defined() && g.requires_grad()) graph_ = g;
    x_ = x;
    cached_ = true;
  }

  bool CacheHit(const Vector& x) const {
    return cached_ && std::memcmp(x.data(), x_.data(), sizeof(double) * sh_->dim) == 0;
  }

  at::Tensor FromEigen(const Vector& v) const {
    return at::from_blob(const_cast<double*>(v.data()), {sh_->dim}, at::kDouble).to(theta_.scalar_type());
  }
  void ToEigen(const at::Tensor& t, Vector* out) const {
    out->resize(sh_->dim);
    if (!t.defined()) {
      out->setZero();
      return;
    }
    at::NoGradGuard no_grad;
    at::from_blob(out->data(), {sh_->dim}, at::kDouble).copy_(t.detach().reshape({-1}));
  }

  EvalStatus Failed(double* f) {
    cached_ = false;
    graph_ = at::Tensor();
    if (f) *f = std::numeric_limits<double>::quiet_NaN();
    return EvalStatus::kFailed;
  }

  // The batch for key k: everything, or B samples drawn without replacement (partial
  // Fisher-Yates) from a stream keyed by (seed, k), sorted.
  void SelectBatch(long key) {
    key_ = key;
    cached_ = false;
    graph_ = at::Tensor();
    const long n = sh_->data->size();
    const long b = sh_->spec.batch.batch;
    if (b <= 0) {
      batch_idx_.clear();
      batch_inputs_ = sh_->inputs;
      batch_labels_ = sh_->labels;
      batch_n_ = n;
    } else {
      KeyedRng rng(sh_->spec.seed ^ 0x6261746368ull /* "batch": a stream apart from the tree's */,
                   static_cast<std::uint64_t>(key));
      std::vector<long> perm(n);
      std::iota(perm.begin(), perm.end(), 0L);
      for (long i = 0; i < b; ++i) {
        const long j = i + static_cast<long>(rng.NextU64() % static_cast<std::uint64_t>(n - i));
        std::swap(perm[i], perm[j]);
      }
      batch_idx_.assign(perm.begin(), perm.begin() + b);
      std::sort(batch_idx_.begin(), batch_idx_.end());
      const at::Tensor idx = at::tensor(std::vector<std::int64_t>(batch_idx_.begin(), batch_idx_.end()), at::kLong);
      batch_inputs_ = sh_->inputs.index_select(0, idx);
      batch_labels_ = sh_->labels.index_select(0, idx);
      batch_n_ = b;
    }
    chunk_ = sh_->spec.batch.chunk > 0 ? std::min(sh_->spec.batch.chunk, batch_n_) : batch_n_;
  }

  at::Tensor InputsOf(const data::Dataset& d) const {
    std::vector<std::int64_t> shape{d.size()};
    const auto& per = sh_->spec.input_shape.empty() ? std::vector<std::int64_t>{d.features()} : sh_->spec.input_shape;
    shape.insert(shape.end(), per.begin(), per.end());
    const at::Tensor t = at::from_blob(const_cast<float*>(d.inputs.data()), shape, at::kFloat);
    return t.to(theta_.scalar_type());  // float32: no copy (`d` outlives the call)
  }
  static at::Tensor LabelsOf(const data::Dataset& d) {
    return at::from_blob(const_cast<std::int64_t*>(d.labels.data()), {d.size()}, at::kLong);
  }

  std::shared_ptr<const Shared> sh_;
  std::unique_ptr<Net> net_;
  at::Tensor theta_;  // the flat parameters: a leaf; the network's weights are views of it

  long key_ = -1;
  std::vector<long> batch_idx_;  // empty: the full data set
  at::Tensor batch_inputs_, batch_labels_;
  long batch_n_ = 0, chunk_ = 0;

  bool cached_ = false;
  Vector x_, g_;
  double f_ = 0;
  at::Tensor graph_;  // the gradient with its graph (reused-graph HVPs), or undefined
};

// Loads a TorchScript module, applies the mode policy and the dtype; fills names/layout/init.
void LoadScript(const ModelSpec& spec, Shared* sh) {
  const std::string& path = spec.model;
  const std::string what = "model '" + path + "'";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw InputError(what + ": no such file (give a TorchScript module saved with torch.jit.save, or mlp:IN-H-...-OUT)");
  }
  ConfigureTorchScriptExecutor();
  torch::jit::Module m;
  try {
    m = torch::jit::load(path);
  } catch (const std::exception& e) {
    throw InputError(what + " cannot be loaded as a TorchScript module: " + TorchErrorMessage(e));
  }
  if (!m.find_method("forward")) throw InputError(what + " has no forward method");
  if (spec.mode == ModelMode::kEval) m.eval();
  bool training = false;
  for (const torch::jit::Module& sub : m.modules()) training = training || sub.is_training();
  if (training) {
    std::set<std::string> ops;
    try {
      std::shared_ptr<torch::jit::Graph> g = m.get_method("forward").graph()->copy();
      torch::jit::Inline(*g);
      CollectOps(g->block(), &ops);
    } catch (const std::exception& e) {
      throw InputError(what + ": cannot inspect its forward graph: " + TorchErrorMessage(e));
    }
    if (!ops.empty()) {
      throw InputError(what + " is in training mode and uses " + Join(ops) +
                       " (random, or with running statistics that change at every evaluation); save it after "
                       "model.eval() or pass --model-mode eval");
    }
  }
  try {
    m.to(TorchType(spec.dtype));
  } catch (const std::exception& e) {
    throw InputError(what + ": cannot convert it to " + ToString(spec.dtype) + ": " + TorchErrorMessage(e));
  }
  std::vector<double> init;
  long offset = 0;
  for (const auto& np : m.named_parameters(/*recurse=*/true)) {
    ParameterInfo pi;
    pi.name = np.name;
    pi.shape.assign(np.value.sizes().begin(), np.value.sizes().end());
    pi.offset = offset;
    pi.size = np.value.numel();
    offset += pi.size;
    sh->layout.push_back(pi);
    sh->names.push_back(np.name);
    const at::Tensor c = np.value.detach().to(at::kDouble).contiguous().reshape({-1});
    init.insert(init.end(), c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  }
  if (sh->layout.empty()) throw InputError(what + " has no parameters to explore");
  sh->init = Eigen::Map<Vector>(init.data(), static_cast<Eigen::Index>(init.size()));
  sh->dim = offset;
  sh->pristine = std::move(m);
  sh->name = std::filesystem::path(path).stem().string();
}

void BuildMlp(const ModelSpec& spec, Shared* sh) {
  MlpArch a = ParseMlp(spec.model, spec.activation);
  const long features = sh->data->features();
  if (a.widths.front() != features) {
    throw InputError("model '" + spec.model + "' takes " + std::to_string(a.widths.front()) + " inputs but " +
                     sh->data->name + " has " + std::to_string(features) + " features per sample");
  }
  KeyedRng rng(spec.seed ^ 0x696e6974ull /* "init" */, 0);
  std::vector<double> init;
  long offset = 0;
  for (size_t l = 0; l + 1 < a.widths.size(); ++l) {
    const std::int64_t in = a.widths[l], out = a.widths[l + 1];
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    for (const auto& [suffix, shape] : {std::pair<std::string, std::vector<std::int64_t>>{"weight", {out, in}},
                                        {"bias", {out}}}) {
      ParameterInfo pi;
      pi.name = "layer" + std::to_string(l) + "." + suffix;
      pi.shape = shape;
      pi.offset = offset;
      pi.size = suffix == "weight" ? out * in : out;
      offset += pi.size;
      for (long i = 0; i < pi.size; ++i) init.push_back(bound * (2.0 * rng.Uniform() - 1.0));
      sh->layout.push_back(pi);
    }
  }
  sh->init = Eigen::Map<Vector>(init.data(), static_cast<Eigen::Index>(init.size()));
  sh->dim = offset;
  sh->name = spec.model + " (" + spec.activation + ")";
  sh->mlp = std::move(a);
}

}  // namespace

std::unique_ptr<ModelObjective> MakeModelObjective(const ModelSpec& spec, std::shared_ptr<const data::Dataset> data) {
  std::string why;
  if (!spec.IsValid(&why)) throw InputError("model options: " + why);
  if (!data || data->size() == 0) throw InputError("the data set is empty");
  if (spec.batch.batch > data->size()) {
    throw InputError("the batch of " + std::to_string(spec.batch.batch) + " samples is larger than " + data->name +
                     " (" + std::to_string(data->size()) + " samples)");
  }
  auto sh = std::make_shared<Shared>();
  sh->spec = spec;
  sh->data = data;
  std::vector<std::int64_t> per = spec.input_shape.empty() ? std::vector<std::int64_t>{data->features()} : spec.input_shape;
  const long per_n = std::accumulate(per.begin(), per.end(), 1L, std::multiplies<long>());
  if (per_n != data->features()) {
    throw InputError("input shape " + ShapeText(per) + " holds " + std::to_string(per_n) + " values but " +
                     data->name + " has " + std::to_string(data->features()) + " per sample (" +
                     ShapeText(data->sample_shape) + ")");
  }
  std::vector<std::int64_t> shape{data->size()};
  shape.insert(shape.end(), per.begin(), per.end());
  at::Tensor inputs = at::from_blob(const_cast<float*>(data->inputs.data()), shape, at::kFloat);
  sh->inputs = spec.dtype == ModelDtype::kFloat32 ? inputs : inputs.to(at::kDouble);  // float32: no copy
  sh->labels = at::from_blob(const_cast<std::int64_t*>(data->labels.data()), {data->size()}, at::kLong);
  if (spec.model.rfind("mlp:", 0) == 0) {
    BuildMlp(spec, sh.get());
  } else {
    LoadScript(spec, sh.get());
  }
  if (sh->dim > std::numeric_limits<int>::max()) throw InputError("model '" + spec.model + "' has too many parameters");
  auto obj = std::make_unique<ModelObjectiveImpl>(sh);
  obj->Validate("model '" + spec.model + "'");
  return obj;
}

}  // namespace ridgerider
