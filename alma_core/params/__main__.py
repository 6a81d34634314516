"""`python -m alma_core.params FILE.yaml ...`: validate params files (schema = file stem) without running anything."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from alma_core.params.schemas import ParamsError, load_params


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: `python -m alma_core.params FILE.yaml ...` validates params files (schema = file stem) without running."""
    parser = argparse.ArgumentParser(prog="python -m alma_core.params", description=main.__doc__)
    parser.add_argument("files", nargs="+", help="params/<profile>/<notebook>.yaml files")
    failed = 0
    for path in parser.parse_args(argv).files:
        try:
            load_params(path)
        except ParamsError as err:
            print(f"error: {err}", file=sys.stderr)
            failed += 1
        else:
            print(f"ok: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
