"""Stage 1's monolingual stream (Section 4.1, App. D.1): documents mixed by language ratio, packed into blocks.

Each rank reads and tokenizes only its own shard; the position of every rank is saved with each checkpoint
(`stream_state.json`), so a resumed run goes on where the stream stood instead of reading it again.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alma_core.io import atomic_write_json, read_json
from alma_core.recipe.data import monolingual_path, read_monolingual, word_count
from alma_core.recipe.objectives import prompt_start_ids
from alma_core.recipe.oscar import stream_oscar
from alma_core.recipe.sampling import DEFAULT_FIXED, interleave, temperature_ratios
from alma_core.runs.config import TrainConfig, monolingual_data_root, oscar_pattern
from alma_core.runs.trainer import StageData

__all__ = [
    "stage1_data",
    "word_counts",
    "language_mix",
    "STREAM_STATE",
    "StreamPosition",
    "monolingual_ratios",
    "packed_blocks",
    "stream_dataset",
    "stream_starts",
    "stream_state_callback",
]

STREAM_STATE = "stream_state.json"  # stage-1 stream position saved in every checkpoint folder
_log = logging.getLogger(__name__)


def word_counts(root: str | Path, langs: Sequence[str]) -> dict[str, float]:
    """Words of each language's monolingual file under `root` (App. D.1's D_l; Table 5 counts words)."""
    return {lang: float(word_count(read_monolingual(monolingual_path(root, lang)), lang)) for lang in langs}


def language_mix(sizes: Mapping[str, float], temperature: float = 6.0) -> dict[str, float]:
    """THE stage-1 language mix (App. D.1): English fixed at 1/6, the rest by temperature sampling on `sizes`; what
    training draws from, and what the Sec. 4 and App. D chapters show. Used by sec4_recipe, appD_sampling."""
    return temperature_ratios(sizes, temperature=temperature, fixed=DEFAULT_FIXED)


def monolingual_ratios(cfg: TrainConfig) -> dict[str, float]:
    """The stage-1 language mix of a run: the file's ratios, else `language_mix` of its data's word counts."""
    if cfg.monolingual_ratios is not None:
        return dict(cfg.monolingual_ratios)
    return language_mix(word_counts(monolingual_data_root(cfg), cfg.monolingual_langs), cfg.temperature)


def _document_sources(cfg: TrainConfig, rank: int = 0, world_size: int = 1) -> dict[str, Any]:
    """Per-language document streams of one rank: its share of the OSCAR shards, or every world_size-th line of a
    file."""
    if cfg.monolingual_source == "oscar":
        pattern = oscar_pattern(cfg)
        return {lang: (lambda lang=lang: stream_oscar(lang, data_files=pattern, rank=rank, world_size=world_size))
                for lang in cfg.monolingual_langs}
    root = monolingual_data_root(cfg)
    texts = {lang: read_monolingual(monolingual_path(root, lang))[rank::world_size] for lang in cfg.monolingual_langs}
    return {lang: (lambda lang=lang: iter(texts[lang])) for lang in cfg.monolingual_langs}


@dataclass(frozen=True)
class StreamPosition:
    """Where a rank's stage-1 stream stands: `blocks` yielded; the next starts at token `offset` of document `docs`."""

    blocks: int = 0
    docs: int = 0
    offset: int = 0


def _advance(lengths: deque[int], position: StreamPosition, tokens: int) -> StreamPosition:
    """Move a position `tokens` tokens on; `lengths` holds the unread tokens of the documents from `position.docs`."""
    docs, offset = position.docs, position.offset
    while tokens > 0 and lengths:
        if lengths[0] <= tokens:
            tokens -= lengths.popleft()
            docs, offset = docs + 1, 0
        else:
            lengths[0] -= tokens
            offset, tokens = offset + tokens, 0
    return StreamPosition(position.blocks + 1, docs, offset)


