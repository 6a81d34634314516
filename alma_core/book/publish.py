"""Publishing the book: a self-contained static site (relative links, nothing loaded from the network) with each
chapter's executed notebook downloadable, plus the book's launch buttons (Binder, Colab, JupyterHub).

`python -m alma_core.book.publish` (`make publish`) copies the built book (`_build/html`, from `make book`) to
`_build/site/`, checks it (every relative link and resource resolves inside the site, no absolute `/` paths, no
http(s) resource on any page, a notebook download on every chapter page) and packs it into
`_build/alma-companion-site.tar.gz`. `python -m alma_core.browser --site _build/site` (`make check-publish`) opens a
copy of it in headless Chromium. This module is also a Sphinx extension (`_config.yml`, `extra_extensions`): it fills
in the repository url when `_config.yml` holds the placeholder and points the launch buttons at `notebooks/<name>.ipynb`
(the executed copies under `book/_executed/` are build outputs, not in the repository).
"""

from __future__ import annotations

import argparse
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from alma_core.book.site import EXECUTED, BookError
from alma_core.jobs.store import repo_root

__all__ = [
    "PLACEHOLDER_REPOSITORY",
    "SITE",
    "ARCHIVE",
    "normalize_remote",
    "derive_repository",
    "launch_url",
    "clean_scripts",
    "page_references",
    "site_problems",
    "publish",
    "setup",
    "main",
]

PLACEHOLDER_REPOSITORY = "https://github.com/YOUR-GITHUB-USER/alma-companion"
SITE = Path("_build") / "site"
ARCHIVE = Path("_build") / "alma-companion-site.tar.gz"
FORGES = ("github.com", "gitlab.com", "bitbucket.org")  # the providers sphinx-book-theme knows
SOURCE_NOTEBOOKS = "notebooks/"
# sphinx-thebe writes its CDN url into every page even with thebe off (nothing loads it then); the pages drop it.
THEBE_URL = re.compile(r'(const THEBE_JS_URL = ")https?://[^"]*(")')
# Attributes whose url the browser loads (or follows) by itself; <a href> is a link the reader may follow.
LOADED = {("script", "src"), ("img", "src"), ("link", "href"), ("iframe", "src"), ("source", "src"),
          ("video", "src"), ("audio", "src"), ("embed", "src"), ("object", "data")}
INLINE_ASSET = re.compile(r"""["'`]((?:https?:)?//[^"'`\s]+\.(?:js|css|woff2?)(?:\?[^"'`\s]*)?)["'`]""")
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)|@import\s+['\"]([^'\"]+)['\"]")


def normalize_remote(url: str) -> str | None:
    """A git remote (ssh or https, credentials dropped) as the forge's https url; None when not on a known forge."""
    url = url.strip()
    if match := re.fullmatch(r"(?:ssh://)?git@([^:/]+)[:/](.+?)(?:\.git)?/?", url):
        host, path = match.groups()
    else:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        host, path = parts.hostname, parts.path.strip("/").removesuffix(".git")
    segments = [s for s in path.strip("/").split("/") if s]
    if host.lower() not in FORGES or len(segments) != 2:
        return None
    return f"https://{host.lower()}/{segments[0]}/{segments[1]}"


