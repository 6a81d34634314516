#!/usr/bin/env bash
# `python -m alma_core.rehearsal --gpu` ON THE LENT GPU MACHINE, from the repo root, with the wheels that
# tools/gpu_wheels.sh put in .whl/ (device tool: command `bash tools/gpu_rehearsal.sh`, carry [".whl"]).
# The project's pinned stack (transformers 4.57.6, hub 0.36.2, comet 2.2.7 ...) over the image's CUDA torch 2.11 and
# numpy 2.x. Every chapter is executed; no HTML build, no browser check. Writes to $OUT: gpu_rehearsal.log,
# versions.json, pip_check.txt, summary.json (each notebook's status, each run.json's wall time/device/dtype).
set -euo pipefail
OUT=${OUT:-/tmp/gpu_rehearsal_out}
LIMIT=${LIMIT:-470}  # seconds for the rehearsal itself
mkdir -p "$OUT"
started=$(date +%s)

# 1. The carried wheels, first on sys.path (they shadow the image's transformers 5.x etc.); the repo for alma_core.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 TORCH_CUDA_ARCH_LIST=9.0  # DeepSpeed JIT ops: Hopper only

# 2. papermill asks for kernel `python3`: register one that runs this interpreter (the image has no Jupyter).
export JUPYTER_PATH=/tmp/jupyter/share/jupyter
python3 -m ipykernel install --prefix /tmp/jupyter --name python3 >/dev/null
# The paper's sbatch scripts `source .venv/bin/activate` (slurm_setup); there the image's python3 is the environment.
[ -e .venv/bin/activate ] || { mkdir -p .venv/bin && echo ': # image python3 + /tmp/site' >.venv/bin/activate; }

# 3. Fail fast, in seconds, if the stack does not import; record what runs. pip check lists unmet pins
#    (expected: unbabel-comet's numpy<2, since numpy stays the image's; ipykernel's optional debugpy).
python3 - "$OUT/versions.json" <<'EOF'
import importlib, importlib.metadata as md, json, sys
mods = ["torch", "numpy", "pyarrow", "pandas", "transformers", "tokenizers", "huggingface_hub", "datasets", "peft",
        "accelerate", "deepspeed", "comet", "torchmetrics", "sacrebleu", "py3langid", "papermill", "ipykernel"]
for m in mods:
    importlib.import_module(m)
import torch
info = {d: md.version(d) for d in ["torch", "numpy", "pyarrow", "pandas", "transformers", "tokenizers", "huggingface-hub",
        "datasets", "peft", "accelerate", "deepspeed", "unbabel-comet", "torchmetrics", "pytorch-lightning", "protobuf"]}
info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
json.dump(info, open(sys.argv[1], "w"), indent=1)
print("[gpu] stack:", json.dumps(info), flush=True)
EOF
python3 -m pip check >"$OUT/pip_check.txt" 2>&1 || true

# 4. The rehearsal (its own exit code kept; 124 = it ran past $LIMIT).
set +e
timeout "$LIMIT" python3 -m alma_core.rehearsal --gpu --no-check --no-build 2>&1 | tee "$OUT/gpu_rehearsal.log"
rc=${PIPESTATUS[0]}
set -e

# 5. summary.json: each notebook's statuses in run order (paper, then released; from the log, so a timeout still
#    reports), the status.json files, and every run.json's status, wall time, device and dtype.
python3 - "$OUT" "$rc" "$(( $(date +%s) - started ))" <<'EOF'
import glob, json, re, sys
out, rc, wall = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
notebooks = {}
for line in open(f"{out}/gpu_rehearsal.log", errors="replace"):
    if m := re.match(r"\[book\] (\w+): (.*)", line.rstrip()):
        seen = notebooks.setdefault(m[1], [])
        if seen and seen[-1].startswith("running"):
            seen.pop()  # its outcome replaces "running with ..."; a run cut off by the timeout keeps it
        seen.append(m[2])
runs = []
for path in sorted(glob.glob("runs/rehearsal/*/**/run.json", recursive=True)):
    try:
        r = json.load(open(path))
    except ValueError as err:  # a file cut off mid-write by the timeout
        r = {"status": f"unreadable: {err}"}
    runs.append({"path": path, "status": r.get("status"), "wall_time_s": r.get("wall_time_s"),
                 "device": r.get("device") or (r.get("hardware") or {}).get("gpus"),
                 "dtype": r.get("dtype") or (r.get("config") or {}).get("precision")})
status = {p: json.load(open(p)) for p in glob.glob("_build/rehearsal/**/status.json", recursive=True)
          + glob.glob("runs/rehearsal/*/**/status.json", recursive=True)}
json.dump({"rc": rc, "timed_out": rc == 124, "wall_s": wall, "notebooks": notebooks, "status_json": status,
           "runs": runs}, open(f"{out}/summary.json", "w"), indent=1)
print(f"[gpu] rc {rc}, {len(notebooks)} notebooks, {len(runs)} run.json; summary in {out}/summary.json")
EOF
echo "[gpu] wall time $(( $(date +%s) - started )) s (rehearsal limit ${LIMIT} s)"
exit "$rc"
