"""The rehearsal's CLI: --no-build executes every chapter but builds and checks no HTML (the GPU run's mode)."""

import pytest

from alma_core.book import browser
from alma_core.book import site as book
from alma_core.rehearsal import run


@pytest.fixture
def calls(monkeypatch):
    """Every step the rehearsal takes, recorded instead of run."""
    seen = []
    monkeypatch.setattr(run, "prepare", lambda repo, root, gpu=False: seen.append(("prepare", gpu)) or {})
    monkeypatch.setattr(book, "stage_sources", lambda repo, dest: dest)
    monkeypatch.setattr(book, "run", lambda profile, **kw: seen.append(("run", profile)) or {})
    monkeypatch.setattr(book, "build", lambda *a, **k: seen.append(("build",)) or "html")
    monkeypatch.setattr(browser, "check", lambda *a, **k: seen.append(("check",)))
    return seen


def test_no_build_executes_every_chapter_and_builds_nothing(calls, capsys):
    assert run.main(["--gpu", "--no-check", "--no-build"]) == 0
    assert calls == [("prepare", True), ("run", "paper"), ("run", "released")]
    assert "[rehearsal] executed chapters in" in capsys.readouterr().out


def test_default_still_builds_and_checks(calls):
    assert run.main([]) == 0
    assert calls == [("prepare", False), ("run", "paper"), ("run", "released"), ("build",), ("check",)]
