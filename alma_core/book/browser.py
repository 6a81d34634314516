"""The built book in headless Chromium: every page renders, with the tables and figures its notebook produced.

`python -m alma_core.browser` (`make check-book`) runs `check`. `python -m alma_core.browser --site _build/site`
(`make check-publish`) runs `check_site` on the published site (`alma_core.book.publish`): a copy of it in another
folder, opened through file:// and through `python -m http.server`, driven over the DevTools protocol (a pipe, no
extra library): every page loads with no failed or external request, every image shows, every link and notebook
download resolves. This module never installs anything: without Chromium it fails with the install command
(`sudo apt-get install -y chromium`); CI installs it in `.ci/run` before the check.
"""

from __future__ import annotations

import argparse
import html.parser
import json
import select
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urldefrag, urlsplit

from alma_core.book.devtools import DevTools
from alma_core.book.site import EXECUTED, BookError, read_stamp, toc_files
from alma_core.io import atomic_write_json, read_yaml_mapping
from alma_core.jobs.store import repo_root

__all__ = ["CHROMIUM_NAMES", "INSTALL_COMMAND", "page_report", "expected_outputs", "find_chromium", "check",
           "request_problems", "check_site", "main"]

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
    toc = read_yaml_mapping(root / "_toc.yml", "the book's table of contents", BookError)
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


