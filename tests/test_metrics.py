"""Metrics: BLEU/chrF equal sacreBLEU's own (right argument order), COMET via the real API offline, off-target rate."""

import math

import pytest
import sacrebleu
import torch

from alma_core.recipe import metrics
from alma_core.recipe.metrics import CometUnavailableError, MetricInputError

DE_HYPS = ["Das Haus ist klein .", "Ich habe heute keine Zeit , sagte er .", "Der Hund schläft im Garten"]
DE_REFS = ["Das Haus ist sehr klein .", "Er sagte , ich habe heute keine Zeit .", "Der Hund schläft im Garten ."]
ZH_HYPS = ["今天天气很好。", "他昨天买了书。"]
ZH_REFS = ["今天天气不错，我们去公园吧。", "昨天他买了一本书。"]


@pytest.mark.parametrize(
    ("tgt", "hyps", "refs", "tok"), [("de", DE_HYPS, DE_REFS, "13a"), ("zh", ZH_HYPS, ZH_REFS, "zh")]
)
def test_bleu_equals_sacrebleu_with_refs_as_references(tgt, hyps, refs, tok):
    ours = metrics.bleu(hyps, refs, tgt)
    theirs = sacrebleu.corpus_bleu(hyps, [refs], tokenize=tok)
    assert ours.score == pytest.approx(theirs.score, abs=1e-9)
    assert f"tok:{tok}" in ours.signature and "nrefs:1" in ours.signature
    swapped = sacrebleu.corpus_bleu(refs, [hyps], tokenize=tok)  # the paper-era official order
    assert abs(swapped.score - ours.score) > 0.5


def test_bleu_tokenizer_matters_for_chinese_and_japanese():
    assert metrics.bleu(ZH_HYPS, ZH_REFS, "zh").score > 10 * max(sacrebleu.corpus_bleu(ZH_HYPS, [ZH_REFS]).score, 0.1)
    ja = metrics.bleu(["今日は良い天気です。"], ["今日は良い天気です。"], "ja")
    assert "tok:ja-mecab" in ja.signature and ja.score == pytest.approx(100.0)


def test_chrf_equals_sacrebleu_and_inputs_are_checked():
    assert metrics.chrf(DE_HYPS, DE_REFS).score == pytest.approx(sacrebleu.corpus_chrf(DE_HYPS, [DE_REFS]).score)
    assert metrics.chrf(DE_HYPS, DE_REFS, "de").signature.startswith("nrefs:1")
    with pytest.raises(MetricInputError, match="3 hypotheses but 2 references"):
        metrics.bleu(DE_HYPS, DE_REFS[:2], "de")
    with pytest.raises(MetricInputError, match="not a single string"):
        metrics.chrf("Das Haus", "Das Haus")
    with pytest.raises(ValueError, match="unknown language code 'xx'"):
        metrics.bleu(DE_HYPS, DE_REFS, "xx")


SAMPLES = {
    "de": "Gestern Abend habe ich ein sehr interessantes Buch über die Geschichte Europas gelesen.",
    "en": "Yesterday evening I read a very interesting book about the history of Europe.",
    "cs": "Včera večer jsem četl velmi zajímavou knihu o dějinách Evropy.",
    "is": "Í gærkvöldi las ég mjög áhugaverða bók um sögu Evrópu.",
    "zh": "昨天晚上我读了一本关于欧洲历史的非常有趣的书。",
    "ru": "Вчера вечером я прочитал очень интересную книгу об истории Европы.",
}


def test_language_id_on_known_languages():
    paper = ("en", "de", "cs", "is", "zh", "ru")
    assert metrics.detect_languages(list(SAMPLES.values()), paper) == list(SAMPLES)
    assert metrics.detect_languages(list(SAMPLES.values())) == list(SAMPLES)  # default: registry codes langid knows


