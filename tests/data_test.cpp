// The IDX reader and data sets: good files (plain and gzipped), every malformed case refused
// with a message naming the file, and Fashion-MNIST from Debian's dataset-fashion-mnist.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>

#include "data/dataset.hpp"
#include "data/idx.hpp"
#include "ridgerider/errors.hpp"

namespace ridgerider::data {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("rr_data_test_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& f) const { return (path_ / f).string(); }

 private:
  fs::path path_;
};

std::string ReadAll(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void WriteAll(const std::string& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }
void Gzip(const std::string& from, const std::string& to) {
  const std::string s = ReadAll(from);
  gzFile f = gzopen(to.c_str(), "wb");
  gzwrite(f, s.data(), static_cast<unsigned>(s.size()));
  gzclose(f);
}

IdxArray Images(std::uint32_t n) {  // n images of 2x3, values 0..255
  IdxArray a{{n, 2, 3}, {}};
  for (std::uint32_t i = 0; i < n * 6; ++i) a.values.push_back(static_cast<std::uint8_t>((i * 37) % 256));
  return a;
}
IdxArray Labels(std::uint32_t n, int classes) {
  IdxArray a{{n}, {}};
  for (std::uint32_t i = 0; i < n; ++i) a.values.push_back(static_cast<std::uint8_t>(i % classes));
  return a;
}

template <class F>
std::string ErrorOf(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Idx, ReadsWhatWasWrittenPlainAndGzipped) {
  TempDir d;
  const IdxArray a = Images(5);
  WriteIdx(d / "img.idx", a);
  Gzip(d / "img.idx", d / "img.idx.gz");
  for (const std::string& p : {d / "img.idx", d / "img.idx.gz"}) {
    const IdxArray b = ReadIdx(p);
    EXPECT_EQ(b.dims, a.dims) << p;
    EXPECT_EQ(b.values, a.values) << p;
  }
}

TEST(Idx, RejectsWrongMagicTypeAndDimensions) {
  TempDir d;
  WriteIdx(d / "good.idx", Images(2));
  std::string s = ReadAll(d / "good.idx");
  std::string bad = s;
  bad[0] = 0x1f;
  WriteAll(d / "magic.idx", bad);
  EXPECT_NE(ErrorOf([&] { ReadIdx(d / "magic.idx"); }).find("wrong magic number"), std::string::npos);
  bad = s;
  bad[2] = 0x0D;  // float
  WriteAll(d / "type.idx", bad);
  EXPECT_NE(ErrorOf([&] { ReadIdx(d / "type.idx"); }).find("type 0x0D"), std::string::npos);
  bad = s;
  bad[3] = 0;
  WriteAll(d / "dims.idx", bad);
  EXPECT_NE(ErrorOf([&] { ReadIdx(d / "dims.idx"); }).find("0 dimensions"), std::string::npos);
  WriteAll(d / "short.idx", s.substr(0, 6));
  EXPECT_NE(ErrorOf([&] { ReadIdx(d / "short.idx"); }).find("too short for its header"), std::string::npos);
}

TEST(Idx, RejectsTruncatedAndOverlongFiles) {
  TempDir d;
  WriteIdx(d / "good.idx", Images(4));
  const std::string s = ReadAll(d / "good.idx");
  WriteAll(d / "trunc.idx", s.substr(0, s.size() - 5));
  const std::string msg = ErrorOf([&] { ReadIdx(d / "trunc.idx"); });
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  EXPECT_NE(msg.find("24 values, the file holds 19"), std::string::npos) << msg;
  EXPECT_NE(msg.find(d / "trunc.idx"), std::string::npos) << msg;
  WriteAll(d / "long.idx", s + "x");
  EXPECT_NE(ErrorOf([&] { ReadIdx(d / "long.idx"); }).find("bytes after"), std::string::npos);
  // A gzip stream cut short: either a zlib error or a truncation, never silently shorter data.
  Gzip(d / "good.idx", d / "good.idx.gz");
  const std::string gz = ReadAll(d / "good.idx.gz");
  WriteAll(d / "trunc.idx.gz", gz.substr(0, gz.size() / 2));
  EXPECT_FALSE(ErrorOf([&] { ReadIdx(d / "trunc.idx.gz"); }).empty());
  EXPECT_NE(ErrorOf([&] { ReadIdx(d / "missing.idx"); }).find("does not exist"), std::string::npos);
}

TEST(Dataset, PairsImagesWithLabels) {
  TempDir d;
  WriteIdx(d / "img.idx", Images(6));
  WriteIdx(d / "lab.idx", Labels(6, 3));
  const Dataset ds = LoadDataSpec(d / "img.idx" + "," + d / "lab.idx");
  EXPECT_EQ(ds.size(), 6);
  EXPECT_EQ(ds.features(), 6);
  EXPECT_EQ(ds.sample_shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(ds.num_classes, 3);
  EXPECT_FLOAT_EQ(ds.inputs[1], 37.0f / 255.0f);
  EXPECT_EQ(ds.labels[4], 1);
  const Dataset h = LoadDataSpec(d / "img.idx" + "," + d / "lab.idx", 4);
  EXPECT_EQ(h.size(), 4);
  EXPECT_EQ(h.inputs.size(), 24u);
  EXPECT_NE(ErrorOf([&] { LoadDataSpec(d / "img.idx" + "," + d / "lab.idx", 7); }).find("has 6"), std::string::npos);

  WriteIdx(d / "lab5.idx", Labels(5, 3));
  EXPECT_NE(ErrorOf([&] { LoadIdxDataset(d / "img.idx", d / "lab5.idx", "x"); }).find("holds 5"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] { LoadIdxDataset(d / "img.idx", d / "lab.idx", "x", 2); }).find("outside the 2 classes"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] { LoadIdxDataset(d / "img.idx", d / "img.idx", "x"); }).find("1 dimension"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] { LoadDataSpec("mnist"); }).find("unknown data 'mnist'"), std::string::npos);
}

TEST(FashionMnist, MissingFilesNameThePackage) {
  const std::string msg = ErrorOf([] { LoadFashionMnist("train", "/nonexistent/fashion-mnist"); });
  EXPECT_NE(msg.find("dataset-fashion-mnist"), std::string::npos) << msg;
  EXPECT_NE(msg.find("train-images-idx3-ubyte.gz"), std::string::npos) << msg;
  EXPECT_NE(ErrorOf([] { LoadFashionMnist("valid"); }).find("'train' and 'test'"), std::string::npos);
}

// The one test that reads the installed package (scripts/setup.sh installs it).
TEST(FashionMnist, InstalledTestSplit) {
  if (!fs::exists(std::string(kFashionMnistDir) + "/t10k-labels-idx1-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const Dataset d = LoadDataSpec("fashion-mnist:test");
  EXPECT_EQ(d.name, "fashion-mnist:test");
  EXPECT_EQ(d.size(), 10000);
  EXPECT_EQ(d.sample_shape, (std::vector<std::int64_t>{28, 28}));
  EXPECT_EQ(d.num_classes, 10);
  std::vector<long> count(10, 0);
  for (auto l : d.labels) ++count[l];
  for (long c : count) EXPECT_EQ(c, 1000);  // the test split is balanced
  const auto [lo, hi] = std::minmax_element(d.inputs.begin(), d.inputs.end());
  EXPECT_EQ(*lo, 0.0f);
  EXPECT_EQ(*hi, 1.0f);
}

}  // namespace
}  // namespace ridgerider::data
