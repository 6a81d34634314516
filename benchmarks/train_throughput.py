"""Stage-2 training throughput on CPU, tiny scale: the official batching vs this project's (Section 5.2; stack-notes).

Official: every example left-padded to 512 tokens (`alma_core.runs.stage2.OfficialPadCollator`), unsorted. This
project: padding-free stage 2 as `run_training` builds it (`alma_core.runs.stage2.stage2_collators`: each micro-batch's
examples packed into rows of at most 512 tokens, per-example positions and a block-diagonal causal mask;
`TrainConfig.packing`).
Same examples, same tiny model, same micro-batch of examples, same optimizer steps, same random order; real
(non-pad) tokens per second, the first step of each epoch untimed. The sides alternate, one epoch at a time, for
ROUNDS rounds (>= 10 s timed for the faster side), so a change in the load of a shared CPU hits both. `speedup:`
divides tokens per CPU second of this process (one thread), which other processes on the machine barely move;
the wall-time ratio is printed above it (equal on an idle machine). No arguments; about 2 minutes on an idle core.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch
from transformers import TrainerCallback, TrainingArguments
from transformers.trainer_callback import PrinterCallback

from alma_core.runs.config import make_config
from alma_core.runs.modeling import load_backbone
from alma_core.runs.stage2 import OfficialPadCollator, stage2_collators, stage2_datasets
from alma_core.runs.trainer import trainer_class
from alma_core.standins.tiny_backbone import TinyBackboneConfig, build_tiny_backbone

EXAMPLES, MICRO_BATCH, OFFICIAL_LENGTH, ROUNDS = 192, 8, 512, 20


class StepClock(TrainerCallback):
    """Wall and CPU seconds from the end of the first (warm-up) optimizer step to the end of training."""

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
        if state.global_step == 1:
            self.start = (time.perf_counter(), time.process_time())

    def on_train_end(self, args, state, control, **kwargs):  # noqa: ANN001
        self.wall, self.cpu = time.perf_counter() - self.start[0], time.process_time() - self.start[1]


def one_epoch(model_dir: Path, examples, collator, out: str) -> tuple[float, float, float]:
    """(real tokens, wall s, CPU s) of one epoch over `examples` in seeded random order, the first step untimed."""
    model, _ = load_backbone(model_dir)
    args = TrainingArguments(output_dir=out, per_device_train_batch_size=MICRO_BATCH, num_train_epochs=1,
                             group_by_length=False, use_cpu=True, report_to=[], disable_tqdm=True,
                             save_strategy="no", logging_strategy="no", remove_unused_columns=False, seed=0)
    clock, batches = StepClock(), []

    def counted(features):  # noqa: ANN001, ANN202
        batches.append(sum(len(f["input_ids"]) for f in features))
        return collator(features)

    trainer = trainer_class()(model=model, args=args, train_dataset=examples, data_collator=counted,
                              callbacks=[clock])
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    assert sum(batches) == sum(len(e["input_ids"]) for e in examples)  # one epoch, every example once
    return sum(batches[1:]), clock.wall, clock.cpu


def main() -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_tiny_backbone(Path(tmp) / "backbone", TinyBackboneConfig())
        model, tokenizer = load_backbone(model_dir)
        cfg = make_config(dict(stage=2, base_model=str(model_dir), output_dir=tmp, max_length=OFFICIAL_LENGTH,
                               micro_batch_size=MICRO_BATCH, language_pairs=["de-en", "en-de", "zh-en", "en-zh"],
                               max_train_examples=EXAMPLES))
        examples, _ = stage2_datasets(cfg, tokenizer)
        lengths = [len(e["input_ids"]) for e in examples]
        mean = sum(lengths) / len(lengths)
        print(f"{len(examples)} examples, lengths {min(lengths)}-{max(lengths)} (mean {mean:.0f}), micro-batch "
              f"{MICRO_BATCH}, {ROUNDS} interleaved rounds of one epoch per side, 1 CPU thread, "
              f"{model.config._attn_implementation} attention")
        pad = tokenizer.pad_token_id
        packed, _, note = stage2_collators(cfg, pad, model.config)
        sides = {"official": OfficialPadCollator(pad, OFFICIAL_LENGTH), "ours": packed}
        totals = {side: [0.0, 0.0, 0.0] for side in sides}
        for r in range(ROUNDS):  # interleaved, so a change in the shared CPU's load hits both sides
            for side, collator in sides.items():
                for i, value in enumerate(one_epoch(model_dir, examples, collator, f"{tmp}/{side}{r}")):
                    totals[side][i] += value
    (tok_a, wall_a, cpu_a), (tok_b, wall_b, cpu_b) = totals["official"], totals["ours"]
    print(f"official (left-pad to {OFFICIAL_LENGTH}, unsorted): {tok_a / wall_a:,.0f} real tok/s over {wall_a:.1f} s "
          f"wall ({tok_a / cpu_a:,.0f} per CPU second)")
    print(f"this project ({note}): {tok_b / wall_b:,.0f} real tok/s over {wall_b:.1f} s wall "
          f"({tok_b / cpu_b:,.0f} per CPU second)")
    print(f"wall-time ratio: {(tok_b / wall_b) / (tok_a / wall_a):.2f}")
    print(f"speedup: {(tok_b / cpu_b) / (tok_a / cpu_a):.2f}")


if __name__ == "__main__":
    main()
