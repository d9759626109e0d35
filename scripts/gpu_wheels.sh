#!/usr/bin/env bash
# Fetch into .whl/ the Python packages the device machine lacks (soundfile with its bundled
# libsndfile, which reads Ogg/Opus; cffi and pycparser under it; pedalboard, which engine.data
# imports through engine.production) as wheels for its python 3.12 on x86-64, at the versions
# this venv runs. scripts/gpu_train.sh installs them there; .whl/ is git-ignored and travels by
# `carry` (about 6.6 MB of the 64 MiB tree). See /work/.library/device/README.md, "nvidia-h200".
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
mapfile -t PINS < <($PY -c "import importlib.metadata as m
for name in ('soundfile', 'cffi', 'pycparser', 'pedalboard'):
    print(f'{name}=={m.version(name)}')")
rm -rf .whl
$PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  -d .whl "${PINS[@]}"
ls -l .whl
