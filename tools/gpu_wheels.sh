#!/usr/bin/env bash
# Download (run HERE, with PyPI) the cp312 manylinux wheels that `tools/gpu_rehearsal.sh` (and `tools/gpu_bench.sh`,
# which needs nothing more) installs on the lent
# GPU machine (Python 3.12, its own CUDA torch 2.11, numpy 2.x, pyarrow, pandas, scipy, matplotlib, accelerate
# 1.15, pytorch-lightning 2.6.6). Only what the device lacks or has in a version the project cannot use.
#   Kept from the device: torch, numpy 2.x and the compiled stack built on it (pyarrow, pandas, scipy, matplotlib):
#     numpy 1.26.4 (18 MB) + pyarrow 21 (43 MB, the newest pyarrow refuses numpy<2) do not fit 64 MiB with the rest.
#   Left out: jupyter-book/Sphinx (--no-build), debugpy (ipykernel imports it optionally), mecab/ipadic (ja only).
# Usage: tools/gpu_wheels.sh            (from the repo root; PY=python to use another interpreter's pip)
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
PY=${PY:-.venv/bin/python}
DEST=.whl
WHEELS=(
  # the project's pinned HF stack (device: transformers 5.x, huggingface_hub 1.x, tokenizers 0.23)
  transformers==4.57.6 tokenizers==0.22.2 huggingface-hub==0.36.2 peft==0.21.2
  datasets==5.0.1 dill==0.4.1 multiprocess==0.70.19 fsspec==2026.6.0 zstandard==0.25.0
  # COMET and its pins (device: torchmetrics 1.9; setuptools<82 for comet's pkg_resources), metrics, language ID
  unbabel-comet==2.2.7 jsonargparse==3.13.1 torchmetrics==0.10.3 entmax==1.3 setuptools==81.0.0 protobuf==4.25.9
  sacrebleu==2.6.0 py3langid==0.2.2
  # DeepSpeed's missing deps (deepspeed itself is built below) and the project's pydantic
  hjson==3.1.0 pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
  typing-extensions==4.16.0
  # papermill and a python3 kernel (none on the device)
  papermill==2.7.0 entrypoints==0.4.2 tenacity==9.2.1 nbclient==0.11.0 nbformat==5.11.1 fastjsonschema==2.22.3
  jsonschema==4.26.0 jsonschema-specifications==2025.9.1 referencing==0.37.0 rpds-py==2026.9.1
  jupyter-client==8.10.0 jupyter-core==5.9.1 platformdirs==4.14.8 pyzmq==27.3.0 tornado==6.6.1 traitlets==5.16.1
  ipykernel==7.4.0 comm==0.2.3 nest-asyncio2==1.7.4 matplotlib-inline==0.2.2
  ipython==9.18.1 ipython-pygments-lexers==1.1.1 jedi==0.20.1 parso==0.8.7 prompt-toolkit==3.0.53 wcwidth==0.9.4
  pexpect==4.9.0 ptyprocess==0.7.0 stack-data==0.6.3 asttokens==3.0.2 executing==2.3.0 pure-eval==0.2.4
)
grep -qxF /.whl/ .git/info/exclude 2>/dev/null || echo /.whl/ >>.git/info/exclude  # never committed
rm -rf "$DEST" && mkdir -p "$DEST"
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$DEST" "${WHEELS[@]}"
# DeepSpeed has no wheel on PyPI: a pure-Python one from its sdist (ops are JIT-compiled on first use).
DS_BUILD_OPS=0 "$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$DEST" deepspeed==0.19.8
n=$(ls "$DEST"/*.whl | wc -l)
echo "$n wheels in $DEST: $(du -cb "$DEST"/*.whl | tail -1 | cut -f1 | awk '{printf "%.1f MiB", $1/1048576}')"
