// The search: an archive of pending rides, ridden one at a time in the chosen order until the
// archive is empty or a budget runs out. Every ride's end point either branches (new ridges
// become child rides, both signs each) or is a leaf: polished, verified and merged into the
// solutions. All state lives in ExploreState, a plain record, so a search can be written out
// and continued (checkpoints) or split across workers.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <map>
#include <string>
#include <vector>

#include "ridgerider/local_min.hpp"
#include "ridgerider/ride.hpp"
#include "ridgerider/saddle.hpp"

namespace ridgerider {

struct ExploreState {
  StartInfo start;
  std::vector<RideNode> nodes;  // nodes[i].id == i + 1
  std::vector<long> pending;    // ids of rides not yet ridden, in creation order
  std::vector<Solution> solutions;
  long leaves = 0;
  bool aborted = false;
  std::string stop_reason;
};

struct ExploreResult {
  ExploreState state;
  ExploreSummary summary;
};

inline long RidesDone(const ExploreState& st) {
  long done = 0;
  for (const RideNode& n : st.nodes) done += n.done() ? 1 : 0;
  return done;
}

class Explorer {
 public:
  Explorer(Objective& objective, ExploreOptions options, ExploreCallback* callback = nullptr)
      : obj_(objective), o_(std::move(options)), callback_(callback) {
    CheckSpectrumOptions(o_.spectrum, obj_.dim());
  }

  // Runs the whole search from x0 (after the MIS search when o.mis.enabled).
  ExploreResult Run(const Vector& x0) {
    const auto t0 = std::chrono::steady_clock::now();
    ExploreState state;
    Start(x0, &state);
    while (Next(&state)) {
    }
    return Finish(std::move(state), t0);
  }

  // Builds the root: the start point, its spectrum, and one pending ride per ridge and sign.
  // A start with no ridge is itself polished into the one leaf.
  void Start(Vector x, ExploreState* st) {
    StartInfo& si = st->start;
    obj_.SetRideKey(0);
    if (o_.mis.enabled) {
      if (!dense()) throw InputError("mis: the MIS search forms Hessians; it needs the dense spectrum path");
      MisResult m = FindMis(obj_, x, o_.mis, o_.seed);
      si.mis_run = true;
      si.mis_grad_norm_start = m.grad_norm_start;
      si.mis_iterations = m.iterations;
      si.mis_converged = m.converged;
      x = m.x;
    }
    si.x = x;
    Vector g;
    if (obj_.ValueAndGradient(x, &si.loss, &g) != EvalStatus::kOk) {
      st->stop_reason = "non-finite-start";
      return;
    }
    si.grad_norm = g.norm();
    Spectrum s;
    if (SearchSpectrumAt(obj_, x, o_.spectrum, &s, Matrix(), SolveSeed(o_.seed, 0)) != EvalStatus::kOk) {
      st->stop_reason = "non-finite-start";
      return;
    }
    si.eigenvalues = s.values;
    const std::vector<Ridge> ridges = GetRidges(s, o_.ridge);
    if (ridges.empty()) {
      RideNode root;  // a pseudo-ride of zero steps so the leaf has a node to point at
      root.id = 1;
      root.start_x = root.end_x = x;
      root.start_loss = root.end_loss = si.loss;
      root.reason = EndReason::kAtMinimum;
      st->nodes.push_back(root);
      MergeLeaf(st, st->nodes.back(), Polish(obj_, x, o_.leaf, o_.spectrum));
      return;
    }
    PushChildren(st, nullptr, x, si.loss, g, ridges);
  }

