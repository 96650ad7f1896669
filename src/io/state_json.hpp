// JSON form of the search state (start point, rides, pending archive, solutions). result.json
// uses the same functions, and StateFromJson reads them back exactly (doubles are written
// with round-trip precision), which is what checkpoints and workers will build on.
#pragma once

#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "ridgerider/errors.hpp"
#include "ridgerider/tree.hpp"

namespace ridgerider::io {

using nlohmann::json;

// An integer field: anything else (a float, an out-of-range number) is malformed input, not a
// value to convert.
template <class T>
T IntFromJson(const json& v) {
  if (!v.is_number_integer()) throw InputError("expected an integer, got " + v.dump());
  if (v.is_number_unsigned() ? v.get<unsigned long long>() > static_cast<unsigned long long>(std::numeric_limits<T>::max())
                             : (v.get<long long>() < std::numeric_limits<T>::min() ||
                                v.get<long long>() > std::numeric_limits<T>::max()))
    throw InputError("integer out of range: " + v.dump());
  return static_cast<T>(v.get<long long>());
}

template <class T>
std::vector<T> IntsFromJson(const json& v) {
  if (!v.is_array()) throw InputError("expected a list of integers, got " + v.dump());
  std::vector<T> out;
  for (const json& e : v) out.push_back(IntFromJson<T>(e));
  return out;
}

nlohmann::json ToJson(const Vector& v);
Vector VectorFromJson(const nlohmann::json& j);

nlohmann::json ToJson(const RideNode& n);
nlohmann::json ToJson(const Solution& s);
nlohmann::json ToJson(const StartInfo& s);
nlohmann::json ToJson(const ExploreSummary& s);

nlohmann::json StateToJson(const ExploreState& st);
ExploreState StateFromJson(const nlohmann::json& j);  // throws InputError when malformed

}  // namespace ridgerider::io
