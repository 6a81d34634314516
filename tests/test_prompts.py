"""Prompts (Figure 2, Appendix E, Appendix I), output cleaning and the language registry."""

import pytest

from alma_core.recipe.languages import (
    LANGUAGES,
    Language,
    UnknownLanguageError,
    get_language,
    paper_directions,
    register_language,
    wmt_test_set,
)
from alma_core.recipe.prompts import clean_output, prompt_parts, target_marker, translation_prompt


def test_figure2_prompt_is_byte_exact():
    assert translation_prompt("de", "en", "Guten Morgen.") == (
        "Translate this from German to English:\nGerman: Guten Morgen.\nEnglish:"
    )
    assert translation_prompt("en", "zh", "Hi.") == "Translate this from English to Chinese:\nEnglish: Hi.\nChinese:"
    assert not translation_prompt("en", "cs", "x").endswith(" ")


def test_prompt_parts_surround_the_source():
    before, after = prompt_parts("is", "en")
    assert before + "Halló" + after == translation_prompt("is", "en", "Halló")
    assert after == target_marker("en") == "\nEnglish:"


def test_target_language_prompt_appendix_e():
    assert translation_prompt("en", "zh", "Hello.", style="target") == "将其从英文翻译成中文：\n英文：Hello.\n中文："
    assert translation_prompt("en", "de", "Hi", style="target").endswith("\nEnglisch: Hi\nDeutsch:")
    # The paper shows only the Chinese prompt; Czech follows the official PREFIX/SUFFIX labels.
    assert (
        translation_prompt("en", "cs", "Hi", style="target")
        == "Přeložte toto z angličtiny do češtiny:\nanglicky: Hi\nčesky:"
    )
    for code in ("de", "cs", "is", "zh", "ru"):
        assert "Hi" in translation_prompt("en", code, "Hi", style="target")
    with pytest.raises(ValueError, match="only for en->xx"):
        translation_prompt("de", "en", "Hallo", style="target")
    with pytest.raises(ValueError, match="unknown prompt style"):
        translation_prompt("de", "en", "Hallo", style="klingon")


def test_few_shot_prompt_appendix_i():
    shots = [("Hallo.", "Hello."), ("Danke.", "Thank you.")]
    assert translation_prompt("de", "en", "Ja.", shots=shots) == (
        "Translate this from German to English:"
        "\nGerman: Hallo.\nEnglish: Hello."
        "\nGerman: Danke.\nEnglish: Thank you."
        "\nGerman: Ja.\nEnglish:"
    )


@pytest.mark.parametrize(
    "generated, expected",
    [
        (" Hello world.\nGerman: Noch ein Satz\nEnglish: Another", "Hello world."),
        ("Translate this from German to English:\nGerman: Hallo Welt.\nEnglish: Hello world.\n", "Hello world."),
        ("Translate this from German to English:\nGerman: Hallo.\nEnglish:\n\n  Hi there  \nmore", "Hi there"),
        ("   \n\n", ""),
        ("Hello.\nGerman: invented turn\nEnglish: invented answer", "Hello."),
    ],
)
def test_clean_output(generated, expected):
    assert clean_output(generated, "en") == expected


def test_clean_output_few_shot_takes_the_last_prompt_marker():
    shots = [("Hallo.", "Hello."), ("Danke.", "Thank you.")]
    prompt = translation_prompt("de", "en", "Ja.", shots=shots)
    generated = prompt + " Yes.\nGerman: Nein.\nEnglish: No."
    assert clean_output(generated, "en", shots=2) == "Yes."
    assert clean_output(" Yes.", "en", shots=2) == "Yes."


def test_clean_output_target_style():
    prompt = translation_prompt("en", "zh", "Hello.", style="target")
    assert clean_output(prompt + "你好。\n英文：x", "zh", style="target") == "你好。"


def test_registry_entries():
    assert {"en", "de", "cs", "is", "zh", "ru", "ja", "fr", "ro", "ha"} <= set(LANGUAGES)
    assert get_language("zh").bleu_tokenizer == "zh"
    assert get_language("ja").bleu_tokenizer == "ja-mecab"
    assert get_language("de").bleu_tokenizer == "13a"
    assert get_language("de").native_name == "Deutsch"


def test_unknown_language_lists_known_codes():
    with pytest.raises(UnknownLanguageError, match=r"unknown language code 'xx'.*de.*register"):
        get_language("xx")
    with pytest.raises(UnknownLanguageError):
        translation_prompt("xx", "en", "a")


def test_adding_a_language_is_one_entry():
    register_language(Language("ar", "Arabic", "العربية"))
    try:
        assert (
            translation_prompt("ar", "en", "مرحبا") == "Translate this from Arabic to English:\nArabic: مرحبا\nEnglish:"
        )
    finally:
        LANGUAGES.pop("ar")
    with pytest.raises(ValueError, match="must contain"):
        register_language(Language("xq", "X", "X", target_prompt="no placeholder"))


def test_paper_directions_and_test_sets():
    directions = paper_directions()
    assert len(directions) == 10 and directions[0] == ("de", "en") and directions[5] == ("en", "de")
    assert wmt_test_set("is", "en") == "wmt21" and wmt_test_set("en", "is") == "wmt21"
    assert wmt_test_set("en", "zh") == "wmt22"
