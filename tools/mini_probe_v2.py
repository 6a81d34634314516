"""Probe of initial conditions for the mini world v2 (issue 20): does the backbone start where LLaMA-2 starts?

Not part of the test suite, and not a comparison: no stage 1 or stage 2 is run. It writes a v2 world (the
`world:` block of tools/mini_world_v2.yaml; --control removes its bilingual content), builds the backbone as the mini
book does (`alma_core.standins.tiny_backbone.build_tiny_backbone`, corpus: pretraining) at a model size and
pretraining budget, and measures the paper's starting facts (Sec. 2, Tables 1-3 zero-shot rows):
zero-shot BLEU xx->en and en->xx (the paper's prompt, beam 5), the off-target share of en->xx output, and
the per-language perplexity of held-out monolingual documents. Run on the shared CPU as

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python tools/mini_probe_v2.py --root /tmp/probe --hidden 64 --layers 2 \
        --steps 10000 --pretraining-documents 360000 [--control]

Prints one JSON line per measurement and writes them all with --json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alma_core.io import atomic_write_json, read_yaml_mapping  # noqa: E402
from alma_core.standins.mini_world_data import world_settings, write_world  # noqa: E402
from alma_core.standins.starting_point import starting_point  # noqa: E402
from alma_core.standins.tiny_backbone import TinyBackboneConfig, build_tiny_backbone  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Write the world, build the backbone, measure its starting point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=ROOT / "tools/mini_world_v2.yaml")
    parser.add_argument("--root", type=Path, required=True, help="where the world and the backbone go")
    parser.add_argument("--control", action="store_true", help="the file's control world (no bilingual content)")
    parser.add_argument("--pretraining-documents", type=int, default=None, help="override the corpus size")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--vocab", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=10000)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--test", type=int, default=100)
    parser.add_argument("--xx", default="de,cs,zh,ru")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    params = read_yaml_mapping(args.params, "probe params")
    spec = {**params["world"], **(params.get("control", {}) if args.control else {})}
    if args.pretraining_documents is not None:
        spec["pretraining_documents"] = args.pretraining_documents
    cfg, sizes = world_settings(spec)
    records: list[dict[str, Any]] = []

    def emit(**record: Any) -> None:
        records.append(record)
        print(json.dumps(record, ensure_ascii=False), flush=True)

    t = time.perf_counter()
    world = args.root / "world"
    if not (world / "pretraining.jsonl").exists():
        write_world(world, cfg, **sizes)
    emit(event="world", spec=spec, seconds=round(time.perf_counter() - t, 1))
    t = time.perf_counter()
    backbone_cfg = TinyBackboneConfig(vocab_size=args.vocab, hidden_size=args.hidden, intermediate_size=3 * args.hidden,
                                      num_layers=args.layers, num_heads=4, pretrain_steps=args.steps,
                                      pretrain_batch_size=16, pretrain_block_size=128, pretrain_lr=args.lr,
                                      corpus="pretraining", corpus_dir=str(world))
    path = build_tiny_backbone(args.root / "backbones", backbone_cfg)
    info = json.loads((path / "backbone.json").read_text())
    losses = info["pretrain_losses"]
    emit(event="pretrain", parameters=info["parameters"], steps=len(losses), tokens=len(losses) * 16 * 128,
         loss_first=round(losses[0], 3), loss_last=round(sum(losses[-50:]) / 50, 3),
         seconds=round(time.perf_counter() - t, 1))
    t = time.perf_counter()
    emit(event="starting-point", **starting_point(str(path), cfg, args.xx.split(","), test=args.test),
         seconds=round(time.perf_counter() - t, 1))
    if args.json is not None:
        atomic_write_json(args.json, records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
