// The search on a RideExecutor (what MPI ranks plug into) against the one-at-a-time search, with
// every ride and its work passed through the byte codec that MPI messages use.
#include <gtest/gtest.h>

#include <deque>
#include <map>

#include "io/state_json.hpp"
#include "mpi/work_codec.hpp"
#include "ridgerider/problems/registry.hpp"
#include "ridgerider/tree.hpp"

namespace ridgerider {
namespace {

// Computes submitted rides lazily and out of order (newest first) on its own objective, as a
// pool of unequal workers might, and hands back only decoded copies of the encoded work.
class ReorderingExecutor : public Explorer::RideExecutor {
 public:
  ReorderingExecutor(Objective& o, const ExploreOptions& opts, long capacity)
      : obj_(o), explorer_(o, opts), capacity_(capacity) {}
  long Capacity() const override { return capacity_; }
  void Submit(const RideNode& n) override {
    queue_.push_back(mpi::EncodeNode(n));
    ++submitted;
  }
  Explorer::RideWork Take(long id) override {
    while (!done_.count(id)) {
      EXPECT_FALSE(queue_.empty()) << "ride " << id << " taken but never submitted";
      if (queue_.empty()) return {};
      const RideNode n = mpi::DecodeNode(queue_.back());
      queue_.pop_back();
      done_[n.id] = mpi::EncodeWork(explorer_.ComputeRide(n, obj_));
    }
    Explorer::RideWork w = mpi::DecodeWork(done_[id]);
    done_.erase(id);
    return w;
  }
  long submitted = 0;

 private:
  Objective& obj_;
  Explorer explorer_;
  long capacity_;
  std::deque<std::string> queue_;
  std::map<long, std::string> done_;
};

struct Events : ExploreCallback {
  std::string log;
  CallbackAction OnStep(const StepEvent& e) override {
    log += std::to_string(e.node) + ":" + std::to_string(e.step) + " " + io::ToJson(*e.x).dump() + " " +
           io::json(e.loss).dump() + "\n";
    return CallbackAction::kContinue;
  }
  CallbackAction OnRideEnd(const RideNode& n) override {
    log += "end " + std::to_string(n.id) + "\n";
    return CallbackAction::kContinue;
  }
};

std::pair<std::string, std::string> Serial(const std::string& problem, const ExploreOptions& o) {
  Problem p = *MakeProblem(problem);
  Events ev;
  Explorer e(*p.objective, o, &ev);
  ExploreResult r = e.Run(p.saddle);
  r.summary.wall_time_s = 0;
  return {io::StateToJson(r.state).dump() + io::ToJson(r.summary).dump(), ev.log};
}

std::pair<std::string, std::string> OnExecutor(const std::string& problem, const ExploreOptions& o, long capacity,
                                               long* submitted = nullptr) {
  Problem p = *MakeProblem(problem);
  Problem worker = *MakeProblem(problem);  // another process's objective: same problem, own counts
  ReorderingExecutor ex(*worker.objective, o, capacity);
  Events ev;
  Explorer e(*p.objective, o, &ev);
  e.SetExecutor(&ex);
  ExploreResult r = e.Run(p.saddle);
  r.summary.wall_time_s = 0;
  if (submitted) *submitted = ex.submitted;
  return {io::StateToJson(r.state).dump() + io::ToJson(r.summary).dump(), ev.log};
}

TEST(RideExecutor, SameStateSummaryAndEventsAsTheSerialSearch) {
  for (const std::string& problem : {"toy2d", "wells3d", "quadratic"}) {
    for (long capacity : {1L, 3L, 64L}) {
      const ExploreOptions o;
      EXPECT_EQ(OnExecutor(problem, o, capacity), Serial(problem, o)) << problem << ", capacity " << capacity;
    }
  }
}

TEST(RideExecutor, BudgetsStopWhereTheSerialSearchStops) {
  ExploreOptions o;
  o.tree.max_rides = 5;
  long submitted = 0;
  EXPECT_EQ(OnExecutor("wells3d", o, 64, &submitted), Serial("wells3d", o));
  EXPECT_LE(submitted, 5);  // never rides more than the ride budget allows
  o = ExploreOptions();
  o.tree.max_gradients = 300;  // stops mid-tree; work ahead of the stop is dropped
  EXPECT_EQ(OnExecutor("wells3d", o, 64), Serial("wells3d", o));
  o = ExploreOptions();
  o.tree.max_leaves = 2;
  EXPECT_EQ(OnExecutor("wells3d", o, 64), Serial("wells3d", o));
}

TEST(RideExecutor, DepthFirstRidesHereWithTheSameResult) {
  ExploreOptions o;
  o.tree.order = ArchiveOrder::kDepthFirst;
  long submitted = 0;
  EXPECT_EQ(OnExecutor("wells3d", o, 8, &submitted), Serial("wells3d", o));
  EXPECT_EQ(submitted, 0);  // the next depth-first ride depends on the last: nothing to hand out
}

TEST(WorkCodec, RoundTripsBitForBitAndRefusesDamagedBytes) {
  Problem p = *MakeProblem("wells3d");
  ExploreOptions o;
  Explorer e(*p.objective, o);
  ExploreState st;
  e.Start(p.saddle, &st);
  ASSERT_FALSE(st.pending.empty());
  RideNode n = st.nodes[st.pending.front() - 1];
  n.start_loss = 0.1 + 0.2;  // a double with no short decimal form
  n.children = {7, 8};
  const std::string node_bytes = mpi::EncodeNode(n);
  EXPECT_EQ(mpi::EncodeNode(mpi::DecodeNode(node_bytes)), node_bytes);
  EXPECT_EQ(mpi::DecodeNode(node_bytes).start_loss, 0.1 + 0.2);
  ASSERT_GT(n.start_gap, 0);
  EXPECT_EQ(mpi::DecodeNode(node_bytes).start_gap, n.start_gap);

  const Explorer::RideWork w = e.ComputeRide(st.nodes[st.pending.front() - 1], *p.objective);
  ASSERT_GT(w.out.steps, 0);
  ASSERT_FALSE(w.steps.empty());
  const std::string work_bytes = mpi::EncodeWork(w);
  const Explorer::RideWork back = mpi::DecodeWork(work_bytes);
  EXPECT_EQ(mpi::EncodeWork(back), work_bytes);
  EXPECT_EQ(back.out.x, w.out.x);
  EXPECT_EQ(back.cost.gradients, w.cost.gradients);
  EXPECT_EQ(back.steps.back().second, w.steps.back().second);
  // Every field of the next ridges, which the rank that merges the ride turns into rides.
  ASSERT_EQ(back.ridges.size(), w.ridges.size());
  for (size_t i = 0; i < w.ridges.size(); ++i) {
    EXPECT_EQ(back.ridges[i].index, w.ridges[i].index);
    EXPECT_EQ(back.ridges[i].cluster_size, w.ridges[i].cluster_size);
    EXPECT_EQ(back.ridges[i].eigenvalue, w.ridges[i].eigenvalue);
    EXPECT_EQ(back.ridges[i].gap, w.ridges[i].gap);
    EXPECT_EQ(back.ridges[i].direction, w.ridges[i].direction);
  }

  for (size_t cut : {size_t{0}, size_t{5}, work_bytes.size() / 2, work_bytes.size() - 1})
    EXPECT_THROW(mpi::DecodeWork(std::string_view(work_bytes).substr(0, cut)), std::runtime_error) << cut;
  EXPECT_THROW(mpi::DecodeNode(node_bytes + "x"), std::runtime_error);
}

}  // namespace
}  // namespace ridgerider