def packed_blocks(
    cfg: TrainConfig,
    tokenizer: Any,
    seed: int,
    *,
    rank: int = 0,
    world_size: int = 1,
    start: StreamPosition = StreamPosition(),
    track: dict[int, StreamPosition] | None = None,
) -> Iterator[dict]:
    """Endless stage-1 blocks of one rank: documents drawn by language ratio, BOS doc EOS packed into max_length blocks
    (Section 4.1).

    The block layout is that of `objectives.pack_documents`, streamed so that billions of tokens need no memory.
    `start` resumes the stream: the documents before it are skipped without tokenizing. `track[n]`, when given,
    receives the position after block n (the last 65,536 are kept) for the stream state saved with checkpoints.
    """
    start_ids = prompt_start_ids(tokenizer)  # BOS where the tokenizer adds one (LLaMA), none for MPT/Falcon (Sec. 4.1)
    docs = interleave(_document_sources(cfg, rank, world_size), monolingual_ratios(cfg), seed + rank, skip=start.docs)
    carry: list[int] = []
    lengths: deque[int] = deque()
    position, trim = start, start.offset
    while True:
        for _, doc in itertools.islice(docs, 64):
            ids = (
                [*start_ids, *tokenizer(doc, add_special_tokens=False)["input_ids"], tokenizer.eos_token_id]
                if doc.strip()
                else []
            )
            ids, trim = ids[trim:], 0
            carry += ids
            lengths.append(len(ids))
        while len(carry) >= cfg.max_length:
            ids, carry = carry[: cfg.max_length], carry[cfg.max_length :]
            position = _advance(lengths, position, cfg.max_length)
            if track is not None:
                track[position.blocks] = position
                track.pop(position.blocks - 65_536, None)
            yield {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": list(ids)}


def stream_dataset(cfg: TrainConfig, tokenizer: Any, world_size: int, starts: Sequence[StreamPosition],
                   tracks: dict[int, dict[int, StreamPosition]]) -> Any:
    """The stage-1 stream as a `datasets.IterableDataset` with one shard per rank (Section 4.1).

    accelerate gives each rank its own shard (`dispatch_batches=False`), so every rank reads and tokenizes only
    its documents instead of rank 0 doing it for all; `starts[rank]` resumes a rank, `tracks[rank]` follows it.
    """
    from datasets import IterableDataset

    def generate(ranks: list[int]) -> Iterator[dict]:
        for rank in ranks:
            track = tracks.setdefault(rank, {starts[rank].blocks: starts[rank]})
            yield from packed_blocks(
                cfg, tokenizer, cfg.seed, rank=rank, world_size=world_size, start=starts[rank], track=track
            )

    return IterableDataset.from_generator(generate, gen_kwargs={"ranks": list(range(world_size))})


def stream_starts(cfg: TrainConfig, checkpoint: str | None, world_size: int) -> tuple[list[StreamPosition], str]:
    """Each rank's stage-1 stream position saved in `checkpoint` (Sec. 4.1), and a note; the beginning when there is
    none."""
    fresh = [StreamPosition()] * world_size
    if checkpoint is None:
        return fresh, "from the beginning"
    path = Path(checkpoint) / STREAM_STATE
    if not path.is_file():
        return fresh, f"from the beginning: {path} is missing (the data already trained on is read again)"
    state = read_json(path)
    expect = {"world_size": world_size, "seed": cfg.seed, "max_length": cfg.max_length,
              "monolingual_langs": list(cfg.monolingual_langs)}
    differ = {k: (state.get(k), v) for k, v in expect.items() if state.get(k) != v}
    if differ:
        return fresh, f"from the beginning: {path} was saved with other settings (saved, now: {differ})"
    return [StreamPosition(**r) for r in state["ranks"]], f"from {path} ({state['ranks'][0]['blocks']} blocks per rank)"


def stream_state_callback(cfg: TrainConfig, plan: dict[str, int], tracks: dict[int, dict[int, StreamPosition]]) -> Any:
    """Writes stream_state.json into every checkpoint: each rank's stage-1 stream position at that step (Section
    4.1)."""
    from transformers import TrainerCallback

    class StreamStateCallback(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):  # noqa: ANN001
            import torch.distributed as dist

            blocks = state.global_step * plan["micro_batch_size"] * plan["gradient_accumulation_steps"]
            mine = [t.get(blocks) for t in tracks.values()]
            mine = [p.__dict__ if p is not None else None for p in mine] or [None]
            ranks = [None] * plan["world_size"] if dist.is_available() and dist.is_initialized() else [mine]
            if dist.is_available() and dist.is_initialized():
                dist.all_gather_object(ranks, mine)
            if not state.is_world_process_zero:
                return
            positions = [p for per_rank in ranks for p in per_rank]
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if any(p is None for p in positions) or len(positions) != plan["world_size"]:
                _log.warning("%s: no stream position for block %d on every rank; a resume reads the stream again",
                             folder, blocks)
                return
            atomic_write_json(folder / STREAM_STATE, {
                "world_size": plan["world_size"], "seed": cfg.seed, "max_length": cfg.max_length,
                "monolingual_langs": list(cfg.monolingual_langs), "ranks": positions})

    return StreamStateCallback()


def stage1_data(cfg: TrainConfig, tokenizer: Any, plan: dict[str, int], last: str | None) -> StageData:
    """Stage 1 (Sec. 4.1): the monolingual stream, resumed where the checkpoint left it, and held-out blocks."""
    notes: dict[str, Any] = {}
    max_steps = cfg.max_steps or math.ceil(cfg.train_tokens / (cfg.global_batch_size * cfg.max_length))
    starts, notes["stream"] = stream_starts(cfg, last, plan["world_size"])
    tracks: dict[int, dict[int, StreamPosition]] = {}
    train_set = stream_dataset(cfg, tokenizer, plan["world_size"], starts, tracks)
    eval_set = list(itertools.islice(packed_blocks(cfg, tokenizer, cfg.seed + 10_007), cfg.eval_blocks))
    counts = {"train_tokens_planned": max_steps * cfg.global_batch_size * cfg.max_length,
              "language_ratios": monolingual_ratios(cfg)}
    notes["model_handed_on"] = "final model (stage 1 never loads its best checkpoint: its validation blocks " \
                               "come from the training stream)"
    return StageData(train_set, eval_set, counts, notes, [stream_state_callback(cfg, plan, tracks)], max_steps)
