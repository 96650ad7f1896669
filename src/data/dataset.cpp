#include "data/dataset.hpp"

#include <algorithm>
#include <filesystem>

#include "data/idx.hpp"
#include "ridgerider/errors.hpp"

namespace ridgerider::data {

long Dataset::features() const {
  long f = 1;
  for (std::int64_t s : sample_shape) f *= s;
  return f;
}

Dataset LoadIdxDataset(const std::string& images_path, const std::string& labels_path,
                       const std::string& name, int num_classes) {
  const IdxArray images = ReadIdx(images_path);
  const IdxArray labels = ReadIdx(labels_path);
  if (labels.dims.size() != 1) {
    throw InputError("labels file '" + labels_path + "' must have 1 dimension (one label per sample), has " +
                     std::to_string(labels.dims.size()));
  }
  if (images.dims[0] != labels.dims[0]) {
    throw InputError("images file '" + images_path + "' holds " + std::to_string(images.dims[0]) +
                     " samples but labels file '" + labels_path + "' holds " + std::to_string(labels.dims[0]));
  }
  Dataset d;
  d.name = name;
  for (size_t i = 1; i < images.dims.size(); ++i) d.sample_shape.push_back(images.dims[i]);
  if (d.sample_shape.empty()) d.sample_shape.push_back(1);
  d.inputs.resize(images.values.size());
  std::transform(images.values.begin(), images.values.end(), d.inputs.begin(),
                 [](std::uint8_t v) { return static_cast<float>(v) / 255.0f; });
  d.labels.assign(labels.values.begin(), labels.values.end());
  const int max_label = *std::max_element(labels.values.begin(), labels.values.end());
  if (num_classes <= 0) num_classes = max_label + 1;
  if (max_label >= num_classes) {
    throw InputError("labels file '" + labels_path + "' holds label " + std::to_string(max_label) +
                     ", outside the " + std::to_string(num_classes) + " classes");
  }
  d.num_classes = num_classes;
  return d;
}

Dataset LoadFashionMnist(const std::string& split, const std::string& dir) {
  if (split != "train" && split != "test") {
    throw InputError("Fashion-MNIST has the splits 'train' and 'test', not '" + split + "'");
  }
  const std::string prefix = split == "train" ? "train" : "t10k";
  const std::filesystem::path base(dir);
  const std::string images = (base / (prefix + "-images-idx3-ubyte.gz")).string();
  const std::string labels = (base / (prefix + "-labels-idx1-ubyte.gz")).string();
  for (const std::string& f : {images, labels}) {
    std::error_code ec;
    if (!std::filesystem::exists(f, ec)) {
      throw InputError("Fashion-MNIST file '" + f +
                       "' is missing: install Debian's dataset-fashion-mnist package "
                       "(apt-get install dataset-fashion-mnist; scripts/setup.sh does)");
    }
  }
  return LoadIdxDataset(images, labels, "fashion-mnist:" + split, 10);
}

Dataset LoadDataSpec(const std::string& spec, long max_samples) {
  Dataset d;
  if (spec == "fashion-mnist" || spec == "fashion-mnist:train") {
    d = LoadFashionMnist("train");
  } else if (spec.rfind("fashion-mnist:", 0) == 0) {
    d = LoadFashionMnist(spec.substr(14));
  } else if (const auto comma = spec.find(','); comma != std::string::npos) {
    d = LoadIdxDataset(spec.substr(0, comma), spec.substr(comma + 1), spec.substr(0, comma));
  } else {
    throw InputError("unknown data '" + spec +
                     "' (use fashion-mnist, fashion-mnist:test, or IMAGES,LABELS for two IDX files)");
  }
  if (max_samples > 0) {
    if (max_samples > d.size()) {
      throw InputError("asked for " + std::to_string(max_samples) + " samples but " + d.name + " has " +
                       std::to_string(d.size()));
    }
    d = Head(d, max_samples);
  }
  return d;
}

Dataset Head(const Dataset& d, long n) {
  Dataset h;
  h.name = d.name;
  h.sample_shape = d.sample_shape;
  h.num_classes = d.num_classes;
  n = std::min(n, d.size());
  h.inputs.assign(d.inputs.begin(), d.inputs.begin() + n * d.features());
  h.labels.assign(d.labels.begin(), d.labels.begin() + n);
  return h;
}

}  // namespace ridgerider::data