  // Rides the next pending node (or, with tree.threads > 1 in breadth-first order, the next
  // few, concurrently). False when the search is over. Each ride is computed from its node
  // alone and merged in node order, with the budgets checked before each merge exactly where
  // the one-at-a-time search checks them: the state after a call is the same for any number
  // of threads.
  bool Next(ExploreState* st) {
    if (!st->stop_reason.empty()) return false;
    if (st->pending.empty()) { st->stop_reason = "archive-empty"; return false; }
    if (std::string why; !BudgetLeft(*st, &why)) { st->stop_reason = why; return false; }
    if (executor_ && o_.tree.order == ArchiveOrder::kBreadthFirst) return NextFromExecutor(st);
    std::vector<long> ids;
    const size_t batch = BatchSize(*st);
    if (batch <= 1) {
      ids.push_back(PopNext(st));
    } else {
      ids.assign(st->pending.begin(), st->pending.begin() + static_cast<long>(batch));
      st->pending.erase(st->pending.begin(), st->pending.begin() + static_cast<long>(batch));
    }
    std::vector<RideWork> works(ids.size());
    if (ids.size() == 1) {
      works[0] = Compute(st->nodes[ids[0] - 1], obj_, callback_, nullptr);
    } else {
      ComputeConcurrently(*st, ids, &works);
    }
    for (size_t k = 0; k < works.size(); ++k) {
      std::string why;
      const bool stop = k > 0 && !BudgetLeft(*st, &why);
      if (stop || (k > 0 && st->aborted)) {
        // Where the one-at-a-time search would have stopped: the rest go back, unridden.
        st->pending.insert(st->pending.begin(), ids.begin() + static_cast<long>(k), ids.end());
        if (stop) st->stop_reason = why;
        return false;
      }
      Merge(st, works[k], /*add_cost=*/ids.size() > 1);
    }
    return !st->aborted;
  }

  ExploreResult Finish(ExploreState state, std::chrono::steady_clock::time_point t0) const {
    ExploreResult r;
    ExploreSummary& s = r.summary;
    if (state.stop_reason.empty()) state.stop_reason = "archive-empty";
    s.stop_reason = state.stop_reason;
    std::map<std::string, long> reasons;
    s.rides = RidesDone(state);
    for (const RideNode& n : state.nodes) ++reasons[ToString(n.reason)];
    s.pending = static_cast<long>(state.pending.size());
    s.leaves = state.leaves;
    s.solutions = static_cast<long>(state.solutions.size());
    for (const Solution& sol : state.solutions) s.minima += sol.is_minimum ? 1 : 0;
    s.counts = obj_.counts();
    s.hvp_equivalents = HvpEquivalents(s.counts);
    s.spectrum_method = dense() ? "dense" : "matrix-free";
    s.polish_method = dense() ? "newton" : "lbfgs";
    s.settle_method = !o_.ride.settle ? "off" : dense() ? "newton" : "off (matrix-free)";
    s.end_reasons.assign(reasons.begin(), reasons.end());
    s.wall_time_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.state = std::move(state);
    return r;
  }

  const ExploreOptions& options() const { return o_; }
  // The dense spectrum path (else matrix-free): SpectrumOptions::UseDense at this dimension.
  bool dense() const { return o_.spectrum.UseDense(obj_.dim()); }

 private:
  long HvpEquivalents(const EvalCounts& c) const {
    return c.hvps + c.hessians * static_cast<long>(obj_.dim());
  }

  bool BudgetLeft(const ExploreState& st, std::string* why) const {
    const EvalCounts& c = obj_.counts();
    if (RidesDone(st) >= o_.tree.max_rides) { *why = "max-rides"; return false; }
    if (o_.tree.max_leaves > 0 && st.leaves >= o_.tree.max_leaves) {
      *why = "max-leaves";
      return false;
    }
    if (o_.tree.max_gradients > 0 && c.gradients >= o_.tree.max_gradients) {
      *why = "max-gradients";
      return false;
    }
    if (o_.tree.max_hvps > 0 && HvpEquivalents(c) >= o_.tree.max_hvps) {
      *why = "max-hvps";
      return false;
    }
    return true;
  }

  long PopNext(ExploreState* st) const {
    auto& p = st->pending;
    auto it = p.begin();  // breadth-first: oldest
    switch (o_.tree.order) {
      case ArchiveOrder::kBreadthFirst: break;
      case ArchiveOrder::kDepthFirst: it = std::prev(p.end()); break;
      case ArchiveOrder::kMostNegativeFirst:
        it = std::min_element(p.begin(), p.end(), [&](long a, long b) {
          const double la = st->nodes[a - 1].start_eigenvalue, lb = st->nodes[b - 1].start_eigenvalue;
          return la < lb || (la == lb && a < b);
        });
        break;
    }
    const long id = *it;
    p.erase(it);
    return id;
  }

