"""The job layer (alma_core.jobs.core) with a fake launcher, and the paper-scale defects of the evaluation path.

Skip when done, force, adopt a result finished by hand, failure reporting, SLURM submit/wait, the dry
run's resolved values; evaluation on the GPU in the profile's dtype (defect 2), the two-stage chapters'
backbone at paper scale (defect 5), zh-en prompt budget and truncation counts (defect 8).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from alma_core.jobs import core as jobs
from alma_core.jobs import store
from alma_core.jobs.graphs import chapter_graph
from alma_core.params.schemas import LaunchParams, load_params
from alma_core.runs import evaluate

ROOT = Path(__file__).resolve().parents[1]


def _params(tmp_path: Path, **launch: object) -> SimpleNamespace:
    return SimpleNamespace(force=False, launch=LaunchParams(**launch), store_dir=str(tmp_path), profile="tiny")


def _fake_start(calls: list[Path], fail: bool = False):
    def start(params, config_path, module, dry_run=False):  # noqa: ANN001, ANN202
        calls.append(config_path)
        if fail:
            raise jobs.JobError(f"job {config_path.parent.name} failed: exit 3")
        (config_path.parent / "scores.json").write_text("[]", encoding="utf-8")
        return "fake"
    return start


def test_ensure_skips_done_forces_and_adopts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(jobs, "start", _fake_start(calls))
    params, out = _params(tmp_path), tmp_path / "eval" / "x-key"
    finished = lambda o: (o / "scores.json").is_file()  # noqa: E731
    jobs.ensure(params, {"a": 1}, "key", out, jobs.EVAL_MODULE, finished=finished, info={"system": "x"})
    assert len(calls) == 1 and store.is_done(out, "key") and yaml.safe_load(calls[0].read_text()) == {"a": 1}
    jobs.ensure(params, {"a": 1}, "key", out, jobs.EVAL_MODULE, finished=finished, info={"system": "x"})
    assert len(calls) == 1  # done for the same key: skipped
    jobs.ensure(SimpleNamespace(**{**vars(params), "force": True}), {"a": 1}, "key", out, jobs.EVAL_MODULE,
                finished=finished, info={})
    assert len(calls) == 2  # forced
    adopted = tmp_path / "eval" / "by-hand"
    adopted.mkdir(parents=True)
    (adopted / "scores.json").write_text("[]", encoding="utf-8")  # e.g. an sbatch script submitted from the dry run
    jobs.ensure(params, {}, "k2", adopted, jobs.EVAL_MODULE, finished=finished, info={"system": "y"})
    assert len(calls) == 2 and store.read_json(adopted / store.DONE)["value"]["adopted"] is True


def test_ensure_reports_a_failed_job_and_marks_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "start", _fake_start([], fail=True))
    out = tmp_path / "train" / "run-key"
    with pytest.raises(jobs.JobError, match="exit 3"):
        jobs.ensure(_params(tmp_path), {}, "key", out, jobs.TRAIN_MODULE, finished=lambda o: False, info={})
    assert not store.is_done(out, "key")


def test_a_job_that_ends_without_its_result_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "start", lambda *a, **k: "fake")
    with pytest.raises(jobs.JobError, match="ended without its result"):
        jobs.ensure(_params(tmp_path), {}, "key", tmp_path / "j", jobs.EVAL_MODULE, finished=lambda o: False, info={})


def _fake_sbatch(tmp_path: Path, code: int) -> Path:
    """An `sbatch` on PATH that records its arguments, writes a log beside the script and exits with `code`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "sbatch"
    script.write_text(
        f'#!/bin/sh\necho "$@" > {tmp_path}/sbatch.args\nfor a; do last=$a; done\n'
        f'echo "job log line" > "$(dirname "$last")/slurm-7.log"\necho 7\nexit {code}\n',
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return bin_dir


@pytest.mark.parametrize("code", [0, 1])
def test_slurm_submit_with_wait(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    monkeypatch.setenv("PATH", f"{_fake_sbatch(tmp_path, code)}{os.pathsep}{os.environ['PATH']}")
    params = _params(tmp_path, launcher="slurm", submit=True, wait=True)
    config = tmp_path / "job" / "job_config.yaml"
    config.parent.mkdir()
    config.write_text("a: 1\n", encoding="utf-8")
    if code:
        with pytest.raises(jobs.JobError, match="failed with exit 1:\njob log line"):
            jobs.start(params, config, jobs.EVAL_MODULE)
    else:
        assert jobs.start(params, config, jobs.EVAL_MODULE).startswith("#!/bin/bash")
    assert (tmp_path / "sbatch.args").read_text().split()[:2] == ["--parsable", "--wait"]
    script = (config.with_suffix(".sbatch")).read_text()
    assert f"#SBATCH --output={config.parent}/slurm-%j.log" in script and "--nproc_per_node 1" in script


def test_slurm_without_submit_writes_the_script_and_says_how(tmp_path: Path) -> None:
    config = tmp_path / "job" / "train_config.yaml"
    config.parent.mkdir()
    with pytest.raises(jobs.JobError, match="submit it with `sbatch"):
        jobs.start(_params(tmp_path, launcher="slurm", gpus_per_node=8), config, jobs.TRAIN_MODULE)
    assert "--nproc_per_node 8" in config.with_suffix(".sbatch").read_text()


def test_two_stage_backbone_at_paper_scale_is_the_hub_id() -> None:
    """Defect 5: the backbone was None outside tiny, so App. E / Sec. 6.2 failed after all their training."""
    params = load_params(ROOT / "params/paper/appE_off_target.yaml")
    graph = chapter_graph("appE_off_target", params, dry_run=True)
    spec = next(s for s in graph.systems if s.prompt == params.prompts[-1])
    job, _key, _out = jobs.eval_config(params, spec, {})
    assert (
        job["model"] == "meta-llama/Llama-2-13b-hf"
        and job["local_files_only"] is False
        and job["prompt"]["shots"] == "HW"
        and job["prompt"]["num_beams"] == 1
    )


def test_paper_evaluation_batches_by_token_budget_and_tiny_by_count() -> None:
    """Issue 12: the paper profile's decoding batches carry a KV-cache token budget; the tiny jobs keep their keys."""
    paper = load_params(ROOT / "params/paper/sec5_main_results.yaml")
    job = jobs.eval_config(paper, paper.systems[0], {"ALMA-7B": Path("/x"), "ALMA-7B-LoRA": Path("/y")})[0]
    assert job["token_budget"] == 32768 and job["batch_size"] == 64
    tiny = load_params(ROOT / "params/tiny/sec2_zero_shot.yaml")
    assert "token_budget" not in jobs.eval_config(tiny, tiny.systems[0], {})[0]


def test_zh_en_gets_512_prompt_tokens_and_truncations_are_counted(tiny_backbone) -> None:
    """Defect 8: zh-en sources were cut at 256 prompt tokens without a word; the official eval reruns zh-en with 512."""
    from alma_core.runs.generate import count_truncated

    params = load_params(ROOT / "params/paper/sec5_main_results.yaml")
    assert params.evaluation.prompt_tokens_by_direction == {"zh-en": 512}
    _model, tokenizer = tiny_backbone
    long = "这是一个很长的句子。" * 60
    assert count_truncated(tokenizer, [long, "短句。"], "zh", "en", 256) == 1
    assert count_truncated(tokenizer, ["短句。"], "zh", "en", 256) == 0


def test_evaluation_job_decodes_on_the_gpu_in_bf16(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_backbone
) -> None:
    """Defect 2: evaluation loaded models without device/dtype (fp32 on the CPU) and ran COMET with gpus=0."""
    import torch

    from alma_core.recipe import metrics

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert evaluate.decoding_device("auto") == ("cuda", "bf16")
    assert evaluate.decoding_device("fp16") == ("cuda", "fp16")
    seen: dict[str, object] = {}
    model, tokenizer = tiny_backbone
    monkeypatch.setattr(evaluate, "load_job_model", lambda job, device, dtype: seen.update(device=device, dtype=dtype)
                        or (model, tokenizer))
    def comet(*args: object, gpus: int = 0, **kwargs: object) -> None:
        seen["gpus"] = gpus
        raise metrics.CometUnavailableError("offline")

    monkeypatch.setattr(metrics, "comet", comet)
    from alma_core.recipe.data import sample_data_dir

    job = {
        "system": "s",
        "model": "m",
        "directions": ["de-en"],
        "test_root": str(sample_data_dir()),
        "test_format": "json",
        "max_sentences": 2,
        "num_beams": 1,
        "batch_size": 2,
        "max_new_tokens": 3,
        "max_prompt_tokens": 64,
        "comet_model": "Unbabel/wmt22-comet-da",
        "comet_batch_size": 2,
        "output_dir": str(tmp_path / "out"),
    }
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(job), encoding="utf-8")
    out = evaluate.run_job(tmp_path / "job.yaml")
    assert seen == {"device": "cuda", "dtype": "bf16", "gpus": 1}
    run = store.read_json(out / "run.json")
    assert run["device"] == "cuda" and run["dtype"] == "bf16"
    assert {r["metric"] for r in store.read_json(out / "scores.json")} == {
        "bleu",
        "chrf",
        "comet",
        "off_target",
        "truncated",
    }


def test_two_stage_chapters_build_on_the_released_stage1(tmp_path: Path) -> None:
    """One stage-1 run per backbone: App. E/I start from haoranxu/ALMA-13B-Pretrain, Sec. 6.2/H from -7B-Pretrain,
    instead of each training its own 12-20B-token stage 1 (Sec. 6.1's notebook is the one that trains stage 1)."""
    for name, model in (("appE_off_target", "haoranxu/ALMA-13B-Pretrain"), ("appI_icl", "haoranxu/ALMA-13B-Pretrain"),
                        ("sec6_2_data_quality", "haoranxu/ALMA-7B-Pretrain"),
                        ("appH_human_written_data", "haoranxu/ALMA-7B-Pretrain")):
        params = load_params(ROOT / f"params/paper/{name}.yaml")
        graph = chapter_graph(name, params, dry_run=True)
        written = jobs.render_jobs(graph.params(params), tmp_path / name, systems=graph.systems)
        configs = {p.name: yaml.safe_load(p.read_text()) for p in written if p.name.endswith(".train.yaml")}
        assert configs and all(c["stage"] == 2 for c in configs.values())  # nothing trains stage 1
        on_stage1 = [c["base_model"] for n, c in configs.items() if n.startswith("stage-1")]
        assert on_stage1 and set(on_stage1) == {model}


def test_a_dead_job_names_its_log_and_the_command_that_resumes_it(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A real job process that dies: the error carries the log's tail, its path and the exact resume command."""
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "dyingjob.py").write_text("print('step 3/10 eta 0:01:00', flush=True)\nraise SystemExit(3)\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "mods"))
    out = tmp_path / "eval" / "dying-key"
    with pytest.raises(jobs.JobError) as err:
        jobs.ensure(_params(tmp_path), {"a": 1}, "key", out, "dyingjob", finished=lambda o: False, info={})
    message = str(err.value)
    assert "step 3/10 eta 0:01:00" in message and f"log: {out / 'job.log'}" in message
    assert f"-m dyingjob --config {out / 'job_config.yaml'}" in message and "finished work is kept" in message
    assert not store.is_done(out, "key") and (out / "job.log").is_file()


def test_report_to_defaults_tensorboard_at_paper_scale_and_stays_out_of_the_key(tmp_path: Path) -> None:
    runs = {"r": {"stage": 2, "language_pairs": ["de-en"], "base_model": "some/hub-id"}}
    paper = SimpleNamespace(train=runs, store_dir=str(tmp_path), profile="paper", seed=1, data_root=None)
    values, key, _ = jobs.train_config(paper, "r")
    assert values["report_to"] == ["tensorboard"]
    asked = SimpleNamespace(**{**vars(paper), "train": {"r": {**runs["r"], "report_to": ["wandb"]}}})
    assert jobs.train_config(asked, "r")[0]["report_to"] == ["wandb"] and jobs.train_config(asked, "r")[1] == key
    tiny = SimpleNamespace(**{**vars(paper), "profile": "tiny"})
    assert "report_to" not in jobs.train_config(tiny, "r")[0]  # tiny: run.json + trainer_state.json only


def test_tensorboard_events_and_trainer_state_feed_appendix_c_loss_curves(tiny_backbone_dir: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from alma_core.book import appendix_c
    from alma_core.runs.config import make_config
    from alma_core.runs.train import run_training

    out = tmp_path / "run"
    run_training(make_config(dict(stage=2, base_model=str(tiny_backbone_dir), output_dir=str(out),
                                  language_pairs=["de-en"], max_steps=4, global_batch_size=4, micro_batch_size=4,
                                  max_length=96, max_train_examples=16, max_eval_examples=4, logging_steps=1,
                                  eval_every=0.5, report_to=["tensorboard"])))
    events = list((out / "tensorboard").rglob("events.out.tfevents.*"))
    assert events, "report_to tensorboard writes event files under output_dir/tensorboard"
    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    tb_loss = [(e.step, round(e.value, 4)) for e in acc.Scalars("train/loss")]
    monkeypatch.setattr(appendix_c, "run_jsons", lambda params: {"r": out / "run.json"})
    curves = appendix_c.loss_curves(SimpleNamespace())
    train = curves[curves["curve"] == "train loss"]
    assert list(zip(train["step"], train["loss"].round(4))) == tb_loss and len(tb_loss) == 4
    assert sorted(curves[curves["curve"] == "validation loss"]["step"]) == [2, 4, 4]  # every 50%, + the final eval
    appendix_c.loss_figure(curves, "tiny")
