#include <gtest/gtest.h>

#include <fstream>

#include "io/run_config.hpp"
#include "ridgerider/errors.hpp"

namespace ridgerider::io {
namespace {

using nlohmann::json;

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(RunConfig, EveryOptionRoundTripsThroughJson) {
  RunConfig c;
  c.problem = "toy2d";
  c.explore.ride.step_size = 0.125;
  c.explore.tree.order = ArchiveOrder::kDepthFirst;
  c.explore.mis.enabled = true;
  const json j = ConfigToJson(c);
  RunConfig back;
  for (const auto& [k, v] : j.items()) ApplyOption(back, k, v);
  EXPECT_EQ(ConfigToJson(back), j);
  EXPECT_EQ(j["order"], "depth-first");
  EXPECT_EQ(j["step-size"], 0.125);
}

TEST(RunConfig, TypoGetsTheNearestName) {
  RunConfig c;
  const std::string e = ErrorOf([&] { ApplyOption(c, "stepsize", 0.1); });
  EXPECT_NE(e.find("'stepsize'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'step-size'"), std::string::npos) << e;
}

TEST(RunConfig, WrongTypesNameTheOption) {
  RunConfig c;
  EXPECT_NE(ErrorOf([&] { ApplyOption(c, "step-size", "big"); }).find("option 'step-size'"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { ApplyOption(c, "max-rides", 1.5); }).find("max-rides"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { ApplyOption(c, "order", "sideways"); }).find("breadth-first"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { ApplyOption(c, "x0", json::array({1, "a"})); }).find("x0"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { ParseOptionText(*FindOption("x0"), "1,,2"); }).find("x0"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { ParseOptionText(*FindOption("x0"), "1,nan"); }).find("not finite"), std::string::npos);
  EXPECT_EQ(ParseOptionText(*FindOption("x0"), "-1,2.5"), json::array({-1.0, 2.5}));
}

TEST(RunConfig, ValidationNamesTheProblem) {
  RunConfig c;
  EXPECT_NE(ErrorOf([&] { ValidateConfig(c); }).find("nothing to explore"), std::string::npos);
  c.objective_source = "def f(x: Tensor) -> Tensor: return x.sum()";
  EXPECT_NE(ErrorOf([&] { ValidateConfig(c); }).find("--x0 is required"), std::string::npos);
  c.x0 = {0.0};
  c.explore.ride.step_size = -1;
  EXPECT_NE(ErrorOf([&] { ValidateConfig(c); }).find("step-size"), std::string::npos);
}

TEST(RunConfig, ConfigFileErrors) {
  const std::string path = ::testing::TempDir() + "/bad.json";
  std::ofstream(path) << "{\"problem\": \"toy2d\", ";
  RunConfig c;
  EXPECT_NE(ErrorOf([&] { ApplyConfigFile(c, path); }).find("not valid JSON"), std::string::npos);
  std::ofstream(path) << "{\"problem\": \"toy2d\", \"max-ride\": 3}";
  EXPECT_NE(ErrorOf([&] { ApplyConfigFile(c, path); }).find("did you mean 'max-rides'"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { ApplyConfigFile(c, path + ".missing"); }).find("cannot be read"), std::string::npos);
}

}  // namespace
}  // namespace ridgerider::io

namespace ridgerider::io {
namespace {

TEST(RunConfig, IntegersTheFieldCannotHoldAreRefusedNotTruncated) {
  RunConfig c;
  EXPECT_NE(ErrorOf([&] { ApplyOption(c, "max-steps", json(4294967297LL)); }).find("out of range"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { ApplyOption(c, "landscape-resolution", json(4294967417LL)); }).find("out of range"),
            std::string::npos);
  ApplyOption(c, "max-rides", json(4294967297LL));  // a long budget holds it
  EXPECT_EQ(c.explore.tree.max_rides, 4294967297L);
}

TEST(RunConfig, NumberOverflowInAConfigFileIsBadInput) {
  const std::string path = ::testing::TempDir() + "/overflow.json";
  std::ofstream(path) << "{\"problem\": \"toy2d\", \"step-size\": 1e400}";
  RunConfig c;
  EXPECT_NE(ErrorOf([&] { ApplyConfigFile(c, path); }).find("not valid JSON"), std::string::npos);
}


TEST(RunConfig, SpectrumOptionsRoundTripAndAreChecked) {
  RunConfig c;
  ApplyOption(c, "spectrum-method", "matrix-free");
  ApplyOption(c, "eigen-solver", "spectra");
  ApplyOption(c, "eigenpairs", 4);
  EXPECT_EQ(c.explore.spectrum.method, SpectrumMethod::kMatrixFree);
  EXPECT_EQ(c.explore.spectrum.solver, EigenSolver::kSpectra);
  EXPECT_EQ(ConfigToJson(c)["spectrum-method"], "matrix-free");
  EXPECT_NE(ErrorOf([&] { ApplyOption(c, "spectrum-method", "sparse"); }).find("auto, dense, matrix-free"),
            std::string::npos);
  c.problem = "toy2d";
  c.explore.spectrum.track_tolerance = 0;
  EXPECT_NE(ErrorOf([&] { ValidateConfig(c); }).find("track-tolerance"), std::string::npos);
  c.explore.spectrum.track_tolerance = 1e-3;
  ApplyOption(c, "track-cosine", 0.999);
  EXPECT_EQ(c.explore.spectrum.track_cosine, 0.999);
  EXPECT_EQ(ConfigToJson(c)["track-cosine"], 0.999);
  ApplyOption(c, "track-cosine", 1.0);
  EXPECT_NE(ErrorOf([&] { ValidateConfig(c); }).find("track-cosine must be in [0, 1)"), std::string::npos);
  c.explore.spectrum.track_cosine = 0;
  c.explore.spectrum.krylov_basis = 5;
  EXPECT_NE(ErrorOf([&] { ValidateConfig(c); }).find("krylov-basis"), std::string::npos);
}

}  // namespace
}  // namespace ridgerider::io