 public:
  // Everything one ride produces, computed from its node alone (so rides can run concurrently
  // or in another process, see RideExecutor):
  // the ride, the branch point, its ridges or its polished leaf, and what it cost.
  struct RideWork {
    long id = 0;
    RideOutcome out;
    bool settled = false;
    Vector branch_x, branch_grad;
    double branch_loss = 0;
    std::vector<Ridge> ridges;
    bool continues = false;  // the end point branches or becomes a leaf
    bool truncated = false;
    bool leaf = false;
    PolishResult polish;
    EvalCounts cost;
    std::vector<std::pair<StepEvent, Vector>> steps;  // buffered when ridden concurrently
  };

  // Collects step events of a concurrent ride, to be replayed in node order at the merge.
  struct StepBuffer : ExploreCallback {
    std::vector<std::pair<StepEvent, Vector>>* steps;
    explicit StepBuffer(std::vector<std::pair<StepEvent, Vector>>* s) : steps(s) {}
    CallbackAction OnStep(const StepEvent& e) override {
      steps->emplace_back(e, e.x->size() <= kBufferedStepXLimit ? *e.x : Vector());
      return CallbackAction::kContinue;
    }
  };

  // Somewhere else rides can run (other processes: src/mpi/). It computes each submitted node
  // with ComputeRide on an objective identical to this search's, and gives the work back when
  // asked for it by id, in any order it likes; the search merges in node order, so the result
  // is the serial one. Used in breadth-first order, where every pending ride's start is known
  // and rides run in creation order, so the executor can be kept busy ahead of the merge.
  class RideExecutor {
   public:
    virtual ~RideExecutor() = default;
    virtual long Capacity() const = 0;  // rides worth submitting ahead of the merge
    virtual void Submit(const RideNode& node) = 0;
    virtual RideWork Take(long id) = 0;  // blocks until that submitted ride's work is back
  };
  // Rides breadth-first searches on `executor` (not owned; nullptr: this process). Work it
  // still holds when the search stops is the executor's to drop.
  void SetExecutor(RideExecutor* executor) { executor_ = executor; }

  // One ride computed on `o` (an objective identical to the search's), its step events
  // buffered in the work: what an executor's worker runs.
  RideWork ComputeRide(const RideNode& n, Objective& o) const {
    std::vector<std::pair<StepEvent, Vector>> steps;
    StepBuffer buffer(&steps);
    RideWork w = Compute(n, o, nullptr, &buffer);
    w.steps = std::move(steps);
    return w;
  }

 private:
  // Breadth-first on an executor: the first `submitted_` pending rides are out there; top that
  // up, then merge the oldest exactly as the one-at-a-time search would.
  bool NextFromExecutor(ExploreState* st) {
    const long room = std::min(executor_->Capacity(), o_.tree.max_rides - RidesDone(*st));
    submitted_ = std::min(submitted_, static_cast<long>(st->pending.size()));
    for (; submitted_ < std::min(room, static_cast<long>(st->pending.size())); ++submitted_)
      executor_->Submit(st->nodes[st->pending[submitted_] - 1]);
    const long id = st->pending.front();
    if (submitted_ == 0) executor_->Submit(st->nodes[id - 1]);
    else --submitted_;
    st->pending.erase(st->pending.begin());
    RideWork w = executor_->Take(id);
    Merge(st, w, /*add_cost=*/true);
    return !st->aborted;
  }

  RideWork Compute(const RideNode& n, Objective& o, ExploreCallback* live, StepBuffer* buffer) const {
    RideWork w;
    w.id = n.id;
    const EvalCounts before = o.counts();
    o.SetRideKey(n.id);
    RideStart rs{n.id, n.start_x, n.start_loss, Vector(), n.start_direction, n.start_eigenvalue, n.start_gap};
    double f = 0;
    o.ValueAndGradient(n.start_x, &f, &rs.grad);
    // Budgets are checked between rides (a ride is bounded by max-steps), so that where a
    // search stops does not depend on which rides ran at the same time.
    w.out = RideRidge(o, rs, o_, buffer ? buffer : live, {});
    const RideOutcome& out = w.out;
    w.continues = out.steps > 0 && out.spectrum.ok && !out.abort && out.reason != EndReason::kNonFinite &&
                  out.reason != EndReason::kBudget;
    if (w.continues) {
      w.branch_x = out.x;
      w.branch_grad = out.grad;
      w.branch_loss = out.loss;
      w.ridges = GetRidges(out.spectrum, o_.ridge);
      if (!w.ridges.empty() && o_.ride.settle && dense()) Settle(o, n, &w);
      if (out.reason == EndReason::kLossIncreased || out.reason == EndReason::kMaxSteps) {
        // The ridge still curves down but no longer leads down (or the step cap stopped it,
        // typically on a loss unbounded below): its continuation is not a new branch.
        // Following it again only retraces this ride, climbs, or runs off for ever.
        std::erase_if(w.ridges, [&](const Ridge& r) {
          return std::abs(r.direction.dot(out.direction)) >= o_.ride.overlap_floor;
        });
      }
      if (!w.ridges.empty() && n.depth >= o_.tree.max_depth) {
        w.truncated = true;
        w.ridges.clear();
      }
      if (w.ridges.empty()) {
        w.leaf = true;
        w.polish = Polish(o, w.branch_x, o_.leaf, o_.spectrum);
      }
    }
    w.cost = o.counts() - before;
    return w;
  }

