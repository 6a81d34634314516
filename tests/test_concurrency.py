"""Two runs at once (issue 11 item 2): real concurrent processes on one job key, one book, one store entry.

The lock (alma_core.jobs.store.locked) is an flock on a `.lock` file that also records pid, host, start and command: the
second run waits with a message naming the first, then skips what the first finished; a lock whose holder was
SIGKILLed is free at once (the kernel drops the flock) and its record is reported as stale and cleared.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from test_kill_resume import ENV, ROOT, book_root

from alma_core.jobs import store

SLOW_JOB = '''
import argparse, os, time, yaml
from pathlib import Path
args = argparse.ArgumentParser()
args.add_argument("--config")
job = yaml.safe_load(Path(args.parse_args().config).read_text())
out = Path(job["output_dir"])
with open(out.parent / "starts.txt", "a") as f:
    f.write(f"{os.getpid()}\\n")
while not (out.parent / "release").exists():  # the test releases the job once the second run waits (a barrier)
    time.sleep(0.05)
(out / "scores.json").write_text("[]")
'''

ENSURE = '''
import sys
from pathlib import Path
from types import SimpleNamespace
from alma_core.jobs import core as jobs
from alma_core.params.schemas import LaunchParams
params = SimpleNamespace(force=False, launch=LaunchParams(), store_dir=sys.argv[1], profile="tiny")
out = Path(sys.argv[1]) / "eval" / "same-key"
jobs.ensure(params, {"output_dir": str(out)}, "key1", out, "slowjob", finished=lambda o: (o / "scores.json").is_file(),
            info={"system": "x"})
print("returned", flush=True)
'''


def _spawn(args: list[str], env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=ROOT, env=env or ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def _read_until(process: subprocess.Popen, text: str, timeout: float = 120) -> str:
    """What `process` printed up to and including the line holding `text` (fails after `timeout` seconds)."""
    import selectors

    seen, deadline = "", time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while text not in seen:
            assert time.monotonic() < deadline and process.poll() is None, f"no {text!r} in:\n{seen}"
            if selector.select(timeout=1):
                seen += process.stdout.readline()
    return seen


def _wait_for_file(path: Path, timeout: float = 120) -> None:
    """Block until `path` exists."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_two_jobs_with_the_same_key_run_it_once(tmp_path: Path) -> None:
    """Ordered by barriers, not by timing: the first run's job holds the lock until the second run says it waits."""
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "slowjob.py").write_text(SLOW_JOB, encoding="utf-8")
    env = {**ENV, "PYTHONPATH": str(tmp_path / "mods")}
    first = _spawn([sys.executable, "-c", ENSURE, str(tmp_path)], env)
    _wait_for_file(tmp_path / "eval" / "starts.txt")  # the first run's job is running, its lock held
    second = _spawn([sys.executable, "-c", ENSURE, str(tmp_path)], env)
    waited = _read_until(second, "waiting for it to finish")
    (tmp_path / "eval" / "release").touch()
    outputs = [first.communicate(timeout=120)[0], waited + second.communicate(timeout=120)[0]]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    assert len((tmp_path / "eval" / "starts.txt").read_text().split()) == 1  # the job ran once
    assert "waiting for it to finish" not in outputs[0]
    assert "finished by another run" in outputs[1] and "pid " in outputs[1]
    out = tmp_path / "eval" / "same-key"
    assert store.is_done(out, "key1") and json.loads((out / "scores.json").read_text()) == []
    assert store.lock_holder(out / store.LOCK) == {}  # released, record emptied


def test_two_book_runs_at_once_one_waits_then_skips(tmp_path: Path) -> None:
    root = book_root(tmp_path, chapters=("appC_training_details",))
    env = {**ENV, "ALMA_PARAMS_DIR": str(root / "params")}
    cmd = [sys.executable, "-m", "alma_core.book.site", "run", "--profile", "tiny", "--root", str(root)]
    first = _spawn(cmd, env)
    time.sleep(0.3)
    second = _spawn(cmd, env)
    outputs = [p.communicate(timeout=300)[0] for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    executed = [o.count("executed in") for o in outputs]
    assert sorted(executed) == [0, 1], outputs  # one run executed the chapter
    waiter = outputs[executed.index(0)]
    assert "is locked by pid" in waiter and "unchanged, skipped" in waiter
    page = json.loads((root / "book" / "_executed" / "appC_training_details.ipynb").read_text())
    assert page["metadata"]["alma_book"]["input_hash"]


HOLD = '''
import sys, time
from alma_core.jobs.store import locked
with locked(sys.argv[1], "test entry"):
    print("held", flush=True)
    time.sleep(60)
'''


def test_a_killed_holder_leaves_a_stale_lock_that_is_cleared(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    lock = tmp_path / "entry" / store.LOCK
    holder = _spawn([sys.executable, "-c", HOLD, str(lock)])
    assert holder.stdout.readline().strip() == "held"
    record = store.lock_holder(lock)
    assert record["pid"] == holder.pid and record["host"] and "since" in record
    with pytest.raises(store.StoreLockTimeout, match=f"pid {holder.pid}.*Fix: wait"):
        with store.locked(lock, "test entry", timeout=0.5):
            pass
    assert store.lock_holder(lock)["pid"] == holder.pid  # a waiter that gave up leaves the holder's record alone
    os.killpg(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    started = time.monotonic()
    with store.locked(lock, "test entry"):
        assert store.lock_holder(lock)["pid"] == os.getpid()
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert f"stale lock of pid {holder.pid}" in err and "that process is gone" in err


def test_a_second_training_run_into_one_output_dir_is_refused(tiny_backbone_dir: Path, tmp_path: Path) -> None:
    """Issue 22: two `python -m alma_core.train` runs into one output_dir used to both train to the end; the second
    is now refused at once, naming the first, and leaves the folder to it."""
    from test_kill_resume import _train_config

    from alma_core.runs.checkpoints import TRAIN_LOCK

    out = tmp_path / "run"
    holder = _spawn([sys.executable, "-c", HOLD, str(out / TRAIN_LOCK)])
    try:
        assert holder.stdout.readline().strip() == "held"
        config = _train_config(tmp_path, tiny_backbone_dir, 2, out)
        done = subprocess.run([sys.executable, "-m", "alma_core.train", "--config", str(config)], cwd=ROOT, env=ENV,
                              capture_output=True, text=True, timeout=300, check=False)
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"output_dir {out} is locked by pid {holder.pid}" in done.stderr and "Fix: wait for it" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == [TRAIN_LOCK]  # nothing written: no run.json, no checkpoint


def test_cached_json_computes_once_under_two_processes(tmp_path: Path) -> None:
    script = textwrap.dedent('''
        import os, sys, time
        from alma_core.jobs.store import cached_json
        def compute():
            with open(sys.argv[2], "a") as f:
                f.write(f"{os.getpid()}\\n")
            time.sleep(1.0)
            return {"answer": 42}
        print(cached_json(sys.argv[1], "k", compute))
    ''')
    entry, calls = tmp_path / "entry.json", tmp_path / "calls.txt"
    procs = [_spawn([sys.executable, "-c", script, str(entry), str(calls)]) for _ in range(2)]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert all("{'answer': 42}" in o for o in outputs), outputs
    assert len(calls.read_text().split()) == 1
