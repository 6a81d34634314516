"""The built book in headless Chromium: every page renders, with the tables and figures its notebook produced.

`python -m alma_core.browser` (`make check-book`) runs `check`. This module never installs anything:
without Chromium it fails with the install command (`sudo apt-get install -y chromium`); CI installs it
in `.ci/run` before the check.
"""

from __future__ import annotations

import argparse
import html.parser
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from alma_core.book import EXECUTED, BookError, read_stamp, toc_files
from alma_core.io import atomic_write_json
from alma_core.store import repo_root

__all__ = ["CHROMIUM_NAMES", "INSTALL_COMMAND", "page_report", "expected_outputs", "find_chromium", "check", "main"]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_COMMAND = "sudo apt-get install -y chromium"


class _PageParser(html.parser.HTMLParser):
    """Counts tables, images (with their sources) and error outputs of a rendered page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables = 0
        self.images: list[str] = []
        self.errors = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "table":
            self.tables += 1
        elif tag == "img" and attr.get("src"):
            self.images.append(attr["src"] or "")
        elif tag == "title" and not self.title:
            self._in_title = True
        classes = (attr.get("class") or "").split()
        if "output" in classes and "traceback" in classes:
            self.errors += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if "Traceback (most recent call last)" in data:
            self.errors += 1


def page_report(dom: str, page: Path) -> dict[str, Any]:
    """Tables, images, missing image files and error outputs of one rendered page."""
    parser = _PageParser()
    parser.feed(dom)
    local = [s for s in parser.images if not s.startswith(("http:", "https:", "data:"))]
    missing = [s for s in local if not (page.parent / s.split("#")[0].split("?")[0]).is_file()]
    return {
        "title": parser.title.strip(),
        "tables": parser.tables,
        "images": len(parser.images),
        "missing_images": missing,
        "errors": parser.errors,
    }


def expected_outputs(executed: Path) -> dict[str, int]:
    """How many tables and figures an executed notebook produced (what its page must show)."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    tables = images = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data or "image/svg+xml" in data:
                images += 1
            if "<table" in str(data.get("text/html", "")):
                tables += 1
    return {"tables": tables, "images": images}


def find_chromium() -> str:
    """Path of a headless-capable Chromium; when there is none, an error naming the install command (never installs)."""
    for name in CHROMIUM_NAMES:
        if found := shutil.which(name):
            return found
    raise BookError(
        f"CHECK FAILED: no Chromium on this machine (looked for {', '.join(CHROMIUM_NAMES)}). "
        f"Install it with `{INSTALL_COMMAND}` (Debian/Ubuntu; .ci/run does this) and rerun `make check-book`"
    )


def _render_dom(chromium: str, page: Path, shot: Path, budget_ms: int = 3000) -> str:
    """The DOM of `page` after Chromium rendered it headless; also writes a screenshot."""
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--virtual-time-budget={budget_ms}",
    ]
    with tempfile.TemporaryDirectory(prefix="alma-chromium-") as profile_dir:
        base = [chromium, *flags, f"--user-data-dir={profile_dir}"]
        url = page.resolve().as_uri()
        dom = subprocess.run(["timeout", "60", *base, "--dump-dom", url], capture_output=True, text=True, check=False)
        subprocess.run(
            ["timeout", "60", *base, "--window-size=1280,2400", f"--screenshot={shot}", url],
            capture_output=True,
            check=False,
        )
    if dom.returncode != 0 or "<html" not in dom.stdout.lower():
        raise BookError(f"CHECK FAILED: chromium could not render {page} (exit {dom.returncode}): {dom.stderr[-500:]}")
    return dom.stdout


def check(root: Path | None = None, chromium: str | None = None) -> dict[str, dict[str, Any]]:
    """Open every chapter page in headless Chromium: it renders, with its tables and figure images."""
    root = root or repo_root()
    html_dir = root / "_build" / "html"
    if not (html_dir / "index.html").is_file():
        raise BookError("CHECK FAILED: no built book in _build/html; run `make book` first")
    chromium = chromium or find_chromium()
    shots = root / "_build" / "check"
    shots.mkdir(parents=True, exist_ok=True)
    reports: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    for entry in toc_files(toc):
        page = html_dir / f"{Path(entry).with_suffix('').as_posix()}.html"
        name = Path(entry).stem
        if not page.is_file():
            problems.append(f"{entry}: page {page.relative_to(root)} was not built")
            continue
        report = page_report(_render_dom(chromium, page, shots / f"{name}.png"), page)
        executed = root / EXECUTED / f"{name}.ipynb"
        want = (
            expected_outputs(executed)
            if entry.startswith(EXECUTED.as_posix()) and executed.is_file()
            else {"tables": 0, "images": 0}
        )
        if entry.startswith(EXECUTED.as_posix()) and not read_stamp(executed).get("placeholder"):
            want["tables"] = max(want["tables"], 1)  # every chapter shows at least its reported-vs-build table
        report["expected"] = want
        reports[entry] = report
        if report["tables"] < want["tables"]:
            problems.append(f"{entry}: {report['tables']} tables rendered, the notebook produced {want['tables']}")
        if report["images"] < want["images"]:
            problems.append(f"{entry}: {report['images']} images rendered, the notebook produced {want['images']}")
        if report["missing_images"]:
            problems.append(f"{entry}: image files missing: {report['missing_images']}")
        if report["errors"]:
            problems.append(f"{entry}: {report['errors']} error output(s) on the page")
        print(
            f"[check] {entry}: {report['tables']} tables, {report['images']} images, title {report['title']!r}",
            flush=True,
        )
    atomic_write_json(shots / "report.json", reports)
    if problems:
        raise BookError("CHECK FAILED:\n" + "\n".join(problems))
    print(f"[check] {len(reports)} pages OK; screenshots in {shots.relative_to(root)}", flush=True)
    return reports


def main(argv: list[str] | None = None) -> int:
    """CLI: `python -m alma_core.browser [--root DIR]` checks the built book (`make check-book`)."""
    parser = argparse.ArgumentParser(prog="python -m alma_core.browser", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="the checkout whose _build/html to check")
    args = parser.parse_args(argv)
    try:
        check(args.root)
    except BookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
