#include "data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "ridgerider/errors.hpp"

namespace ridgerider::data {
namespace {

// gzread reads plain files as they are, so one reader serves .gz and uncompressed files.
class GzFile {
 public:
  explicit GzFile(const std::string& path) : path_(path), f_(gzopen(path.c_str(), "rb")) {
    if (!f_) throw InputError("cannot open IDX file '" + path + "': " + std::strerror(errno));
    gzbuffer(f_, 1 << 17);
  }
  ~GzFile() { gzclose(f_); }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  // Reads up to n bytes; returns how many were read. A corrupt gzip stream is an error; a
  // stream that simply ends (truncated file) returns fewer bytes.
  size_t Read(void* buf, size_t n) {
    size_t done = 0;
    auto* p = static_cast<unsigned char*>(buf);
    while (done < n) {
      const unsigned want = static_cast<unsigned>(std::min<size_t>(n - done, 1u << 30));
      const int got = gzread(f_, p + done, want);
      if (got < 0) {
        int code = 0;
        const char* msg = gzerror(f_, &code);
        throw InputError("IDX file '" + path_ + "' cannot be read: " + (msg ? msg : "zlib error"));
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }

 private:
  std::string path_;
  gzFile f_;
};

}  // namespace

IdxArray ReadIdx(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError("IDX file '" + path + "' does not exist");
  if (std::filesystem::is_directory(path, ec)) throw InputError("IDX file '" + path + "' is a directory");
  GzFile in(path);
  unsigned char magic[4];
  if (in.Read(magic, 4) != 4) throw InputError("IDX file '" + path + "' is too short for its header");
  if (magic[0] != 0 || magic[1] != 0) {
    throw InputError("IDX file '" + path + "' has a wrong magic number (first bytes " +
                     std::to_string(magic[0]) + ", " + std::to_string(magic[1]) +
                     ", expected 0, 0): not an IDX file");
  }
  if (magic[2] != 0x08) {
    char type[8];
    std::snprintf(type, sizeof type, "0x%02X", magic[2]);
    throw InputError("IDX file '" + path + "' holds values of type " + type +
                     "; only unsigned bytes (0x08) are supported");
  }
  const int ndims = magic[3];
  if (ndims < 1 || ndims > 4) {
    throw InputError("IDX file '" + path + "' announces " + std::to_string(ndims) +
                     " dimensions (expected 1 to 4)");
  }
  IdxArray a;
  std::uint64_t count = 1;
  for (int i = 0; i < ndims; ++i) {
    unsigned char b[4];
    if (in.Read(b, 4) != 4) throw InputError("IDX file '" + path + "' is too short for its header");
    const std::uint32_t d = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                            (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]};
    if (d == 0) throw InputError("IDX file '" + path + "' has a dimension of size 0");
    a.dims.push_back(d);
    count *= d;
    if (count > (std::uint64_t{1} << 34)) throw InputError("IDX file '" + path + "' announces too many values");
  }
  a.values.resize(count);
  const size_t got = in.Read(a.values.data(), count);
  if (got != count) {
    throw InputError("IDX file '" + path + "' is truncated: its header announces " + std::to_string(count) +
                     " values, the file holds " + std::to_string(got));
  }
  unsigned char extra;
  if (in.Read(&extra, 1) != 0) {
    throw InputError("IDX file '" + path + "' has bytes after the " + std::to_string(count) +
                     " values its header announces");
  }
  return a;
}

void WriteIdx(const std::string& path, const IdxArray& a) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw InputError("cannot write IDX file '" + path + "'");
  const unsigned char magic[4] = {0, 0, 0x08, static_cast<unsigned char>(a.dims.size())};
  out.write(reinterpret_cast<const char*>(magic), 4);
  for (std::uint32_t d : a.dims) {
    const unsigned char b[4] = {static_cast<unsigned char>(d >> 24), static_cast<unsigned char>(d >> 16),
                                static_cast<unsigned char>(d >> 8), static_cast<unsigned char>(d)};
    out.write(reinterpret_cast<const char*>(b), 4);
  }
  out.write(reinterpret_cast<const char*>(a.values.data()), static_cast<std::streamsize>(a.values.size()));
  if (!out) throw InputError("cannot write IDX file '" + path + "'");
}

}  // namespace ridgerider::data
