"""`python -m alma_core.train` (the README's entry point): stage 1 / stage 2 training, in `alma_core.runs.train`."""

import runpy

if __name__ == "__main__":
    runpy.run_module("alma_core.runs.train", run_name="__main__", alter_sys=True)
