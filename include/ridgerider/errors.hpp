// Misuse and bad input are exceptions (numerical trouble is a status, see types.hpp).
// InputError: something the user gave is wrong; the CLI prints its message on one line and
// exits with status 2.
#pragma once

#include <stdexcept>
#include <string>

namespace ridgerider {

struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace ridgerider
