#!/usr/bin/env bash
# Installs the Debian packages ridgerider needs, only those missing, and checks that LibTorch
# will run on OpenBLAS (Debian's reference BLAS makes every torch op ~20x slower).
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libeigen3-dev libspectra-dev
  libtorch-dev libopenblas0-openmp libopenblas-dev
  nlohmann-json3-dev libcli11-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3-matplotlib python3-numpy python3-torch python3-scipy python3-pytest
  pybind11-dev python3-dev
  libopenmpi-dev openmpi-bin
  dataset-fashion-mnist zlib1g-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# OpenBLAS must own the libblas.so.3 alternative; installing it normally switches it.
blas=$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null || true)
if [[ "$blas" != *openblas* ]]; then
  target=$(update-alternatives --list libblas.so.3-x86_64-linux-gnu 2>/dev/null | grep openblas | head -n1 || true)
  if [[ -n "$target" ]]; then
    ${SUDO:-} update-alternatives --set libblas.so.3-x86_64-linux-gnu "$target" >/dev/null
    blas=$target
  fi
fi
if [[ "$blas" != *openblas* ]]; then
  echo "setup: warning: libblas.so.3 points to '$blas', not OpenBLAS; torch will be ~20x slower" >&2
fi
echo "setup: ok (BLAS: ${blas:-unknown})" >&2
