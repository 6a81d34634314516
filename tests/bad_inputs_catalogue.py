"""The catalogue of bad inputs (issue 11, item 3): ONE table, read by tests/test_bad_inputs.py and rendered as
book/bad_inputs.md.

Each row says what the user has, what they run, what they see, and what was wrong before the catalogue found it
(`found`; empty = it was already right). `tests/test_bad_inputs.py` builds every input in a tmp dir, runs the
command (CLI entry points as subprocesses, the rest in process) and checks the message holds every `expect`
fragment, names a fix, comes without a traceback (CLI: a non-zero exit) and leaves finished results intact.

Regenerate the page after editing the table: `.venv/bin/python tests/bad_inputs_catalogue.py`
(`tests/test_bad_inputs.py::test_page_matches_the_table` fails until the page is regenerated).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "book" / "bad_inputs.md"


@dataclass(frozen=True)
class Case:
    """One bad input: what the user has, runs and sees."""

    id: str
    area: str
    input: str
    run: str
    expect: tuple[str, ...]
    outcome: str = "error"  # error | accepted (read transparently, same result) | partial (result written, one note)
    found: str = ""


TRAIN = "python -m alma_core.train --config run.yaml"
EVAL = "python -m alma_core.evaluate --hyps hyps --testsets tests --directions de-en --system S --out res.json"
PARAMS = "python -m alma_core.params params/tiny/NOTEBOOK.yaml"

CASES: tuple[Case, ...] = (
    # ---- parallel data (human_written_data/ layout) ------------------------------------------------------------
    Case("parallel-truncated-last-line", "parallel data",
         "a train file (JSON lines) whose last record was cut off by an interrupted copy", TRAIN,
         ("train.de-en.json:3", "bad JSON line", "language_pairs: de-en"),
         found="the data was read only after the backbone had loaded (minutes at 7B); here the backbone load failed "
               "first, with a traceback"),
    Case("parallel-bad-middle-line", "parallel data", "a train file with a broken JSON line in the middle",
         "read_parallel(path, 'de', 'en')", ("train.de-en.json:2", "bad JSON line", "column")),
    Case("parallel-truncated-array", "parallel data", "a valid/test file (JSON array) cut off before its closing ]",
         "read_parallel(path, 'de', 'en')", ("valid.de-en.json", "bad JSON array")),
    Case("parallel-wrong-language-keys", "parallel data",
         "a de-en file whose records hold cs and en (another pair's file copied under this name)",
         "read_parallel(path, 'de', 'en')", ("train.de-en.json:1", "missing language key 'de'", "found: cs, en")),
    Case("parallel-blank-lines", "parallel data", "blank and whitespace-only lines between JSON lines",
         "read_parallel(path, 'de', 'en')", ("2 pairs, the blank lines skipped",), outcome="accepted"),
    Case("parallel-empty-segment", "parallel data", "a record whose English side is an empty string",
         "read_parallel(path, 'de', 'en')", ("train.de-en.json:2", "empty 'en' segment")),
    Case("parallel-not-a-string", "parallel data", "a record whose German side is a number",
         "read_parallel(path, 'de', 'en')", ("train.de-en.json:1", "'de' must be a string, got int")),
    Case("parallel-no-translation-object", "parallel data", "records without the 'translation' wrapper",
         "read_parallel(path, 'de', 'en')", ("train.de-en.json:1", "wrap the pair in a 'translation' object")),
    Case("parallel-empty-file", "parallel data", "an empty (0-byte) train file", "read_parallel(path, 'de', 'en')",
         ("train.de-en.json", "no parallel pairs found")),
    Case("parallel-latin1", "parallel data", "a train file saved as Latin-1 (not UTF-8)",
         "read_parallel(path, 'de', 'en')", ("train.de-en.json", "not valid UTF-8 at byte", "re-encode")),
    Case("parallel-utf16", "parallel data", "a train file saved as UTF-16 (Windows 'Unicode')",
         "read_parallel(path, 'de', 'en')", ("train.de-en.json", "UTF-16", "re-encode"),
         found="'not valid UTF-8 at byte 0' without saying the file is UTF-16"),
    Case("parallel-bom-crlf", "parallel data", "a train file with a UTF-8 BOM and Windows (CRLF) line ends",
         "read_parallel(path, 'de', 'en')", ("same pairs as the LF file without BOM",), outcome="accepted"),
    Case("parallel-same-language", "parallel data", "source and target given as the same language",
         "read_parallel(path, 'de', 'de')", ("both 'de'", "two different codes")),
    Case("train-unknown-language", "parallel data", "a training config with language_pairs [de-xx]", TRAIN,
         ("language_pairs: de-xx", "unknown language code 'xx'", "known codes")),
    Case("train-not-english-centric", "parallel data", "a training config with language_pairs [de-cs]", TRAIN,
         ("language_pairs: de-cs", "not English-centric")),
    Case("monolingual-empty-file", "monolingual data", "an empty monolingual/de.txt", "read_monolingual(path)",
         ("de.txt", "no documents found")),
    Case("monolingual-jsonl-no-text", "monolingual data", "OSCAR-style JSON lines without a 'text' field",
         "read_monolingual(path)", ("de.jsonl:1", "missing key 'text'")),
    Case("shots-not-array", "few-shot data", "a 5-shot file written as JSON lines instead of an array",
         "read_shots(path)", ("shots.de-en.json:1", "expected a JSON array")),
    # ---- test sets and hypotheses -------------------------------------------------------------------------------
    Case("testset-misaligned", "test sets", "wmt22.de-en.src has 3 lines, wmt22.de-en.ref 2", EVAL,
         ("wmt22.de-en.src has 3 lines", "wmt22.de-en.ref has 2 lines", "line-aligned")),
    Case("testset-empty-line", "test sets", "an empty line 2 in the reference file", EVAL,
         ("wmt22.de-en.ref:2: empty segment",)),
    Case("testset-missing", "test sets", "no reference file in the test-set folder", EVAL,
         ("test-set file not found", "sacrebleu -t wmt22 -l de-en --echo ref")),
    Case("testset-empty-file", "test sets", "an empty (0-byte) source file", "read_test_set(root, 'de', 'en')",
         ("wmt22.de-en.src", "no segments found"),
         found="reported as misaligned ('has 0 lines but ... has 3 lines')"),
    Case("testset-bom-crlf", "test sets", "test-set files with a UTF-8 BOM and CRLF line ends", EVAL,
         ("scores identical to the LF files without BOM",), outcome="accepted"),
    Case("testset-latin1", "test sets", "a reference file in Latin-1", "read_test_set(root, 'de', 'en')",
         ("wmt22.de-en.ref", "not valid UTF-8")),
    Case("testset-wrong-direction", "test sets",
         "a JSON test set test.de-en.json that holds the cs-en test set", "read_test_set(root, 'de', 'en', fmt='json')",
         ("test.de-en.json", "missing language key 'de'", "found: cs, en")),
    Case("eval-unknown-language", "test sets", "--directions de-xx", EVAL.replace("de-en", "de-xx"),
         ("unknown language code 'xx'", "known codes")),
    Case("hyps-short", "hypotheses", "a hypothesis file with 2 lines for a 3-segment test set", EVAL,
         ("de-en.txt has 2 lines but the test set has 3 segments", "another direction"),
         found="named no fix"),
    Case("hyps-wrong-direction", "hypotheses", "hyps/de-en.jsonl written by translate() for en-de", EVAL,
         ("de-en.jsonl:1", "belongs to another test set or direction")),
    Case("hyps-wrong-language", "hypotheses",
         "a de-en hypothesis file holding German (another direction's output, same line count)", EVAL,
         ("note: 100% of the de-en hypotheses are not in English", "not another direction's"), outcome="partial",
         found="silently scored (BLEU near 0) with nothing pointing at the file"),
    Case("hyps-missing", "hypotheses", "no hypothesis file for the direction", EVAL,
         ("no hypotheses for de-en", "alma_core.runs.generate.translate")),
    Case("hyps-jsonl-latin1", "hypotheses", "a translate() output file with Latin-1 bytes", EVAL,
         ("de-en.jsonl", "not valid UTF-8"),
         found="a bare UnicodeDecodeError ('utf-8' codec can't decode ...) naming neither the file nor the fix"),
    Case("hyps-jsonl-interrupted", "hypotheses", "a translate() output file cut off by a killed decoding run", EVAL,
         ("1 of 3 sentences untranslated", "rerun translate() with the same output_path")),
    Case("hyps-crlf", "hypotheses", "a plain hypothesis file with CRLF line ends", EVAL,
         ("scores identical to the LF file",), outcome="accepted"),
    Case("hyps-bom", "hypotheses", "a plain hypothesis file saved with a UTF-8 BOM (e.g. by Notepad)", EVAL,
         ("scores identical to the file without BOM",), outcome="accepted",
         found="silently wrong: the BOM stayed glued to the first hypothesis ('\\ufeffGood morning.')"),
    Case("hyps-jsonl-bom", "hypotheses", "a translate() output file re-saved with a UTF-8 BOM", EVAL,
         ("scores identical to the file without BOM",), outcome="accepted",
         found="refused: 'de-en.jsonl:1: not an output record ... delete the file to start over' (a finished file)"),
    Case("hyps-stale-beside-new", "hypotheses", "an old hyps/de-en.jsonl left beside the new hyps/de-en.txt", EVAL,
         ("2 hypothesis files for de-en, de-en.jsonl and de-en.txt", "delete or move the stale one"),
         found="silently scored the old de-en.jsonl (BLEU 0 instead of 100), naming no file"),
    Case("hyps-scored-file-named", "hypotheses", "one hypothesis file per direction (the usual case)", EVAL,
         ("hypotheses de-en: ", "de-en.txt", "results record 'hypotheses'"), outcome="accepted",
         found="the file scored was named neither in the output nor in the results JSON"),
    Case("hyps-zero-width-line", "hypotheses", "a hypothesis line holding only U+FEFF (a BOM inside the file)", EVAL,
         ("de-en.txt:2: empty hypothesis (only invisible characters: U+FEFF)",),
         found="silently scored as a hypothesis"),
    Case("hyps-nul", "hypotheses", "a hypothesis line with a NUL byte in it", EVAL,
         ("de-en.txt:1: NUL character at column 5", "tr -d"), found="silently scored"),
    Case("hyps-jsonl-duplicate-key", "hypotheses", "a translate() output line naming 'hypothesis' twice (hand-edited)",
         EVAL, ("de-en.jsonl:2", "duplicate key 'hypothesis'"), found="silently scored the last of the two values"),
    Case("testset-swapped-sides", "test sets", "wmt22.de-en.src holds the English side and .ref the German one", EVAL,
         ("wmt22.de-en.src: the source (de) side reads as English", "the sides are swapped", "swap the two files"),
         found="silently scored against the source side (BLEU near 0)"),
    Case("testset-zero-width-line", "test sets", "a reference line holding only a zero-width space (U+200B)", EVAL,
         ("wmt22.de-en.ref:2: empty segment (only invisible characters: U+200B)",),
         found="silently scored against an invisible reference"),
    Case("testset-folder-not-file", "test sets", "a folder named wmt22.de-en.ref in the test-set folder", EVAL,
         ("wmt22.de-en.ref: is a folder, not a test-set file", "not its folder"),
         found="'test-set file not found' for a path that exists"),
    Case("eval-duplicate-direction", "test sets", "--directions de-en,de-en", EVAL.replace("de-en", "de-en,de-en"),
         ("--directions de-en,de-en lists de-en twice",), found="scored twice and counted twice in the averages"),
    Case("parallel-swapped-sides", "parallel data", "a de-en train file whose 'de' and 'en' keys are swapped",
         "read_parallel(path, 'de', 'en')",
         ("train.de-en.json: the 'de' side reads as English", "swap the 'de' and 'en' keys"),
         found="silently read: a de->en run trained on en->de pairs"),
    Case("parallel-copied-side", "parallel data", "a de-en train file whose English side is a copy of the German",
         "read_parallel(path, 'de', 'en')", ("train.de-en.json: the 'en' side reads as German", "a copy of the"),
         found="silently read: a run trained to copy its input"),
    Case("parallel-zero-width-segment", "parallel data", "a record whose English side is only U+200C U+200D",
         "read_parallel(path, 'de', 'en')",
         ("train.de-en.json:2", "empty 'en' segment (only invisible characters: U+200C, U+200D)"),
         found="silently read as a training target"),
    Case("parallel-duplicate-key", "parallel data", 'a record {"translation": {"de": "a", "de": "b", "en": "c"}}',
         "read_parallel(path, 'de', 'en')", ("train.de-en.json:1", "duplicate key 'de'", "keep one 'de' entry"),
         found="silently read the last 'de' value"),
    Case("parallel-folder-not-file", "parallel data", "a folder passed where the train file is expected",
         "read_parallel(folder, 'de', 'en')", ("deen: is a folder, not a parallel data file", "not its folder"),
         found="'parallel data file not found' for a path that exists"),
    Case("eval-job-missing-directions", "job configs", "a hand-edited evaluation job config without `directions`",
         "python -m alma_core.evaluate job --config JOB.yaml",
         ("job.yaml: missing key 'directions'", "directions: [de-en, en-de]"), found="a KeyError traceback"),
    Case("eval-job-wrong-type", "job configs", "num_beams: five in an evaluation job config",
         "python -m alma_core.evaluate job --config JOB.yaml",
         ("job.yaml: key 'num_beams' = 'five' is not a positive whole number",),
         found="the model was loaded, then a TypeError traceback ('<' not supported between 'str' and 'int')"),
    Case("eval-job-duplicate-direction", "job configs", "an evaluation job config listing de-en twice",
         "python -m alma_core.evaluate job --config JOB.yaml", ("job.yaml: key 'directions' lists de-en twice",),
         found="translated and scored twice"),
    # ---- params files -------------------------------------------------------------------------------------------
    Case("params-wrong-type", "params", "evaluation.num_beams: five", PARAMS,
         ("evaluation.num_beams", "'five'", "valid integer")),
    Case("params-typo-key", "params", "evaluation.num_beam: 5 (a typo of num_beams)", PARAMS,
         ("unknown key 'evaluation.num_beam'", "did you mean 'num_beams'"),
         found="no suggestion of the key meant; no command-line validator (python -m alma_core.params did not exist)"),
    Case("params-missing-key", "params", "a Section 5 params file without its evaluation block", PARAMS,
         ("missing key 'evaluation'",)),
    Case("params-bad-yaml", "params", "a tab-indented / unbalanced YAML file", PARAMS,
         ("sec5_main_results.yaml:", "invalid YAML")),
    Case("params-temperature-out-of-range", "params", "temperature: 0 (App. D.1's T must be > 0)", PARAMS,
         ("temperature", "0", "greater than 0")),
    Case("params-lr-out-of-range", "params", "a train run with learning_rate: -0.001", PARAMS,
         ("train.full", "learning_rate", "-0.001", "greater than 0"),
         found="the message repeated the whole `train` mapping as the wrong value"),
    Case("params-monolingual-ratio", "params", "a stage-1 run with monolingual_ratios {en: 1.5, de: -0.5}", PARAMS,
         ("monolingual_ratios.de", "-0.5", "greater than or equal to 0"),
         found="accepted by validation (any float); the run failed only inside the job, after the model had loaded"),
    Case("params-batch-not-divisible", "params",
         "global_batch_size 250 with micro_batch_size 4 on 2 GPUs (launch.gpus_per_node)", PARAMS,
         ("train.full", "global_batch_size=250", "4 x 2 = 8"),
         found="accepted by the params check; the job failed only once launched"),
    Case("params-unknown-direction", "params", "evaluation.directions: [de-en, xx-en]", PARAMS,
         ("evaluation.directions", "unknown language code 'xx'"),
         found="accepted (only the shape 'a-b' was checked); failed later inside the evaluation job"),
    Case("params-profile-mismatch", "params", "profile: paper in a file under params/tiny/", PARAMS,
         ("profile 'paper'", "params/tiny/")),
    Case("params-path-traversal", "params", "a system named ../../outside", PARAMS,
         ("systems.0.name", "'../../outside'", "store folder"),
         found="accepted at validation: job folders slug system names, but App. J language codes reached file paths "
               "unchecked"),
    Case("params-missing-file", "params", "a params file that does not exist", PARAMS,
         ("params file not found",)),
    Case("params-alias-bomb", "params", "a 'billion laughs' YAML alias bomb (9 anchors of 9 aliases) as the seed",
         PARAMS, ("sec5_main_results.yaml:", "expand to more than 100000 values"),
         found="hung for minutes building a message of the whole expansion (5 MB at six levels)"),
    Case("params-duplicate-key", "params", "seed given twice (the second one near the end of the file)", PARAMS,
         ("duplicate key 'seed'", "first at line 6", "keep one of them"),
         found="accepted: YAML kept the last value silently"),
    Case("params-bool-as-number", "params", "evaluation.num_beams: true", PARAMS,
         ("evaluation.num_beams", "true is a boolean where a number is expected"),
         found="accepted as num_beams 1 (pydantic's lax mode reads true as 1)"),
    Case("params-unknown-train-language", "params", "a train run with language_pairs [de-en, xx-en]", PARAMS,
         ("train.full", "language_pairs: xx-en", "unknown language code 'xx'", "declared_languages:"),
         found="accepted (only evaluation.directions was checked); the training job failed once launched"),
    Case("params-unknown-language-list", "params", "App. D languages: [en, de, xx]", PARAMS,
         ("languages.2 'xx'", "unknown language code 'xx'", "known codes"),
         found="accepted; the chapter failed inside the notebook"),
    Case("params-system-unknown-run", "params", "a system whose train: names a run the file does not define "
         "(alma_ful)", PARAMS, ("systems.1.train 'alma_ful'", "its runs: alma_full, alma_lora"),
         found="accepted; the job layer refused it only after training every other run"),
    Case("params-duplicate-system", "params", "two systems with the same name", PARAMS,
         ("two systems are named", "own name"),
         found="accepted; tables and records, keyed by system name, could not tell the two apart"),
    Case("params-empty-store-dir", "params", "store_dir: '' (empty)", PARAMS, ("store_dir", "empty path"),
         found="accepted: the store was the repository root"),
    Case("params-seed-out-of-range", "params", "seed: 4294967296 (2**32)", PARAMS,
         ("seed", "outside numpy's range 0..4294967295"), found="accepted; numpy refused it inside the job"),
    Case("params-empty-file", "params", "an empty params file (only a comment)", PARAMS,
         ("the params file is empty", "`key: value` lines")),
    Case("params-store-dir-is-a-file", "params", "store_dir naming an existing file", PARAMS,
         ("store_dir", "is a file, not a folder"),
         found="accepted; the first job failed only when it wrote into the store"),
    Case("train-set-bad-yaml", "training config", "--set 'lora_target_modules=[a, b' (unbalanced YAML)",
         TRAIN + " --plan --set ...", ("--set lora_target_modules", "invalid YAML", "quote"),
         found="a yaml.parser.ParserError traceback"),
    Case("train-bool-as-number", "training config", "max_steps: true", TRAIN + " --plan",
         ("max_steps", "true is a boolean where a number is expected"), found="accepted as max_steps 1"),
    # ---- training configs --------------------------------------------------------------------------------------
    Case("train-typo-key", "training config", "learnin_rate: 2e-5 (a typo)", TRAIN + " --plan",
         ("unknown key 'learnin_rate'", "did you mean 'learning_rate'"),
         found="listed every known key but did not point at the one meant"),
    Case("train-missing-config", "training config", "--config pointing at a file that does not exist", TRAIN,
         ("training config not found",)),
    Case("train-missing-stage", "training config", "a config without the required key stage", TRAIN + " --plan",
         ("missing key 'stage'",)),
    Case("train-batch-not-divisible", "training config",
         "global_batch_size 10 with micro_batch_size 4 (one process)", TRAIN + " --plan",
         ("global_batch_size=10", "micro_batch_size x world_size")),
    Case("train-lr-typo", "training config", "learning_rate: 2e3 (a typo of 2e-3)", TRAIN + " --plan",
         ("learning_rate", "2000.0", "less than 1"),
         found="accepted: the run would have trained at a learning rate of 2000 (losses go NaN)"),
    Case("train-lr-zero", "training config", "learning_rate: 0", TRAIN + " --plan",
         ("learning_rate", "greater than 0")),
    # ---- models ---------------------------------------------------------------------------------------------------
    Case("model-missing-folder", "models", "base_model: ./no-such-model", TRAIN,
         ("base_model", "no-such-model does not exist")),
    Case("model-missing-offline", "models", "a hub id that is not in the Hugging Face cache, offline", TRAIN,
         ("'nobody/no-such-model' is not in the Hugging Face cache", "huggingface-cli download"),
         found="a traceback: the train CLI caught config errors only, not ModelLoadError"),
    Case("model-no-tokenizer", "models", "a model folder with weights and config.json but no tokenizer files",
         "load_backbone(folder)", ("holds no tokenizer", "save_pretrained"),
         found="'Either model_file or model_proto must be specified.' from sentencepiece"),
    Case("model-truncated-weights", "models", "a model folder whose model.safetensors was cut off (interrupted copy)",
         "load_backbone(folder)", ("model.safetensors", "incomplete"),
         found="a SafetensorError traceback ('incomplete metadata, file not fully covered')"),
    Case("model-interrupted-download", "models",
         "a Hugging Face cache snapshot left by an interrupted download (a .incomplete blob, no weights)",
         "load_backbone('acme/tiny-mt', local_files_only=True)", (".incomplete", "interrupted download", "resumes"),
         found="an AttributeError traceback from transformers ('NoneType' object has no attribute 'endswith')"),
    Case("lora-base-mismatch", "models", "a LoRA adapter trained on another base model (other hidden size)",
         "load_translator(base, adapter=adapter)", ("adapter", "does not fit", "trained on"),
         found="a RuntimeError traceback listing size mismatches of every LoRA tensor"),
    Case("lora-other-base", "models",
         "a LoRA adapter that records base acme/base-a, loaded on acme/base-b of the same shapes",
         "load_translator('acme/base-b', adapter=adapter)", ("was trained on 'acme/base-a'", "set the system's model"),
         outcome="partial", found="loaded silently: same shapes, other weights, other outputs"),
    Case("model-remote-code", "models", "a model folder whose config asks to run its own Python code (auto_map)",
         "load_backbone(folder)", ("trust_remote_code", "params")),
    Case("comet-missing-offline", "models", "--comet-model Unbabel/wmt22-comet-da offline with an empty cache",
         EVAL.replace("--out", "--comet-model Unbabel/wmt22-comet-da --out"),
         ("COMET model 'Unbabel/wmt22-comet-da' is not available offline",), outcome="partial"),
    # ---- disk and folders -----------------------------------------------------------------------------------------
    Case("disk-full-checkpoint", "disk", "the disk fills up while a checkpoint is written (file-size limit)", TRAIN,
         ("could not write", "rerun the same command"),
         found="a SafetensorError traceback ('File too large (os error 27)'); the rerun then finished the run, "
               "not taking the half-written checkpoint"),
    Case("disk-full-result", "disk", "the disk fills up while a result file is replaced",
         "atomic_write_json(scores.json, ...)", ("scores.json", "no space left", "free space"),
         found="a bare OSError naming no file or fix (the finished file was already kept intact)"),
    Case("out-folder-read-only", "disk", "--out in a folder without write permission", EVAL,
         ("cannot write", "writable"),
         found="not run here (tests run as root); the same code path as the next row"),
    Case("out-under-a-file", "disk", "--out below a path that is a file, not a folder", EVAL,
         ("cannot write", "writable"),
         found="scored everything first, then a FileExistsError traceback"),
    Case("out-is-a-csv", "disk", "--out names a .csv (the CSV is written beside the JSON)", EVAL,
         ("not a .json path", "res.json"),
         found="the results JSON overwritten by the CSV ('wrote r.csv and r.csv'; issue 22)"),
    Case("out-is-a-folder", "disk", "--out names an existing folder", EVAL,
         ("is a folder", "results.json"),
         found="scored everything, then an IsADirectoryError traceback (issue 22)"),
    # ---- job configs ----------------------------------------------------------------------------------------------
    Case("eval-job-missing-config", "job configs", "a job config path that does not exist",
         "python -m alma_core.evaluate job --config JOB.yaml", ("nope.yaml", "evaluation job config not found"),
         found="a FileNotFoundError traceback"),
    Case("appj-job-missing-config", "job configs", "an App. J job config path that does not exist",
         "python -m alma_core.runs.crosslingual --config JOB.yaml", ("nope.yaml", "App. J job config not found"),
         found="'[Errno 2] No such file or directory' without a fix"),
    Case("appj-job-bad-yaml", "job configs", "a hand-edited App. J job config that is no longer valid YAML",
         "python -m alma_core.runs.crosslingual --config JOB.yaml", ("job.yaml:2", "invalid YAML"),
         found="a yaml ScannerError traceback"),
    Case("appj-job-missing-model", "job configs", "an App. J job whose model is not in the cache, offline",
         "python -m alma_core.runs.crosslingual --config JOB.yaml",
         ("'nobody/no-such-model' is not in the Hugging Face cache",),
         found="a ModelLoadError traceback (the CLI caught data errors only)"),
    Case("book-unknown-notebook", "book", "--only with a misspelt chapter name",
         "python -m alma_core.book run --only sec5_main_reslts", ("sec5_main_reslts", "not a chapter"),
         found="ran nothing, exit 0, and replaced book/_executed/status.json with an empty status"),
    Case("papermill-unknown-parameter", "book", "papermill -p temperatur 3 (a typo of temperature) on a chapter",
         "papermill notebooks/appD_sampling.ipynb out.ipynb -f params/tiny/appD_sampling.yaml -p temperatur 3",
         ("ParamsError", "papermill passed 'temperatur'", "did you mean 'temperature'?"),
         found="papermill only warned 'Passed unknown parameter' and ran the chapter on the default value, exit 0"),
    # ---- training runs and their checkpoints ------------------------------------------------------------------
    Case("train-output-dir-busy", "training runs",
         "a second `python -m alma_core.train` into an output_dir that another run is training into", TRAIN,
         ("is locked by pid", "another training run writes into this output_dir", "Fix: wait for it"),
         found="both runs trained to the end, writing the same checkpoints and run.json"),
    Case("checkpoint-damaged", "training runs",
         "a run killed before it finished, whose newest checkpoint's model.safetensors was cut off since (a copy, "
         "a full disk)", TRAIN,
         ("checkpoint-4 is damaged (model.safetensors holds", "moved it to damaged-checkpoint-4",
          "resuming from checkpoint-2", "[train] done"), outcome="accepted",
         found="the rerun resumed from it and ended in a SafetensorError traceback (a finished run's record was "
               "downgraded to running)"),
    Case("checkpoint-state-truncated", "training runs",
         "the same, with the newest checkpoint's trainer_state.json cut off (or deleted)", TRAIN,
         ("checkpoint-4 is damaged (trainer_state.json is missing or not valid JSON)", "resuming from checkpoint-2",
          "[train] done"), outcome="accepted",
         found="a JSONDecodeError traceback; deleting the file, as the message advised, gave a FileNotFoundError"),
)


# Safe by default (issue 11, item 5): each rule and the test in tests/test_safety.py that holds it.
SAFETY: tuple[tuple[str, str], ...] = (
    ("A model's own Python code (config.json `auto_map`) never runs unless its params ask: `trust_remote_code: true` "
     "on a system (evaluation) or a train run; otherwise loading it stops with a message naming that key.",
     "test_model_code_runs_only_when_the_params_ask, test_trust_remote_code_is_a_params_key_carried_by_the_jobs"),
    ("Every `torch.load` in the library passes `weights_only=True`; the HF Trainer's resume (optimizer, scheduler, RNG "
     "state) loads with `weights_only`, explicitly or by the pinned torch's default; COMET's checkpoint too. Weights "
     "are written and read as safetensors.",
     "test_every_torch_load_in_the_library_is_weights_only, test_torch_load_default_refuses_pickled_code, "
     "test_comet_checkpoint_loads_weights_only"),
    ("Known exception: resuming a DeepSpeed run loads DeepSpeed's own checkpoint files with pickle "
     "(deepspeed.runtime.checkpoint_engine, `weights_only=False`). Resume only from checkpoints your own run wrote.",
     "(documented, not changed: DeepSpeed's optimizer-state format needs it)"),
    ("YAML (params, training and job configs) is read with `yaml.safe_load` only.",
     "test_yaml_is_only_read_with_the_safe_loader"),
    ("Names from params that become paths (systems, train runs, prompts, App. J languages, `--only` chapters) are "
     "refused when they look like a path (`../x`, `/abs`, `a/b`, `.hidden`, `~x`); job folders are slugged names plus "
     "a key, always inside the store.",
     "test_system_and_run_names_cannot_escape_the_store, test_prompt_and_language_names_cannot_escape, "
     "test_plain_names_are_kept_and_job_folders_stay_inside, test_book_only_refuses_a_path"),
    ("No library code runs `sudo` or a package manager; where something is missing (Chromium for the page check), "
     "the message prints the command for you to run.",
     "test_no_library_code_runs_sudo_or_a_package_manager, "
     "test_browser_prints_the_install_command_instead_of_running_it"),
)


def _cell(text: str) -> str:
    """Markdown-table-safe text."""
    return text.replace("|", "\\|").replace("\n", " ")


def render_page(cases: tuple[Case, ...] = CASES) -> str:
    """book/bad_inputs.md: one row per case, grouped by area, generated from CASES."""
    counts = {kind: sum(c.outcome == kind for c in cases) for kind in ("error", "accepted", "partial")}
    lines = [
        "# Bad inputs and what you see",
        "",
        "<!-- generated from tests/bad_inputs_catalogue.py by `.venv/bin/python tests/bad_inputs_catalogue.py`; "
        "do not edit by hand -->",
        "",
        f"The {len(cases)} inputs below are each built and run by `tests/test_bad_inputs.py` (`make test`): "
        f"{counts['error']} are refused with one message naming the file, line or value and the fix, "
        f"{counts['accepted']} are read transparently (a UTF-8 BOM, Windows line ends, blank lines: same result as "
        f"the clean file), and {counts['partial']} are scored and written with one note (COMET unavailable, "
        "hypotheses in the wrong language). Refused on the command line, they exit non-zero without a traceback; "
        "a result already computed is left as it was. The read-only folder case is skipped when the tests run as "
        "root (permission bits do not stop root); the case below it takes the same path.",
        "",
        "Run one case: `.venv/bin/python -m pytest tests/test_bad_inputs.py -k <case>` (the case name is in the first "
        "column).",
        "",
        "The last column says what the input did before this catalogue was written; empty means it was "
        "already right.",
        "",
    ]
    for area in dict.fromkeys(case.area for case in cases):
        lines += [f"## {area.capitalize()}", "", "| case | input | you run | you see | found before the fix |",
                  "|---|---|---|---|---|"]
        for case in cases:
            if case.area != area:
                continue
            number = cases.index(case) + 1
            seen = " … ".join(f"`{_cell(fragment)}`" for fragment in case.expect)
            if case.outcome != "error":
                seen = f"**{case.outcome}**: {seen}"
            cells = [f"{number} `{case.id}`", _cell(case.input), f"`{_cell(case.run)}`", seen, _cell(case.found)]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Safe by default", "", "| rule | held by (tests/test_safety.py) |", "|---|---|"]
    lines += [f"| {_cell(rule)} | {_cell(tests)} |" for rule, tests in SAFETY]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    PAGE.write_text(render_page(), encoding="utf-8")
    print(f"wrote {PAGE} ({len(CASES)} cases)", file=sys.stderr)
