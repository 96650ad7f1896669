// Long vectors out of the JSON files: .npy round trip, content-addressed de-duplication, short
// arrays left inline, and a checkpoint that references vector files reads back exactly.
#include "io/vector_files.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "io/checkpoint.hpp"
#include "ridgerider/errors.hpp"
#include "ridgerider/rng.hpp"

namespace ridgerider::io {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct TempDir {
  fs::path path = fs::temp_directory_path() /
                  ("rr_vec_" + std::to_string(::getpid()) + "_" +
                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

json Numbers(int n, std::uint64_t key) {
  KeyedRng rng(1, key);
  json a = json::array();
  for (int i = 0; i < n; ++i) a.push_back(rng.Normal());
  return a;
}

TEST(VectorFiles, NpyRoundTripIsExact) {
  TempDir d;
  const std::vector<double> v = {1.0, -2.5, 1e-300, 3.141592653589793};
  WriteNpy(d.path / "v.npy", v);
  EXPECT_EQ(ReadNpy(d.path / "v.npy"), v);
  std::ifstream in(d.path / "v.npy", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.size(), 128u + 32u);  // header padded to 64 bytes, as NumPy writes it
  std::ofstream(d.path / "bad.npy", std::ios::binary) << bytes.substr(0, bytes.size() - 3);
  EXPECT_THROW(ReadNpy(d.path / "bad.npy"), InputError);
}

TEST(VectorFiles, LongArraysGoToFilesOnceShortOnesStay) {
  TempDir d;
  const json big = Numbers(1500, 1), other = Numbers(1001, 2), small = Numbers(1000, 3);
  json j = {{"solutions", {{{"x", big}, {"loss", 1.0}}, {{"x", other}}}},
            {"tree", {{{"start_x", big}, {"end_x", small}}}}};
  const json original = j;
  ExternalizeVectors(&j, d.path);
  EXPECT_TRUE(j["solutions"][0]["x"].is_object());
  EXPECT_EQ(j["solutions"][0]["x"], j["tree"][0]["start_x"]);  // same content, same file
  EXPECT_NE(j["solutions"][0]["x"], j["solutions"][1]["x"]);
  EXPECT_EQ(j["tree"][0]["end_x"], small);
  EXPECT_EQ(std::distance(fs::directory_iterator(d.path / kVectorDir), fs::directory_iterator()), 2);
  InternalizeVectors(&j, d.path);
  EXPECT_EQ(j, original);
  json bad = {{"x", {{"npy", "../etc/passwd"}}}};
  EXPECT_THROW(InternalizeVectors(&bad, d.path), InputError);
  json missing = {{"x", {{"npy", "vectors/0000000000000000.npy"}}}};
  EXPECT_THROW(InternalizeVectors(&missing, d.path), InputError);
}

TEST(VectorFiles, CheckpointWithLongVectorsReadsBackExactly) {
  TempDir d;
  Checkpoint c;
  c.options = {{"model", "mlp:40-30-3"}};
  KeyedRng rng(2, 0);
  c.state.start.x = rng.NormalVector(1200);
  c.state.start.loss = 1.5;
  RideNode n;
  n.id = 1;
  n.start_x = c.state.start.x;
  n.start_direction = rng.NormalVector(1200);
  n.end_x = rng.NormalVector(1200);
  c.state.nodes.push_back(n);
  c.state.pending.push_back(1);
  WriteCheckpoint(d.path, c);
  std::ifstream in(d.path / kCheckpointFile);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_LT(text.size(), 20000u);  // three vectors of 1200 doubles would be ~70 kB inline
  const Checkpoint back = ReadCheckpoint(d.path, nullptr);
  EXPECT_EQ(back.state.start.x, c.state.start.x);
  EXPECT_EQ(back.state.nodes[0].start_direction, n.start_direction);
  EXPECT_EQ(back.state.nodes[0].start_x, n.start_x);
}

}  // namespace
}  // namespace ridgerider::io
