// Writers of a result directory (see docs/result-format.md) and the callbacks that stream a
// search to disk and to the terminal while it runs.
#pragma once

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "ridgerider/callbacks.hpp"
#include "ridgerider/tree.hpp"

namespace ridgerider::io {

// Writes text to path atomically: a temporary file in the same directory, flushed, renamed.
// A reader (or a crash) sees either the old file or the new one, never half of one.
void WriteFileAtomically(const std::filesystem::path& path, const std::string& text);

// solutions.csv: id,loss,grad_norm,min_eigenvalue,is_minimum,fingerprint,x0,x1,...
std::string SolutionsCsv(const std::vector<Solution>& solutions, int dim);

// Loss on a regular grid over [lo, hi] (2-D objectives), for the landscape plot.
nlohmann::json LandscapeGrid(Objective& obj, const Vector& lo, const Vector& hi, int resolution);
// The box around the start, every ride's ends and every solution, padded by 15%. Built from
// the state alone, so a resumed run draws the same landscape.
void LandscapeBounds(const ExploreState& st, Vector* lo, Vector* hi);

// events.jsonl: one line per step, ride end and leaf; flushed at each ride end so a killed run
// keeps every finished ride's events.
class EventLog : public ExploreCallback {
 public:
  explicit EventLog(const std::filesystem::path& path);
  // Continues a log after a resume: cut back to `bytes` (what the checkpoint had seen), then
  // append; `solutions` already known.
  EventLog(const std::filesystem::path& path, long bytes, long solutions);
  long Bytes();  // flushed length
  CallbackAction OnStep(const StepEvent& e) override;
  CallbackAction OnRideEnd(const RideNode& n) override;
  CallbackAction OnLeaf(const Solution& s, const RideNode& n) override;

 private:
  std::ofstream out_;
  long solutions_seen_ = 0;
};

// A progress line on stderr at most every `interval` seconds: rides done, pending, solutions.
class ProgressLine : public ExploreCallback {
 public:
  explicit ProgressLine(double interval_s = 1.0);
  void Seed(const ExploreState& resumed);  // count what a resumed run had already done
  CallbackAction OnRideEnd(const RideNode& n) override;
  CallbackAction OnLeaf(const Solution& s, const RideNode& n) override;
  void Finish();

 private:
  void Print(bool force);
  std::chrono::steady_clock::time_point start_, last_;
  double interval_;
  long rides_ = 0, solutions_ = 0, leaves_ = 0;
  int depth_ = 0;
  bool printed_ = false;
};

}  // namespace ridgerider::io
