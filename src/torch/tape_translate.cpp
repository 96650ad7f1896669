// TorchScript graph -> native tape. See tape_translate.hpp.
//
// The graph is walked once, in order, and every node is also run by Torch on a reference x (a
// "reference run"): that gives the exact shape and dtype of every intermediate and the values
// of everything that does not depend on x's data. A value is
//  - static: computed from constants, defaults, module attributes, or x's shape only
//    (x.shape[0], numel, dtype); its reference value is the value, whatever x is;
//  - dynamic: a float64 0-D or 1-D tensor computed from x's data, held in a tape register,
//    or a list of such tensors (prim::ListConstruct, for stack/cat).
// Static nodes are not translated at all (their outputs are constants of the tape); dynamic
// nodes must be one of the ops below, and their translated shape must match the reference.
#include "torch/tape_translate.hpp"

#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/common_subexpression_elimination.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/runtime/operator.h>
#include <torch/torch.h>

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

namespace ridgerider {
namespace {

using torch::jit::Node;
using torch::jit::Value;
namespace aten = c10::aten;
namespace prim = c10::prim;

struct Unsupported : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void Fail(const std::string& why) { throw Unsupported(why); }

struct Info {
  bool dynamic = false;
  c10::IValue ref;              // reference value (for a static value: the value)
  int reg = -1;                 // dynamic tensor
  bool zero_d = false;          // dynamic tensor: 0-D (else 1-D)
  std::vector<Value*> items;    // dynamic list of tensors
  bool is_list = false;
};

class Translator {
 public:
  Translator(int dim) : dim_(dim) {
    prog_.dim = dim;
    NewReg(dim, false);  // register 0: x
  }

  std::shared_ptr<TapeProgram> Run(torch::jit::Graph& g, const std::vector<c10::IValue>& inputs,
                                   int x_index) {
    torch::NoGradGuard no_grad;
    at::Tensor xref = torch::empty({dim_}, torch::kDouble);
    for (int i = 0; i < dim_; ++i) xref.data_ptr<double>()[i] = 0.37 + 0.113 * i - 0.011 * i * i;
    if (g.inputs().size() != inputs.size()) Fail("unexpected number of graph inputs");
    for (size_t i = 0; i < inputs.size(); ++i) {
      Info& in = info_[g.inputs()[i]];
      if (static_cast<int>(i) == x_index) {
        in.dynamic = true;
        in.ref = xref;
        in.reg = 0;
      } else {
        in.ref = inputs[i];
      }
    }
    for (Node* node : g.nodes()) Translate(node);
    if (g.outputs().size() != 1) Fail("graph has " + std::to_string(g.outputs().size()) + " outputs");
    Value* out = g.outputs()[0];
    const Info& oi = info_.at(out);
    if (oi.is_list) Fail("output is a list");
    if (!oi.ref.isTensor() || oi.ref.toTensor().numel() != 1) Fail("output is not a scalar tensor");
    prog_.out_reg = Operand(out).reg;
    if (prog_.out_reg < 0) Fail("output is not a tensor");
    // Check against the reference run.
    const double want = oi.ref.toTensor().item<double>();
    std::vector<double> xs(xref.data_ptr<double>(), xref.data_ptr<double>() + dim_);
    const double got = EvalTape<double>(prog_, xs);
    const bool same = (std::isnan(want) && std::isnan(got)) || want == got ||
                      std::abs(want - got) <= 1e-12 * std::max(1.0, std::abs(want));
    if (!same) {
      std::ostringstream s;
      s.precision(17);
      s << "tape value " << got << " differs from Torch's " << want << " at the reference point";
      Fail(s.str());
    }
    std::ostringstream s;
    s << prog_.code.size() << " instructions, " << prog_.reg_len.size() << " registers";
    prog_.summary = s.str();
    return std::make_shared<TapeProgram>(std::move(prog_));
  }

