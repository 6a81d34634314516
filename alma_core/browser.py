"""`python -m alma_core.browser` (the README's entry point): the built book's check, in `alma_core.book.browser`."""

import runpy

if __name__ == "__main__":
    runpy.run_module("alma_core.book.browser", run_name="__main__", alter_sys=True)
