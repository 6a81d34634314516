"""Language registry (Sections 2.1, 5.1; Appendix E): names, sacreBLEU tokenizers, prompt pieces.

Adding a language is one `Language(...)` entry in `LANGUAGES` (or `register_language`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Language",
    "LANGUAGES",
    "PAPER_LANGUAGES",
    "UnknownLanguageError",
    "get_language",
    "register_language",
    "paper_directions",
    "wmt_test_set",
]


class UnknownLanguageError(ValueError):
    """A language code that is not in the registry."""


@dataclass(frozen=True)
class Language:
    """One registry entry: code, English name (used in the Figure 2 prompt), native name, BLEU tokenizer.

    `target_prompt` is the Appendix E prompt written in this language for en->this translation,
    with `{source}` where the English source goes, e.g. "...\\n英文：{source}\\n中文：".
    """

    code: str
    name: str
    native_name: str
    bleu_tokenizer: str = "13a"
    target_prompt: str | None = None


LANGUAGES: dict[str, Language] = {}


def register_language(language: Language) -> Language:
    """Add (or replace) a registry entry; a new language pair needs nothing else in the code."""
    if "{source}" not in (language.target_prompt or "{source}"):
        raise ValueError(f"target_prompt of {language.code!r} must contain '{{source}}'")
    LANGUAGES[language.code] = language
    return language


for _lang in (
    Language("en", "English", "English"),
    Language(
        "de", "German", "Deutsch",
        target_prompt="Übersetzen Sie dies vom Englischen ins Deutsche:\nEnglisch: {source}\nDeutsch:",
    ),
    Language(
        "cs", "Czech", "čeština",
        # App. E gives only the Chinese prompt; for Czech the official PREFIX/SUFFIX ("anglicky:"/"česky:") apply.
        target_prompt="Přeložte toto z angličtiny do češtiny:\nanglicky: {source}\nčesky:",
    ),
    Language(
        "is", "Icelandic", "íslenska",
        target_prompt="Þýddu þetta úr ensku yfir á íslensku:\nEnska: {source}\nÍslenska:",
    ),
    Language(
        "zh", "Chinese", "中文", bleu_tokenizer="zh",
        target_prompt="将其从英文翻译成中文：\n英文：{source}\n中文：",
    ),
    Language(
        "ru", "Russian", "русский",
        target_prompt="Переведите это с английского на русский:\nАнглийский: {source}\nРусский:",
    ),
    Language("ja", "Japanese", "日本語", bleu_tokenizer="ja-mecab"),
    Language("uk", "Ukrainian", "українська"),
    Language("fr", "French", "français"),
    Language("ro", "Romanian", "română"),
    Language("ha", "Hausa", "Hausa"),
):
    register_language(_lang)

# The paper's five non-English languages, in the column order of Tables 1-2.
PAPER_LANGUAGES: tuple[str, ...] = ("de", "cs", "is", "zh", "ru")


def get_language(code: str) -> Language:
    """Look a code up; an unknown code raises an error listing the known ones and how to add one."""
    try:
        return LANGUAGES[code]
    except (KeyError, TypeError):
        known = ", ".join(sorted(LANGUAGES))
        raise UnknownLanguageError(
            f"unknown language code {code!r}; known codes: {known}. "
            "To add one, register a Language entry (alma_core.languages.register_language)."
        ) from None


def paper_directions(languages: tuple[str, ...] = PAPER_LANGUAGES) -> list[tuple[str, str]]:
    """The paper's ten directions (Section 5.1): xx->en for each language, then en->xx."""
    for code in languages:
        get_language(code)
    return [(c, "en") for c in languages] + [("en", c) for c in languages]


def wmt_test_set(src: str, tgt: str) -> str:
    """Which WMT test set the paper uses for a direction (Section 5.1): WMT'21 for is<->en, else WMT'22."""
    get_language(src)
    get_language(tgt)
    return "wmt21" if "is" in (src, tgt) else "wmt22"
