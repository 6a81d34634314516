"""What a chapter shows around its numbers (display only; the tables come from `alma_core.book.tables`):
the profile banner, styled tables, provenance from run.json, and the closing "What this reproduces / deviations" box.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from alma_core.book.tables import DIRECTION_LABELS, NOT_COMPUTED, seed_spread  # noqa: F401 - display labels
from alma_core.io import read_json, stable_hash
from alma_core.provenance import package_versions

__all__ = [
    "BANNERS",
    "NOT_COMPUTED",
    "banner",
    "show_banner",
    "show_markdown",
    "style_table",
    "show_table",
    "provenance",
    "show_provenance",
    "closing",
    "show_closing",
    "FOLDED",
    "fold_boilerplate",
]

BANNERS: dict[str, str] = {
    "tiny": (
        "**Profile `tiny`**: a tiny LLaMA-architecture model pretrained locally on sample text stands in for "
        "LLaMA-2; sample corpora and test sets; COMET is a tiny checkpoint built locally, not "
        "Unbabel/wmt22-comet-da. These numbers check the pipeline end to end; they are **not comparable** to the "
        "paper's."
    ),
    "mini": (
        "**Profile `mini`**: the paper in miniature. A 235 K-parameter LLaMA-architecture backbone pretrained on a "
        "synthetic world's mostly-English text, the world's parallel data and test sets (see *The mini world*), "
        "stage 2 trained to convergence on 3 seeds (tables show the mean; the seed table the range). The effects "
        "can be compared with the paper's in **direction**, never in value; no COMET."
    ),
    "paper": (
        "**Profile `paper`**: LLaMA-2 backbones, OSCAR-2301, the human-written parallel data, WMT'22 (WMT'21 for is) "
        "test sets, COMET Unbabel/wmt22-comet-da, DeepSpeed ZeRO-2: the paper's own scale."
    ),
    "released": (
        "**Profile `released`**: evaluation only of the public checkpoints (haoranxu/ALMA-*, meta-llama/Llama-2-*-hf) "
        "on the WMT'22 (WMT'21 for is) test sets with COMET Unbabel/wmt22-comet-da."
    ),
}


REHEARSAL_ENV = "ALMA_REHEARSAL"


def banner(profile: str, note: str = "") -> str:
    """The one-paragraph banner naming the profile that produced a chapter's numbers (markdown); a rehearsal says so
    first."""
    text = BANNERS.get(profile, f"**Profile `{profile}`**")
    rehearsal = os.environ.get(REHEARSAL_ENV)
    if rehearsal:
        text = f"**REHEARSAL, not results.** {rehearsal} What follows is the `{profile}` profile's plan: {text}"
    return f"> {text}" + (f"\n>\n> {note}" if note else "")


def show_markdown(text: str) -> None:
    """Display markdown in a notebook.

    Used by notebooks/add_language_pair.ipynb, appA_objectives.ipynb, appD_sampling.ipynb and 3 more.
    """
    from IPython.display import Markdown, display

    display(Markdown(text))


def show_banner(profile: str, note: str = "") -> None:
    """Display the profile banner at the top of a chapter.

    Used by notebooks/add_language_pair.ipynb, appA_objectives.ipynb, appC_training_details.ipynb and 11 more.
    """
    show_markdown(banner(profile, note))


# Tables fit a laptop-width page: smaller type, tight padding, long labels wrap instead of scrolling sideways.
FIT_PAGE: list[dict[str, str]] = [
    {"selector": "", "props": "font-size: 0.8em; max-width: 100%; border-collapse: collapse;"},
    {"selector": "td, th", "props": "padding: 2px 6px; white-space: normal; overflow-wrap: break-word; "
                                    "min-width: 3.2em;"},
    {"selector": "caption", "props": "caption-side: top; text-align: left; font-size: 1.05em;"},
]


# The markup a table cell may carry (the scorecard's links and anchors); any other `<` is text, such as a token.
_NOT_MARKUP = re.compile(r"<(?!/?(?:a|span|br|b|i|em|strong|code|sup|sub)\b)")


def _escape_tokens(text: str) -> str:
    """A cell's text with `<` escaped unless it opens allowed markup: `<s>`, `<bos>`, `<pad>` show as themselves."""
    return _NOT_MARKUP.sub("&lt;", text)


