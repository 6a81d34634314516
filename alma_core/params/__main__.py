"""`python -m alma_core.params FILE.yaml ...`: validate params files (alma_core.params.schemas)."""

from alma_core.params.schemas import main

if __name__ == "__main__":
    raise SystemExit(main())