# The published site's check (check_site): Chromium over the DevTools protocol on a pipe.
SITE_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-extensions", "--window-size=1280,2400",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # offline: only the local server resolves
)
# Run in the page once it loaded: waits for MathJax and the images, then reports what a reader would see.
PAGE_PROBE = """(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => {
    i.addEventListener('load', r); i.addEventListener('error', r); })));
  return JSON.stringify({
    title: document.title,
    images: imgs.map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0})),
    links: Array.from(document.querySelectorAll('a[href]'), a => a.href),
    math: document.querySelectorAll('.math').length,
    typeset: document.querySelectorAll('mjx-container').length,
  });
})()"""
def request_problems(events: list[dict[str, Any]], base: str) -> tuple[int, list[str]]:
    """(requests made, problems) of one page's DevTools events: failed requests, HTTP errors, script errors and any
    request outside `base` (the site's folder or local server)."""
    urls: dict[str, str] = {}
    problems: list[str] = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            urls[params["requestId"]] = url
            if not url.startswith(base) and urlsplit(url).scheme not in ("data", "blob", "about"):
                problems.append(f"request outside the site: {url}")
        elif method == "Network.responseReceived" and params["response"].get("status", 0) >= 400:
            problems.append(f"HTTP {params['response']['status']} for {params['response']['url']}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            problems.append(f"request failed: {urls.get(params['requestId'], '?')} ({params.get('errorText')})")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            problems.append(f"script error: {details.get('exception', {}).get('description') or details.get('text')}")
    return len(urls), problems


def _resolve(url: str) -> str | None:
    """None when a link of the site opens (a notebook link: as a notebook), else what is wrong."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # file:// or the local server
            body = response.read()
    except (OSError, ValueError) as err:
        return f"link {url} does not open ({err})"
    if urlsplit(url).path.endswith(".ipynb"):
        try:
            cells = json.loads(body).get("cells")
        except ValueError as err:
            return f"notebook {url} is not a notebook ({err})"
        if not isinstance(cells, list):
            return f"notebook {url} has no cells"
    return None


def _check_origin(tools: DevTools, session: str, base: str, pages: list[str]) -> dict[str, Any]:
    """Open every page under `base` (file:// folder or http server); follow every local link once."""
    problems: list[str] = []
    links: set[str] = set()
    requests = images = formulas = 0
    for page in pages:
        tools.events.clear()
        tools.call("Page.navigate", {"url": base + quote(page)}, session)
        deadline = time.monotonic() + 60
        tools.settle(0.5, deadline)
        probe = json.loads(tools.call("Runtime.evaluate", {"expression": PAGE_PROBE, "awaitPromise": True,
                                                            "returnByValue": True}, session)["result"]["value"])
        tools.settle(0.3, deadline)  # fonts and images MathJax asked for while typesetting
        made, found = request_problems(tools.events, base)
        requests += made
        images += len(probe["images"])
        formulas += probe["typeset"]
        found += [f"image did not load: {i['src']}" for i in probe["images"] if not i["ok"]]
        if probe["math"] and not probe["typeset"]:
            found.append(f"{probe['math']} formulas not typeset (MathJax did not run)")
        local = {urldefrag(h)[0] for h in probe["links"] if h.startswith(base)}
        if page.startswith(EXECUTED.as_posix() + "/") and not any(h.endswith(".ipynb") for h in local):
            found.append("no download link to its notebook")
        problems += [f"{page}: {p}" for p in found]
        links |= local
    problems += [p for p in map(_resolve, sorted(links)) if p]
    return {"base": base, "pages": len(pages), "requests": requests, "images": images, "formulas": formulas,
            "links": len(links),
            "notebooks": sum(h.endswith(".ipynb") for h in links), "problems": problems}


def _serve(folder: Path) -> tuple[subprocess.Popen[str], str]:
    """`python -m http.server` on a free localhost port serving `folder`; (process, base url)."""
    proc = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory",
                             str(folder)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    if not select.select([proc.stdout], [], [], 20)[0]:
        proc.kill()
        raise BookError("CHECK FAILED: python -m http.server did not start within 20 s")
    line = proc.stdout.readline()  # "Serving HTTP on 127.0.0.1 port 41235 (http://127.0.0.1:41235/) ..."
    port = line.split(" port ")[1].split()[0] if " port " in line else ""
    if not port.isdigit():
        proc.kill()
        raise BookError(f"CHECK FAILED: python -m http.server said {line!r}")
    return proc, f"http://127.0.0.1:{port}/"


def check_site(site: Path, chromium: str | None = None) -> dict[str, dict[str, Any]]:
    """Copy the published site to another folder and open every page through file:// and a plain local http
    server: no failed or outside request, every image loaded, every local link and notebook download opens."""
    site = Path(site)
    if not (site / "index.html").is_file():
        raise BookError(f"CHECK FAILED: no published site in {site}; run `make publish` first")
    chromium = chromium or find_chromium()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="alma-site-copy-") as tmp, \
            tempfile.TemporaryDirectory(prefix="alma-chromium-") as profile:
        copy = Path(tmp) / "site"
        shutil.copytree(site, copy)
        pages = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*.html")
                       if p.relative_to(copy).parts[0] != "_static")
        tools = DevTools(chromium, SITE_FLAGS, profile)
        server = None
        try:
            session = tools.open_page()
            results["file"] = _check_origin(tools, session, copy.as_uri() + "/", pages)
            server, base = _serve(copy)
            results["http"] = _check_origin(tools, session, base, pages)
        finally:
            tools.close()
            if server is not None:
                server.terminate()
                server.wait()
    report = site.resolve().parent / "check" / "site.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(report, results)
    for mode, result in results.items():
        print(f"[check-site] {mode} ({result['base']}): {result['pages']} pages, {result['requests']} requests, "
              f"{result['images']} images, {result['formulas']} formulas, {result['links']} local links "
              f"({result['notebooks']} notebooks), {len(result['problems'])} problems", flush=True)
    problems = [f"{mode}: {p}" for mode, result in results.items() for p in result["problems"]]
    if problems:
        raise BookError(f"CHECK FAILED ({len(problems)} problems, report {report}):\n" + "\n".join(problems[:60]))
    print(f"[check-site] the copied site works from a folder and from a file server; report {report}", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    """CLI: `python -m alma_core.book.browser [--root DIR]` checks the built book (`make check-book`); `--site DIR` the
    published site (`make check-publish`)."""
    parser = argparse.ArgumentParser(prog="python -m alma_core.book.browser", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="the checkout whose _build/html to check")
    parser.add_argument("--site", type=Path, default=None, help="check this published site (a copy of it) instead")
    args = parser.parse_args(argv)
    try:
        if args.site is not None:
            check_site(args.site)
        else:
            check(args.root)
    except BookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
