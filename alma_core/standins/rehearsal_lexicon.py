"""The rehearsal's hand-written lexicon: the same sentence in every rehearsal language (Section 5 / App. J stand-ins).

A sentence is subject + verb phrase + adverbial with real words in each language's own script and word
order (GRAMMAR), so aligned pairs share their slots and py3langid recognises every language; `item_records`
builds App. J items (XNLI / XStoryCloze / XWinograd) from the same slots. Deterministic per seed.
"""

from __future__ import annotations

from typing import Any

from alma_core.io import seeded_rng
from alma_core.recipe.crosslingual_items import TASKS

__all__ = ["LANG_ORDER", "LEXICON", "GRAMMAR", "Combo", "COMBOS", "sentence", "item_records"]

LANG_ORDER = ("en", "de", "cs", "is", "zh", "ru", "uk")

# slot -> one row per entry, columns in LANG_ORDER: the same meaning in every language.
LEXICON: dict[str, list[tuple[str, ...]]] = {
    "subject": [
        ("The old man", "Der alte Mann", "Starý muž", "Gamli maðurinn", "老人", "Старик", "Старий чоловік"),
        ("My sister", "Meine Schwester", "Moje sestra", "Systir mín", "我的姐姐", "Моя сестра", "Моя сестра"),
        ("The teacher", "Die Lehrerin", "Učitelka", "Kennarinn", "老师", "Учительница", "Вчителька"),
        ("Our neighbour", "Unser Nachbar", "Náš soused", "Nágranni okkar", "我们的邻居", "Наш сосед", "Наш сусід"),
        (
            "The young doctor",
            "Der junge Arzt",
            "Mladý lékař",
            "Ungi læknirinn",
            "年轻的医生",
            "Молодой врач",
            "Молодий лікар",
        ),
        ("My father", "Mein Vater", "Můj otec", "Faðir minn", "我的父亲", "Мой отец", "Мій батько"),
        (
            "The little girl",
            "Das kleine Mädchen",
            "Malá holčička",
            "Litla stúlkan",
            "小女孩",
            "Маленькая девочка",
            "Маленька дівчинка",
        ),
        ("Her brother", "Ihr Bruder", "Její bratr", "Bróðir hennar", "她的哥哥", "Её брат", "Її брат"),
    ],
    "verb": [
        ("reads a book", "liest ein Buch", "čte knihu", "les bók", "读一本书", "читает книгу", "читає книжку"),
        (
            "buys fresh bread",
            "kauft frisches Brot",
            "kupuje čerstvý chléb",
            "kaupir nýtt brauð",
            "买新鲜的面包",
            "покупает свежий хлеб",
            "купує свіжий хліб",
        ),
        (
            "writes a long letter",
            "schreibt einen langen Brief",
            "píše dlouhý dopis",
            "skrifar langt bréf",
            "写一封长信",
            "пишет длинное письмо",
            "пише довгого листа",
        ),
        (
            "drinks hot coffee",
            "trinkt heißen Kaffee",
            "pije horkou kávu",
            "drekkur heitt kaffi",
            "喝热咖啡",
            "пьёт горячий кофе",
            "п'є гарячу каву",
        ),
        (
            "opens the window",
            "öffnet das Fenster",
            "otevírá okno",
            "opnar gluggann",
            "打开窗户",
            "открывает окно",
            "відчиняє вікно",
        ),
        (
            "cooks dinner",
            "kocht das Abendessen",
            "vaří večeři",
            "eldar kvöldmat",
            "做晚饭",
            "готовит ужин",
            "готує вечерю",
        ),
        ("feeds the dog", "füttert den Hund", "krmí psa", "fóðrar hundinn", "喂狗", "кормит собаку", "годує собаку"),
        (
            "cleans the kitchen",
            "putzt die Küche",
            "uklízí kuchyni",
            "þrífur eldhúsið",
            "打扫厨房",
            "убирает кухню",
            "прибирає кухню",
        ),
        (
            "visits the museum",
            "besucht das Museum",
            "navštěvuje muzeum",
            "heimsækir safnið",
            "参观博物馆",
            "посещает музей",
            "відвідує музей",
        ),
        (
            "learns a new language",
            "lernt eine neue Sprache",
            "studuje nový jazyk",
            "lærir nýtt tungumál",
            "学习一门新语言",
            "изучает новый язык",
            "вивчає нову мову",
        ),
    ],
    "adverbial": [
        ("every morning", "jeden Morgen", "každé ráno", "á hverjum morgni", "每天早上", "каждое утро", "щоранку"),
        ("in the evening", "am Abend", "večer", "á kvöldin", "晚上", "вечером", "увечері"),
        ("at home", "zu Hause", "doma", "heima", "在家里", "дома", "вдома"),
        ("on Sunday", "am Sonntag", "v neděli", "á sunnudaginn", "星期天", "в воскресенье", "у неділю"),
        ("after work", "nach der Arbeit", "po práci", "eftir vinnu", "下班以后", "после работы", "після роботи"),
        ("in the city", "in der Stadt", "ve městě", "í borginni", "在城里", "в городе", "у місті"),
        (
            "with great joy",
            "mit großer Freude",
            "s velkou radostí",
            "með mikilli gleði",
            "很高兴地",
            "с большой радостью",
            "з великою радістю",
        ),
        (
            "before breakfast",
            "vor dem Frühstück",
            "před snídaní",
            "fyrir morgunmat",
            "早饭前",
            "перед завтраком",
            "перед сніданком",
        ),
    ],
}

