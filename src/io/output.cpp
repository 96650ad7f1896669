#include "io/output.hpp"

#include <unistd.h>

#include <sstream>
#include <system_error>

#include "io/state_json.hpp"
#include "io/vector_files.hpp"
#include "ridgerider/errors.hpp"

namespace ridgerider::io {

namespace fs = std::filesystem;
using nlohmann::json;

void WriteFileAtomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw InputError("cannot write '" + tmp.string() + "'");
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() &&
                    std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
    std::fclose(f);
    if (!ok) {
      fs::remove(tmp);
      throw InputError("cannot write '" + tmp.string() + "' (disk full?)");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw InputError("cannot rename '" + tmp.string() + "' to '" + path.string() + "': " + ec.message());
}

namespace {
std::string Num(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}
}  // namespace

std::string SolutionsCsv(const std::vector<Solution>& solutions, int dim) {
  std::ostringstream out;
  // Long vectors (network parameters) are in result.json's vector files, not in the table.
  if (static_cast<size_t>(dim) > kInlineVectorLimit) dim = 0;
  out << "id,loss,grad_norm,min_eigenvalue,is_minimum,fingerprint";
  for (int i = 0; i < dim; ++i) out << ",x" << i;
  out << "\n";
  for (const Solution& s : solutions) {
    std::string fp;
    for (const Branch& b : s.fingerprint) fp += (fp.empty() ? "" : "/") + std::string(b.sign > 0 ? "+" : "-") + std::to_string(b.index);
    out << s.id << "," << Num(s.loss) << "," << Num(s.grad_norm) << "," << Num(s.min_eigenvalue) << ","
        << (s.is_minimum ? "true" : "false") << "," << fp;
    for (int i = 0; i < dim; ++i) out << "," << Num(s.x[i]);
    out << "\n";
  }
  return out.str();
}

void LandscapeBounds(const ExploreState& st, Vector* lo, Vector* hi) {
  *lo = *hi = st.start.x;
  const auto grow = [&](const Vector& p) {
    if (p.size() != lo->size() || !p.allFinite()) return;
    *lo = lo->cwiseMin(p);
    *hi = hi->cwiseMax(p);
  };
  for (const RideNode& n : st.nodes) {
    grow(n.start_x);
    if (n.done()) grow(n.end_x);
    if (n.settled) grow(n.branch_x);
  }
  for (const Solution& s : st.solutions) grow(s.x);
  const Vector span = (*hi - *lo).cwiseMax(1e-3 * std::max(1.0, lo->cwiseAbs().maxCoeff()));
  *lo -= 0.15 * span;
  *hi += 0.15 * span;
}

json LandscapeGrid(Objective& obj, const Vector& lo, const Vector& hi, int n) {
  json xs = json::array(), ys = json::array(), rows = json::array();
  for (int i = 0; i < n; ++i) xs.push_back(lo[0] + (hi[0] - lo[0]) * i / (n - 1));
  for (int j = 0; j < n; ++j) ys.push_back(lo[1] + (hi[1] - lo[1]) * j / (n - 1));
  Vector p(2);
  for (int j = 0; j < n; ++j) {
    json row = json::array();
    for (int i = 0; i < n; ++i) {
      p << xs[i].get<double>(), ys[j].get<double>();
      double f = 0;
      row.push_back(obj.Value(p, &f) == EvalStatus::kOk ? json(f) : json(nullptr));
    }
    rows.push_back(std::move(row));
  }
  return json{{"x", xs}, {"y", ys}, {"loss", rows}};
}

EventLog::EventLog(const fs::path& path) : out_(path, std::ios::trunc) {
  if (!out_) throw InputError("cannot write '" + path.string() + "'");
}

EventLog::EventLog(const fs::path& path, long bytes, long solutions) : solutions_seen_(solutions) {
  std::error_code ec;
  if (fs::exists(path) && static_cast<long>(fs::file_size(path)) >= bytes) fs::resize_file(path, bytes, ec);
  out_.open(path, std::ios::app);
  if (!out_ || ec) throw InputError("cannot continue '" + path.string() + "'");
}

long EventLog::Bytes() {
  out_.flush();
  return static_cast<long>(out_.tellp());
}

// Whatever kept x a concurrent ride buffered is all the log writes: events.jsonl stays the same
// for any number of threads or ranks.
static_assert(kInlineVectorLimit <= static_cast<size_t>(kBufferedStepXLimit));

CallbackAction EventLog::OnStep(const StepEvent& e) {
  json j{{"event", "step"},           {"ride", e.node},       {"step", e.step},
         {"loss", e.loss},            {"eigenvalue", e.eigenvalue},
         {"overlap", e.overlap},      {"step_size", e.step_size}, {"grad_norm", e.grad_norm}};
  // A long x (network parameters) at every step would dwarf everything else: left out.
  if (e.x && static_cast<size_t>(e.x->size()) <= kInlineVectorLimit) j["x"] = ToJson(*e.x);
  out_ << j.dump() << "\n";
  return CallbackAction::kContinue;
}

CallbackAction EventLog::OnRideEnd(const RideNode& n) {
  out_ << json{{"event", "ride_end"},  {"ride", n.id},          {"reason", ToString(n.reason)},
               {"steps", n.steps},     {"end_loss", n.end_loss}, {"children", n.children}}
              .dump()
       << "\n";
  out_.flush();
  return CallbackAction::kContinue;
}

CallbackAction EventLog::OnLeaf(const Solution& s, const RideNode& n) {
  const bool is_new = s.id >= solutions_seen_;
  if (is_new) solutions_seen_ = s.id + 1;
  out_ << json{{"event", "leaf"}, {"ride", n.id}, {"solution", s.id}, {"new", is_new}}.dump() << "\n";
  return CallbackAction::kContinue;
}

ProgressLine::ProgressLine(double interval_s)
    : start_(std::chrono::steady_clock::now()), last_(start_), interval_(interval_s) {}

void ProgressLine::Seed(const ExploreState& resumed) {
  rides_ = RidesDone(resumed);
  leaves_ = resumed.leaves;
  solutions_ = static_cast<long>(resumed.solutions.size());
}

CallbackAction ProgressLine::OnRideEnd(const RideNode& n) {
  ++rides_;
  depth_ = n.depth;
  Print(false);
  return CallbackAction::kContinue;
}

CallbackAction ProgressLine::OnLeaf(const Solution& s, const RideNode&) {
  ++leaves_;
  solutions_ = std::max(solutions_, s.id + 1);
  return CallbackAction::kContinue;
}

void ProgressLine::Print(bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (!force && std::chrono::duration<double>(now - last_).count() < interval_) return;
  last_ = now;
  printed_ = true;
  std::fprintf(stderr, "ridgerider: %ld rides (depth %d), %ld leaves, %ld solutions, %.1f s\n", rides_,
               depth_, leaves_, solutions_, std::chrono::duration<double>(now - start_).count());
}

void ProgressLine::Finish() {
  if (printed_) Print(true);
}

}  // namespace ridgerider::io