def _git_remote(root: Path) -> str | None:
    """`git remote get-url origin` of the checkout, or None."""
    try:
        done = subprocess.run(["git", "-C", str(root), "remote", "get-url", "origin"], capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def derive_repository(configured: str, env: Mapping[str, str], remote: str | None) -> str:
    """The repository the launch buttons use: `_config.yml`'s url unless it is the placeholder, then the CI forge's
    (GITHUB_SERVER_URL/GITHUB_REPOSITORY), then the git remote `origin`, else the placeholder."""
    if configured and configured.rstrip("/") != PLACEHOLDER_REPOSITORY:
        return configured
    if env.get("GITHUB_REPOSITORY"):
        found = normalize_remote(f"{env.get('GITHUB_SERVER_URL', 'https://github.com')}/{env['GITHUB_REPOSITORY']}")
        if found:
            return found
    return (normalize_remote(remote) if remote else None) or PLACEHOLDER_REPOSITORY


def launch_url(url: str) -> str:
    """A launch button's url pointed at the chapter's notebook in the repository (notebooks/<name>.ipynb)."""
    return url.replace(EXECUTED.as_posix() + "/", SOURCE_NOTEBOOKS).replace(
        EXECUTED.as_posix().replace("/", "%2F") + "%2F", SOURCE_NOTEBOOKS.replace("/", "%2F")
    )


def _on_config_inited(app: Any, config: Any) -> None:
    """Sphinx hook: replace the placeholder repository url; drop Colab for a repository not on GitHub."""
    options = config.html_theme_options
    url = derive_repository(options.get("repository_url", ""), os.environ, _git_remote(Path(app.srcdir)))
    options["repository_url"] = url
    launch = options.get("launch_buttons") or {}
    if launch.get("colab_url") and not url.startswith("https://github.com/"):
        launch["colab_url"] = ""  # Colab opens GitHub repositories only
    print(f"[publish] repository url for the book's buttons: {url}"
          + (" (placeholder: set repository.url in _config.yml)" if url == PLACEHOLDER_REPOSITORY else ""), flush=True)


def _rewrite_buttons(buttons: list[dict[str, Any]]) -> None:
    """Point every launch link in a (nested) header-button list at the repository's notebook."""
    for button in buttons:
        if button.get("label") == "launch-buttons" or button.get("type") == "group":
            _rewrite_buttons(button.get("buttons", []))
        elif button.get("type") == "link" and button.get("url"):
            button["url"] = launch_url(button["url"])


def clean_scripts(scripts: list[Any], thebe: bool) -> list[Any]:
    """A page's script list without repeats (jupyter-book adds sphinx-thebe's and togglebutton's inline scripts twice,
    a 'THEBE_JS_URL has already been declared' error on every page) and, with thebe off, without thebe's CDN url."""
    kept: list[Any] = []
    seen: set[tuple[str, str]] = set()
    for script in scripts:
        attributes = dict(getattr(script, "attributes", {}))
        key = (str(getattr(script, "filename", script) or ""), json.dumps(attributes, sort_keys=True, default=str))
        if key in seen:
            continue
        seen.add(key)
        body = attributes.get("body", "")
        if not thebe and isinstance(body, str) and THEBE_URL.search(body):
            script = type(script)(script.filename, priority=script.priority,
                                  **{**attributes, "body": THEBE_URL.sub(r"\1\2", body)})
        kept.append(script)
    return kept


def _on_page_context(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Sphinx hook (after the theme's launch buttons): launch links open notebooks/<name>.ipynb; clean scripts."""
    if pagename.startswith(EXECUTED.as_posix() + "/"):
        for group in context.get("header_buttons", []):
            if group.get("label") == "launch-buttons":
                _rewrite_buttons(group.get("buttons", []))
    if isinstance(context.get("script_files"), list):
        thebe = bool((app.config.html_theme_options.get("launch_buttons") or {}).get("thebe"))
        context["script_files"][:] = clean_scripts(context["script_files"], thebe)


def setup(app: Any) -> dict[str, Any]:
    """Sphinx extension entry point (`_config.yml` extra_extensions)."""
    app.connect("config-inited", _on_config_inited)
    app.connect("html-page-context", _on_page_context, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


class _RefParser(html.parser.HTMLParser):
    """Collects (tag, attribute, url) of every reference in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self._inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._inline_script = tag == "script" and not dict(attrs).get("src")
        for name, value in attrs:
            if value and (name in ("href", "src", "data") or (tag, name) in LOADED):
                self.refs.append((tag, name, value.strip()))
            if name == "srcset" and value:
                self.refs += [(tag, "src", part.split()[0]) for part in value.split(",") if part.strip()]
            if name == "style" and value:
                self.refs += [(tag, "style", a or b) for a, b in CSS_URL.findall(value)]

    def handle_endtag(self, tag: str) -> None:
        self._inline_script = False

    def handle_data(self, data: str) -> None:
        if self._inline_script:  # a script or stylesheet url an inline script would load
            self.refs += [("script", "src", url) for url in INLINE_ASSET.findall(data)]


def page_references(text: str) -> list[tuple[str, str, str]]:
    """(tag, attribute, url) of every href/src/style url of an HTML page."""
    parser = _RefParser()
    parser.feed(text)
    return parser.refs


def _local_target(base: Path, url: str) -> Path | None:
    """The file a relative url points to (None for fragments, data:, mailto: and javascript: urls)."""
    path = unquote(urlsplit(url).path)
    if not path or url.startswith(("#", "data:", "mailto:", "javascript:", "blob:")):
        return None
    target = (base / path).resolve()
    return target / "index.html" if target.is_dir() else target


def _reference_problems(site: Path, source: Path, refs: list[tuple[str, str, str]]) -> list[str]:
    """What is wrong with the references of one file of the site."""
    problems = []
    name = source.relative_to(site).as_posix()
    for tag, attr, url in refs:
        scheme = urlsplit(url).scheme.lower()
        loaded = (tag, attr) in LOADED or attr == "style" or tag == "css"
        if scheme in ("http", "https", "ftp") or url.startswith("//"):
            if loaded:  # a plain <a href> to the web is a link the reader may follow, not a resource
                problems.append(f"{name}: loads {url} from the network (vendor it into the site)")
            continue
        if scheme == "file" or url.startswith("/"):
            problems.append(f"{name}: absolute url {url} (breaks in a copied folder)")
            continue
        target = _local_target(source.parent, url)
        if target is None or scheme:
            continue
        if not target.is_relative_to(site.resolve()):
            problems.append(f"{name}: {url} points outside the site")
        elif not target.is_file():
            problems.append(f"{name}: {tag} {attr}={url} -> {target.relative_to(site.resolve())} does not exist")
    return problems


def _notebook_problems(site: Path, page: Path, refs: list[tuple[str, str, str]]) -> list[str]:
    """A chapter page must link its executed notebook, a file of the site that is a notebook."""
    links = [_local_target(page.parent, url) for tag, _, url in refs if tag == "a" and ".ipynb" in url
             and not urlsplit(url).scheme]
    links = [p for p in links if p is not None]
    name = page.relative_to(site).as_posix()
    if not links:
        return [f"{name}: no download link to its notebook (html.use_download_button in _config.yml)"]
    for target in links:
        try:
            cells = json.loads(target.read_text(encoding="utf-8")).get("cells")
        except (OSError, ValueError) as err:
            return [f"{name}: notebook link {target.name} does not open as a notebook ({err})"]
        if not isinstance(cells, list):
            return [f"{name}: {target.name} has no cells"]
    return []


def site_problems(site: Path) -> list[str]:
    """Every broken, absolute or network reference of the site's pages and stylesheets, and chapter pages without
    their notebook download (Sec. 'Publishing' of book/reproduce.md)."""
    problems: list[str] = []
    if not (site / "index.html").is_file():
        return [f"{site}: no index.html"]
    for path in sorted(site.rglob("*")):
        if path.is_symlink():
            problems.append(f"{path.relative_to(site)}: a symbolic link (a copied folder would break it)")
        elif path.suffix == ".html" and path.relative_to(site).parts[0] != "_static":  # _static: theme macros
            refs = page_references(path.read_text(encoding="utf-8", errors="replace"))
            problems += _reference_problems(site, path, refs)
            if path.relative_to(site).as_posix().startswith(EXECUTED.as_posix() + "/"):
                problems += _notebook_problems(site, path, refs)
        elif path.suffix == ".css":
            text = path.read_text(encoding="utf-8", errors="replace")
            refs = [("css", "url", a or b) for a, b in CSS_URL.findall(text)]
            problems += _reference_problems(site, path, refs)
    return problems


def _copy_site(html_dir: Path, dest: Path) -> None:
    """Copy the built book to `dest` (a fresh folder) with a .nojekyll marker (GitHub Pages then serves _static/)."""
    shutil.copytree(html_dir, dest, ignore=shutil.ignore_patterns(".buildinfo", ".doctrees"))
    (dest / ".nojekyll").write_text("", encoding="utf-8")


def publish(root: Path | None = None, out: Path | None = None, archive: Path | None = None) -> dict[str, Any]:
    """Write the static site from the built book, check it, pack it; returns its summary (files, bytes, notebooks)."""
    root = root or repo_root()
    html_dir = root / "_build" / "html"
    if not (html_dir / "index.html").is_file():
        raise BookError(f"no built book in {html_dir}; run `make book` first, then `make publish`")
    site = out or root / SITE
    archive = archive or root / ARCHIVE
    staging = site.with_name(f".{site.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    _copy_site(html_dir, staging)
    problems = site_problems(staging)
    if problems:
        shutil.rmtree(staging, ignore_errors=True)
        raise BookError("PUBLISH FAILED, the site would not work offline or from a copied folder:\n"
                        + "\n".join(problems[:50]) + ("\n..." if len(problems) > 50 else ""))
    shutil.rmtree(site, ignore_errors=True)
    os.replace(staging, site)
    tmp_archive = archive.with_name(f".{archive.name}.tmp")
    with tarfile.open(tmp_archive, "w:gz") as tar:
        tar.add(site, arcname=archive.name.removesuffix(".tar.gz"))
    os.replace(tmp_archive, archive)
    files = [p for p in site.rglob("*") if p.is_file()]
    summary = {
        "site": str(site),
        "archive": str(archive),
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files),
        "archive_bytes": archive.stat().st_size,
        "pages": sum(p.suffix == ".html" and p.relative_to(site).parts[0] != "_static" for p in files),
        "notebooks": sum(p.suffix == ".ipynb" for p in files),
    }
    print(f"[publish] {summary['pages']} pages, {summary['notebooks']} notebooks, {summary['files']} files, "
          f"{summary['bytes'] / 2**20:.1f} MiB in {site}; {summary['archive_bytes'] / 2**20:.1f} MiB in {archive}",
          flush=True)
    return summary


def main(argv: list[str] | None = None) -> int:
    """CLI: `python -m alma_core.book.publish [--root DIR] [--out DIR]` (`make publish`)."""
    parser = argparse.ArgumentParser(prog="python -m alma_core.book.publish", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="the checkout whose _build/html to publish")
    parser.add_argument("--out", type=Path, default=None, help=f"the site folder (default {SITE})")
    parser.add_argument("--archive", type=Path, default=None, help=f"the packed site (default {ARCHIVE})")
    args = parser.parse_args(argv)
    try:
        publish(args.root, args.out, args.archive)
    except BookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
