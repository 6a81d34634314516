"""What the reader sees: the paper's tables (`tables`, `appendix_c`), display (`report`, `plots`), the scorecard
(`claims`, `verdicts`, `scorecard`), the chapters' helpers, and the site: papermill runs, the HTML build and the
dry run (`site`), the headless-Chromium check (`browser`, `devtools`) and the static site (`publish`).
`python -m alma_core.book run|build|dry-run` runs `site`.

May import: everything below it (io, recipe, reported, runs, standins, params, jobs). Must not import rehearsal.
"""
