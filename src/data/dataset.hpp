// A labelled data set for model objectives: inputs as float32 in [0, 1] (pixel / 255), one
// integer class label per sample. Plain C++ (no Torch), so readers, experiments and bindings
// can hold one without paying Torch's compile cost; the model objective turns it into tensors
// once.
//
// Data specs (the CLI's --data):
//   fashion-mnist         Fashion-MNIST's 60,000 training images, from Debian's
//   fashion-mnist:train   dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist)
//   fashion-mnist:test    its 10,000 test images
//   IMAGES,LABELS         any pair of unsigned-byte IDX files (gzipped or not): images with
//                         dimensions {n, ...}, labels with dimensions {n}
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ridgerider::data {

struct Dataset {
  std::string name;                         // "fashion-mnist:train", or the images file
  std::vector<std::int64_t> sample_shape;   // one sample's shape, e.g. {28, 28}
  std::vector<float> inputs;                // size() * features() values, row-major
  std::vector<std::int64_t> labels;         // in [0, num_classes)
  int num_classes = 0;

  long size() const { return static_cast<long>(labels.size()); }
  long features() const;
};

// The directory Debian's dataset-fashion-mnist package installs into.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// An images file and a labels file: counts must agree; num_classes <= 0 means max label + 1.
// Throws InputError.
Dataset LoadIdxDataset(const std::string& images_path, const std::string& labels_path,
                       const std::string& name, int num_classes = 0);

// Fashion-MNIST's train or test split ("train" | "test") from `dir`. Missing files are an
// InputError that names the package to install.
Dataset LoadFashionMnist(const std::string& split, const std::string& dir = kFashionMnistDir);

// Loads a data spec (see above). max_samples > 0 keeps the first max_samples samples (an
// InputError when the data set has fewer).
Dataset LoadDataSpec(const std::string& spec, long max_samples = 0);

// The first n samples.
Dataset Head(const Dataset& d, long n);

}  // namespace ridgerider::data
