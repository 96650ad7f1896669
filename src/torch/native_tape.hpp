// A native evaluator for TorchScript losses: a straight-line tape of elementwise ops, gathers and
// reductions on 0-D and 1-D arrays, evaluated on a templated scalar - double for values, Eigen
// AutoDiff for the gradient, nested AutoDiff for the dense Hessian (as autodiff.hpp). It is what
// tape_translate.cpp turns a TorchScript graph into; this header includes no Torch header.
//
// Why: one LibTorch op costs ~1-5 us on a tensor of a few elements, so the autograd path spends
// ~100 us per gradient on a loss that takes < 1 us of arithmetic. The tape runs the same
// arithmetic on our own scalars.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ridgerider/objective.hpp"

namespace ridgerider {

enum class TapeOp : std::uint8_t {
  kGather,     // out[i] = a[idx[i]]                      (select, slice)
  kConcat,     // out = a_0 ++ a_1 ++ ... (regs in idx)   (stack of 0-D, cat of 1-D)
  kCopy,       // out[i] = a[i] or a[0] (broadcast)       (reshape, view, to, clone, expand)
  kAdd,        // out[i] = a[i] + b[i], with broadcasting; operands are registers or scalars
  kSub,
  kMul,
  kDiv,
  kPow,
  kUnary,      // out[i] = unary(a[i])
  kSum,        // out[0] = sum a
  kMean,
  kProd,
  kDot,        // out[0] = sum a[i] b[i]
  kLogSumExp,  // out[0] = log sum exp a[i]
};

enum class TapeUnary : std::uint8_t {
  kNeg, kExp, kLog, kSin, kCos, kTan, kTanh, kSigmoid, kSqrt, kAbs, kSquare, kRelu,
  kReciprocal, kRsqrt, kLog1p, kExpm1, kSinh, kCosh, kSoftplus,  // softplus: p1 beta, p2 threshold
};

// A register, or (reg < 0) a compile-time scalar.
struct TapeOperand {
  int reg = -1;
  double scalar = 0.0;
};

struct TapeInstr {
  TapeOp op = TapeOp::kCopy;
  int out = 0;
  TapeOperand a, b;
  TapeUnary unary = TapeUnary::kNeg;
  double p1 = 0.0, p2 = 0.0;
  std::vector<int> idx;  // kGather: element indices; kConcat: registers
};

struct TapeProgram {
  int dim = 0;
  std::vector<int> reg_len;  // elements per register; register 0 is x (length dim)
  std::vector<std::pair<int, std::vector<double>>> constants;  // loaded before the code runs
  std::vector<TapeInstr> code;
  int out_reg = 0;  // the loss is element 0 of this register
  std::string summary;  // e.g. "12 instructions, 9 registers"
};

// Evaluates the tape at x (T: double, or Eigen AutoDiffScalar of double / of AutoDiffScalar);
// explicit instantiations for the three types used by TapeObjective live in native_tape.cpp.
template <class T>
T EvalTape(const TapeProgram& program, const std::vector<T>& x);

// The Objective over a tape: value in double, gradient by forward AutoDiff, dense Hessian by
// nested AutoDiff, HVP by forward-over-forward along v (O(d) per op, not O(d^2)). Results at the
// last point are cached (a gradient, HVP or Hessian at the same x reuses nothing else: all
// derivatives are recomputed, as they are cheap).
class TapeObjective final : public Objective {
 public:
  TapeObjective(std::shared_ptr<const TapeProgram> program, std::string name);
  int dim() const override { return program_->dim; }
  std::string name() const override { return name_; }
  bool has_dense_hessian() const override { return program_->dim <= 64; }
  const TapeProgram& program() const { return *program_; }
  // The program is immutable and shared; the copy has its own cache.
  std::unique_ptr<Objective> Clone() const override {
    return std::make_unique<TapeObjective>(program_, name_);
  }

 protected:
  EvalStatus DoValue(const Vector& x, double* f) override;
  EvalStatus DoValueAndGradient(const Vector& x, double* f, Vector* g) override;
  EvalStatus DoHvp(const Vector& x, const Vector& v, Vector* out) override;
  EvalStatus DoHessian(const Vector& x, Matrix* h) override;

 private:
  std::shared_ptr<const TapeProgram> program_;
  std::string name_;
};

}  // namespace ridgerider
