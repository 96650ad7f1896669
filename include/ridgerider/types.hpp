// Vocabulary shared by every layer: vectors, matrices and the status a numerical evaluation
// returns. Numerical trouble is a value, never an exception (exceptions are for misuse).
#pragma once

#include <Eigen/Core>
#include <string>

namespace ridgerider {

using Vector = Eigen::VectorXd;
using Matrix = Eigen::MatrixXd;

enum class EvalStatus { kOk, kNonFinite, kFailed };

inline const char* ToString(EvalStatus s) {
  switch (s) {
    case EvalStatus::kOk: return "ok";
    case EvalStatus::kNonFinite: return "non-finite";
    case EvalStatus::kFailed: return "failed";
  }
  return "?";
}

inline bool AllFinite(const Vector& v) { return v.allFinite(); }

}  // namespace ridgerider
