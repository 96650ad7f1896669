#include "io/run_directory.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <sstream>

#include "io/output.hpp"
#include "io/state_json.hpp"
#include "io/vector_files.hpp"
#include "ridgerider/errors.hpp"

namespace ridgerider::io {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string VectorText(const Vector& v) {
  std::ostringstream s;
  s << "[";
  for (Eigen::Index i = 0; i < std::min<Eigen::Index>(v.size(), 8); ++i) s << (i ? ", " : "") << v[i];
  if (v.size() > 8) s << ", ... (" << v.size() << " numbers)";
  s << "]";
  return s.str();
}

}  // namespace

DirectoryRun RunToDirectory(const RunConfig& c, const RunTarget& target, const fs::path& out,
                            std::optional<Checkpoint> ck, ExploreCallback* extra) {
  Objective& obj = *target.objective;

  // A loss that is not finite at the start cannot be explored: say so before writing anything.
  double f0 = 0;
  if (obj.Value(target.x0, &f0) != EvalStatus::kOk)
    throw InputError("the loss is not finite at the start point x0 = " + VectorText(target.x0) + " (value " +
                     std::to_string(f0) + ")");
  obj.ResetCounts();

  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) throw InputError("cannot create the result directory '" + out.string() + "': " + ec.message());

  ExploreState st;
  double before_s = 0;
  std::unique_ptr<EventLog> events;
  if (ck) {
    st = std::move(ck->state);
    obj.RestoreCounts(ck->counts);
    before_s = ck->wall_time_s;
    events = std::make_unique<EventLog>(out / "events.jsonl", ck->events_bytes, static_cast<long>(st.solutions.size()));
  } else {
    events = std::make_unique<EventLog>(out / "events.jsonl");
  }
  ProgressLine progress(1.0);
  progress.Seed(st);
  CallbackList callbacks;
  callbacks.Add(events.get());
  if (c.progress) callbacks.Add(&progress);
  callbacks.Add(extra);

  ExploreOptions explore = c.explore;
  explore.tree.threads = c.threads;
  Explorer explorer(obj, explore, &callbacks);
  if (target.executor) explorer.SetExecutor(target.executor);
  const auto t0 = std::chrono::steady_clock::now();
  auto last = t0;
  const json options = ConfigToJson(c);
  const auto checkpoint = [&](bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && std::chrono::duration<double>(now - last).count() < c.checkpoint_interval) return;
    last = now;
    WriteCheckpoint(out, Checkpoint{options, st, obj.counts(),
                                    before_s + std::chrono::duration<double>(now - t0).count(), events->Bytes()});
  };
  if (!ck) {
    explorer.Start(target.x0, &st);
    checkpoint(true);
  }
  while (explorer.Next(&st)) checkpoint(false);
  DirectoryRun run;
  run.result = explorer.Finish(std::move(st), t0);
  ExploreResult& r = run.result;
  r.summary.wall_time_s += before_s;
  if (c.progress) progress.Finish();

  json& result = run.result_json;
  result = json::object();
  result["format"] = "ridgerider-result/1";
  result["problem"] = {{"name", target.name}, {"dim", obj.dim()}, {"kind", target.kind}};
  if (!target.model.is_null()) result["problem"]["model"] = target.model;
  result["options"] = options;
  const json state = StateToJson(r.state);
  result["start"] = state["start"];
  result["solutions"] = state["solutions"];
  result["tree"] = state["tree"];
  result["summary"] = ToJson(r.summary);
  result["summary"]["seed"] = c.explore.seed;
  if (obj.dim() == 2) {
    LandscapeBounds(r.state, &run.landscape_lo, &run.landscape_hi);
    if (target.landscape)
      result["landscape"] = LandscapeGrid(obj, run.landscape_lo, run.landscape_hi, c.landscape_resolution);
  }
  ExternalizeVectors(&result, out);  // long vectors (network parameters) to DIR/vectors/*.npy
  events->Bytes();  // flushed before result.json says the run is complete
  WriteFileAtomically(out / "solutions.csv", SolutionsCsv(r.state.solutions, obj.dim()));
  WriteFileAtomically(out / "result.json", result.dump(1) + "\n");
  fs::remove(out / kCheckpointFile, ec);
  fs::remove(out / kPreviousCheckpointFile, ec);
  fs::remove(out / kNextCheckpointFile, ec);
  return run;
}

}  // namespace ridgerider::io
