"""Appendix J: log-likelihood multiple-choice scoring, lm-eval-harness-style items, readers of the public formats."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from alma_core.book import tables
from alma_core.jobs import crosslingual as cl_jobs
from alma_core.recipe import crosslingual_items as cli
from alma_core.recipe.crosslingual_items import CrossLingualDataError
from alma_core.runs import crosslingual as cl


def _manual_loglikelihood(model: Any, tokenizer: Any, context: str, continuation: str) -> float:
    """Independent reference: one unpadded forward pass over BOS + context + continuation."""
    full = [tokenizer.bos_token_id] + tokenizer.encode(context + continuation, add_special_tokens=False)
    n_ctx = 1 + len(tokenizer.encode(context, add_special_tokens=False))
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([full])).logits[0]
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    return sum(float(logprobs[t - 1, full[t]]) for t in range(n_ctx, len(full)))


def test_option_loglikelihoods_equal_a_hand_computed_forward_pass(tiny_random_llama: Any, tiny_tokenizer: Any) -> None:
    context = "The cat sits on the mat."
    options = [" It is warm.", " Die Katze schläft.", " 猫坐在垫子上。"]
    got = cl.option_loglikelihoods(tiny_random_llama, tiny_tokenizer, context, options)
    want = [_manual_loglikelihood(tiny_random_llama, tiny_tokenizer, context, o) for o in options]
    assert got == pytest.approx(want, abs=1e-4)
    assert all(value < 0 for value in got)
    normalized = cl.option_loglikelihoods(tiny_random_llama, tiny_tokenizer, context, options, normalize=True)
    assert normalized == pytest.approx([w / len(o) for w, o in zip(want, options)], abs=1e-5)


def test_empty_context_scores_the_whole_string_after_bos(tiny_random_llama: Any, tiny_tokenizer: Any) -> None:
    text = "The cat sits on the mat, right? Yes, the cat is on the mat."
    got = cl.option_loglikelihoods(tiny_random_llama, tiny_tokenizer, "", [text])[0]
    assert got == pytest.approx(_manual_loglikelihood(tiny_random_llama, tiny_tokenizer, "", text), abs=1e-4)


def test_scores_do_not_depend_on_batch_size_or_padding(tiny_random_llama: Any, tiny_tokenizer: Any) -> None:
    pairs = [
        ("Good morning.", " Hello."),
        ("", "A much longer sentence about the weather in the mountains today."),
        ("Кошка сидит", " на коврике."),
        ("Translate this from German to English:\nGerman: Guten Morgen.\nEnglish:", " Good morning."),
        ("x", " y"),
        ("The dog", " barks at the postman every single morning."),
    ]
    one = cl.pair_loglikelihoods(tiny_random_llama, tiny_tokenizer, pairs, batch_size=1)
    many = cl.pair_loglikelihoods(tiny_random_llama, tiny_tokenizer, pairs, batch_size=4)
    all_at_once = cl.pair_loglikelihoods(tiny_random_llama, tiny_tokenizer, pairs, batch_size=64)
    assert many == pytest.approx(one, abs=1e-4)
    assert all_at_once == pytest.approx(one, abs=1e-4)
    assert len(set(round(v, 3) for v in one)) == len(one)  # really different sequences, so a mix-up would show


def test_encode_pair_moves_a_trailing_space_to_the_continuation(tiny_tokenizer: Any) -> None:
    ctx_a, cont_a = cl.encode_pair(tiny_tokenizer, "The cat ", "sits.")
    ctx_b, cont_b = cl.encode_pair(tiny_tokenizer, "The cat", " sits.")
    assert (ctx_a, cont_a) == (ctx_b, cont_b)
    assert ctx_a[0] == tiny_tokenizer.bos_token_id
    assert tiny_tokenizer.decode(cont_a) == " sits."
    with pytest.raises(ValueError, match="no tokens"):
        cl.encode_pair(tiny_tokenizer, "The cat", "")


class _MemorizingLM(torch.nn.Module):
    """A rigged causal LM 'trained' on some texts: p(next | exact prefix) from their counts, near zero elsewhere."""

    def __init__(self, tokenizer: Any, texts: list[tuple[str, str]]) -> None:
        super().__init__()
        self.vocab = len(tokenizer)
        self.seen: dict[tuple[int, ...], torch.Tensor] = {}
        for context, continuation in texts:
            ctx, cont = cl.encode_pair(tokenizer, context, continuation)
            seq = ctx + cont
            for t in range(1, len(seq)):
                self.seen.setdefault(tuple(seq[:t]), torch.full((self.vocab,), 0.001))[seq[t]] += 1.0
        self.dummy = torch.nn.Parameter(torch.zeros(1))  # so next(model.parameters()) finds a device
        self.config = SimpleNamespace(max_position_embeddings=512)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> Any:
        rows, width = input_ids.shape
        logits = torch.zeros(rows, width, self.vocab)
        for r in range(rows):
            ids = input_ids[r].tolist()
            for t in range(width):
                counts = self.seen.get(tuple(ids[: t + 1]))
                if counts is not None:
                    logits[r, t] = torch.log(counts / counts.sum())
        return SimpleNamespace(logits=logits)


def _sample(task: str) -> list[cli.MultipleChoiceItem]:
    return [item for lang in cli.TABLE12_LANGUAGES[task] for item in cli.load_sample_items(task, lang)]


@pytest.mark.parametrize("task", cli.TASKS)
def test_a_model_trained_on_the_right_options_scores_100_and_on_the_wrong_ones_0(
    task: str, tiny_tokenizer: Any
) -> None:
    items = _sample(task)
    right = [(it.contexts[it.label], it.continuations[it.label]) for it in items]
    result = cl.score_multiple_choice(_MemorizingLM(tiny_tokenizer, right), tiny_tokenizer, items, batch_size=8)
    assert result.accuracy == 1.0 and result.n == len(items)
    assert result.predictions == [it.label for it in items]
    if task != "XNLI":  # two options: a model that learned only the wrong ones always picks them
        wrong = [(it.contexts[1 - it.label], it.continuations[1 - it.label]) for it in items]
        assert cl.score_multiple_choice(_MemorizingLM(tiny_tokenizer, wrong), tiny_tokenizer, items).accuracy == 0.0


def test_evaluate_task_reports_percent_n_and_chance(tiny_random_llama: Any, tiny_tokenizer: Any) -> None:
    items = cli.load_sample_items("XWinograd", "en", limit=6)
    out = cl.evaluate_task(tiny_random_llama, tiny_tokenizer, "xwinograd", items)
    assert out["task"] == "XWinograd" and out["lang"] == "en" and out["n"] == 6
    assert out["chance"] == 50.0
    assert out["accuracy"] == pytest.approx(
        100 * sum(p == it.label for p, it in zip(out["predictions"], items)) / 6, abs=0.01
    )
    assert 0 <= out["acc_norm"] <= 100
    with pytest.raises(ValueError, match="no items"):
        cl.score_multiple_choice(tiny_random_llama, tiny_tokenizer, [])


def test_items_follow_the_harness_prompts() -> None:
    xnli = cli.xnli_item("The sun is up", "It is day", 0, "en")
    assert xnli.contexts == ("", "", "")
    assert xnli.continuations == ("The sun is up, right? Yes, It is day", "The sun is up, right? Also, It is day",
                                  "The sun is up, right? No, It is day")
    assert cli.xnli_item("A", "B", 2, "de").continuations[2] == "A, richtig? Nein, B"
    assert cli.xnli_item("甲", "乙", 1, "zh").continuations[1] == "甲, 正确? 所以, 乙"
    story = cli.xstorycloze_item(["One.", "Two.", "Three.", "Four."], ["Good end.", "Bad end."], 1, "en")
    assert story.contexts == ("One. Two. Three. Four.",) * 2 and story.continuations == (" Good end.", " Bad end.")
    wino = cli.xwinograd_item("The ball broke the window because _ was thin.", ["the ball", "the window"], 1, "en")
    assert wino.contexts == (
        "The ball broke the window because the ball",
        "The ball broke the window because the window",
    )
    assert wino.continuations == (" was thin.", " was thin.")
    with pytest.raises(CrossLingualDataError, match="exactly one '_'"):
        cli.xwinograd_item("no blank here", ["a", "b"], 0, "en")
    with pytest.raises(CrossLingualDataError, match="XNLI_WORDS"):
        cli.xnli_item("A", "B", 0, "is")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_readers_parse_the_public_formats(tmp_path: Path) -> None:
    xnli = _write(tmp_path / "de.jsonl", json.dumps({"premise": "P", "hypothesis": "H", "label": 2}) + "\n\n"
                  + json.dumps({"premise": "P2", "hypothesis": "H2", "label": "neutral"}) + "\n")
    items = cli.read_xnli(xnli)
    assert [it.label for it in items] == [2, 1] and items[0].lang == "de"
    assert items[0].continuations[0] == "P, richtig? Ja, H"
    tsv = _write(
        tmp_path / "xnli.test.tsv",
        "language\tgold_label\tsentence1\tsentence2\n"
        "en\tcontradiction\tA man sleeps.\tA man runs.\n"
        "ru\tentailment\tА.\tБ.\nen\tentailment\tIt rains.\tIt is wet.\n",
    )
    en = cli.read_xnli(tsv, lang="en")
    assert [it.label for it in en] == [2, 0] and en[1].continuations[0] == "It rains., right? Yes, It is wet."
    story = {f"input_sentence_{i}": f"S{i}." for i in range(1, 5)} | {
        "sentence_quiz1": "E1.",
        "sentence_quiz2": "E2.",
        "answer_right_ending": 2,
    }
    items = cli.read_xstorycloze(_write(tmp_path / "ru.jsonl", json.dumps(story) + "\n"))
    assert items[0].label == 1 and items[0].contexts[0] == "S1. S2. S3. S4." and items[0].lang == "ru"
    original = _write(tmp_path / "zh.csv", "InputStoryid,InputSentence1,InputSentence2,InputSentence3,InputSentence4,"
                      "RandomFifthSentenceQuiz1,RandomFifthSentenceQuiz2,AnswerRightEnding\n"
                      'id1,"One, a.",Two.,Three.,Four.,Yes.,No.,1\n')
    assert cli.read_xstorycloze(original)[0].contexts[0] == "One, a. Two. Three. Four."
    wino = _write(
        tmp_path / "en.json",
        json.dumps([{"sentence": "A hit B because _ was hard.", "option1": "A", "option2": "B", "answer": "1"}]),
    )
    items = cli.read_xwinograd(wino)
    assert items[0].label == 0 and items[0].contexts == ("A hit B because A", "A hit B because B")
    assert cli.read_task("xwinograd", wino) == items


@pytest.mark.parametrize(
    ("name", "text", "reader", "match"),
    [
        (
            "en.jsonl",
            '{"premise": "P", "hypothesis": "H", "label": 0}\n{"premise": "P"\n',
            cli.read_xnli,
            r"en\.jsonl:2: bad JSON line",
        ),
        ("en.jsonl", '{"premise": "P", "label": 0}\n', cli.read_xnli, r"en\.jsonl:1: missing field 'hypothesis'"),
        (
            "en.jsonl",
            '{"premise": "P", "hypothesis": "H", "label": 5}\n',
            cli.read_xnli,
            r"en\.jsonl:1: field 'label' = 5",
        ),
        (
            "en.jsonl",
            '{"premise": " ", "hypothesis": "H", "label": 0}\n',
            cli.read_xnli,
            r"en\.jsonl:1: field 'premise'.*non-empty",
        ),
        (
            "en.jsonl",
            '{"sentence": "no blank", "option1": "a", "option2": "b", "answer": "1"}\n',
            cli.read_xwinograd,
            r"en\.jsonl:1: .*exactly one '_'",
        ),
        (
            "en.jsonl",
            '{"sentence": "x _ y", "option1": "a", "option2": "b", "answer": "3"}\n',
            cli.read_xwinograd,
            r"en\.jsonl:1: field 'answer' = '3'",
        ),
        (
            "en.jsonl",
            '{"sentence": "x _ y", "option1": "a", "option2": "b", "answer": "1"}\n[1, 2]\n',
            cli.read_xwinograd,
            r"en\.jsonl:2: expected a JSON object",
        ),
        (
            "en.tsv",
            "sentence\toption1\toption2\tanswer\nx _ y\ta\tb\n",
            cli.read_xwinograd,
            r"en\.tsv:2: 3 cells but the header has 4",
        ),
        (
            "en.jsonl",
            '{"input_sentence_1": "a"}\n',
            cli.read_xstorycloze,
            r"en\.jsonl:1: missing field 'input_sentence_2'",
        ),
        ("en.jsonl", "\n\n", cli.read_xstorycloze, r"en\.jsonl: no items"),
        (
            "is.jsonl",
            '{"premise": "P", "hypothesis": "H", "label": 0}\n',
            cli.read_xnli,
            r"no XNLI prompt words for language 'is'",
        ),
    ],
)
def test_reader_errors_name_file_line_and_fix(tmp_path: Path, name: str, text: str, reader: Any, match: str) -> None:
    with pytest.raises(CrossLingualDataError, match=match) as err:
        reader(_write(tmp_path / name, text))
    assert "Fix" in str(err.value) or "fix" in str(err.value) or "add" in str(err.value)


def test_missing_file_and_unknown_task_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(CrossLingualDataError, match=r"nope\.jsonl: file not found"):
        cli.read_xnli(tmp_path / "nope.jsonl", lang="en")
    with pytest.raises(CrossLingualDataError, match="unknown task 'copa'"):
        cli.read_task("copa", tmp_path / "x.jsonl")


@pytest.mark.parametrize(("task", "lang"), [(t, lang) for t, langs in cli.TABLE12_LANGUAGES.items() for lang in langs])
def test_shipped_sample_items_cover_table12(task: str, lang: str) -> None:
    items = cli.load_sample_items(task, lang)
    assert len(items) >= 20
    assert {it.lang for it in items} == {lang}
    labels = {it.label for it in items}
    assert labels == ({0, 1, 2} if task == "XNLI" else {0, 1})  # every answer position occurs
    english = cli.load_sample_items(task, "en")
    assert len(items) == len(english)  # the sample languages translate the English items one to one


# ---------------------------------------------------------------------------------------------
# the evaluation job, the store keys, Table 12 layout and the notebooks' params


@pytest.fixture()
def saved_tiny_model(tmp_path: Path, tiny_random_llama: Any, tiny_tokenizer: Any) -> Path:
    """The random tiny Llama and its tokenizer saved as a local model folder."""
    folder = tmp_path / "model"
    tiny_random_llama.save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    return folder


def _params(tmp_path: Path, **evaluation: Any) -> Any:
    from alma_core.params.schemas import validate_params

    return validate_params("appJ_crosslingual", {
        "profile": "tiny", "store_dir": str(tmp_path / "store"),
        "systems": [{"name": "random tiny", "model": str(tmp_path / "model")}],
        "evaluation": {"tasks": {"XWinograd": ["en"], "XNLI": ["de"]}, "max_items": 3, **evaluation},
    })


def test_run_job_scores_every_task_and_writes_predictions(
    tmp_path: Path, saved_tiny_model: Path, tiny_random_llama: Any, tiny_tokenizer: Any
) -> None:
    import yaml

    params = _params(tmp_path)
    job, _key, out = cl_jobs.job_config(params, params.systems[0], {})
    assert job["model"] == str(saved_tiny_model) and job["max_items"] == 3
    config = tmp_path / "job.yaml"
    config.write_text(yaml.safe_dump(job), encoding="utf-8")
    assert cl.run_job(config) == out
    rows = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    assert {(r["task"], r["lang"], r["metric"]) for r in rows} == {
        (t, lang, m) for t, lang in (("XWinograd", "en"), ("XNLI", "de")) for m in cl.METRICS}
    accuracy = {r["task"]: r["value"] for r in rows if r["metric"] == "accuracy"}
    direct = cl.evaluate_task(tiny_random_llama, tiny_tokenizer, "XNLI", cli.load_sample_items("XNLI", "de", limit=3))
    assert accuracy["XNLI"] == direct["accuracy"]
    predictions = json.loads((out / "predictions.XWinograd.en.json").read_text(encoding="utf-8"))
    assert len(predictions) == 3 and all(p["prediction"] in (0, 1) for p in predictions)
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["items"] == {"XWinograd en": 3, "XNLI de": 3} and "torch" in run["versions"]


def test_ensure_evaluated_skips_finished_jobs_and_keys_follow_inputs(tmp_path: Path, saved_tiny_model: Path) -> None:
    params = _params(tmp_path)
    out = cl_jobs.job_config(params, params.systems[0], {})[2]
    first, _ = cl_jobs.ensure_evaluated(params, {})  # a job process started through alma_core.jobs.core -> launch
    assert (out / "job_config.yaml").is_file() and (out / "job.log").is_file()
    stamp = (out / "scores.json").stat().st_mtime_ns
    again, runs = cl_jobs.ensure_evaluated(params, {})
    assert (out / "scores.json").stat().st_mtime_ns == stamp  # the second call found it in the store
    assert first.equals(again) and runs["random tiny"].is_file()
    cl_jobs.ensure_evaluated(params.model_copy(update={"force": True}), {})
    assert (out / "scores.json").stat().st_mtime_ns != stamp
    key = cl_jobs.job_config(params, params.systems[0], {})[1]
    assert cl_jobs.job_config(_params(tmp_path, max_items=2), params.systems[0], {})[1] != key
    assert cl_jobs.job_config(_params(tmp_path), params.systems[0], {})[1] == key


def test_cli_runs_a_job_and_reports_bad_data(tmp_path: Path, saved_tiny_model: Path) -> None:
    import yaml

    params = _params(tmp_path)
    job = cl_jobs.job_config(params, params.systems[0], {})[0]
    bad_root = tmp_path / "data"
    (bad_root / "xwinograd").mkdir(parents=True)
    (bad_root / "xwinograd" / "en.jsonl").write_text(
        '{"sentence": "no blank", "option1": "a", "option2": "b", "answer": "1"}\n'
    )
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({**job, "data_root": str(bad_root), "source": "files"}), encoding="utf-8")
    assert cl.main(["--config", str(config)]) == 1


def test_paper_jobs_render_as_one_gpu_sbatch_scripts_of_the_crosslingual_module(tmp_path: Path) -> None:
    from alma_core.jobs.store import repo_root
    from alma_core.params.schemas import load_params

    params = load_params(repo_root() / "params" / "paper" / "appJ_crosslingual.yaml")
    written = cl_jobs.render_jobs(params, tmp_path)
    scripts = [p for p in written if p.suffix == ".sbatch"]
    assert len(scripts) == len(params.systems) == 4
    text = scripts[0].read_text(encoding="utf-8")
    assert "-m alma_core.runs.crosslingual --config" in text and "alma_core.runs.train" not in text
    assert "#SBATCH --gpus-per-node=1" in text and "#SBATCH --nodes=1" in text
    configs = [p for p in written if p.suffix == ".yaml"]
    import yaml

    job = yaml.safe_load(configs[1].read_text(encoding="utf-8"))
    assert job["model"] == "haoranxu/ALMA-7B-Pretrain" and job["source"] == "hub" and job["dtype"] == "bf16"


def test_an_appj_job_resolves_its_model_as_every_job_does(tmp_path: Path) -> None:
    """App. J's jobs use the job layer's model resolution (jobs.core.model_of): `trust_remote_code` is passed on, as
    the translation jobs pass it (the App. J copy once dropped it)."""
    from alma_core.jobs import core
    from alma_core.jobs.store import repo_root
    from alma_core.params.schemas import load_params

    params = load_params(repo_root() / "params" / "paper" / "appJ_crosslingual.yaml")
    system = params.systems[0].model_copy(update={"trust_remote_code": True})
    job, _key, _out = cl_jobs.job_config(params, system, {})
    model, _identity = core.model_of(params, system, {})
    assert job["trust_remote_code"] is True and {k: job[k] for k in model} == model
    plain, key, _ = cl_jobs.job_config(params, params.systems[0], {})
    assert "trust_remote_code" not in plain and key != _key


def test_table12_layout_and_stage1_deltas_on_the_reported_numbers() -> None:
    from alma_core.book import tables
    from alma_core.reported.paper import reported

    wide = tables.table12(reported(12))
    assert list(wide.columns[:5]) == [("XNLI", "de"), ("XNLI", "en"), ("XNLI", "ru"), ("XNLI", "zh"), ("XNLI", "Avg.")]
    assert wide.loc["LLaMA-2-7B, 20B mono.", ("XStoryCloze", "ru")] == pytest.approx(67.57)
    assert wide.loc["LLaMA-2-7B", ("XNLI", "Avg.")] == pytest.approx(44.64, abs=0.01)  # recomputed = printed Avg.
    delta = tables.deltas(wide, [("LLaMA-2-7B", "LLaMA-2-7B, 20B mono."), ("missing", "LLaMA-2-7B")], source="paper")
    assert len(delta) == 1 and delta.iloc[0][("XNLI", "de")] == pytest.approx(50.48 - 45.90)
    assert delta.iloc[0][("", "source")] == "paper"


@pytest.mark.parametrize("notebook", ["appJ_crosslingual", "add_language_pair"])
@pytest.mark.parametrize("profile", ["tiny", "paper"])
def test_params_files_validate_and_the_schema_rejects_mistakes(notebook: str, profile: str, tmp_path: Path) -> None:
    import yaml

    from alma_core.jobs.store import repo_root
    from alma_core.params.schemas import ParamsError, load_params

    path = repo_root() / "params" / profile / f"{notebook}.yaml"
    assert load_params(path).profile == profile
    values = yaml.safe_load(path.read_text(encoding="utf-8"))
    (tmp_path / profile).mkdir()
    bad = tmp_path / profile / f"{notebook}.yaml"
    bad.write_text(yaml.safe_dump({**values, "evalution": {}}), encoding="utf-8")
    with pytest.raises(ParamsError, match="unknown key 'evalution'"):
        load_params(bad)
    bad.write_text(yaml.safe_dump({**values, "systems": "tiny"}), encoding="utf-8")
    with pytest.raises(ParamsError, match="systems"):
        load_params(bad)


def test_crosslingual_schema_checks_tasks_and_train_runs(tmp_path: Path) -> None:
    from alma_core.params.schemas import ParamsError

    with pytest.raises(ParamsError, match="evaluation.tasks"):
        _params(tmp_path, tasks={"COPA": ["en"]})
    from alma_core.params.schemas import validate_params

    with pytest.raises(ParamsError, match="train"):
        validate_params("appJ_crosslingual", {"profile": "tiny", "store_dir": "s", "systems": [{"name": "a"}],
                                              "evaluation": {"tasks": {"XNLI": ["en"]}}, "train": {"s1": {"stage": 7}}})


def test_an_edited_item_file_changes_the_job_key(tmp_path: Path) -> None:
    root = tmp_path / "items"
    (root / "xwinograd").mkdir(parents=True)
    item = root / "xwinograd" / "en.jsonl"
    item.write_text('{"sentence": "A hit B because _ was hard.", "option1": "A", "option2": "B", "answer": "1"}\n')
    params = _params(tmp_path, tasks={"XWinograd": ["en"]}, source="files", data_root=str(root))
    before = cl_jobs.job_config(params, params.systems[0], {})[1]
    item.write_text('{"sentence": "A hit B because _ was soft.", "option1": "A", "option2": "B", "answer": "2"}\n')
    assert cl_jobs.job_config(params, params.systems[0], {})[1] != before


def test_scored_examples_show_what_the_model_scores() -> None:
    """The App. J chapter's table of one item per task: context, scored continuation, the right option marked."""
    items = {task: cli.load_sample_items(task, "en", limit=1)[0] for task in cli.TASKS}
    table = tables.scored_examples(items)
    assert len(table) == sum(len(item.contexts) for item in items.values())
    xnli = table.loc["XNLI (en)"]
    assert list(xnli["context (not scored)"]) == ["(BOS only)"] * 3
    assert (xnli["right"] == "yes").sum() == 1 and xnli.loc[items["XNLI"].label, "right"] == "yes"
