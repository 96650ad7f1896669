#include <gtest/gtest.h>

#include "io/state_json.hpp"
#include "ridgerider/errors.hpp"
#include "ridgerider/problems/registry.hpp"

namespace ridgerider {
namespace {

TEST(StateJson, RoundTripsExactlyIncludingPendingRides) {
  Problem p = *MakeProblem("wells3d");
  ExploreOptions o;
  o.tree.max_rides = 5;  // leaves rides pending in the archive
  ExploreResult r = Explore(*p.objective, p.saddle, o);
  ASSERT_FALSE(r.state.pending.empty());
  const nlohmann::json j = io::StateToJson(r.state);
  const ExploreState back = io::StateFromJson(nlohmann::json::parse(j.dump()));
  EXPECT_EQ(io::StateToJson(back).dump(), j.dump());
  ASSERT_EQ(back.nodes.size(), r.state.nodes.size());
  for (size_t i = 0; i < back.nodes.size(); ++i) {
    EXPECT_EQ(back.nodes[i].start_x, r.state.nodes[i].start_x);  // bit for bit
    EXPECT_EQ(back.nodes[i].start_direction, r.state.nodes[i].start_direction);
  }
}

// States written before rides carried their ridge's gap still resume (the fixed tracking rule).
TEST(StateJson, StateWithoutRideGapsReadsThemAsUnknown) {
  Problem p = *MakeProblem("wells3d");
  ExploreOptions o;
  o.tree.max_rides = 3;
  nlohmann::json j = io::StateToJson(Explore(*p.objective, p.saddle, o).state);
  ASSERT_GT(j["tree"][0]["start_gap"].get<double>(), 0);
  for (nlohmann::json& n : j["tree"]) n.erase("start_gap");
  const ExploreState back = io::StateFromJson(j);
  for (const RideNode& n : back.nodes) EXPECT_EQ(n.start_gap, 0.0);
}

TEST(StateJson, MalformedStateIsAnInputError) {
  EXPECT_THROW(io::StateFromJson(nlohmann::json::parse("{\"start\": 1}")), InputError);
}

}  // namespace
}  // namespace ridgerider

namespace ridgerider {
namespace {

TEST(StateJson, NonIntegerOrHugeIdsAreInputErrors) {
  Problem p = *MakeProblem("toy2d");
  ExploreOptions o;
  o.tree.max_rides = 2;
  nlohmann::json j = io::StateToJson(Explore(*p.objective, p.saddle, o).state);
  nlohmann::json bad = j;
  bad["tree"][0]["cluster_size"] = 1.5e25;  // found by fuzz/state_fuzzer: was undefined behaviour
  EXPECT_THROW(io::StateFromJson(bad), InputError);
  bad = j;
  bad["pending"] = nlohmann::json::array({2.5});
  EXPECT_THROW(io::StateFromJson(bad), InputError);
  EXPECT_NO_THROW(io::StateFromJson(j));
}

}  // namespace
}  // namespace ridgerider
