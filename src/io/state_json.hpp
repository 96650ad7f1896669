// JSON form of the search state (start point, rides, pending archive, solutions). result.json
// uses the same functions, and StateFromJson reads them back exactly (doubles are written
// with round-trip precision), which is what checkpoints and workers will build on.
#pragma once

#include <nlohmann/json.hpp>

#include "ridgerider/tree.hpp"

namespace ridgerider::io {

nlohmann::json ToJson(const Vector& v);
Vector VectorFromJson(const nlohmann::json& j);

nlohmann::json ToJson(const RideNode& n);
nlohmann::json ToJson(const Solution& s);
nlohmann::json ToJson(const StartInfo& s);
nlohmann::json ToJson(const ExploreSummary& s);

nlohmann::json StateToJson(const ExploreState& st);
ExploreState StateFromJson(const nlohmann::json& j);  // throws InputError when malformed

}  // namespace ridgerider::io
