"""Prompts and output cleaning (Figure 2, Appendices E and I; official `get_prompt`, `clean_outputstring`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from alma_core.recipe.languages import get_language

__all__ = ["PromptStyle", "prompt_parts", "translation_prompt", "target_marker", "clean_output"]

PromptStyle = Literal["english", "target"]


def target_marker(tgt: str) -> str:
    """The text that ends every English prompt and precedes the translation: `\\n{Tgt}:` (Figure 2)."""
    return f"\n{get_language(tgt).name}:"


def prompt_parts(
    src: str,
    tgt: str,
    *,
    style: PromptStyle = "english",
    shots: Sequence[tuple[str, str]] = (),
) -> tuple[str, str]:
    """The prompt split around the source sentence: (text before it, text after it) (Figure 2, App. E, I).

    Generation and loss masking use the split to truncate inside the source, never in the suffix.
    """
    s, t = get_language(src), get_language(tgt)
    if style == "target":
        if shots:
            raise ValueError("style='target' does not take shots; use style='english' for few-shot prompts")
        if src != "en" or t.target_prompt is None:
            raise ValueError(
                f"no target-language prompt for {src}->{tgt}: Appendix E prompts exist only for en->xx "
                f"and need Language.target_prompt set for {tgt!r}"
            )
        before, after = t.target_prompt.split("{source}")
        return before, after
    if style != "english":
        raise ValueError(f"unknown prompt style {style!r}; use 'english' or 'target'")
    head = f"Translate this from {s.name} to {t.name}:"
    for shot_source, shot_target in shots:
        head += f"\n{s.name}: {shot_source}\n{t.name}: {shot_target}"
    return f"{head}\n{s.name}: ", f"\n{t.name}:"


def translation_prompt(
    src: str,
    tgt: str,
    source: str,
    *,
    style: PromptStyle = "english",
    shots: Sequence[tuple[str, str]] = (),
) -> str:
    """The full prompt for one source sentence (Figure 2; `style="target"`: App. E; `shots`: App. I)."""
    before, after = prompt_parts(src, tgt, style=style, shots=shots)
    return before + source + after


def clean_output(generated: str, tgt: str, *, shots: int = 0, style: PromptStyle = "english") -> str:
    """The translation in a generation: first non-empty line after the prompt's final marker, stripped.

    `generated` may or may not still contain the prompt. With the prompt (k shots) present, the
    text after the (k+1)-th `\n{Tgt}:` is taken, as the official post-processing does; any turn the
    model invents afterwards (`\n{Src}: ...`) lies on a later line and is dropped.
    """
    if style == "target":
        head, marker = prompt_parts("en", tgt, style="target")
        head = head.split("\n")[0]
    else:
        head, marker = "Translate this from ", target_marker(tgt)
    text = generated
    if generated.lstrip().startswith(head):
        pieces = generated.split(marker)
        text = pieces[shots + 1] if len(pieces) > shots + 1 else ""
    for line in text.split("\n"):
        if line.strip():
            return line.strip()
    return ""
