#!/bin/sh
# The GPU figures of issue 12 in one run (under 8 minutes on one modern GPU): training tokens/s and model FLOP/s
# as a share of the bf16 peak, feature extraction images/s, exact kNN time at N = 10^6 (benchmarks/bench_gpu.py).
# Without a CUDA device it says so and exits 0.   Usage: sh benchmarks/gpu.sh [--json]
set -e
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
exec timeout 480 "$PY" benchmarks/bench_gpu.py "$@"