  // Moves a ride's end point to the stationary point ahead of it (SettleToStationary) so that
  // its children start at a saddle, where both signs of every ridge lead down. Kept only when
  // it converged, did not climb, and stayed within the ride's own length.
  void Settle(Objective& o, const RideNode& n, RideWork* w) const {
    const RideOutcome& out = w->out;
    const MisResult m = SettleToStationary(o, out.x, o_.ride.settle_max_iterations, o_.ride.grad_tolerance,
                                           o_.ride.max_step_size);
    if (m.status != EvalStatus::kOk || !m.converged || !(m.loss <= out.loss) ||
        (m.x - out.x).norm() > (out.x - n.start_x).norm())
      return;
    Spectrum s;
    Vector g;
    double f = 0;
    if (SpectrumAt(o, m.x, &s) != EvalStatus::kOk || o.ValueAndGradient(m.x, &f, &g) != EvalStatus::kOk)
      return;
    w->settled = true;
    w->branch_x = m.x;
    w->branch_loss = f;
    w->branch_grad = g;
    w->ridges = GetRidges(s, o_.ridge);
  }

  void Merge(ExploreState* st, RideWork& w, bool add_cost) {
    if (add_cost) obj_.RestoreCounts(obj_.counts() + w.cost);
    bool abort = w.out.abort;
    for (auto& [event, x] : w.steps) {
      event.x = x.size() > 0 ? &x : nullptr;
      if (callback_ && callback_->OnStep(event) == CallbackAction::kAbort) abort = true;
    }
    RideNode& n = st->nodes[w.id - 1];
    n.reason = w.out.reason;
    n.end_x = w.out.x;
    n.end_loss = w.out.loss;
    n.end_eigenvalue = w.out.eigenvalue;
    n.end_grad_norm = w.out.grad.size() ? w.out.grad.norm() : 0.0;
    n.steps = w.out.steps;
    n.settled = w.settled;
    if (w.settled) {
      n.branch_x = w.branch_x;
      n.branch_loss = w.branch_loss;
    }
    n.truncated = w.truncated;
    n.gradients = w.cost.gradients;
    n.hvps = HvpEquivalents(w.cost);
    if (w.leaf) {
      MergeLeaf(st, n, w.polish);
    } else if (w.continues) {
      PushChildren(st, &n, w.branch_x, w.branch_loss, w.branch_grad, w.ridges);
    }
    RideNode& done = st->nodes[w.id - 1];  // PushChildren may have reallocated
    if (callback_ && callback_->OnRideEnd(done) == CallbackAction::kAbort) abort = true;
    if (abort) {
      st->aborted = true;
      st->stop_reason = "aborted";
    }
  }

  size_t BatchSize(const ExploreState& st) {
    if (o_.tree.threads <= 1 || o_.tree.order != ArchiveOrder::kBreadthFirst) return 1;
    if (!PrepareClones()) return 1;
    const size_t by_budget = static_cast<size_t>(std::max(1L, o_.tree.max_rides - RidesDone(st)));
    return std::min({st.pending.size(), static_cast<size_t>(4 * o_.tree.threads), by_budget});
  }

  bool PrepareClones() {
    while (static_cast<int>(clones_.size()) < o_.tree.threads) {
      std::unique_ptr<Objective> c = obj_.Clone();
      if (!c) return false;  // not clonable: one ride at a time
      clones_.push_back(std::move(c));
    }
    return true;
  }

