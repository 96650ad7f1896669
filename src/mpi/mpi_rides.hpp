// ridgerider under mpirun: rank 0 runs the search and owns every file and checkpoint; the other
// ranks (workers) build the same objective from the run's options and ride what rank 0 hands
// them, one ride at a time, to whichever worker is free (a slow rank just rides fewer). Rank 0
// merges the work in node order (Explorer::RideExecutor), so the result is the serial one.
//
// Messages (MPI_COMM_WORLD, rank 0 <-> worker): the options (JSON text, empty = nothing to do),
// a ride (EncodeNode), its work (EncodeWork), a failure (text), stop. Waiting ranks poll with
// a growing sleep instead of MPI's busy wait, so an idle rank leaves its core to the others.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ridgerider/tree.hpp"

namespace ridgerider::mpi {

// True when mpirun (or another PMI/PMIx launcher) started this process.
bool LaunchedByMpirun();

// MPI_Init on construction, MPI_Finalize on destruction.
class World {
 public:
  World(int* argc, char*** argv);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  int rank_ = 0, size_ = 1;
};

class RideDealer;

// Rank 0's side. Begin() sends every worker the run's options and returns the executor that
// deals rides to them (nullptr with a single rank: the search then runs here). The destructor
// collects work still out, then tells every worker to stop (or, without Begin, that there is
// nothing to do), so workers always end.
class Leader {
 public:
  explicit Leader(const World& world);
  ~Leader();
  Explorer::RideExecutor* Begin(const std::string& options_json);
  // "mpi: N ranks; rides per worker rank: 1:a 2:b ..." once Begin was called; else empty.
  std::string Report() const;

 private:
  const World& world_;
  bool begun_ = false;
  std::unique_ptr<RideDealer> dealer_;
};

// A worker rank: waits for the run's options, builds what computes a ride with `setup` (the
// same objective and search options as rank 0), then rides until told to stop. A failure to
// build is sent back to rank 0 in answer to the first ride. Returns the exit status.
using RideComputer = std::function<Explorer::RideWork(const RideNode&)>;
int Serve(const World& world, const std::function<RideComputer(const std::string& options_json)>& setup);

}  // namespace ridgerider::mpi
