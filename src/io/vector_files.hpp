// Long vectors (a network's parameters: d ~ 1e5-1e6) live outside the JSON files: in JSON text a
// double takes ~24 bytes, so one vector at d = 100k is ~2.4 MB and a result with tens of rides
// (start, end, branch point and direction of each) would run to hundreds of MB, rewritten at every
// checkpoint. Every array of more than kInlineVectorLimit numbers is written once to
// DIR/vectors/<content hash>.npy (float64, NumPy's format) and replaced in the JSON by
// {"npy": "vectors/<hash>.npy"}. Content-addressed names make identical vectors (a child's start
// = its parent's branch point) one file, and make the files immutable: a checkpoint that
// references them stays valid while later ones are written.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

namespace ridgerider::io {

inline constexpr size_t kInlineVectorLimit = 1000;
inline constexpr const char* kVectorDir = "vectors";

// Replaces every array of more than `limit` numbers inside *j by a file reference, writing the
// files under dir/vectors/ (an existing file of that name is kept). Throws InputError when a file
// cannot be written.
void ExternalizeVectors(nlohmann::json* j, const std::filesystem::path& dir, size_t limit = kInlineVectorLimit);
// The inverse: replaces every {"npy": path} inside *j by the numbers of dir/path. Throws
// InputError when a file is missing or malformed.
void InternalizeVectors(nlohmann::json* j, const std::filesystem::path& dir);

// 1-D float64 .npy files.
void WriteNpy(const std::filesystem::path& path, const std::vector<double>& v);
std::vector<double> ReadNpy(const std::filesystem::path& path);

}  // namespace ridgerider::io
