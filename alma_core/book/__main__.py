"""`python -m alma_core.book run|build|dry-run`: the book's papermill runs, HTML build and dry run
(alma_core.book.site)."""

from alma_core.book.site import main

if __name__ == "__main__":
    raise SystemExit(main())