 private:
  int NewReg(int len, bool zero_d) {
    prog_.reg_len.push_back(len);
    reg_0d_.push_back(zero_d);
    return static_cast<int>(prog_.reg_len.size()) - 1;
  }
  int Len(int reg) const { return prog_.reg_len[reg]; }

  static std::string KindOf(const Node* n) { return n->kind().toQualString(); }

  // ---- Reference run of one node.
  std::vector<c10::IValue> RunNode(Node* node) {
    const auto kind = node->kind();
    torch::jit::Stack stack;
    for (Value* v : node->inputs()) stack.push_back(info_.at(v).ref);
    try {
      if (kind == prim::Constant) {
        auto iv = torch::jit::toIValue(node->output());
        if (!iv) Fail("constant without a value");
        return {*iv};
      }
      if (kind == prim::ListConstruct) {
        const auto& lt = node->output()->type()->expectRef<c10::ListType>();
        c10::impl::GenericList list(lt.getElementType());
        list.reserve(stack.size());
        for (c10::IValue& iv : stack) list.push_back(std::move(iv));
        stack.clear();
        stack.emplace_back(std::move(list));
      } else if (kind == prim::TupleConstruct) {
        c10::IValue t = c10::ivalue::Tuple::create(std::vector<c10::IValue>(stack.begin(), stack.end()));
        stack.clear();
        stack.push_back(std::move(t));
      } else if (kind == prim::GetAttr) {
        const c10::IValue& obj = stack.at(0);
        if (!obj.isObject()) Fail("prim::GetAttr on a non-object");
        return {obj.toObject()->getAttr(node->s(c10::attr::name))};
      } else {
        if (!node->maybeOperator()) Fail("no operator for " + KindOf(node));
        node->getOperation()(stack);
      }
    } catch (const Unsupported&) {
      throw;
    } catch (const std::exception& e) {
      std::string msg = e.what();
      msg = msg.substr(0, msg.find('\n'));
      Fail(KindOf(node) + " failed in the reference run: " + msg);
    }
    if (stack.size() != node->outputs().size()) Fail("unexpected outputs of " + KindOf(node));
    return std::vector<c10::IValue>(stack.begin(), stack.end());
  }

  // ---- Operands.
  const Info& I(Value* v) const { return info_.at(v); }
  bool Dyn(Value* v) const { return I(v).dynamic; }

