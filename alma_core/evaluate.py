"""`python -m alma_core.evaluate` (the README's entry point): the evaluator, in `alma_core.runs.evaluate`."""

import runpy

if __name__ == "__main__":
    runpy.run_module("alma_core.runs.evaluate", run_name="__main__", alter_sys=True)