def test_off_target_rate_counts_wrong_language_and_empty_outputs():
    hyps = [SAMPLES["de"], SAMPLES["de"], SAMPLES["en"], SAMPLES["zh"], ""]
    result = metrics.off_target_rate(hyps, "de")
    assert result.score == pytest.approx(3 / 5)
    assert result.labels == ("de", "de", "en", "zh", "")
    assert result.sentence_scores == (0.0, 0.0, 1.0, 1.0, 1.0)
    assert metrics.off_target_rate([SAMPLES["ru"]] * 4, "ru").score == 0.0
    assert metrics.off_target_rate([SAMPLES["en"]] * 4, "ru").score == 1.0
    with pytest.raises(MetricInputError, match="must be among the candidates"):
        metrics.off_target_rate(hyps, "de", candidates=("en", "zh"))
    with pytest.raises(MetricInputError, match="cannot identify"):
        metrics.off_target_rate(hyps, "de", candidates=("de", "tlh"))


COMET_SRC = ["Hello world.", "The cat sleeps.", "Good morning, everyone."]
COMET_REF = ["Hallo Welt.", "Die Katze schläft.", "Guten Morgen, alle zusammen."]
COMET_GOOD = ["Hallo Welt.", "Die Katze schläft.", "Guten Morgen, alle zusammen."]
COMET_BAD = ["Welt Welt Welt", "xx yy zz", "?"]


def test_comet_real_api_on_tiny_checkpoint_is_deterministic(tiny_comet_checkpoint, tmp_path):
    first = metrics.comet(COMET_SRC, COMET_GOOD, COMET_REF, model=tiny_comet_checkpoint, batch_size=2)
    assert len(first.sentence_scores) == 3
    assert first.score == pytest.approx(sum(first.sentence_scores) / 3)
    assert all(math.isfinite(s) for s in first.sentence_scores)
    assert first.extra["comet_version"] and "batch:2" in first.signature
    other = metrics.comet(COMET_SRC, COMET_BAD, COMET_REF, model=tiny_comet_checkpoint.parents[1])  # folder form
    assert other.score != pytest.approx(first.score)
    # A second build from scratch gives the same weights and the same scores.
    from alma_core.standins.tiny_comet import build_tiny_comet

    rebuilt = build_tiny_comet(tmp_path / "again")
    a = torch.load(tiny_comet_checkpoint, weights_only=False)["state_dict"]
    b = torch.load(rebuilt, weights_only=False)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    again = metrics.comet(COMET_SRC, COMET_GOOD, COMET_REF, model=rebuilt, batch_size=2)
    assert again.sentence_scores == first.sentence_scores  # identical, not merely close


def test_comet_default_name_resolves_through_hf_cache(tiny_comet_hub, tiny_comet_checkpoint):
    import comet

    path = comet.download_model("Unbabel/wmt22-comet-da")  # the unchanged production call
    assert str(tiny_comet_hub) in path and path.endswith("checkpoints/model.ckpt")
    via_hub = metrics.comet(COMET_SRC, COMET_GOOD, COMET_REF)
    local = metrics.comet(COMET_SRC, COMET_GOOD, COMET_REF, model=tiny_comet_checkpoint)
    assert via_hub.sentence_scores == local.sentence_scores
    assert via_hub.extra["model"] == "Unbabel/wmt22-comet-da"


def test_comet_unavailable_error_says_how_to_provide_it(monkeypatch, tmp_path):
    from fixtures.comet import point_hub_cache

    point_hub_cache(monkeypatch, tmp_path / "empty_hf_home")
    with pytest.raises(CometUnavailableError) as info:
        metrics.comet(COMET_SRC, COMET_GOOD, COMET_REF)
    message = str(info.value)
    assert "'Unbabel/wmt22-comet-da' is not available offline" in message
    assert "HF_HOME" in message and "HF_HUB_OFFLINE=0" in message and "checkpoint path" in message
    with pytest.raises(CometUnavailableError, match="no file or folder at"):
        metrics.comet(COMET_SRC, COMET_GOOD, COMET_REF, model=str(tmp_path / "nope" / "model.ckpt"))
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(CometUnavailableError, match="has no checkpoints/model.ckpt"):
        metrics.comet(COMET_SRC, COMET_GOOD, COMET_REF, model=tmp_path / "emptydir")