  // A register for a tensor (dynamic, or static: loaded as a constant), or a scalar for a
  // static number.
  TapeOperand Operand(Value* v) {
    const Info& in = I(v);
    TapeOperand op;
    if (in.dynamic) {
      if (in.is_list || in.reg < 0) Fail("a list where a tensor is expected");
      op.reg = in.reg;
      return op;
    }
    const c10::IValue& iv = in.ref;
    if (iv.isTensor()) {
      auto it = const_reg_.find(v);
      if (it != const_reg_.end()) {
        op.reg = it->second;
        return op;
      }
      const at::Tensor& t = iv.toTensor();
      if (t.dim() > 1) Fail("constant tensor with " + std::to_string(t.dim()) + " dimensions");
      if (t.is_complex()) Fail("complex constant tensor");
      const at::Tensor c = t.detach().to(torch::kDouble).contiguous();
      std::vector<double> values(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
      op.reg = NewReg(static_cast<int>(values.size()), t.dim() == 0);
      prog_.constants.emplace_back(op.reg, std::move(values));
      const_reg_[v] = op.reg;
      return op;
    }
    if (iv.isDouble()) op.scalar = iv.toDouble();
    else if (iv.isInt()) op.scalar = static_cast<double>(iv.toInt());
    else if (iv.isBool()) op.scalar = iv.toBool() ? 1.0 : 0.0;
    else Fail("operand of type " + iv.tagKind());
    return op;
  }
  int OpLen(const TapeOperand& o) const { return o.reg >= 0 ? Len(o.reg) : 1; }
  bool Op0d(const TapeOperand& o) const { return o.reg >= 0 ? reg_0d_[o.reg] : true; }

  static double StaticNumber(const c10::IValue& iv, const char* what) {
    if (iv.isDouble()) return iv.toDouble();
    if (iv.isInt()) return static_cast<double>(iv.toInt());
    if (iv.isBool()) return iv.toBool() ? 1.0 : 0.0;
    Fail(std::string(what) + " is not a number");
  }
  int64_t StaticInt(Value* v, const char* what) const {
    const Info& in = I(v);
    if (in.dynamic || !in.ref.isInt()) Fail(std::string(what) + " is not a static int");
    return in.ref.toInt();
  }
  bool IsNone(Value* v) const { return !Dyn(v) && I(v).ref.isNone(); }
  void RequireNone(Value* v, const char* what) const {
    if (!IsNone(v)) Fail(std::string(what) + " argument is not supported");
  }
  // A dimension argument of a 0-D/1-D tensor: 0 or -1.
  void RequireDim0(Value* v) const {
    const int64_t d = StaticInt(v, "dim");
    if (d != 0 && d != -1) Fail("dim " + std::to_string(d) + " of a 1-D tensor");
  }
  void RequireDimList(Value* v) const {
    const Info& in = I(v);
    if (in.dynamic || !in.ref.isIntList()) Fail("dim list is not static");
    for (int64_t d : in.ref.toIntVector()) {
      if (d != 0 && d != -1) Fail("dim " + std::to_string(d) + " of a 1-D tensor");
    }
  }

  // Emits an instruction with a fresh output register and binds node output 0 to it, after
  // checking the register's shape against the reference.
  int Emit(Node* node, TapeInstr in, int len, bool zero_d) {
    in.out = NewReg(len, zero_d);
    prog_.code.push_back(std::move(in));
    Bind(node->output(), prog_.code.back().out);
    return prog_.code.back().out;
  }
  void Bind(Value* out, int reg) {
    Info& oi = info_[out];
    const c10::IValue& ref = oi.ref;
    if (!ref.isTensor()) Fail("result is not a tensor");
    const at::Tensor& t = ref.toTensor();
    if (t.scalar_type() != torch::kDouble) {
      Fail(std::string("intermediate tensor of dtype ") + c10::toString(t.scalar_type()));
    }
    if (t.dim() > 1) Fail("intermediate tensor with " + std::to_string(t.dim()) + " dimensions");
    if (t.numel() != Len(reg) || (t.dim() == 0) != reg_0d_[reg]) {
      std::ostringstream s;
      s << "shape mismatch with the reference run: " << t.sizes() << " vs " << Len(reg)
        << (reg_0d_[reg] ? " (0-D)" : "");
      Fail(s.str());
    }
    oi.dynamic = true;
    oi.reg = reg;
    oi.zero_d = reg_0d_[reg];
  }

  int EmitBinary(Node* node, TapeOp op, TapeOperand a, TapeOperand b) {
    const int la = OpLen(a), lb = OpLen(b);
    int len = 0;
    if (la == lb) len = la;
    else if (la == 1) len = lb;
    else if (lb == 1) len = la;
    else Fail("shapes do not broadcast");
    const bool zero_d = Op0d(a) && Op0d(b);
    TapeInstr in;
    in.op = op;
    in.a = a;
    in.b = b;
    in.out = NewReg(len, zero_d);
    prog_.code.push_back(in);
    return in.out;
  }
  // alpha * other as an operand (the scalar folded, or a multiply emitted).
  TapeOperand Scaled(TapeOperand o, double alpha, Node* node) {
    if (alpha == 1.0) return o;
    if (o.reg < 0) {
      o.scalar *= alpha;
      return o;
    }
    TapeOperand s;
    s.scalar = alpha;
    TapeOperand r;
    r.reg = EmitBinary(node, TapeOp::kMul, o, s);
    return r;
  }

  void EmitUnary(Node* node, TapeUnary u, double p1 = 0, double p2 = 0) {
    const TapeOperand a = Operand(node->input(0));
    if (a.reg < 0) Fail("unary op on a scalar");
    TapeInstr in;
    in.op = TapeOp::kUnary;
    in.unary = u;
    in.a = a;
    in.p1 = p1;
    in.p2 = p2;
    Emit(node, in, Len(a.reg), reg_0d_[a.reg]);
  }

  void EmitReduction(Node* node, TapeOp op, TapeOperand a, TapeOperand b = {}) {
    if (a.reg < 0) Fail("reduction of a scalar");
    TapeInstr in;
    in.op = op;
    in.a = a;
    in.b = b;
    const c10::IValue& ref = I(node->output()).ref;
    const bool zero_d = !ref.isTensor() || ref.toTensor().dim() == 0;
    Emit(node, in, 1, zero_d);
  }

  // ---- One node.
  void Translate(Node* node) {
    const auto kind = node->kind();
    if (!node->blocks().empty()) Fail("control flow (" + KindOf(node) + ")");
    if (const c10::FunctionSchema* s = node->maybeSchema(); s && s->is_mutable()) {
      Fail("in-place op " + KindOf(node));
    }
    bool any_dynamic = false;
    for (Value* v : node->inputs()) any_dynamic = any_dynamic || Dyn(v);
    if (!any_dynamic && (node->isNondeterministic() || node->hasSideEffects())) {
      Fail("nondeterministic or side-effecting op " + KindOf(node));
    }
    const std::vector<c10::IValue> outs = RunNode(node);
    for (size_t i = 0; i < outs.size(); ++i) info_[node->outputs()[i]].ref = outs[i];
    if (!any_dynamic) return;  // static: the reference outputs are the values

    // Shape queries of dynamic tensors are static.
    if (kind == aten::size || kind == c10::Symbol::fromQualString("aten::numel") || kind == aten::dim || kind == aten::len ||
        kind == prim::dtype || kind == prim::device || kind == prim::layout ||
        kind == aten::is_floating_point) {
      return;
    }
    if (node->outputs().size() != 1) Fail(KindOf(node) + " has several outputs");
    Value* x0 = node->inputs().empty() ? nullptr : node->input(0);
    const size_t nin = node->inputs().size();

    if (kind == prim::ListConstruct) {
      Info& oi = info_[node->output()];
      oi.dynamic = true;
      oi.is_list = true;
      for (Value* v : node->inputs()) {
        if (!v->type()->isSubtypeOf(*c10::TensorType::get())) Fail("list of non-tensors");
        oi.items.push_back(v);
      }
      return;
    }
    if (kind == aten::select && nin == 3 && !I(x0).is_list) {
      const TapeOperand a = Operand(x0);
      if (reg_0d_[a.reg]) Fail("select on a 0-D tensor");
      RequireDim0(node->input(1));
      int64_t i = StaticInt(node->input(2), "index");
      const int n = Len(a.reg);
      if (i < 0) i += n;
      if (i < 0 || i >= n) Fail("index out of range");
      TapeInstr in;
      in.op = TapeOp::kGather;
      in.a = a;
      in.idx = {static_cast<int>(i)};
      Emit(node, in, 1, true);
      return;
    }
    if (kind == aten::slice && nin == 5 && !I(x0).is_list) {
      const TapeOperand a = Operand(x0);
      if (reg_0d_[a.reg]) Fail("slice of a 0-D tensor");
      RequireDim0(node->input(1));
      const int64_t n = Len(a.reg);
      auto bound = [&](Value* v, int64_t dflt) {
        if (IsNone(v)) return dflt;
        int64_t b = StaticInt(v, "slice bound");
        if (b < 0) b += n;
        return std::min<int64_t>(std::max<int64_t>(b, 0), n);
      };
      const int64_t start = bound(node->input(2), 0), end = bound(node->input(3), n);
      const int64_t step = StaticInt(node->input(4), "slice step");
      if (step < 1) Fail("slice step < 1");
      TapeInstr in;
      in.op = TapeOp::kGather;
      in.a = a;
      for (int64_t i = start; i < end; i += step) in.idx.push_back(static_cast<int>(i));
      Emit(node, in, static_cast<int>(in.idx.size()), false);
      return;
    }
    if ((kind == aten::add || kind == aten::sub) && nin == 3) {
      const double alpha = StaticNumber(I(node->input(2)).ref, "alpha");
      const TapeOperand a = Operand(x0);
      const TapeOperand b = Scaled(Operand(node->input(1)), alpha, node);
      Bind(node->output(), EmitBinary(node, kind == aten::add ? TapeOp::kAdd : TapeOp::kSub, a, b));
      return;
    }
    if (kind == aten::rsub && nin == 3) {  // other - alpha * self
      const double alpha = StaticNumber(I(node->input(2)).ref, "alpha");
      const TapeOperand self = Scaled(Operand(x0), alpha, node);
      Bind(node->output(), EmitBinary(node, TapeOp::kSub, Operand(node->input(1)), self));
      return;
    }
    if ((kind == aten::mul || kind == aten::div || kind == aten::true_divide ||
         kind == aten::pow) && nin == 2) {
      const TapeOp op = kind == aten::mul ? TapeOp::kMul
                        : kind == aten::pow ? TapeOp::kPow : TapeOp::kDiv;
      Bind(node->output(), EmitBinary(node, op, Operand(x0), Operand(node->input(1))));
      return;
    }
    struct UnaryName {
      c10::Symbol sym;
      TapeUnary op;
    };
    static const UnaryName kUnary[] = {
        {aten::neg, TapeUnary::kNeg},         {aten::exp, TapeUnary::kExp},
        {aten::log, TapeUnary::kLog},         {aten::sin, TapeUnary::kSin},
        {aten::cos, TapeUnary::kCos},         {aten::tan, TapeUnary::kTan},
        {aten::tanh, TapeUnary::kTanh},       {aten::sigmoid, TapeUnary::kSigmoid},
        {aten::sqrt, TapeUnary::kSqrt},       {aten::abs, TapeUnary::kAbs},
        {aten::square, TapeUnary::kSquare},   {aten::relu, TapeUnary::kRelu},
        {aten::reciprocal, TapeUnary::kReciprocal}, {aten::rsqrt, TapeUnary::kRsqrt},
        {aten::log1p, TapeUnary::kLog1p},     {aten::expm1, TapeUnary::kExpm1},
        {aten::sinh, TapeUnary::kSinh},       {aten::cosh, TapeUnary::kCosh},
    };
    for (const UnaryName& u : kUnary) {
      if (kind == u.sym && nin == 1) {
        EmitUnary(node, u.op);
        return;
      }
    }
    if (kind == aten::softplus && nin == 3) {
      const double beta = StaticNumber(I(node->input(1)).ref, "beta");
      const double threshold = StaticNumber(I(node->input(2)).ref, "threshold");
      if (beta == 0.0) Fail("softplus with beta 0");
      EmitUnary(node, TapeUnary::kSoftplus, beta, threshold);
      return;
    }
    if (kind == aten::sum || kind == aten::mean || kind == aten::prod) {
      const TapeOp op = kind == aten::sum ? TapeOp::kSum
                        : kind == aten::mean ? TapeOp::kMean : TapeOp::kProd;
      if (nin == 2) {  // (self, dtype)
        RequireNone(node->input(1), "dtype");
      } else if (nin == 4) {  // (self, dim(s), keepdim, dtype)
        if (kind == aten::prod) RequireDim0(node->input(1));
        else RequireDimList(node->input(1));
        RequireNone(node->input(3), "dtype");
      } else {
        Fail("unsupported overload of " + KindOf(node));
      }
      EmitReduction(node, op, Operand(x0));
      return;
    }
    if (kind == aten::logsumexp && nin == 3) {
      RequireDimList(node->input(1));
      EmitReduction(node, TapeOp::kLogSumExp, Operand(x0));
      return;
    }
    if ((kind == aten::dot || kind == aten::matmul || kind == aten::inner) && nin == 2) {
      const TapeOperand a = Operand(x0), b = Operand(node->input(1));
      if (a.reg < 0 || b.reg < 0 || reg_0d_[a.reg] || reg_0d_[b.reg] || Len(a.reg) != Len(b.reg)) {
        Fail(KindOf(node) + " of other than two 1-D tensors of equal length");
      }
      EmitReduction(node, TapeOp::kDot, a, b);
      return;
    }
    if ((kind == aten::stack || kind == aten::cat) && nin == 2) {
      const Info& li = I(x0);
      if (!li.is_list) Fail(KindOf(node) + " of a non-list");
      const bool stack = kind == aten::stack;
      if (stack) {
        const int64_t d = StaticInt(node->input(1), "dim");
        if (d != 0 && d != -1) Fail("stack along dim " + std::to_string(d));
      } else {
        RequireDim0(node->input(1));
      }
      TapeInstr in;
      in.op = TapeOp::kConcat;
      int len = 0;
      for (Value* v : li.items) {
        const TapeOperand o = Operand(v);
        if (o.reg < 0) Fail("list item is not a tensor");
        if (stack != reg_0d_[o.reg]) Fail(stack ? "stack of 1-D tensors" : "cat of 0-D tensors");
        in.idx.push_back(o.reg);
        len += Len(o.reg);
      }
      Emit(node, in, len, false);
      return;
    }
    // Ops that only change the shape between [] and [n] (or are copies): the reference run
    // knows the result's shape.
    if (kind == aten::reshape || kind == aten::view || kind == aten::flatten ||
        kind == aten::squeeze || kind == aten::unsqueeze || kind == aten::contiguous ||
        kind == aten::clone || kind == aten::to || kind == aten::type_as ||
        kind == aten::expand || kind == aten::expand_as || kind == aten::view_as ||
        kind == aten::reshape_as || kind == aten::ravel) {
      for (size_t i = 1; i < nin; ++i) {
        if (Dyn(node->input(i)) && kind != aten::type_as && kind != aten::expand_as &&
            kind != aten::view_as && kind != aten::reshape_as) {
          Fail("dynamic argument of " + KindOf(node));
        }
      }
      const TapeOperand a = Operand(x0);
      if (a.reg < 0) Fail(KindOf(node) + " of a scalar");
      const c10::IValue& ref = I(node->output()).ref;
      if (!ref.isTensor()) Fail("result is not a tensor");
      const at::Tensor& t = ref.toTensor();
      if (t.dim() > 1) Fail("intermediate tensor with " + std::to_string(t.dim()) + " dimensions");
      const int len = static_cast<int>(t.numel());
      if (Len(a.reg) != len && Len(a.reg) != 1) Fail(KindOf(node) + " changes the element count");
      TapeInstr in;
      in.op = TapeOp::kCopy;
      in.a = a;
      Emit(node, in, len, t.dim() == 0);
      return;
    }
    Fail("unsupported op " + KindOf(node) + " on a value computed from x");
  }

  int dim_;
  TapeProgram prog_;
  std::vector<bool> reg_0d_;
  std::unordered_map<const Value*, Info> info_;
  std::unordered_map<const Value*, int> const_reg_;
};

}  // namespace

std::shared_ptr<TapeProgram> TranslateToTape(const std::shared_ptr<torch::jit::Graph>& graph,
                                             const std::vector<c10::IValue>& inputs,
                                             int x_index, int dim, std::string* why) {
  try {
    std::shared_ptr<torch::jit::Graph> g = graph->copy();
    torch::jit::Inline(*g);
    torch::jit::ConstantPropagation(g);
    torch::jit::EliminateCommonSubexpression(g);
    torch::jit::EliminateDeadCode(g);
    Translator t(dim);
    return t.Run(*g, inputs, x_index);
  } catch (const Unsupported& e) {
    if (why) *why = e.what();
  } catch (const std::exception& e) {
    std::string msg = e.what();
    if (why) *why = "translation error: " + msg.substr(0, msg.find('\n'));
  }
  return nullptr;
}

}  // namespace ridgerider