  void ComputeConcurrently(const ExploreState& st, const std::vector<long>& ids, std::vector<RideWork>* works) {
    std::atomic<size_t> next{0};
    const auto worker = [&](Objective& o) {
      for (size_t k = next++; k < ids.size(); k = next++) {
        std::vector<std::pair<StepEvent, Vector>> steps;
        StepBuffer buffer(&steps);
        (*works)[k] = Compute(st.nodes[ids[k] - 1], o, nullptr, &buffer);
        (*works)[k].steps = std::move(steps);
      }
    };
    std::vector<std::thread> threads;
    const size_t n = std::min(clones_.size(), ids.size());
    for (size_t t = 1; t < n; ++t) threads.emplace_back(worker, std::ref(*clones_[t]));
    worker(*clones_[0]);
    for (auto& t : threads) t.join();
  }

  void PushChildren(ExploreState* st, const RideNode* parent, const Vector& x, double loss,
                    const Vector& grad, const std::vector<Ridge>& ridges) {
    const long parent_id = parent ? parent->id : 0;
    const int depth = parent ? parent->depth + 1 : 1;
    const Fingerprint base = parent ? parent->path : Fingerprint{};
    std::vector<long> ids;
    for (const Ridge& r : ridges) {
      // Quadratic model of the first step a along sign * e: a s g.e + a^2 lambda / 2.
      const double a = o_.ride.step_size, slope = grad.dot(r.direction);
      for (int sign : {+1, -1}) {
        const double predicted = a * sign * slope + 0.5 * r.eigenvalue * a * a;
        if (o_.ridge.skip_ascending && predicted >= 0) continue;
        RideNode c;
        c.id = static_cast<long>(st->nodes.size()) + 1;
        c.parent = parent_id;
        c.depth = depth;
        c.path = base;
        c.path.push_back(Branch{r.index, sign});
        c.start_x = x;
        c.start_direction = sign * r.direction;
        c.start_loss = loss;
        c.start_eigenvalue = r.eigenvalue;
        c.start_gap = r.gap;
        c.cluster_size = r.cluster_size;
        ids.push_back(c.id);
        st->pending.push_back(c.id);
        st->nodes.push_back(std::move(c));
      }
    }
    if (parent_id > 0) st->nodes[parent_id - 1].children = ids;
  }

  void MergeLeaf(ExploreState* st, RideNode& node, const PolishResult& p) {
    ++st->leaves;
    if (p.check.status != EvalStatus::kOk) return;
    Solution cand;
    cand.x = p.x;
    cand.loss = p.check.loss;
    cand.grad_norm = p.check.grad_norm;
    cand.min_eigenvalue = p.check.min_eigenvalue;
    cand.is_minimum = cand.grad_norm <= o_.leaf.verify_grad_tolerance &&
                      cand.min_eigenvalue >= -o_.ridge.eigen_threshold;
    cand.polish_converged = p.converged;
    cand.polish_iterations = p.iterations;
    cand.node = node.id;
    cand.fingerprint = node.path;
    for (Solution& s : st->solutions) {
      const bool same_x = (s.x - cand.x).norm() <= o_.leaf.dedupe_distance;
      const bool same_loss =
          std::abs(s.loss - cand.loss) <= o_.leaf.dedupe_loss * std::max(1.0, std::abs(s.loss));
      if (same_x && same_loss) {
        s.reached_by.push_back(node.id);
        node.solution = s.id;
        if (callback_) callback_->OnLeaf(s, node);
        return;
      }
    }
    cand.id = static_cast<long>(st->solutions.size());
    cand.reached_by.push_back(node.id);
    node.solution = cand.id;
    st->solutions.push_back(std::move(cand));
    if (callback_ && callback_->OnLeaf(st->solutions.back(), node) == CallbackAction::kAbort) {
      st->aborted = true;
      st->stop_reason = "aborted";
    }
  }

  Objective& obj_;
  ExploreOptions o_;
  ExploreCallback* callback_;
  std::vector<std::unique_ptr<Objective>> clones_;  // one per ride thread
  RideExecutor* executor_ = nullptr;
  long submitted_ = 0;  // pending rides (from the front) handed to executor_ and not yet taken
};

// One call: validate options, explore from x0.
inline ExploreResult Explore(Objective& objective, const Vector& x0, const ExploreOptions& o,
                             ExploreCallback* callback = nullptr) {
  Explorer e(objective, o, callback);
  return e.Run(x0);
}

}  // namespace ridgerider
