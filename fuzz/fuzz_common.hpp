// Shared by the libFuzzer targets: run a parser, accept InputError, abort on anything else.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "ridgerider/errors.hpp"

namespace ridgerider::fuzz {

[[noreturn]] inline void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "FUZZ FAILURE: %s: %s\n", what, detail.c_str());
  std::abort();
}

// Runs f(); an InputError is the documented answer to bad input, everything else is a bug.
template <class F>
bool OnlyInputErrors(const char* where, F&& f) {
  try {
    f();
    return true;
  } catch (const ridgerider::InputError&) {
    return false;
  } catch (const std::exception& e) {
    Fail(where, std::string("unexpected exception (not InputError): ") + e.what());
  } catch (...) {
    Fail(where, "unexpected non-std exception");
  }
}

}  // namespace ridgerider::fuzz
