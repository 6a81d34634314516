"""`python -m alma_core.publish` (the README's entry point): the static site, in `alma_core.book.publish`."""

import runpy

if __name__ == "__main__":
    runpy.run_module("alma_core.book.publish", run_name="__main__", alter_sys=True)
