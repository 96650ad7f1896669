// IDX files (the MNIST/Fashion-MNIST format): a 4-byte magic (0, 0, type, number of dimensions),
// the dimensions as big-endian uint32, then the values in row-major order. Only unsigned bytes
// (type 0x08) are read: that is what image and label files hold. gzip-compressed files (.gz) are
// read transparently. Everything is checked: the magic, the type, the dimensions, and that the
// file holds exactly the values the header announces (a truncated file or trailing bytes are
// errors, not silently shorter data).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ridgerider::data {

struct IdxArray {
  std::vector<std::uint32_t> dims;  // e.g. {60000, 28, 28}
  std::vector<std::uint8_t> values;  // product(dims) values, row-major
};

// Throws InputError naming the file and what is wrong with it.
IdxArray ReadIdx(const std::string& path);

// Writes an unsigned-byte IDX file (uncompressed); for tests and small data sets of one's own.
void WriteIdx(const std::string& path, const IdxArray& array);

}  // namespace ridgerider::data