def style_table(table: pd.DataFrame, caption: str = "", digits: int = 2) -> Any:
    """A pandas Styler: numbers to `digits` places, missing cells as an en dash, strings as they are."""
    def fmt(value: Any) -> str:
        if isinstance(value, str):
            return _escape_tokens(value)
        if isinstance(value, (bool, dict, list, tuple)):
            return str(value)
        if value is None or pd.isna(value):
            return "–"
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) >= 1000):
            return f"{int(value):,}"
        if isinstance(value, float) and value != 0 and abs(value) < 0.01:
            return f"{value:.2g}"
        try:
            return f"{value:.{digits}f}"
        except (TypeError, ValueError):
            return str(value)

    # A uuid from the content, not pandas' random one: a rebuilt page is byte-identical (issue 11, identical rebuilds).
    styler = table.style.format(fmt).set_table_styles(FIT_PAGE).set_uuid(stable_hash([caption, table.to_csv()], 8))
    if caption:
        styler = styler.set_caption(caption)
    return styler


def show_table(table: pd.DataFrame, caption: str = "", digits: int = 2) -> None:
    """Display a styled table in a notebook (the book renders it as HTML).

    Used by notebooks/add_language_pair.ipynb, appA_objectives.ipynb, appC_training_details.ipynb and 11 more.
    """
    from IPython.display import display

    styled = style_table(table, caption, digits)  # text/plain without the Styler's memory address (identical rebuilds)
    display({"text/html": styled.to_html(), "text/plain": (caption + "\n" if caption else "") + table.to_string()},
            raw=True)


def show_seed_spread(scores: pd.DataFrame, metric: str = "bleu") -> None:
    """BLEU of the systems trained on several seeds (params `seeds`, the mini profile): mean (lowest-highest, seeds);
    nothing when every system was trained once. Used by sec3, sec5, sec6_1, sec6_2, appE, appI."""
    spread = seed_spread(scores, metric)
    if not spread.empty:
        show_table(spread, f"{metric.upper()} of the systems trained on several seeds: mean (lowest-highest, seeds); "
                           "the tables above show the mean")


def _compact_versions(versions: Mapping[str, Any]) -> str:
    """`torch 2.13.0, transformers 4.57.6, ...` in one cell."""
    return ", ".join(f"{k} {v}" for k, v in versions.items() if v)


def _run_row(run: Mapping[str, Any], kernel: Mapping[str, str]) -> dict[str, Any]:
    """The provenance cells of one run.json: BLEU signature, COMET model, seed, revision, differing versions."""
    signatures = run.get("signatures") or {}
    bleu = (
        run.get("signature")
        or run.get("bleu_signature")
        or next((v for k, v in signatures.items() if k.startswith("bleu")), "")
    )
    config = run.get("config") or {}
    versions = {k: v for k, v in (run.get("versions") or {}).items() if kernel.get(k) != v}
    return {"sacreBLEU signature": bleu, "COMET": signatures.get("comet") or run.get("comet_model", ""),
            "seed": run.get("seed", config.get("seed", "")), "git": (run.get("git_revision") or "")[:10],
            "versions (where not the kernel's)": _compact_versions(versions) or "same"}


