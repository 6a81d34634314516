"""Padding-free stage 2 (alma_core.runs.stage2.PackedCollator, Sec. 5.2): packed and unpacked batches train the same.

Measured on the tiny backbone in fp32, 12 examples: packed rows vs right-padded, the loss is bit-identical on sdpa and
eager (4.8e-7 apart for the flat layout) and the largest gradient difference is 1.5e-7 (sdpa), 7.4e-8 (eager, flat)
relative to the largest gradient; the tests assert 1e-5.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from alma_core.io import read_json
from alma_core.recipe.objectives import IGNORE_INDEX, RightPadCollator
from alma_core.runs.config import make_config
from alma_core.runs.stage2 import (
    OfficialPadCollator,
    PackedCollator,
    block_causal_mask,
    pack_rows,
    packing_layout,
    stage2_collators,
    stage2_datasets,
)
from alma_core.runs.train import run_training

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def examples(tiny_backbone_dir, tiny_tokenizer):
    cfg = make_config(dict(stage=2, base_model=str(tiny_backbone_dir), output_dir="-", max_length=512,
                           language_pairs=["de-en", "en-de", "zh-en"], max_train_examples=24))
    train, _ = stage2_datasets(cfg, tiny_tokenizer)
    return train


def _model(tiny_backbone_dir, implementation: str):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_backbone_dir, attn_implementation=implementation,
                                                 dtype=torch.float32)
    return model.train()  # a training forward (dropout is 0): a KV cache is built under the default use_cache


def _loss_and_grads(model, batch) -> tuple[float, dict[str, torch.Tensor]]:
    model.zero_grad()
    loss = model(**batch).loss
    loss.backward()
    return loss.item(), {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


def test_pack_rows_fills_few_balanced_rows():
    rows = pack_rows([100, 90, 80, 70, 30, 20, 10], 200)
    assert sorted(i for row in rows for i in row) == list(range(7))
    loads = [sum([100, 90, 80, 70, 30, 20, 10][i] for i in row) for row in rows]
    assert len(rows) == 2 and max(loads) <= 200 and max(loads) - min(loads) <= 20
    assert pack_rows([120, 120, 120], 128) == [[0], [1], [2]]  # nothing fits twice: one row each
    assert all(row == sorted(row) for row in rows)  # examples keep their order inside a row
    with pytest.raises(ValueError, match="max_length=64"):
        pack_rows([65], 64)


@pytest.mark.parametrize("implementation", ["sdpa", "eager"])
def test_packed_loss_and_gradients_equal_unpacked(tiny_backbone_dir, tiny_tokenizer, examples, implementation):
    """Same 12 examples: right-padded (one row each) vs packed rows of <= 256 tokens; same loss, same gradients."""
    model = _model(tiny_backbone_dir, implementation)
    layout = packing_layout(model.config)
    assert layout == {"sdpa": "rows_bool", "eager": "rows_additive"}[implementation]
    features = examples[:12]
    padded = RightPadCollator(tiny_tokenizer.pad_token_id)(features)
    packed = PackedCollator(tiny_tokenizer.pad_token_id, 256, layout)(features)
    assert packed["input_ids"].shape[0] < len(features)  # really packed: fewer rows than examples
    assert int((packed["labels"] != IGNORE_INDEX).sum()) == int((padded["labels"] != IGNORE_INDEX).sum())
    loss_a, grads_a = _loss_and_grads(model, padded)
    loss_b, grads_b = _loss_and_grads(model, packed)
    assert abs(loss_a - loss_b) < TOLERANCE
    scale = max(g.abs().max().item() for g in grads_a.values())
    worst = max((grads_a[n] - grads_b[n]).abs().max().item() for n in grads_a) / scale
    assert worst < TOLERANCE, worst


def test_flat_layout_matches_unpacked(tiny_backbone_dir, tiny_tokenizer, examples):
    """'flat' (flash attention's varlen layout): one row, no padding; here checked on sdpa, which reads restarting
    position_ids only without a KV cache (use_cache=False); flash attention reads them (or cu_seq_lens) always."""
    model = _model(tiny_backbone_dir, "sdpa")
    features = examples[:6]
    flat = PackedCollator(tiny_tokenizer.pad_token_id, 128, "flat")(features)
    assert flat["input_ids"].shape == (1, sum(len(f["input_ids"]) for f in features))
    assert flat["cu_seq_lens_q"].tolist()[-1] == flat["input_ids"].shape[1]
    padded = RightPadCollator(tiny_tokenizer.pad_token_id)(features)
    loss_a, grads_a = _loss_and_grads(model, padded)
    inputs = {k: flat[k] for k in ("input_ids", "labels", "position_ids")}
    loss_b, grads_b = _loss_and_grads(model, {**inputs, "use_cache": False})
    assert abs(loss_a - loss_b) < TOLERANCE
    scale = max(g.abs().max().item() for g in grads_a.values())
    assert max((grads_a[n] - grads_b[n]).abs().max().item() for n in grads_a) / scale < TOLERANCE


@pytest.mark.parametrize("implementation", ["sdpa", "eager"])
def test_changing_one_example_leaves_the_others_logits(tiny_backbone_dir, tiny_tokenizer, examples, implementation):
    model = _model(tiny_backbone_dir, implementation).eval()
    features = [dict(e) for e in examples[:4]]
    collate = PackedCollator(tiny_tokenizer.pad_token_id, 512, packing_layout(model.config))
    before = collate(features)
    assert before["input_ids"].shape[0] == 1  # all four in one row
    changed = [dict(f) for f in features]
    changed[1]["input_ids"] = [changed[1]["input_ids"][0]] + [7] * (len(changed[1]["input_ids"]) - 1)
    after = collate(changed)
    with torch.no_grad():
        a, b = model(**before).logits[0], model(**after).logits[0]
    starts = [0, *torch.tensor([len(f["input_ids"]) for f in features]).cumsum(0).tolist()]
    for i in range(4):
        span = slice(starts[i], starts[i + 1])
        same = torch.equal(a[span], b[span])
        assert same == (i != 1), i  # only the changed example's logits move
    # and each example's logits are those it gets alone
    with torch.no_grad():
        alone = model(input_ids=torch.tensor([features[2]["input_ids"]])).logits[0]
    assert (alone - a[starts[2]:starts[3]]).abs().max().item() < 1e-4


def test_native_position_ids_alone_leak_across_examples(tiny_backbone_dir, tiny_tokenizer, examples):
    """Why the collator builds a 4D mask: transformers 4.57 ignores restarting position_ids on sdpa whenever a KV cache
    exists (a training forward with the default use_cache=True), and the second example attends to the first."""
    model = _model(tiny_backbone_dir, "sdpa")
    features = examples[:2]
    batch = PackedCollator(tiny_tokenizer.pad_token_id, 512, "rows_bool")(features)
    n = len(features[0]["input_ids"])
    with torch.no_grad():
        masked = model(**batch).logits[0, n:]
        native = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits[0, n:]
        alone = model(input_ids=torch.tensor([features[1]["input_ids"]])).logits[0]
    assert (masked - alone).abs().max().item() < 1e-4
    assert (native - alone).abs().max().item() > 1e-3


def test_padding_attends_to_padding_only():
    mask = block_causal_mask(torch.tensor([[0, 0, 1, -1, -1]]))
    allowed = mask[0, 0]
    assert allowed[2].tolist() == [False, False, True, False, False]  # example 1 sees only itself
    assert allowed[4].tolist() == [False, False, False, True, True]  # padding: no fully blocked row
    additive = block_causal_mask(torch.tensor([[0, 1]]), additive=True)[0, 0]
    assert additive[1, 0].item() == torch.finfo(torch.float32).min and additive[1, 1].item() == 0.0


def test_stage2_collators_choose_by_config_and_model(tiny_backbone_dir):
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(tiny_backbone_dir)
    config._attn_implementation = "sdpa"
    base = dict(stage=2, base_model="-", output_dir="-", language_pairs=["de-en"])
    train, valid, note = stage2_collators(make_config(base), 0, config)
    assert isinstance(train, PackedCollator) and isinstance(valid, RightPadCollator) and "padding-free" in note
    train, _, note = stage2_collators(make_config({**base, "packing": False}), 0, config)
    assert isinstance(train, RightPadCollator) and "packing: false" in note
    train, _, note = stage2_collators(make_config({**base, "objective": "prefix_lm"}), 0, config)
    assert isinstance(train, RightPadCollator) and "prefix_lm" in note
    config._attn_implementation = "flash_attention_2"
    assert packing_layout(config) == "flat"
    config.model_type = "bloom"  # ALiBi from a 2D mask: right padding instead
    assert packing_layout(config) is None


def _run(tiny_backbone_dir, out, **kw):
    values = dict(stage=2, base_model=str(tiny_backbone_dir), output_dir=str(out), language_pairs=["de-en", "en-de"],
                  max_steps=3, global_batch_size=8, micro_batch_size=4, max_length=256, max_train_examples=32,
                  max_eval_examples=8, logging_steps=1, learning_rate=1e-3, eval_every=0.5, save_total_limit=None,
                  group_by_length=False)
    return run_training(make_config({**values, **kw}))


def test_packed_run_trains_and_validates_like_the_unpacked_one(tiny_backbone_dir, tmp_path):
    """Same order (no length grouping either way), same steps: per-step losses, validation losses, best checkpoint
    and real-token counts agree; only the batching differs."""
    packed = _run(tiny_backbone_dir, tmp_path / "packed")
    padded = _run(tiny_backbone_dir, tmp_path / "padded", packing=False)
    a, b = read_json(packed.run_json), read_json(padded.run_json)
    assert a["batching"].startswith("padding-free") and b["batching"].startswith("right padding")
    assert a["tokens_seen"] == b["tokens_seen"] > 0  # real tokens, not padding
    state_a = read_json(packed.output_dir / "checkpoint-3" / "trainer_state.json")["log_history"]
    state_b = read_json(padded.output_dir / "checkpoint-3" / "trainer_state.json")["log_history"]
    for key in ("loss", "grad_norm", "eval_loss"):
        xs, ys = [h[key] for h in state_a if key in h], [h[key] for h in state_b if key in h]
        assert len(xs) == len(ys) > 0 and all(math.isclose(x, y, rel_tol=1e-4) for x, y in zip(xs, ys)), (key, xs, ys)
    assert Path(a["best_checkpoint"]).name == Path(b["best_checkpoint"]).name


def test_validation_loss_is_the_unpacked_one(tiny_backbone_dir, tmp_path):
    """The eval collator stays right-padding when training packs: evaluate() of one model gives one eval_loss."""
    from transformers import AutoTokenizer, TrainingArguments

    from alma_core.runs.trainer import trainer_class

    model = _model(tiny_backbone_dir, "sdpa")
    tokenizer = AutoTokenizer.from_pretrained(tiny_backbone_dir)
    cfg = make_config(dict(stage=2, base_model=str(tiny_backbone_dir), output_dir=str(tmp_path),
                           language_pairs=["de-en"], max_length=256, max_eval_examples=8))
    _, valid = stage2_datasets(cfg, tokenizer)
    args = TrainingArguments(output_dir=str(tmp_path), per_device_eval_batch_size=4, use_cpu=True, report_to=[],
                             remove_unused_columns=False)
    losses = []
    for collators in (stage2_collators(cfg, tokenizer.pad_token_id, model.config)[:2],
                      (RightPadCollator(tokenizer.pad_token_id),) * 2):
        trainer = trainer_class()(model=model, args=args, eval_dataset=valid, data_collator=collators[0],
                                  eval_data_collator=collators[1])
        losses.append(trainer.evaluate()["eval_loss"])
    assert isinstance(stage2_collators(cfg, tokenizer.pad_token_id, model.config)[0], PackedCollator)
    assert losses[0] == losses[1]


@pytest.mark.parametrize("side", ["left", "right"])
def test_official_pad_to_512_batches_train_the_same_loss(tiny_backbone_dir, tiny_tokenizer, examples, side):
    """OfficialPadCollator (the benchmarks' baseline): every example padded to 512, same loss as packed."""
    model = _model(tiny_backbone_dir, "sdpa")
    features = examples[:4]
    official = OfficialPadCollator(tiny_tokenizer.pad_token_id, 512, side)(features)
    assert official["input_ids"].shape == (4, 512)
    assert (official["input_ids"][:, 0 if side == "right" else -1] != tiny_tokenizer.pad_token_id).all()
    packed = PackedCollator(tiny_tokenizer.pad_token_id, 512, "rows_bool")(features)
    with torch.no_grad():
        assert abs(model(**official).loss.item() - model(**packed).loss.item()) < 1e-4
    with pytest.raises(ValueError, match="max_length=16"):
        OfficialPadCollator(0, 16)(features)
