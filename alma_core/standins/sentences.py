"""Aligned sentences from THE lexicon in the mini world's grammar: the rehearsal's data, the synthetic release and
App. J items (Section 5 / App. J stand-ins).

A combo is a mini-world action meaning with one adverbial: a subject, a verb with its object, and a time or a place
(those without a number). `sentence` writes it with `mini_world.realise`, so every language keeps the mini world's
word order and a combo's sentences are each other's translations (py3langid recognises every language);
`item_records` builds App. J items (XNLI / XStoryCloze / XWinograd) from the same combos. Deterministic per seed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from alma_core.io import seeded_rng
from alma_core.recipe.crosslingual_items import TASKS
from alma_core.standins.lexicon import BECAUSE, LANGS, PLACES, SUBJECTS, TIMES
from alma_core.standins.mini_world import ACTIONS, Meaning, lower_first, realise, word_space

__all__ = ["Combo", "ADVERBIALS", "COMBOS", "word_space", "sentence", "item_records"]

Combo = Meaning  # an action meaning with one adverbial (the mini world's, so its realisation writes it)

# (slot, entry) of every time and place without a number ("at {h}:{m}", "in room {n}" are left out).
ADVERBIALS: tuple[tuple[str, int], ...] = (
    *(("time", i) for i, row in enumerate(TIMES) if "{" not in row[0]),
    *(("place", i) for i, row in enumerate(PLACES) if "{" not in row[0]),
)


def _with_adverbial(combo: Combo, adverbial: tuple[str, int]) -> Combo:
    """The combo with `adverbial` (a time or a place) as its one adverbial."""
    slot, index = adverbial
    return replace(combo, **{"time": -1, "place": -1, slot: index})


COMBOS: tuple[Combo, ...] = tuple(
    _with_adverbial(Meaning("act", s, action=a), adverbial)
    for s in range(len(SUBJECTS)) for a in range(len(ACTIONS)) for adverbial in ADVERBIALS
)


def sentence(combo: Combo, lang: str, *, adverbial: bool = True) -> str:
    """The combo as one sentence in `lang` (the mini world's realisation); the same combo is its translation."""
    return realise(combo, lang, omit="" if adverbial else "PT")


def _clause(combo: Combo, lang: str, omit: str = "") -> str:
    """The sentence without its final stop ("." or "。")."""
    return realise(combo, lang, omit=omit)[:-1]


def _winograd(combo: Combo, other_subject: int, other_action: int, lang: str, answer: int) -> dict[str, str]:
    """An XWinograd record: "<clause>, because _ <verb phrase>." with the two subjects as options."""
    options = [lower_first(SUBJECTS[s][0][LANGS.index(lang)]) for s in (combo.subject, other_subject)]
    verb_phrase = lower_first(_clause(replace(combo, action=other_action), lang, omit="SPT"))
    sp, stop = word_space(lang), sentence(combo, lang)[-1]  # the stop the mini world ends a sentence with
    blank = f"{_clause(combo, lang)}{BECAUSE[lang]}{sp}_{sp}{verb_phrase}{stop}"
    return {"sentence": blank, "option1": options[0], "option2": options[1], "answer": str(answer)}


def item_records(task: str, lang: str, seed: int, count: int) -> list[dict[str, Any]]:
    """`count` records of a task in the public dataset's column names (xnli, xstory_cloze, xwinograd)."""
    rng = seeded_rng(seed, "items", task, lang)
    subjects = len(SUBJECTS)
    records = []
    for index in range(count):
        combo = rng.choice(COMBOS)
        others = [i for i in range(len(ACTIONS)) if i != combo.action]
        other = replace(combo, action=rng.choice(others))
        if task == "XNLI":
            label = index % 3
            hypothesis = {0: sentence(combo, lang, adverbial=False), 1: sentence(other, lang, adverbial=False),
                          2: sentence(replace(combo, subject=(combo.subject + 1) % subjects), lang)}[label]
            records.append({"premise": sentence(combo, lang), "hypothesis": hypothesis, "label": label})
        elif task == "XStoryCloze":
            story = [sentence(_with_adverbial(replace(combo, action=rng.choice(others)), adverbial), lang)
                     for adverbial in rng.sample(ADVERBIALS, 4)]
            wrong = replace(other, subject=(combo.subject + 3) % subjects)
            right, wrong_text = sentence(combo, lang), sentence(wrong, lang)
            answer = 1 + index % 2
            quiz = (right, wrong_text) if answer == 1 else (wrong_text, right)
            records.append({"story_id": f"rehearsal-{lang}-{index + 1:04d}",
                            **{f"input_sentence_{i}": text for i, text in enumerate(story, start=1)},
                            "sentence_quiz1": quiz[0], "sentence_quiz2": quiz[1], "answer_right_ending": answer})
        elif task == "XWinograd":
            other_subject = (combo.subject + 1 + rng.randrange(subjects - 1)) % subjects
            records.append(_winograd(combo, other_subject, other.action, lang, 1 + index % 2))
        else:
            raise ValueError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    return records
