"""`python -m alma_core`: version and the entry points of the ALMA Companion."""

from __future__ import annotations

import argparse

from alma_core import __version__

ENTRY_POINTS = {
    "python -m alma_core.runs.train --config FILE.yaml": "stage 1 / stage 2 training (full or LoRA; Sections 4, 5.2)",
    "python -m alma_core.runs.evaluate ...": "score hypothesis files: BLEU, chrF, COMET, off-target rate (Section 5.1)",
    "python -m alma_core.book run|build|dry-run|check": "execute the notebooks with papermill and build the book",
    "papermill notebooks/X.ipynb out.ipynb -f params/PROFILE/X.yaml": "rerun one paper section on a profile",
}


def main(argv: list[str] | None = None) -> int:
    """Print the version or the list of entry points."""
    epilog = "entry points:\n" + "\n".join(f"  {cmd}\n      {what}" for cmd, what in ENTRY_POINTS.items())
    parser = argparse.ArgumentParser(
        prog="python -m alma_core",
        description="ALMA Companion: the ALMA two-stage translation recipe (Xu et al.) as a library and a book.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"alma_core {__version__}")
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
