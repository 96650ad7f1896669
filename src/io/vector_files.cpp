#include "io/vector_files.hpp"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <system_error>

#include "io/output.hpp"
#include "ridgerider/errors.hpp"

namespace ridgerider::io {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr char kNpyMagic[] = "\x93NUMPY";

std::string HashName(const std::vector<double>& v) {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a over the bytes, then the length
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  for (size_t i = 0; i < v.size() * sizeof(double); ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  h = (h ^ v.size()) * 0x100000001b3ull;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

bool IsLongNumberArray(const json& j, size_t limit) {
  if (!j.is_array() || j.size() <= limit) return false;
  for (const json& e : j)
    if (!e.is_number()) return false;
  return true;
}

void Externalize(json& j, const fs::path& dir, size_t limit) {
  if (IsLongNumberArray(j, limit)) {
    std::vector<double> v;
    v.reserve(j.size());
    for (const json& e : j) v.push_back(e.get<double>());
    const std::string rel = std::string(kVectorDir) + "/" + HashName(v) + ".npy";
    if (!fs::exists(dir / rel)) WriteNpy(dir / rel, v);
    j = json{{"npy", rel}};
  } else if (j.is_object() || j.is_array()) {
    for (json& e : j) Externalize(e, dir, limit);
  }
}

void Internalize(json& j, const fs::path& dir) {
  if (j.is_object() && j.size() == 1 && j.contains("npy") && j["npy"].is_string()) {
    const std::string rel = j["npy"].get<std::string>();
    if (rel.find("..") != std::string::npos || rel.empty() || rel[0] == '/')
      throw InputError("vector file reference '" + rel + "' points outside '" + dir.string() + "'");
    j = json(ReadNpy(dir / rel));
  } else if (j.is_object() || j.is_array()) {
    for (json& e : j) Internalize(e, dir);
  }
}

}  // namespace

void ExternalizeVectors(json* j, const fs::path& dir, size_t limit) { Externalize(*j, dir, limit); }

void InternalizeVectors(json* j, const fs::path& dir) { Internalize(*j, dir); }

void WriteNpy(const fs::path& path, const std::vector<double>& v) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + std::to_string(v.size()) + ",), }";
  const size_t unpadded = 10 + header.size() + 1;  // magic 6 + version 2 + length 2, then '\n'
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string bytes(kNpyMagic, 6);
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double));  // little-endian hosts
  WriteFileAtomically(path, bytes);
}

std::vector<double> ReadNpy(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("vector file '" + path.string() + "' is missing");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto bad = [&](const std::string& why) { return InputError("vector file '" + path.string() + "': " + why); };
  if (bytes.size() < 10 || bytes.compare(0, 6, kNpyMagic, 6) != 0 || bytes[6] != 1) throw bad("not a version-1 .npy file");
  const size_t hlen = static_cast<unsigned char>(bytes[8]) | (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
  if (bytes.size() < 10 + hlen) throw bad("truncated header");
  const std::string header = bytes.substr(10, hlen);
  if (header.find("'descr': '<f8'") == std::string::npos || header.find("'fortran_order': False") == std::string::npos)
    throw bad("expected a float64 vector");
  const auto open = header.find("'shape': (");
  if (open == std::string::npos) throw bad("no shape");
  const size_t n = std::strtoull(header.c_str() + open + 10, nullptr, 10);
  if (bytes.size() != 10 + hlen + n * sizeof(double)) throw bad("holds " + std::to_string(bytes.size() - 10 - hlen) +
                                                               " data bytes, its shape needs " + std::to_string(n * 8));
  std::vector<double> v(n);
  if (n > 0) std::memcpy(v.data(), bytes.data() + 10 + hlen, n * sizeof(double));
  return v;
}

}  // namespace ridgerider::io
