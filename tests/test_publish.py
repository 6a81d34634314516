"""Publishing: the static site (book.publish), its check in Chromium (book.browser --site), the launch
buttons, and the Makefile / CI workflow that drive them."""

from __future__ import annotations

import json
import re
import shutil
import struct
import tarfile
import zlib
from pathlib import Path

import pytest
import yaml

from alma_core.book import browser, publish
from alma_core.book import site as book

ROOT = Path(__file__).resolve().parents[1]
PLACE = publish.PLACEHOLDER_REPOSITORY


def _png() -> bytes:
    """A valid 1x1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + \
        chunk(b"IEND", b"")


def _page(title: str, body: str, head: str = "", up: str = "") -> str:
    """A page with the book's favicon link (without one a browser asks a server for /favicon.ico: a 404)."""
    icon = f'<link rel="icon" href="{up}_static/favicon.svg">'
    return f"<!DOCTYPE html><html><head><title>{title}</title>{icon}{head}</head><body>{body}</body></html>"


def make_html(root: Path) -> Path:
    """A built book in miniature, laid out as jupyter-book lays it: index, a chapter, its notebook, figure, CSS."""
    html = root / "_build" / "html"
    (html / "_static").mkdir(parents=True)
    (html / "_images").mkdir()
    (html / "_sources" / "book" / "_executed").mkdir(parents=True)
    (html / "book" / "_executed").mkdir(parents=True)
    (html / "_static" / "style.css").write_text("body { background: url('bg.png'); }")
    (html / "_static" / "bg.png").write_bytes(_png())
    (html / "_static" / "favicon.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>')
    (html / "_static" / "theme-macros.html").write_text("<link href=\"{{ pathto('x.css', 1) }}\">")  # a template
    (html / "_images" / "fig.png").write_bytes(_png())
    notebook = {"cells": [{"cell_type": "code", "outputs": [], "source": "1", "metadata": {}, "execution_count": 1}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (html / "_sources" / "book" / "_executed" / "ch.ipynb").write_text(json.dumps(notebook))
    (html / ".buildinfo").write_text("build info")
    (html / "index.html").write_text(_page("Home", '<a href="book/_executed/ch.html">chapter</a>',
                                           '<link rel="stylesheet" href="_static/style.css">'))
    (html / "book" / "_executed" / "ch.html").write_text(_page(
        "Chapter",
        '<img src="../../_images/fig.png"><a href="../../_sources/book/_executed/ch.ipynb" download>.ipynb</a>'
        '<a href="../../index.html#top">home</a><a href="https://colab.research.google.com/github/o/r">Colab</a>',
        '<link rel="stylesheet" href="../../_static/style.css">', up="../../"))
    return html


# --- the repository url and the launch buttons -------------------------------------------------------------------

def test_normalize_remote_gives_the_forge_url_without_credentials() -> None:
    assert publish.normalize_remote("git@github.com:me/alma.git") == "https://github.com/me/alma"
    assert publish.normalize_remote("ssh://git@gitlab.com/me/alma.git") == "https://gitlab.com/me/alma"
    assert publish.normalize_remote("https://user:tok3n@github.com/me/alma.git\n") == "https://github.com/me/alma"
    assert publish.normalize_remote("https://GitHub.com/me/alma/") == "https://github.com/me/alma"
    assert publish.normalize_remote("https://example.org/me/alma") is None  # the theme knows no such provider
    assert publish.normalize_remote("https://github.com/me/alma/tree/main") is None
    assert publish.normalize_remote("/srv/git/alma.git") is None


def test_derive_repository_prefers_config_then_ci_then_git_remote() -> None:
    ci = {"GITHUB_REPOSITORY": "lab/alma", "GITHUB_SERVER_URL": "https://github.com"}
    assert publish.derive_repository("https://github.com/mine/alma", ci, "git@github.com:o/r.git") == \
        "https://github.com/mine/alma"
    assert publish.derive_repository(PLACE, ci, "git@github.com:o/r.git") == "https://github.com/lab/alma"
    assert publish.derive_repository(PLACE, {}, "git@github.com:o/r.git") == "https://github.com/o/r"
    assert publish.derive_repository(PLACE, {}, None) == PLACE
    assert publish.derive_repository("", {}, "https://example.org/o/r") == PLACE


def test_config_hook_fills_the_repository_and_drops_colab_off_github(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    class App:
        srcdir = str(tmp_path)  # no git repository here: no remote

    def config(url: str) -> object:
        class Config:
            html_theme_options = {"repository_url": url,
                                  "launch_buttons": {"colab_url": "https://colab", "thebe": False}}
        return Config

    monkeypatch.setenv("GITHUB_REPOSITORY", "lab/alma")
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    on_github = config(PLACE)
    publish._on_config_inited(App, on_github)
    assert on_github.html_theme_options["repository_url"] == "https://github.com/lab/alma"
    assert on_github.html_theme_options["launch_buttons"]["colab_url"] == "https://colab"
    on_gitlab = config("https://gitlab.com/lab/alma")
    publish._on_config_inited(App, on_gitlab)
    assert on_gitlab.html_theme_options["repository_url"] == "https://gitlab.com/lab/alma"
    assert on_gitlab.html_theme_options["launch_buttons"]["colab_url"] == ""  # Colab would warn, and -W fail


def test_launch_buttons_open_the_repository_notebook() -> None:
    binder = "https://mybinder.org/v2/gh/o/r/main?urlpath=tree/book/_executed/sec2_zero_shot.ipynb"
    colab = "https://colab.research.google.com/github/o/r/blob/main/book/_executed/sec2_zero_shot.ipynb"
    hub = "https://hub.example/hub/user-redirect/git-pull?repo=x&urlpath=tree/r/book/_executed/sec2_zero_shot.ipynb"
    encoded = "https://deepnote.com/launch?url=https%3A%2F%2Fgithub.com%2Fo%2Fr%2Fblob%2Fmain%2Fbook%2F_executed%2Fa.ipynb"
    assert publish.launch_url(binder).endswith("urlpath=tree/notebooks/sec2_zero_shot.ipynb")
    assert publish.launch_url(colab).endswith("/blob/main/notebooks/sec2_zero_shot.ipynb")
    assert publish.launch_url(hub).endswith("urlpath=tree/r/notebooks/sec2_zero_shot.ipynb")
    assert publish.launch_url(encoded).endswith("%2Fmain%2Fnotebooks%2Fa.ipynb")
    buttons = [{"type": "group", "label": "launch-buttons", "buttons": [{"type": "link", "url": colab}]},
               {"type": "link", "url": "../../_sources/book/_executed/a.ipynb", "label": "download"}]
    context = {"header_buttons": buttons, "script_files": []}

    class App:
        class config:  # noqa: N801 - stands in for Sphinx's app.config
            html_theme_options = {"launch_buttons": {"thebe": False}}

    publish._on_page_context(App, "book/_executed/sec2_zero_shot", "page.html", context, None)
    assert buttons[0]["buttons"][0]["url"].endswith("/notebooks/sec2_zero_shot.ipynb")
    assert buttons[1]["url"] == "../../_sources/book/_executed/a.ipynb"  # the download stays the executed copy


def test_clean_scripts_drops_repeated_inline_scripts_and_the_thebe_cdn() -> None:
    from sphinx.builders.html._assets import _JavaScript

    thebe = 'const THEBE_JS_URL = "https://unpkg.com/thebe@0.8.2/lib/index.js"; const thebe_selector = ".cell"'
    scripts = [_JavaScript("doctools.js"), _JavaScript(None, body="var t = 1;"), _JavaScript(None, body=thebe),
               _JavaScript("", body="var t = 1;"), _JavaScript("", body=thebe), _JavaScript("x.js", body="var t = 1;")]
    kept = publish.clean_scripts(scripts, thebe=False)
    assert [s.filename for s in kept] == ["doctools.js", None, None, "x.js"]
    assert kept[2].attributes["body"].startswith('const THEBE_JS_URL = ""; const thebe_selector')
    assert publish.clean_scripts(scripts, thebe=True)[2].attributes["body"] == thebe  # thebe on: it needs the url


# --- the static site -------------------------------------------------------------------------------------------

def test_a_good_site_has_no_problems(tmp_path: Path) -> None:
    assert publish.site_problems(make_html(tmp_path)) == []


@pytest.mark.parametrize(
    ("path", "old", "new", "message"),
    [
        ("index.html", 'href="_static/style.css"', 'href="/_static/style.css"', "absolute url /_static/style.css"),
        ("index.html", "</head>", '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex.js"></script></head>',
         "loads https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex.js from the network"),
        ("index.html", "</head>", '<script>const U = "https://unpkg.com/thebe@0.8.2/lib/index.js";</script></head>',
         "loads https://unpkg.com/thebe@0.8.2/lib/index.js"),
        ("_static/style.css", "url('bg.png')", "url('https://fonts.example/f.woff2')", "_static/style.css: loads"),
        ("book/_executed/ch.html", "fig.png", "gone.png", "_images/gone.png does not exist"),
        ("book/_executed/ch.html", 'href="../../_sources/book/_executed/ch.ipynb" download', 'href="#"',
         "no download link to its notebook"),
        ("_sources/book/_executed/ch.ipynb", '"cells"', '"nocells"', "has no cells"),
        ("book/_executed/ch.html", 'href="../../index.html#top"', 'href="../../../elsewhere.html"', "outside the site"),
    ],
)
def test_site_problems_finds_what_breaks_offline_or_in_a_copy(tmp_path: Path, path: str, old: str, new: str,
                                                              message: str) -> None:
    site = make_html(tmp_path)
    target = site / path
    text = target.read_text()
    assert old in text
    target.write_text(text.replace(old, new))
    problems = publish.site_problems(site)
    assert any(message in p for p in problems), problems


def test_site_problems_refuses_symbolic_links(tmp_path: Path) -> None:
    site = make_html(tmp_path)
    (site / "_images" / "link.png").symlink_to(site / "_images" / "fig.png")
    assert any("symbolic link" in p for p in publish.site_problems(site))


def test_publish_writes_the_site_and_its_archive(tmp_path: Path) -> None:
    make_html(tmp_path)
    summary = publish.publish(tmp_path)
    site = tmp_path / publish.SITE
    assert (site / ".nojekyll").is_file() and not (site / ".buildinfo").exists()
    assert (site / "_sources" / "book" / "_executed" / "ch.ipynb").is_file()
    assert summary["pages"] == 2 and summary["notebooks"] == 1 and summary["files"] == 9
    with tarfile.open(tmp_path / publish.ARCHIVE) as tar:
        names = tar.getnames()
    assert "alma-companion-site/book/_executed/ch.html" in names and "alma-companion-site/.nojekyll" in names
    assert summary["bytes"] == sum(p.stat().st_size for p in site.rglob("*") if p.is_file())


def test_publish_refuses_a_broken_site_and_keeps_the_last_good_one(tmp_path: Path) -> None:
    html = make_html(tmp_path)
    publish.publish(tmp_path)
    (html / "_images" / "fig.png").unlink()
    with pytest.raises(book.BookError, match=r"PUBLISH FAILED(.|\n)*_images/fig.png does not exist"):
        publish.publish(tmp_path)
    site = tmp_path / publish.SITE
    assert (site / "_images" / "fig.png").is_file() and not (site.parent / f".{site.name}.tmp").exists()


def test_publish_without_a_built_book_says_run_make_book(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert publish.main(["--root", str(tmp_path)]) == 1
    assert "run `make book` first" in capsys.readouterr().err


# --- configuration, Makefile, CI -----------------------------------------------------------------------------

def test_config_yml_configures_publishing() -> None:
    import importlib

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"] == PLACE and config["repository"]["branch"] == "main"
    assert config["html"]["use_download_button"] is True
    launch = config["launch_buttons"]
    assert launch["binderhub_url"].startswith("https://") and launch["colab_url"].startswith("https://")
    assert "jupyterhub_url" in launch and launch["thebe"] is False
    extensions = config["sphinx"]["extra_extensions"]
    assert "alma_core.book.publish" in extensions and "sphinx-mathjax-offline" in extensions
    mathjax = Path(importlib.import_module("sphinx-mathjax-offline").__file__).parent / "static" / "mathjax"
    assert (mathjax / "tex-chtml.js").is_file() and (mathjax / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    assert (ROOT / config["html"]["favicon"]).is_file()


def _make_targets() -> dict[str, str]:
    """Makefile target -> its recipe."""
    text = (ROOT / "Makefile").read_text()
    return {m.group(1): m.group(3) for m in re.finditer(r"^([\w-]+):([^\n=]*)\n((?:\t[^\n]*\n)*)", text, re.M)}


def test_makefile_publishes_and_checks_the_copied_site() -> None:
    targets = _make_targets()
    assert "-m alma_core.publish" in targets["publish"]
    assert "-m alma_core.browser --site _build/site" in targets["check-publish"]
    assert re.search(r"^check-publish:.*\bpublish\b", (ROOT / "Makefile").read_text(), re.M)
    assert {"book", "test", "check-book", "rehearsal"} <= set(targets)
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("make check-book") < ci.index("make check-publish") < ci.index("make rehearsal")


def test_ci_workflow_builds_the_tiny_book_and_deploys_pages() -> None:
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    on = flow.get("on", flow.get(True))  # YAML 1.1 reads a bare `on` key as True
    assert "push" in on
    assert flow["permissions"]["pages"] == "write" and flow["permissions"]["id-token"] == "write"
    build, deploy = flow["jobs"]["build"], flow["jobs"]["deploy"]
    steps = build["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert uses[0].startswith("actions/checkout@") and uses[-1].startswith("actions/upload-pages-artifact@")
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert str(python["with"]["python-version"]) == "3.11"
    runs = [s["run"] for s in steps if "run" in s]
    assert runs == ["make book", "make publish"]
    targets = _make_targets()
    assert all(cmd.split()[1] in targets for cmd in runs)
    assert steps[-1]["with"]["path"] == publish.SITE.as_posix()
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages@") and "main" in deploy["if"]


# --- the browser check of the copied site --------------------------------------------------------------------

def test_request_problems_flags_failures_http_errors_script_errors_and_outside_requests() -> None:
    base = "http://127.0.0.1:8000/"

    def sent(rid: str, url: str) -> dict:
        return {"method": "Network.requestWillBeSent", "params": {"requestId": rid, "request": {"url": url}}}

    events = [
        sent("1", base + "index.html"), sent("2", "data:image/png;base64,AA"), sent("3", base + "gone.png"),
        {"method": "Network.responseReceived", "params": {"response": {"status": 404, "url": base + "gone.png"}}},
        sent("4", "https://cdn.jsdelivr.net/x.js"),
        {"method": "Network.loadingFailed", "params": {"requestId": "4", "errorText": "net::ERR_NAME_NOT_RESOLVED"}},
        sent("5", base + "slow.js"),
        {"method": "Network.loadingFailed", "params": {"requestId": "5", "canceled": True}},
        {"method": "Runtime.exceptionThrown", "params": {"exceptionDetails": {"exception": {"description": "E: x"}}}},
    ]
    made, problems = browser.request_problems(events, base)
    assert made == 5
    assert problems == [
        f"HTTP 404 for {base}gone.png",
        "request outside the site: https://cdn.jsdelivr.net/x.js",
        "request failed: https://cdn.jsdelivr.net/x.js (net::ERR_NAME_NOT_RESOLVED)",
        "script error: E: x",
    ]


def test_browser_cli_site_option_runs_the_site_check(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    called = []
    monkeypatch.setattr(browser, "check_site", lambda site: called.append(site))
    assert browser.main(["--site", str(tmp_path)]) == 0 and called == [tmp_path]
    monkeypatch.undo()
    assert browser.main(["--site", str(tmp_path)]) == 1  # no site there: says to run `make publish`


chromium = pytest.mark.skipif(not any(shutil.which(n) for n in browser.CHROMIUM_NAMES), reason="no Chromium here")


@chromium
def test_check_site_passes_a_working_copy_and_catches_each_break(tmp_path: Path) -> None:
    make_html(tmp_path)
    publish.publish(tmp_path)
    site = tmp_path / publish.SITE
    results = browser.check_site(site)
    for mode in ("file", "http"):
        assert results[mode]["pages"] == 2 and results[mode]["images"] == 1 and results[mode]["notebooks"] == 1
        assert results[mode]["problems"] == []
    assert results["file"]["base"].startswith("file://") and str(tmp_path) not in results["file"]["base"]
    chapter = site / "book" / "_executed" / "ch.html"
    chapter.write_text(chapter.read_text().replace("</head>", '<script src="https://cdn.example.org/x.js"></script>'
                                                   "</head>").replace(".ipynb\" download", '.ipynb" hidden'))
    (site / "_images" / "fig.png").write_bytes(b"not a png")
    (site / "_sources" / "book" / "_executed" / "ch.ipynb").write_text("{not json")
    with pytest.raises(book.BookError) as err:
        browser.check_site(site)
    message = str(err.value)
    for mode in ("file", "http"):
        assert f"{mode}: book/_executed/ch.html: request outside the site: https://cdn.example.org/x.js" in message
        assert f"{mode}: book/_executed/ch.html: image did not load" in message
    assert "is not a notebook" in message
    report = json.loads((tmp_path / "_build" / "check" / "site.json").read_text())
    assert report["http"]["base"].startswith("http://127.0.0.1:")
