// Callbacks: one interface for everything that watches a search (progress lines, the events
// log, a user's early stop). Each hook may let the search continue, end the current ride, or
// abort the search; aborting keeps everything computed so far.
#pragma once

#include <vector>

#include "ridgerider/records.hpp"

namespace ridgerider {

enum class CallbackAction { kContinue, kStopRide, kAbort };

class ExploreCallback {
 public:
  virtual ~ExploreCallback() = default;
  virtual CallbackAction OnStep(const StepEvent&) { return CallbackAction::kContinue; }
  virtual CallbackAction OnRideEnd(const RideNode&) { return CallbackAction::kContinue; }
  virtual CallbackAction OnLeaf(const Solution&, const RideNode&) { return CallbackAction::kContinue; }
};

// Fans events out to several callbacks; the strongest action wins (abort > stop > continue).
class CallbackList : public ExploreCallback {
 public:
  void Add(ExploreCallback* c) {
    if (c) list_.push_back(c);
  }
  CallbackAction OnStep(const StepEvent& e) override {
    return Combine([&](ExploreCallback* c) { return c->OnStep(e); });
  }
  CallbackAction OnRideEnd(const RideNode& n) override {
    return Combine([&](ExploreCallback* c) { return c->OnRideEnd(n); });
  }
  CallbackAction OnLeaf(const Solution& s, const RideNode& n) override {
    return Combine([&](ExploreCallback* c) { return c->OnLeaf(s, n); });
  }

 private:
  template <class F>
  CallbackAction Combine(F f) {
    CallbackAction out = CallbackAction::kContinue;
    for (auto* c : list_) {
      CallbackAction a = f(c);
      if (static_cast<int>(a) > static_cast<int>(out)) out = a;
    }
    return out;
  }
  std::vector<ExploreCallback*> list_;
};

}  // namespace ridgerider
