"""Translation metrics (Section 5.1, Appendix E): sacreBLEU BLEU/chrF, COMET, off-target rate.

BLEU uses the target language's registry tokenizer (zh for Chinese, ja-mecab for Japanese,
13a otherwise) and passes the references as sacreBLEU's *reference* argument: the paper-era
official script swapped hypothesis and reference (official-implementation.md, section 5).
COMET scores are reported on the paper's 0-100 scale.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alma_core.recipe.languages import LANGUAGES, get_language

__all__ = [
    "DEFAULT_COMET_MODEL",
    "MetricResult",
    "MetricInputError",
    "CometUnavailableError",
    "bleu",
    "chrf",
    "comet",
    "resolve_comet_checkpoint",
    "langid_languages",
    "detect_languages",
    "off_target_rate",
]

DEFAULT_COMET_MODEL = "Unbabel/wmt22-comet-da"


class MetricInputError(ValueError):
    """Hypotheses and references (or sources) that cannot be scored together."""


class CometUnavailableError(RuntimeError):
    """The COMET model cannot be loaded here (offline, not cached, or a bad path)."""


@dataclass(frozen=True)
class MetricResult:
    """One corpus-level score with what is needed to reproduce it (signature) and per-sentence detail."""

    metric: str
    score: float
    signature: str = ""
    sentence_scores: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def __float__(self) -> float:
        return float(self.score)


def _check_lengths(hypotheses: Sequence[str], references: Sequence[str], what: str = "references") -> None:
    """Refuse to score lists of different lengths or a bare string (a common slip)."""
    if isinstance(hypotheses, str) or isinstance(references, str):
        raise MetricInputError(f"pass lists of sentences, not a single string (got {type(hypotheses).__name__})")
    if len(hypotheses) != len(references):
        raise MetricInputError(
            f"{len(hypotheses)} hypotheses but {len(references)} {what}: the files must be line-aligned; "
            "check that no output line was dropped or split"
        )
    if not hypotheses:
        raise MetricInputError("nothing to score: the hypothesis list is empty")


def bleu(hypotheses: Sequence[str], references: Sequence[str], tgt_lang: str) -> MetricResult:
    """Corpus BLEU with sacreBLEU and the target language's tokenizer (Section 5.1; official eval, fixed order)."""
    from sacrebleu.metrics import BLEU

    _check_lengths(hypotheses, references)
    scorer = BLEU(tokenize=get_language(tgt_lang).bleu_tokenizer)
    result = scorer.corpus_score(list(hypotheses), [list(references)])
    return MetricResult("bleu", float(result.score), str(scorer.get_signature()))


def chrf(hypotheses: Sequence[str], references: Sequence[str], tgt_lang: str | None = None) -> MetricResult:
    """Corpus chrF with sacreBLEU (a character metric; needs no tokenizer, `tgt_lang` is accepted for symmetry)."""
    from sacrebleu.metrics import CHRF

    if tgt_lang is not None:
        get_language(tgt_lang)
    _check_lengths(hypotheses, references)
    scorer = CHRF()
    result = scorer.corpus_score(list(hypotheses), [list(references)])
    return MetricResult("chrf", float(result.score), str(scorer.get_signature()))


def _unavailable(model: str, reason: str) -> CometUnavailableError:
    """The error text telling a user why COMET cannot load and the three ways to provide it."""
    return CometUnavailableError(
        f"COMET model {model!r} is not available offline ({reason}). Provide it in one of these ways: "
        "(1) pass a local checkpoint path, e.g. model='/path/to/wmt22-comet-da/checkpoints/model.ckpt' "
        "(or the model's folder); "
        "(2) pre-populate the Hugging Face cache on a machine with internet "
        "(`python -c \"import comet; comet.download_model('Unbabel/wmt22-comet-da')\"`, which also needs "
        "'xlm-roberta-large') and point HF_HOME at it; "
        "(3) with internet access, set HF_HUB_OFFLINE=0 and let it download. "
        "Other metrics (BLEU, chrF, off-target rate) do not need it."
    )


def resolve_comet_checkpoint(model: str | os.PathLike = DEFAULT_COMET_MODEL) -> Path:
    """A COMET `model.ckpt` path from a local checkpoint/folder or a hub name (via `comet.download_model`)."""
    path = Path(model).expanduser()
    if path.exists():
        if path.is_dir():
            candidates = [path / "checkpoints" / "model.ckpt", path / "model.ckpt"]
            found = next((c for c in candidates if c.is_file()), None)
            if found is None:
                raise _unavailable(str(model), f"folder {path} has no checkpoints/model.ckpt")
            return found
        return path
    looks_local = str(model).startswith((".", "/", "~")) or str(model).endswith(".ckpt") or str(model).count("/") > 1
    if looks_local:
        raise _unavailable(str(model), f"no file or folder at {path}")
    try:
        from comet import download_model

        return Path(download_model(str(model)))
    except Exception as err:  # hub/cache errors come in many types; all mean "not here"
        raise _unavailable(
            str(model), f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        ) from None


