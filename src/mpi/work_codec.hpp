// Byte forms of what travels between MPI ranks: a pending ride (RideNode, rank 0 -> worker) and
// everything the worker computed for it (Explorer::RideWork, worker -> rank 0). Doubles are
// copied bit for bit, so a ride computed on a worker merges exactly as if computed on rank 0.
// Plain bytes, no MPI here: the codec is tested on its own (tests/mpi_codec_test.cpp).
//
// A RideWork carries what Explorer::Merge reads; the end point's full spectrum (d x d) does not
// travel, as Merge uses only the ridges taken from it. A field added to RideWork or RideNode
// must be added here too: the MPI tests compare against the serial run and would show it.
#pragma once

#include <string>
#include <string_view>

#include "ridgerider/tree.hpp"

namespace ridgerider::mpi {

std::string EncodeNode(const RideNode& n);
RideNode DecodeNode(std::string_view bytes);  // throws std::runtime_error when malformed

std::string EncodeWork(const Explorer::RideWork& w);
Explorer::RideWork DecodeWork(std::string_view bytes);  // throws std::runtime_error when malformed

}  // namespace ridgerider::mpi
