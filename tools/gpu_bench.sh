#!/usr/bin/env bash
# `python benchmarks/gpu_throughput.py` ON THE LENT GPU MACHINE, from the repo root, with the wheels that
# tools/gpu_wheels.sh put in .whl/ (device tool: command `bash tools/gpu_bench.sh`, carry [".whl"], timeout_s 600).
# The project's pinned stack (transformers 4.57.6, DeepSpeed 0.19.8, ...) over the image's CUDA torch and numpy, as in
# tools/gpu_rehearsal.sh; the image has no flash-attn, so the benchmark runs (and says it runs) sdpa attention.
# Arguments go to the benchmark (e.g. `bash tools/gpu_bench.sh --sections decode`). Writes to $OUT:
# gpu_throughput.log (every line it printed), gpu_throughput.json (every figure), versions.json.
set -euo pipefail
OUT=${OUT:-/tmp/gpu_bench_out}
LIMIT=${LIMIT:-480}  # seconds for the benchmark itself (it needs about 3-4 minutes on an H200)
mkdir -p "$OUT"
started=$(date +%s)

# 1. The carried wheels, first on sys.path (they shadow the image's transformers 5.x etc.); the repo for alma_core.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 TORCH_CUDA_ARCH_LIST=9.0 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

# 2. Fail fast, in seconds, if the pinned stack does not import or no GPU is seen; record what runs.
python3 - "$OUT/versions.json" <<'EOF'
import importlib.metadata as md, json, sys
import torch, transformers, deepspeed, alma_core  # noqa: F401
info = {d: md.version(d) for d in ["torch", "numpy", "transformers", "tokenizers", "accelerate", "deepspeed"]}
info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
json.dump(info, open(sys.argv[1], "w"), indent=1)
print("[gpu] stack:", json.dumps(info), flush=True)
assert info["transformers"] == "4.57.6", "the carried transformers does not shadow the image's: check .whl/"
assert info["gpu"], "no GPU visible to torch"
EOF

# 3. The benchmark (its own exit code kept; 124 = it ran past $LIMIT, the lines printed so far are in the log).
set +e
timeout "$LIMIT" python3 benchmarks/gpu_throughput.py --json "$OUT/gpu_throughput.json" "$@" 2>&1 \
  | tee "$OUT/gpu_throughput.log"
rc=${PIPESTATUS[0]}
set -e
echo "[gpu] benchmark rc $rc, wall time $(( $(date +%s) - started )) s (benchmark limit ${LIMIT} s)"
exit "$rc"