@functools.lru_cache(maxsize=2)
def _load_comet(checkpoint: str) -> Any:
    """Load (once per process) a COMET checkpoint with the real `comet.load_from_checkpoint`."""
    from comet import load_from_checkpoint

    try:
        return load_from_checkpoint(checkpoint)
    except (OSError, ValueError) as err:
        raise _unavailable(checkpoint, f"loading failed: {type(err).__name__}: {err}") from None


def comet(
    sources: Sequence[str],
    hypotheses: Sequence[str],
    references: Sequence[str],
    *,
    model: str | os.PathLike = DEFAULT_COMET_MODEL,
    batch_size: int = 8,
    gpus: int = 0,
    progress: bool = False,
) -> MetricResult:
    """COMET (default Unbabel/wmt22-comet-da) system score x100, as in Tables 1-2; raises CometUnavailableError."""
    import comet as comet_pkg

    _check_lengths(hypotheses, references)
    _check_lengths(hypotheses, sources, what="sources")
    checkpoint = resolve_comet_checkpoint(model)
    scorer = _load_comet(str(checkpoint))
    data = [{"src": s, "mt": h, "ref": r} for s, h, r in zip(sources, hypotheses, references)]
    output = scorer.predict(data, batch_size=batch_size, gpus=gpus, progress_bar=progress)
    version = getattr(comet_pkg, "__version__", "unknown")
    signature = f"comet:{model}|ckpt:{checkpoint.name}|version:{version}|batch:{batch_size}"
    return MetricResult(
        "comet",
        100.0 * float(output.system_score),
        signature,
        sentence_scores=tuple(100.0 * float(s) for s in output.scores),
        extra={"model": str(model), "checkpoint": str(checkpoint), "comet_version": version},
    )


@functools.lru_cache(maxsize=1)
def langid_identifier() -> Any:
    """py3langid's pre-trained identifier with normalised probabilities (loaded once)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)


def langid_languages() -> tuple[str, ...]:
    """The language codes py3langid can identify."""
    return tuple(langid_identifier().nb_classes)


def _default_candidates() -> tuple[str, ...]:
    """The registry's language codes that py3langid knows (Appendix E's languages and any added ones)."""
    known = set(langid_languages())
    return tuple(code for code in LANGUAGES if code in known)


def detect_languages(texts: Sequence[str], candidates: Sequence[str] | None = None) -> list[str]:
    """Per-sentence language ID (py3langid) restricted to `candidates`; an empty text gets ''."""
    candidates = tuple(candidates) if candidates is not None else _default_candidates()
    known = set(langid_languages())
    unknown = [c for c in candidates if c not in known]
    if unknown:
        raise MetricInputError(f"py3langid cannot identify {unknown}; choose candidates among {sorted(known)}")
    if len(candidates) < 2:
        raise MetricInputError(f"language ID needs at least two candidate languages, got {list(candidates)}")
    identifier = langid_identifier()
    identifier.set_languages(list(candidates))
    try:
        return [identifier.classify(t)[0] if t.strip() else "" for t in texts]
    finally:
        identifier.set_languages(None)


def off_target_rate(
    hypotheses: Sequence[str], tgt_lang: str, candidates: Sequence[str] | None = None
) -> MetricResult:
    """Share of outputs whose detected language is not the target (Appendix E); empty outputs count as off-target."""
    get_language(tgt_lang)
    if isinstance(hypotheses, str):
        raise MetricInputError("pass a list of sentences, not a single string")
    candidates = tuple(candidates) if candidates is not None else _default_candidates()
    if tgt_lang not in candidates:
        raise MetricInputError(f"target language {tgt_lang!r} must be among the candidates {list(candidates)}")
    detected = detect_languages(hypotheses, candidates)
    flags = tuple(1.0 if lang != tgt_lang else 0.0 for lang in detected)
    share = sum(flags) / len(flags) if flags else 0.0
    signature = f"off-target|langid:py3langid|candidates:{','.join(candidates)}|empty:off"
    return MetricResult("off_target", share, signature, sentence_scores=flags, labels=tuple(detected))
