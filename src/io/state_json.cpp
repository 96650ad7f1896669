#include "io/state_json.hpp"

#include <limits>

#include "ridgerider/errors.hpp"

namespace ridgerider::io {

using nlohmann::json;

json ToJson(const Vector& v) {
  json a = json::array();
  for (Eigen::Index i = 0; i < v.size(); ++i) a.push_back(v[i]);
  return a;
}

Vector VectorFromJson(const json& j) {
  Vector v(static_cast<Eigen::Index>(j.size()));
  for (size_t i = 0; i < j.size(); ++i) v[static_cast<Eigen::Index>(i)] = j[i].get<double>();
  return v;
}

namespace {

json ToJson(const Fingerprint& f) {
  json a = json::array();
  for (const Branch& b : f) a.push_back(json::array({b.index, b.sign}));
  return a;
}

Fingerprint FingerprintFromJson(const json& j) {
  Fingerprint f;
  for (const auto& b : j) f.push_back(Branch{IntFromJson<int>(b.at(0)), IntFromJson<int>(b.at(1))});
  return f;
}

}  // namespace

json ToJson(const RideNode& n) {
  return json{{"id", n.id},
              {"parent", n.parent},
              {"depth", n.depth},
              {"path", ToJson(n.path)},
              {"start_x", ToJson(n.start_x)},
              {"start_direction", ToJson(n.start_direction)},
              {"end_x", ToJson(n.done() ? n.end_x : n.start_x)},
              {"start_loss", n.start_loss},
              {"end_loss", n.done() ? n.end_loss : n.start_loss},
              {"start_eigenvalue", n.start_eigenvalue},
              {"start_gap", n.start_gap},
              {"end_eigenvalue", n.end_eigenvalue},
              {"end_grad_norm", n.end_grad_norm},
              {"cluster_size", n.cluster_size},
              {"steps", n.steps},
              {"end_reason", ToString(n.reason)},
              {"children", n.children},
              {"settled", n.settled},
              {"branch_x", ToJson(n.branch_x)},
              {"branch_loss", n.branch_loss},
              {"solution", n.solution >= 0 ? json(n.solution) : json(nullptr)},
              {"truncated", n.truncated},
              {"gradients", n.gradients},
              {"hvps", n.hvps}};
}

json ToJson(const Solution& s) {
  return json{{"id", s.id},
              {"x", ToJson(s.x)},
              {"loss", s.loss},
              {"grad_norm", s.grad_norm},
              {"min_eigenvalue", s.min_eigenvalue},
              {"fingerprint", ToJson(s.fingerprint)},
              {"is_minimum", s.is_minimum},
              {"polish_converged", s.polish_converged},
              {"polish_iterations", s.polish_iterations},
              {"ride", s.node},
              {"reached_by", s.reached_by}};
}

json ToJson(const StartInfo& s) {
  return json{{"x", ToJson(s.x)},
              {"loss", s.loss},
              {"grad_norm", s.grad_norm},
              {"eigenvalues", ToJson(s.eigenvalues)},
              {"mis",
               {{"run", s.mis_run},
                {"grad_norm_start", s.mis_grad_norm_start},
                {"iterations", s.mis_iterations},
                {"converged", s.mis_converged}}}};
}

json ToJson(const ExploreSummary& s) {
  json reasons = json::object();
  for (const auto& [k, v] : s.end_reasons) reasons[k] = v;
  return json{{"stop_reason", s.stop_reason},
              {"rides", s.rides},
              {"pending", s.pending},
              {"leaves", s.leaves},
              {"solutions", s.solutions},
              {"minima", s.minima},
              {"values", s.counts.values},
              {"gradients", s.counts.gradients},
              {"hvps", s.counts.hvps},
              {"hessians", s.counts.hessians},
              {"hvp_equivalents", s.hvp_equivalents},
              {"spectrum_method", s.spectrum_method},
              {"polish_method", s.polish_method},
              {"settle_method", s.settle_method},
              {"end_reasons", reasons},
              {"wall_time_s", s.wall_time_s}};
}

json StateToJson(const ExploreState& st) {
  json nodes = json::array(), sols = json::array();
  for (const auto& n : st.nodes) nodes.push_back(ToJson(n));
  for (const auto& s : st.solutions) sols.push_back(ToJson(s));
  return json{{"start", ToJson(st.start)}, {"tree", nodes},       {"pending", st.pending},
              {"solutions", sols},         {"leaves", st.leaves}, {"aborted", st.aborted},
              {"stop_reason", st.stop_reason}};
}

ExploreState StateFromJson(const json& j) {
  ExploreState st;
  try {
    const json& s = j.at("start");
    st.start.x = VectorFromJson(s.at("x"));
    st.start.loss = s.at("loss").get<double>();
    st.start.grad_norm = s.at("grad_norm").get<double>();
    st.start.eigenvalues = VectorFromJson(s.at("eigenvalues"));
    const json& m = s.at("mis");
    st.start.mis_run = m.at("run").get<bool>();
    st.start.mis_grad_norm_start = m.at("grad_norm_start").get<double>();
    st.start.mis_iterations = IntFromJson<int>(m.at("iterations"));
    st.start.mis_converged = m.at("converged").get<bool>();
    for (const json& n : j.at("tree")) {
      RideNode r;
      r.id = IntFromJson<long>(n.at("id"));
      r.parent = IntFromJson<long>(n.at("parent"));
      r.depth = IntFromJson<int>(n.at("depth"));
      r.path = FingerprintFromJson(n.at("path"));
      r.start_x = VectorFromJson(n.at("start_x"));
      r.start_direction = VectorFromJson(n.at("start_direction"));
      r.start_loss = n.at("start_loss").get<double>();
      r.start_eigenvalue = n.at("start_eigenvalue").get<double>();
      // Optional: states written before the gap-aware tracker have none (the fixed rule).
      if (n.contains("start_gap")) r.start_gap = n.at("start_gap").get<double>();
      r.cluster_size = IntFromJson<int>(n.at("cluster_size"));
      const auto reason = EndReasonFromString(n.at("end_reason").get<std::string>());
      if (!reason) throw InputError("unknown end_reason " + n.at("end_reason").dump());
      r.reason = *reason;
      r.end_x = VectorFromJson(n.at("end_x"));
      r.end_loss = n.at("end_loss").get<double>();
      r.end_eigenvalue = n.at("end_eigenvalue").get<double>();
      r.end_grad_norm = n.at("end_grad_norm").get<double>();
      r.steps = IntFromJson<int>(n.at("steps"));
      r.children = IntsFromJson<long>(n.at("children"));
      r.settled = n.at("settled").get<bool>();
      r.branch_x = VectorFromJson(n.at("branch_x"));
      r.branch_loss = n.at("branch_loss").get<double>();
      r.solution = n.at("solution").is_null() ? -1 : IntFromJson<long>(n.at("solution"));
      r.truncated = n.at("truncated").get<bool>();
      r.gradients = IntFromJson<long>(n.at("gradients"));
      r.hvps = IntFromJson<long>(n.at("hvps"));
      if (r.id != static_cast<long>(st.nodes.size()) + 1) throw InputError("ride ids are not 1, 2, ...");
      st.nodes.push_back(std::move(r));
    }
    st.pending = IntsFromJson<long>(j.at("pending"));
    for (const json& s2 : j.at("solutions")) {
      Solution s;
      s.id = IntFromJson<long>(s2.at("id"));
      s.x = VectorFromJson(s2.at("x"));
      s.loss = s2.at("loss").get<double>();
      s.grad_norm = s2.at("grad_norm").get<double>();
      s.min_eigenvalue = s2.at("min_eigenvalue").get<double>();
      s.fingerprint = FingerprintFromJson(s2.at("fingerprint"));
      s.is_minimum = s2.at("is_minimum").get<bool>();
      s.polish_converged = s2.at("polish_converged").get<bool>();
      s.polish_iterations = IntFromJson<int>(s2.at("polish_iterations"));
      s.node = IntFromJson<long>(s2.at("ride"));
      s.reached_by = IntsFromJson<long>(s2.at("reached_by"));
      st.solutions.push_back(std::move(s));
    }
    st.leaves = IntFromJson<long>(j.at("leaves"));
    st.aborted = j.at("aborted").get<bool>();
    st.stop_reason = j.at("stop_reason").get<std::string>();
  } catch (const json::exception& e) {
    throw InputError(std::string("malformed search state: ") + e.what());
  }
  return st;
}

}  // namespace ridgerider::io
