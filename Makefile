# ALMA Companion. Two set-up commands on a fresh machine: `make book` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PROFILE ?= tiny
FORCE  ?= 0
STAMP  := $(VENV)/.installed

.PHONY: install test book book-html paper-dry-run check-book publish check-publish rehearsal rehearsal-gpu clean

# Create the venv if missing and install the project (pyproject.toml is the one source of deps).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24" "setuptools>=77.0.3,<82" wheel
	$(PY) -m pip install --quiet -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $(STAMP)

install: $(STAMP)

# Lint (ruff, configured in pyproject.toml), then the offline CPU test suite.
test: $(STAMP)
	$(PY) -m ruff check alma_core tests benchmarks
	$(PY) -m pytest -q

# Run every notebook with papermill on PROFILE, then build the HTML book (warnings are errors).
book: $(STAMP)
	$(PY) -m alma_core.book run --profile $(PROFILE) $(if $(filter 1,$(FORCE)),--force,)
	$(PY) -m alma_core.book build

# Render every paper-profile job (commands, sbatch scripts, DeepSpeed configs) without running it.
paper-dry-run: $(STAMP)
	$(PY) -m alma_core.book dry-run --profile paper

# Headless-Chromium check of the built HTML (needs Debian's chromium).
check-book: $(STAMP)
	$(PY) -m alma_core.browser

# The built book as a self-contained static site: _build/site/ and _build/alma-companion-site.tar.gz (relative
# links, nothing loaded from the network, each chapter's executed notebook downloadable). Run `make book` first.
publish: $(STAMP)
	$(PY) -m alma_core.publish

# The published site copied to another folder, in headless Chromium via file:// and `python -m http.server`.
check-publish: publish
	$(PY) -m alma_core.browser --site _build/site

# The paper + released profiles end to end, offline on this CPU, changed in scale only (local hub of tiny
# models under the real ids, real data formats, the real sbatch script under a SLURM stand-in, 2 ranks).
rehearsal: $(STAMP)
	$(PY) -m alma_core.rehearsal $(if $(filter 1,$(FORCE)),--force,)

# The same on one GPU with the params' dtypes (fp16/bf16), CUDA decoding and COMET on the GPU.
rehearsal-gpu: $(STAMP)
	$(PY) -m alma_core.rehearsal --gpu $(if $(filter 1,$(FORCE)),--force,)

clean:
	rm -rf _build book/_executed