# Per language: word order of the slots, sentence end, comma, "because" (XWinograd), space between words.
GRAMMAR: dict[str, dict[str, str]] = {
    "en": {"order": "{s} {v} {a}", "stop": ".", "comma": ", ", "because": "because", "space": " "},
    "de": {"order": "{s} {v} {a}", "stop": ".", "comma": ", ", "because": "denn", "space": " "},
    "cs": {"order": "{s} {a} {v}", "stop": ".", "comma": ", ", "because": "protože", "space": " "},
    "is": {"order": "{s} {v} {a}", "stop": ".", "comma": ", ", "because": "af því að", "space": " "},
    "zh": {"order": "{s}{a}{v}", "stop": "。", "comma": "，", "because": "因为", "space": ""},
    "ru": {"order": "{s} {a} {v}", "stop": ".", "comma": ", ", "because": "потому что", "space": " "},
    "uk": {"order": "{s} {a} {v}", "stop": ".", "comma": ", ", "because": "тому що", "space": " "},
}

Combo = tuple[int, int, int]  # (subject, verb, adverbial) indices into LEXICON
COMBOS: tuple[Combo, ...] = tuple(
    (s, v, a) for s in range(len(LEXICON["subject"])) for v in range(len(LEXICON["verb"]))
    for a in range(len(LEXICON["adverbial"]))
)


def _word(slot: str, index: int, lang: str) -> str:
    """One lexicon entry in one language."""
    return LEXICON[slot][index][LANG_ORDER.index(lang)]


def _lower_first(text: str) -> str:
    """Lower-case the first letter (a subject moved inside a sentence); German nouns keep their capital."""
    return text[:1].lower() + text[1:]


def _clause(combo: Combo, lang: str, *, adverbial: bool = True) -> str:
    """The sentence of a combo without its final punctuation, in `lang`'s word order."""
    s, v, a = combo
    order = GRAMMAR[lang]["order"] if adverbial else GRAMMAR[lang]["order"].replace("{a}", "").replace("  ", " ")
    return order.format(s=_word("subject", s, lang), v=_word("verb", v, lang), a=_word("adverbial", a, lang)).strip()


def sentence(combo: Combo, lang: str, *, adverbial: bool = True) -> str:
    """One sentence (subject, verb phrase, adverbial) in `lang`; the same combo is its translation elsewhere."""
    return _clause(combo, lang, adverbial=adverbial) + GRAMMAR[lang]["stop"]

def item_records(task: str, lang: str, seed: int, count: int) -> list[dict[str, Any]]:
    """`count` records of a task in the public dataset's column names (xnli, xstory_cloze, xwinograd)."""
    rng = seeded_rng(seed, "items", task, lang)
    g = GRAMMAR[lang]
    records = []
    for index in range(count):
        s, v, a = rng.choice(COMBOS)
        others = [i for i in range(len(LEXICON["verb"])) if i != v]
        v2 = rng.choice(others)
        if task == "XNLI":
            label = index % 3
            hypothesis = {0: sentence((s, v, a), lang, adverbial=False), 1: sentence((s, v2, a), lang, adverbial=False),
                          2: sentence(((s + 1) % len(LEXICON["subject"]), v, a), lang)}[label]
            records.append({"premise": sentence((s, v, a), lang), "hypothesis": hypothesis, "label": label})
        elif task == "XStoryCloze":
            story = [
                sentence((s, rng.choice(others), adv), lang) for adv in rng.sample(range(len(LEXICON["adverbial"])), 4)
            ]
            right, wrong = sentence((s, v, a), lang), sentence(((s + 3) % len(LEXICON["subject"]), v2, a), lang)
            answer = 1 + index % 2
            quiz = (right, wrong) if answer == 1 else (wrong, right)
            records.append({"story_id": f"rehearsal-{lang}-{index + 1:04d}",
                            **{f"input_sentence_{i}": text for i, text in enumerate(story, start=1)},
                            "sentence_quiz1": quiz[0], "sentence_quiz2": quiz[1], "answer_right_ending": answer})
        elif task == "XWinograd":
            s2 = (s + 1 + rng.randrange(len(LEXICON["subject"]) - 1)) % len(LEXICON["subject"])
            options = [_lower_first(_word("subject", s, lang)), _lower_first(_word("subject", s2, lang))]
            answer = 1 + index % 2
            sp = g["space"]
            blank = f"{_clause((s, v, a), lang)}{g['comma']}{g['because']}{sp}_{sp}{_word('verb', v2, lang)}{g['stop']}"
            records.append({"sentence": blank, "option1": options[0], "option2": options[1], "answer": str(answer)})
        else:
            raise ValueError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    return records
