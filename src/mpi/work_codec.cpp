#include "mpi/work_codec.hpp"

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <type_traits>

namespace ridgerider::mpi {

namespace {

// Native byte order and widths: every rank runs the same binary (mpirun of one build).
class Writer {
 public:
  template <class T>
  void Raw(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const char* p = reinterpret_cast<const char*>(&v);
    out_.append(p, sizeof(T));
  }
  void Vec(const Vector& v) {
    Raw<std::int64_t>(v.size());
    if (v.size() > 0) out_.append(reinterpret_cast<const char*>(v.data()), sizeof(double) * static_cast<size_t>(v.size()));
  }
  template <class T>
  void List(const std::vector<T>& v) {
    Raw<std::int64_t>(static_cast<std::int64_t>(v.size()));
    for (const T& e : v) Raw(e);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <class T>
  T Raw() {
    T v;
    Need(sizeof(T));
    std::memcpy(&v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  Vector Vec() {
    const std::int64_t n = Count(sizeof(double));
    Vector v(n);
    // An empty Eigen vector's data() is null, and memcpy from/to null is UB even for 0 bytes.
    if (n > 0) std::memcpy(v.data(), in_.data() + pos_, sizeof(double) * static_cast<size_t>(n));
    pos_ += sizeof(double) * static_cast<size_t>(n);
    return v;
  }
  template <class T>
  std::vector<T> List() {
    const std::int64_t n = Count(sizeof(T));
    std::vector<T> v(static_cast<size_t>(n));
    for (T& e : v) e = Raw<T>();
    return v;
  }
  bool Flag() {
    const auto v = Raw<std::uint8_t>();
    if (v > 1) throw std::runtime_error("mpi message: bad flag");
    return v == 1;
  }
  template <class E>
  E Enum(E last) {
    const int v = Raw<int>();
    if (v < 0 || v > static_cast<int>(last)) throw std::runtime_error("mpi message: bad enum value");
    return static_cast<E>(v);
  }
  void End() const {
    if (pos_ != in_.size()) throw std::runtime_error("mpi message: trailing bytes");
  }

 private:
  void Need(size_t n) const {
    if (in_.size() - pos_ < n) throw std::runtime_error("mpi message: truncated");
  }
  std::int64_t Count(size_t element) {
    const auto n = Raw<std::int64_t>();
    if (n < 0 || static_cast<size_t>(n) > (in_.size() - pos_) / element)
      throw std::runtime_error("mpi message: bad length");
    return n;
  }
  std::string_view in_;
  size_t pos_ = 0;
};

void Put(Writer& w, const Fingerprint& f) {
  w.Raw<std::int64_t>(static_cast<std::int64_t>(f.size()));
  for (const Branch& b : f) {
    w.Raw(b.index);
    w.Raw(b.sign);
  }
}
Fingerprint GetFingerprint(Reader& r) {
  const auto n = r.Raw<std::int64_t>();
  if (n < 0 || n > (1 << 24)) throw std::runtime_error("mpi message: bad fingerprint length");
  Fingerprint f(static_cast<size_t>(n));
  for (Branch& b : f) {
    b.index = r.Raw<int>();
    b.sign = r.Raw<int>();
  }
  return f;
}

void Put(Writer& w, const EvalCounts& c) {
  w.Raw(c.values);
  w.Raw(c.gradients);
  w.Raw(c.hvps);
  w.Raw(c.hessians);
}
EvalCounts GetCounts(Reader& r) {
  EvalCounts c;
  c.values = r.Raw<long>();
  c.gradients = r.Raw<long>();
  c.hvps = r.Raw<long>();
  c.hessians = r.Raw<long>();
  return c;
}

}  // namespace

std::string EncodeNode(const RideNode& n) {
  Writer w;
  w.Raw(n.id);
  w.Raw(n.parent);
  w.Raw(n.depth);
  Put(w, n.path);
  w.Vec(n.start_x);
  w.Vec(n.start_direction);
  w.Raw(n.start_loss);
  w.Raw(n.start_eigenvalue);
  w.Raw(n.start_gap);
  w.Raw(n.cluster_size);
  w.Raw(static_cast<int>(n.reason));
  w.Vec(n.end_x);
  w.Raw(n.end_loss);
  w.Raw(n.end_eigenvalue);
  w.Raw(n.end_grad_norm);
  w.Raw(n.steps);
  w.Raw(n.gradients);
  w.Raw(n.hvps);
  w.List(n.children);
  w.Raw(n.settled);
  w.Vec(n.branch_x);
  w.Raw(n.branch_loss);
  w.Raw(n.solution);
  w.Raw(n.truncated);
  return w.Take();
}

RideNode DecodeNode(std::string_view bytes) {
  Reader r(bytes);
  RideNode n;
  n.id = r.Raw<long>();
  n.parent = r.Raw<long>();
  n.depth = r.Raw<int>();
  n.path = GetFingerprint(r);
  n.start_x = r.Vec();
  n.start_direction = r.Vec();
  n.start_loss = r.Raw<double>();
  n.start_eigenvalue = r.Raw<double>();
  n.start_gap = r.Raw<double>();
  n.cluster_size = r.Raw<int>();
  n.reason = r.Enum(kAllEndReasons.back());
  n.end_x = r.Vec();
  n.end_loss = r.Raw<double>();
  n.end_eigenvalue = r.Raw<double>();
  n.end_grad_norm = r.Raw<double>();
  n.steps = r.Raw<int>();
  n.gradients = r.Raw<long>();
  n.hvps = r.Raw<long>();
  n.children = r.List<long>();
  n.settled = r.Flag();
  n.branch_x = r.Vec();
  n.branch_loss = r.Raw<double>();
  n.solution = r.Raw<long>();
  n.truncated = r.Flag();
  r.End();
  return n;
}

std::string EncodeWork(const Explorer::RideWork& x) {
  Writer w;
  w.Raw(x.id);
  const RideOutcome& o = x.out;
  w.Vec(o.x);
  w.Raw(o.loss);
  w.Vec(o.grad);
  w.Raw(o.eigenvalue);
  w.Vec(o.direction);
  w.Raw(o.steps);
  w.Raw(static_cast<int>(o.reason));
  w.Raw(o.abort);
  w.Raw(x.settled);
  w.Vec(x.branch_x);
  w.Vec(x.branch_grad);
  w.Raw(x.branch_loss);
  w.Raw<std::int64_t>(static_cast<std::int64_t>(x.ridges.size()));
  for (const Ridge& rd : x.ridges) {
    w.Raw(rd.index);
    w.Raw(rd.cluster_size);
    w.Raw(rd.eigenvalue);
    w.Vec(rd.direction);
    w.Raw(rd.gap);
  }
  w.Raw(x.continues);
  w.Raw(x.truncated);
  w.Raw(x.leaf);
  w.Vec(x.polish.x);
  w.Raw(x.polish.check.loss);
  w.Raw(x.polish.check.grad_norm);
  w.Raw(x.polish.check.min_eigenvalue);
  w.Raw(static_cast<int>(x.polish.check.status));
  w.Raw(x.polish.iterations);
  w.Raw(x.polish.converged);
  Put(w, x.cost);
  w.Raw<std::int64_t>(static_cast<std::int64_t>(x.steps.size()));
  for (const auto& [e, sx] : x.steps) {
    w.Raw(e.node);
    w.Raw(e.step);
    w.Raw(e.loss);
    w.Raw(e.eigenvalue);
    w.Raw(e.overlap);
    w.Raw(e.step_size);
    w.Raw(e.grad_norm);
    w.Vec(sx);
  }
  return w.Take();
}

Explorer::RideWork DecodeWork(std::string_view bytes) {
  Reader r(bytes);
  Explorer::RideWork x;
  x.id = r.Raw<long>();
  RideOutcome& o = x.out;
  o.x = r.Vec();
  o.loss = r.Raw<double>();
  o.grad = r.Vec();
  o.eigenvalue = r.Raw<double>();
  o.direction = r.Vec();
  o.steps = r.Raw<int>();
  o.reason = r.Enum(kAllEndReasons.back());
  o.abort = r.Flag();
  x.settled = r.Flag();
  x.branch_x = r.Vec();
  x.branch_grad = r.Vec();
  x.branch_loss = r.Raw<double>();
  const auto ridges = r.Raw<std::int64_t>();
  if (ridges < 0 || ridges > (1 << 24)) throw std::runtime_error("mpi message: bad ridge count");
  x.ridges.resize(static_cast<size_t>(ridges));
  for (Ridge& rd : x.ridges) {
    rd.index = r.Raw<int>();
    rd.cluster_size = r.Raw<int>();
    rd.eigenvalue = r.Raw<double>();
    rd.direction = r.Vec();
    rd.gap = r.Raw<double>();
  }
  x.continues = r.Flag();
  x.truncated = r.Flag();
  x.leaf = r.Flag();
  x.polish.x = r.Vec();
  x.polish.check.loss = r.Raw<double>();
  x.polish.check.grad_norm = r.Raw<double>();
  x.polish.check.min_eigenvalue = r.Raw<double>();
  x.polish.check.status = r.Enum(EvalStatus::kFailed);
  x.polish.iterations = r.Raw<int>();
  x.polish.converged = r.Flag();
  x.cost = GetCounts(r);
  const auto steps = r.Raw<std::int64_t>();
  if (steps < 0 || steps > (1 << 28)) throw std::runtime_error("mpi message: bad step count");
  x.steps.resize(static_cast<size_t>(steps));
  for (auto& [e, sx] : x.steps) {
    e.node = r.Raw<long>();
    e.step = r.Raw<int>();
    e.loss = r.Raw<double>();
    e.eigenvalue = r.Raw<double>();
    e.overlap = r.Raw<double>();
    e.step_size = r.Raw<double>();
    e.grad_norm = r.Raw<double>();
    sx = r.Vec();
  }
  r.End();
  return x;
}

}  // namespace ridgerider::mpi
