// GetRidges and UpdateRidge: which negative-curvature directions to follow from a point, and
// which eigenvector at a new point continues the one being followed.
//
// Clusters: eigenvalues equal within a relative tolerance span one eigenspace (a symmetry
// class). Inside a cluster any basis is as good as another, so UpdateRidge follows the
// projection of the previous direction onto the whole cluster instead of one arbitrary vector.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ridgerider/options.hpp"
#include "ridgerider/spectrum/dense.hpp"
#include "ridgerider/spectrum/tracker.hpp"

namespace ridgerider {

struct Ridge {
  int index = 0;         // position of the eigenvalue in the ascending spectrum
  int cluster_size = 1;  // how many eigenvalues share it (symmetry class size)
  double eigenvalue = 0;
  Vector direction;      // unit
  // Distance from eigenvalue to the nearest eigenvalue outside its cluster, for the tracker's
  // gap-aware rule (SpectrumOptions::track_cosine); 0 where that is unknown: the last cluster of
  // a partial spectrum, whose upper neighbour was not solved for, or a spectrum of one cluster.
  double gap = 0;
};

// The gap of eigenvalue i of s, in cluster [begin, end) (see Ridge::gap).
inline double RidgeGap(const Spectrum& s, int i, int begin, int end) {
  if (end == s.size() && (s.partial || begin == 0)) return 0;
  double gap = end < s.size() ? s.values[end] - s.values[i] : std::numeric_limits<double>::infinity();
  if (begin > 0) gap = std::min(gap, s.values[i] - s.values[begin - 1]);
  return gap;
}

// Ridges at a point, most negative first. Each is later followed with both signs.
inline std::vector<Ridge> GetRidges(const Spectrum& s, const RidgeOptions& o) {
  std::vector<Ridge> ridges;
  for (auto [begin, end] : Clusters(s.values, o.cluster_tolerance)) {
    const int last = o.all_in_cluster ? end : begin + 1;
    for (int i = begin; i < last; ++i) {
      if (!(s.values[i] < -o.eigen_threshold)) return ridges;  // ascending: nothing more below
      if (o.max_ridges > 0 && static_cast<int>(ridges.size()) >= o.max_ridges) return ridges;
      ridges.push_back(Ridge{i, end - begin, s.values[i], s.vectors.col(i), RidgeGap(s, i, begin, end)});
    }
  }
  return ridges;
}

inline TrackedRidge UpdateRidge(const Spectrum& s, const Vector& previous,
                                const RidgeOptions& ro, double overlap_floor) {
  TrackedRidge t;
  const Vector c = s.vectors.transpose() * previous;  // coefficients in the eigenbasis
  Eigen::Index best = 0;
  c.cwiseAbs().maxCoeff(&best);
  for (auto [begin, end] : Clusters(s.values, ro.cluster_tolerance)) {
    if (best < begin || best >= end) continue;
    const int n = end - begin;
    Vector p = s.vectors.middleCols(begin, n) * c.segment(begin, n);
    const double norm = p.norm();
    t.index = begin;
    t.overlap = norm / std::max(previous.norm(), 1e-300);
    t.direction = norm > 0 ? Vector(p / norm) : Vector(s.vectors.col(best));
    const Vector w = c.segment(begin, n).array().square();
    t.eigenvalue = w.sum() > 0 ? s.values.segment(begin, n).dot(w) / w.sum() : s.values[best];
    break;
  }
  t.lost = t.overlap < overlap_floor;
  return t;
}

}  // namespace ridgerider
