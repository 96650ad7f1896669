#include "mpi/mpi_rides.hpp"

#include <mpi.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <map>
#include <stdexcept>
#include <thread>

#include "mpi/work_codec.hpp"

namespace ridgerider::mpi {

namespace {

enum Tag : int { kOptions = 1, kRide = 2, kWork = 3, kFailed = 4, kStop = 5 };

void Send(const std::string& bytes, int to, Tag tag) {
  MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, to, tag, MPI_COMM_WORLD);
}

// Waits for the next message from `from` (or any rank) and receives it. Polls with a sleep
// that grows to 1 ms: MPI_Recv would spin a core for the whole wait.
std::string Receive(int from, int* source, int* tag) {
  MPI_Status status;
  int flag = 0;
  auto pause = std::chrono::microseconds(5);
  while (true) {
    MPI_Iprobe(from, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status);
    if (flag) break;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(1000));
  }
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  std::string bytes(static_cast<size_t>(count), '\0');
  MPI_Recv(bytes.data(), count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  *source = status.MPI_SOURCE;
  *tag = status.MPI_TAG;
  return bytes;
}

// RIDGERIDER_MPI_DELAY=RANK:MS makes that worker sleep MS milliseconds before each ride (tests
// of the load balancing use it to play a slow machine).
int DelayMsFor(int rank) {
  const char* v = std::getenv("RIDGERIDER_MPI_DELAY");
  if (!v) return 0;
  const std::string s = v;
  const size_t colon = s.find(':');
  if (colon == std::string::npos) return 0;
  try {
    return std::stoi(s.substr(0, colon)) == rank ? std::stoi(s.substr(colon + 1)) : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

bool LaunchedByMpirun() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

World::World(int* argc, char*** argv) {
  MPI_Init(argc, argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

World::~World() { MPI_Finalize(); }

// Deals submitted rides to free workers, one at a time each, and keeps their work until the
// search takes it.
class RideDealer : public Explorer::RideExecutor {
 public:
  explicit RideDealer(int size) : rides_by_rank_(static_cast<size_t>(size), 0) {
    for (int r = 1; r < size; ++r) idle_.push_back(r);
  }

  long Capacity() const override { return 4 * static_cast<long>(rides_by_rank_.size() - 1); }

  void Submit(const RideNode& node) override {
    queue_.emplace_back(node.id, EncodeNode(node));
    Deal();
  }

  Explorer::RideWork Take(long id) override {
    auto it = done_.find(id);
    while (it == done_.end()) {
      ReceiveOne();
      Deal();
      it = done_.find(id);
    }
    Explorer::RideWork w = std::move(it->second);
    done_.erase(it);
    return w;
  }

  // Drops what was not dealt yet and waits for what was (the search has stopped).
  void Drain() {
    queue_.clear();
    while (!out_.empty()) ReceiveOne();
    done_.clear();
  }

  const std::vector<long>& rides_by_rank() const { return rides_by_rank_; }

 private:
  void Deal() {
    while (!idle_.empty() && !queue_.empty()) {
      const int rank = idle_.front();
      idle_.pop_front();
      Send(queue_.front().second, rank, kRide);
      out_[rank] = queue_.front().first;
      queue_.pop_front();
    }
  }

  void ReceiveOne() {
    int rank = 0, tag = 0;
    const std::string bytes = Receive(MPI_ANY_SOURCE, &rank, &tag);
    const auto it = out_.find(rank);
    if (it == out_.end()) throw std::runtime_error("mpi: unexpected message from rank " + std::to_string(rank));
    out_.erase(it);
    idle_.push_back(rank);
    if (tag == kFailed) throw std::runtime_error("mpi: rank " + std::to_string(rank) + ": " + bytes);
    if (tag != kWork) throw std::runtime_error("mpi: unexpected message tag " + std::to_string(tag));
    Explorer::RideWork w = DecodeWork(bytes);
    ++rides_by_rank_[static_cast<size_t>(rank)];
    done_.emplace(w.id, std::move(w));
  }

  std::deque<int> idle_;
  std::deque<std::pair<long, std::string>> queue_;  // submitted, not dealt yet
  std::map<int, long> out_;                          // rank -> the ride it is riding
  std::map<long, Explorer::RideWork> done_;
  std::vector<long> rides_by_rank_;
};

Leader::Leader(const World& world) : world_(world) {}

Leader::~Leader() {
  try {
    if (!begun_) {
      for (int r = 1; r < world_.size(); ++r) Send("", r, kOptions);
      return;
    }
    if (dealer_) dealer_->Drain();
    for (int r = 1; r < world_.size(); ++r) Send("", r, kStop);
  } catch (const std::exception&) {
    MPI_Abort(MPI_COMM_WORLD, 1);  // a worker went wrong while stopping: do not hang
  }
}

Explorer::RideExecutor* Leader::Begin(const std::string& options_json) {
  begun_ = true;
  for (int r = 1; r < world_.size(); ++r) Send(options_json, r, kOptions);
  if (world_.size() > 1) dealer_ = std::make_unique<RideDealer>(world_.size());
  return dealer_.get();
}

std::string Leader::Report() const {
  if (!begun_) return "";
  std::string s = "mpi: " + std::to_string(world_.size()) + " rank" + (world_.size() == 1 ? "" : "s");
  if (!dealer_) return s + "; every ride on rank 0";
  s += "; rides per worker rank:";
  const auto& n = dealer_->rides_by_rank();
  for (size_t r = 1; r < n.size(); ++r) s += " " + std::to_string(r) + ":" + std::to_string(n[r]);
  return s;
}

int Serve(const World& world, const std::function<RideComputer(const std::string& options_json)>& setup) {
  int source = 0, tag = 0;
  const std::string options = Receive(0, &source, &tag);
  if (tag != kOptions || options.empty()) return 0;  // rank 0 ended before any search
  RideComputer compute;
  std::string failure;
  try {
    compute = setup(options);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  const int delay_ms = DelayMsFor(world.rank());
  while (true) {
    const std::string bytes = Receive(0, &source, &tag);
    if (tag == kStop) return failure.empty() ? 0 : 1;
    if (tag != kRide) continue;
    if (!failure.empty()) {
      Send(failure, 0, kFailed);
      continue;
    }
    try {
      if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      Send(EncodeWork(compute(DecodeNode(bytes))), 0, kWork);
    } catch (const std::exception& e) {
      failure = e.what();
      Send(failure, 0, kFailed);
    }
  }
}

}  // namespace ridgerider::mpi
