// Resident memory of this process, read from Linux's /proc (the benches' memory figures).
#pragma once

#include <cstring>
#include <fstream>
#include <string>

namespace bench {

// "VmRSS" (now) or "VmHWM" (the peak) from /proc/self/status, in bytes; -1 if absent.
inline long StatusBytes(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::stol(line.substr(std::strlen(key) + 1)) * 1024;
  return -1;
}

// Resets VmHWM to the current RSS (Linux >= 4.0), so the next peak is what follows.
inline bool ResetPeak() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  return static_cast<bool>(f);
}

}  // namespace bench
