"""Language registry (Sections 2.1, 5.1; Appendix E): names, sacreBLEU tokenizers, prompt pieces.

A language the registry lacks is declared in a params file's `declared_languages:` block (no library edit): the jobs
carry the block in their configs and `declare_languages` registers it in every process that runs them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "Language",
    "LANGUAGES",
    "BUILTIN_LANGUAGES",
    "BLEU_TOKENIZERS",
    "LanguageDeclarationError",
    "parse_declarations",
    "declare_languages",
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
    Language("fr", "French", "français"),
    Language("ro", "Romanian", "română"),
    Language("ha", "Hausa", "Hausa"),
):
    register_language(_lang)

# The codes this file registers; a params file may declare others, and may not redefine these.
BUILTIN_LANGUAGES: frozenset[str] = frozenset(LANGUAGES)
# sacreBLEU's tokenizers (sacrebleu.metrics.bleu): 13a for space-separated scripts, zh, ja-mecab, ko-mecab, ...
BLEU_TOKENIZERS: tuple[str, ...] = ("13a", "intl", "zh", "ja-mecab", "ko-mecab", "char", "none", "flores101",
                                    "flores200")
_FIELDS = {"name": True, "native_name": False, "bleu_tokenizer": False, "target_prompt": False}  # name: required


class LanguageDeclarationError(ValueError):
    """A `declared_languages:` entry of a params file (or job config) that cannot be registered."""


def _parse_one(code: Any, fields: Any, where: str) -> Language:
    """One declared entry as a Language, every problem named with its key and the fix."""
    at = f"{where}: declared_languages.{code}" if where else f"declared_languages.{code}"
    if not isinstance(code, str) or not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?", code):
        raise LanguageDeclarationError(f"{at}: {code!r} is not a language code. Fix: use an ISO 639 code such as "
                                       "'kk' or 'es' (optionally with a region, 'pt-BR')")
    if not isinstance(fields, Mapping):
        raise LanguageDeclarationError(f"{at}: expected a mapping with name (and native_name, bleu_tokenizer, "
                                       f"target_prompt), got {fields!r}. Fix: `{code}: {{name: ...}}`")
    unknown = set(fields) - set(_FIELDS)
    missing = [key for key, required in _FIELDS.items() if required and key not in fields]
    if unknown or missing:
        raise LanguageDeclarationError(f"{at}: unknown keys {sorted(unknown)} / missing keys {missing}. Fix: give "
                                       f"name (required), native_name, bleu_tokenizer, target_prompt only")
    bad = [k for k, v in fields.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise LanguageDeclarationError(f"{at}: {bad} must be non-empty strings. Fix: quote the values")
    tokenizer = fields.get("bleu_tokenizer", "13a")
    if tokenizer not in BLEU_TOKENIZERS:
        raise LanguageDeclarationError(f"{at}.bleu_tokenizer: {tokenizer!r} is no sacreBLEU tokenizer. Fix: one of "
                                       f"{list(BLEU_TOKENIZERS)} (13a for languages written with spaces)")
    if "{source}" not in fields.get("target_prompt", "{source}"):
        raise LanguageDeclarationError(f"{at}.target_prompt: must contain '{{source}}' where the English source goes")
    return Language(code, fields["name"], fields.get("native_name", fields["name"]), tokenizer,
                    fields.get("target_prompt"))


def parse_declarations(declared: Mapping[str, Any] | None, where: str = "params") -> dict[str, Language]:
    """Validate a `declared_languages:` block into Language entries without registering them (Sec. 5.1's registry,
    extended); `where` (the file) starts every message.

    A built-in code may be declared only with its registry values; use another code for a variant.
    """
    if declared is None:
        return {}
    if not isinstance(declared, Mapping):
        raise LanguageDeclarationError(f"{where + ': ' if where else ''}declared_languages must map codes to "
                                       f"entries, got {declared!r}. "
                                       "Fix: `declared_languages: {kk: {name: Kazakh}}`")
    parsed = {code: _parse_one(code, fields, where) for code, fields in declared.items()}
    for code, language in parsed.items():
        if code in BUILTIN_LANGUAGES and LANGUAGES[code] != language:
            raise LanguageDeclarationError(
                f"{where + ': ' if where else ''}declared_languages.{code} redefines the built-in entry "
                f"{asdict(LANGUAGES[code])}. Fix: drop the declaration (the library knows this language) or declare "
                "the variant under another code")
    return parsed


def declare_languages(declared: Mapping[str, Any] | None, where: str = "params") -> list[Language]:
    """Register a params file's or job config's `declared_languages:` block in this process (every job does, before
    use)."""
    return [register_language(language) for language in parse_declarations(declared, where).values()]


# The paper's five non-English languages, in the column order of Tables 1-2.
PAPER_LANGUAGES: tuple[str, ...] = ("de", "cs", "is", "zh", "ru")


def get_language(code: str) -> Language:
    """Look a code up; an unknown code raises an error listing the known ones and how to add one."""
    try:
        return LANGUAGES[code]
    except (KeyError, TypeError):
        known = ", ".join(sorted(LANGUAGES))
        raise UnknownLanguageError(
            f"unknown language code {code!r}; known codes: {known}. Fix: to add one, declare it in the params file "
            f"(declared_languages: {{{code}: {{name: ..., native_name: ..., bleu_tokenizer: 13a}}}}) or call "
            "alma_core.recipe.languages.register_language"
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
