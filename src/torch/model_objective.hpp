// Model objectives: the loss of a neural network on a labelled data set, as a function of the
// network's parameters x (all of them, one flat vector). The network is a built-in MLP
// ("mlp:784-128-10") or a TorchScript nn.Module saved with torch.jit.save (its forward maps a
// batch of inputs to a batch of outputs, one row per sample).
//
// Parameters. One flat torch tensor theta (float32 or float64) holds every parameter; the
// network's weights are views (slices) of it, so setting x is one copy (and cast) into theta,
// and the gradient and every HVP come out of autograd as one flat tensor, copied once into the
// Eigen vector. Layout: the module's named_parameters() order (for the MLP: W1, b1, W2, b2, ...,
// W as [out, in] like torch.nn.Linear), see parameters().
//
// Loss. The mean over the samples of the current batch of the per-sample loss:
//   cross-entropy  -log softmax(output)[label]
//   mse            |output - onehot(label)|^2
//
// Batch policy (BatchPolicy), recorded in results:
//   batch = 0   the full data set: L = (1/N) sum_i l_i, accumulated in chunks of `chunk` samples
//               (0: one pass). The Hessian is that of the full-data loss whatever the chunk.
//   batch = B   a fixed batch of B samples per ride: the samples S(k) of ride k are drawn without
//               replacement from KeyedRng(seed, k) (a stream of its own), L = (1/B) sum_{i in S(k)}
//               l_i. Objective::SetRideKey(k) selects it; the search calls it before every ride,
//               so a ride's loss, gradients and Hessian are those of one fixed batch, whichever
//               thread rides it. Until SetRideKey is called the key is 0.
//
// HVPs (HvpMethod):
//   reused-graph       at a point, the gradient is built once with create_graph and kept; each
//                      HVP is one backward pass through it (~1x a gradient). Only when the batch
//                      is evaluated in one pass: with several chunks, each chunk's graph is freed
//                      (that is what chunks are for) and HVPs are computed as fresh-graph.
//   fresh-graph        every HVP rebuilds forward + create_graph gradient + backward (~2x).
//   finite-difference  central differences of two gradients (Objective's fallback).
//
// Mode. A TorchScript module is used in the mode it was saved in (`mode = as-saved`) unless
// `mode = eval` switches it (recorded). A module in training mode that uses dropout or
// batch/instance norm is refused (the loss would be random, or running statistics would change
// on every evaluation); so is a module whose output is not reproducible for the same input.
//
// This header includes no Torch header (the implementation lives in model_objective.cpp).
// An objective is not thread-safe; Clone() gives an independent one sharing the data.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "ridgerider/objective.hpp"

namespace ridgerider {

enum class ModelDtype { kFloat32, kFloat64 };
enum class ModelLoss { kCrossEntropy, kMse };
enum class HvpMethod { kReusedGraph, kFreshGraph, kFiniteDifference };
enum class ModelMode { kAsSaved, kEval };

const char* ToString(ModelDtype d);
const char* ToString(ModelLoss l);
const char* ToString(HvpMethod h);
const char* ToString(ModelMode m);
std::optional<ModelDtype> ModelDtypeFromString(const std::string& s);
std::optional<ModelLoss> ModelLossFromString(const std::string& s);
std::optional<HvpMethod> HvpMethodFromString(const std::string& s);
std::optional<ModelMode> ModelModeFromString(const std::string& s);

struct BatchPolicy {
  long batch = 0;  // 0: the full data set; B > 0: a fixed batch of B samples per ride
  long chunk = 0;  // samples per forward/backward pass; 0: the whole batch in one pass
  // "full", "full, chunks of 1000", "fixed 256 per ride", ...
  std::string ToString() const;
};

struct ModelSpec {
  std::string model;                 // "mlp:784-128-10" or a TorchScript module file (.pt)
  std::string activation = "tanh";   // MLP hidden layers: tanh | relu | sigmoid | softplus
  ModelLoss loss = ModelLoss::kCrossEntropy;
  ModelDtype dtype = ModelDtype::kFloat32;
  HvpMethod hvp = HvpMethod::kReusedGraph;
  BatchPolicy batch;
  std::uint64_t seed = 0;                 // fixed batches and the MLP's initialisation
  std::vector<std::int64_t> input_shape;  // one sample as the model gets it; empty: flat
  ModelMode mode = ModelMode::kAsSaved;

  bool IsValid(std::string* why) const;
};

struct ParameterInfo {
  std::string name;  // "fc1.weight", or "layer0.weight" for the MLP
  std::vector<std::int64_t> shape;
  long offset = 0;   // into x
  long size = 0;
};

// Loss and accuracy of the model at x on a whole data set (chunked, no gradients).
struct ModelEvaluation {
  double loss = 0;
  double accuracy = 0;                  // argmax of the output == label
  std::vector<double> class_accuracy;   // per label (NaN for a label with no sample)
  std::vector<int> predictions;         // argmax of the output, per sample (disagreement)
  long samples = 0;
};

class ModelObjective : public Objective {
 public:
  virtual const ModelSpec& spec() const = 0;
  virtual const std::vector<ParameterInfo>& parameters() const = 0;
  // The training data's name and size.
  virtual std::string data_name() const = 0;
  virtual long data_size() const = 0;
  // The parameters saved in the .pt file; for the MLP, PyTorch's nn.Linear initialisation
  // (weights and biases uniform in +-1/sqrt(fan_in)) drawn from KeyedRng(seed, ...).
  virtual Vector InitialParameters() const = 0;
  // The samples (indices into the data set, ascending) behind the loss for the current key.
  virtual std::vector<long> BatchIndices() const = 0;
  virtual ModelEvaluation Evaluate(const Vector& x, const data::Dataset& d, long chunk = 4096) = 0;
};

// Builds the objective; throws InputError (one line) on a bad spec, a module that cannot be
// loaded, a network that does not accept the data's inputs or does not output one score per
// class, a refused mode (see above), or data sizes that do not fit the batch policy.
std::unique_ptr<ModelObjective> MakeModelObjective(const ModelSpec& spec,
                                                   std::shared_ptr<const data::Dataset> data);

}  // namespace ridgerider
