"""Stage-2 training throughput on CPU, tiny scale: the official batching vs this project's (Section 5.2; stack-notes).

Official: every example left-padded to 512 tokens (`padding="max_length"`), unsorted. This project:
right padding to the batch maximum with length-grouped batches (RightPadCollator + group_by_length).
Same examples, same tiny model, same optimizer steps; real (non-pad) tokens per second.
Last line: `speedup: <ratio>` (this project's over the official). No arguments; a few minutes on one core.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch
from transformers import Trainer, TrainingArguments

from alma_core.config import make_config
from alma_core.modeling import TinyBackboneConfig, build_tiny_backbone, load_backbone
from alma_core.objectives import RightPadCollator
from alma_core.stage2 import stage2_datasets

EXAMPLES, MICRO_BATCH, OFFICIAL_LENGTH = 96, 8, 512


def official_batch(features, pad_id):
    """Left padding to 512, labels -100 on pads (official tokenize_function_train_eval_left_pad + default collator)."""
    def left(seq, value):
        return [value] * (OFFICIAL_LENGTH - len(seq)) + list(seq)
    return {"input_ids": torch.tensor([left(f["input_ids"], pad_id) for f in features]),
            "attention_mask": torch.tensor([left(f["attention_mask"], 0) for f in features]),
            "labels": torch.tensor([left(f["labels"], -100) for f in features])}


def measure(model_dir: Path, examples, collator, group: bool, out: str) -> float:
    model, _ = load_backbone(model_dir)
    args = TrainingArguments(output_dir=out, per_device_train_batch_size=MICRO_BATCH, num_train_epochs=1,
                             group_by_length=group, use_cpu=True, report_to=[], disable_tqdm=True,
                             save_strategy="no", logging_strategy="no", remove_unused_columns=False, seed=0)
    trainer = Trainer(model=model, args=args, train_dataset=examples, data_collator=collator)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    return sum(len(e["input_ids"]) for e in examples) / seconds


def main() -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_tiny_backbone(Path(tmp) / "backbone", TinyBackboneConfig())
        _, tokenizer = load_backbone(model_dir)
        cfg = make_config(dict(stage=2, base_model=str(model_dir), output_dir=tmp, max_length=OFFICIAL_LENGTH,
                               language_pairs=["de-en", "en-de", "zh-en", "en-zh"], max_train_examples=EXAMPLES))
        examples, _ = stage2_datasets(cfg, tokenizer)
        lengths = [len(e["input_ids"]) for e in examples]
        print(
            f"{len(examples)} examples, lengths {min(lengths)}-{max(lengths)} (mean "
            f"{sum(lengths) / len(lengths):.0f}), "
            f"micro-batch {MICRO_BATCH}, 1 CPU thread"
        )
        pad = tokenizer.pad_token_id
        official = measure(model_dir, examples, lambda f: official_batch(f, pad), False, tmp + "/a")
        ours = measure(model_dir, examples, RightPadCollator(pad), True, tmp + "/b")
    print(f"official (left-pad to {OFFICIAL_LENGTH}): {official:,.0f} real tok/s")
    print(f"this project (right pad to batch max, length-grouped): {ours:,.0f} real tok/s")
    print(f"speedup: {ours / official:.2f}")


if __name__ == "__main__":
    main()