def provenance(runs: Mapping[str, Mapping[str, Any] | str | Path] | None = None,
               extra: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """What produced the numbers: the kernel's package versions, and per run its sacreBLEU signature, COMET model,
    seed."""
    kernel = package_versions()
    rows: dict[str, dict[str, Any]] = {"this kernel": {"versions (where not the kernel's)": _compact_versions(kernel),
                                                       **{str(k): v for k, v in (extra or {}).items()}}}
    for name, run in (runs or {}).items():
        if isinstance(run, (str, Path)):
            path = Path(run)
            run = read_json(path) if path.is_file() else {"note": f"no run.json yet at {path}"}
        rows[name] = {**_run_row(run, kernel), **({"note": run["note"]} if "note" in run else {})}
    table = pd.DataFrame.from_dict(rows, orient="index").fillna("")
    table.index.name = "provenance"
    return table


def show_provenance(runs: Mapping[str, Any] | None = None, extra: Mapping[str, Any] | None = None) -> None:
    """Display the provenance table under a heading.

    Used by notebooks/add_language_pair.ipynb, appA_objectives.ipynb, appC_training_details.ipynb and 7 more.
    """
    show_markdown("**Provenance** (what produced this chapter's numbers)")
    show_table(provenance(runs, extra))


def closing(reproduces: Sequence[str], deviations: Sequence[str], profile: str = "") -> str:
    """The "What this reproduces / deviations" box that ends every chapter (markdown)."""
    lines = [":::{admonition} What this reproduces / deviations", ":class: note", "", "**Reproduces**", ""]
    lines += [f"- {item}" for item in reproduces]
    lines += ["", "**Deviations**", ""]
    lines += [f"- {item}" for item in deviations]
    if profile:
        lines += [
            "",
            f"Numbers in this build come from the `{profile}` profile. See also the list of deviations in the book.",
        ]
    lines.append(":::")
    return "\n".join(lines)


def show_closing(reproduces: Sequence[str], deviations: Sequence[str], profile: str = "") -> None:
    """Display the closing box (as a markdown output of the last cell)."""
    show_markdown(closing(reproduces, deviations, profile))


def highlight_loss(frame: pd.DataFrame) -> Any:
    """The loss-mask table styled: trained tokens green, masked tokens grey.

    Used by notebooks/sec4_recipe.ipynb.
    """
    def colour(row: pd.Series) -> list[str]:
        trained = row["in loss"] == "yes"
        return ["background-color: #d8f0d8" if trained else "color: #888888"] * len(row)

    return frame.style.apply(colour, axis=1)


FOLDED = {"parameters": "hide-cell", "injected-parameters": "hide-cell"}


def _assigned(source: str) -> set[str]:
    """The names a parameters cell assigns at its top level."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {target.id for node in tree.body if isinstance(node, ast.Assign) for target in node.targets
            if isinstance(target, ast.Name)}


def _relative(text: str, root: str) -> str:
    """Text with the build machine's checkout replaced by paths relative to the repository (`runs/tiny/...`)."""
    return text.replace(f"file://{root}/", "").replace(f"{root}/", "")


def _folded_log(text: str) -> dict[str, Any]:
    """A job log (a cell's stdout) as a closed <details> block: the page shows one line, the log one click away."""
    import html

    import nbformat

    lines = text.rstrip("\n").count("\n") + 1
    folded = (f"<details><summary>job log ({lines} line{'s' if lines != 1 else ''})</summary>"
              f"<pre>{html.escape(text)}</pre></details>")
    return nbformat.v4.new_output("display_data", data={"text/html": folded, "text/plain": text})


def _relative_output(output: Any, root: str) -> Any:
    """One output with every path under the checkout made relative (stream text and every text mimetype)."""
    if "text" in output:
        output["text"] = _relative(output["text"], root)
    for mime, value in (output.get("data") or {}).items():
        if isinstance(value, str) and mime.startswith("text/"):
            output["data"][mime] = _relative(value, root)
    return output


def fold_boilerplate(nb: Any, roots: Sequence[str | Path] = ()) -> Any:
    """An executed notebook as a page shows it: papermill's parameters once (the injected copy, when it sets every
    variable the defaults cell does) and folded, job logs folded, paths relative to the checkouts in `roots`."""
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    covered = set().union(*(_assigned(c.source) for c in injected)) if injected else set()
    nb.cells = [c for c in nb.cells if not ("parameters" in c.metadata.get("tags", []) and injected
                                            and _assigned(c.source) <= covered)]
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        for tag, fold in FOLDED.items():
            if tag in tags and fold not in tags:
                tags.append(fold)
        if cell.cell_type != "code":
            continue
        outputs = list(cell.get("outputs", []))
        for root in sorted({str(Path(r).resolve()) for r in roots}, key=len, reverse=True):
            outputs = [_relative_output(o, root) for o in outputs]
        logs = "".join(o["text"] for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stdout")
        rest = [o for o in outputs if not (o.get("output_type") == "stream" and o.get("name") == "stdout")]
        cell.outputs = ([_folded_log(logs)] if logs.strip() else []) + rest
    return nb
