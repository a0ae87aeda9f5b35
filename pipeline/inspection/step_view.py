"""`pileline inspect`: the sequences of one training step, decoded, with the documents each one spans."""

from __future__ import annotations

from pathlib import Path

import orjson

from pipeline.formats.order_file import load_training_order
from pipeline.formats.run_directory import RunDirectory
from pipeline.formats.run_layout import MANIFEST
from pipeline.formats.token_reader import DocumentShards, SequenceShards
from stages.tokenize import TokenizeConfig, load_tokenizer
from stages.training_order import sample_pieces


def describe_step(
    run_dir: str, step: int, batch_size: int | None, row: int | None, show_tokens: bool, chars: int
) -> str:
    """A readable account of training step `step`: per row, the sample, its documents and its text."""
    sequences = SequenceShards(run_dir)
    documents = DocumentShards(run_dir)
    resolved = orjson.loads((Path(run_dir) / MANIFEST).read_bytes())["manifest"]
    size = batch_size or sequences.global_batch
    batch = sequences.batch(step, size)
    meta = sequences.meta
    order, sizes = load_training_order(RunDirectory(run_dir), meta["seq_len"], meta["seed"], meta)
    tokenizer = load_tokenizer(TokenizeConfig.model_validate(resolved["tokenize"]))
    rows = range(size) if row is None else [row]
    lines = [
        f"step {step}: samples {step * size}–{(step + 1) * size - 1} of {len(sequences)} (batch {size}, "
        f"{meta['tokens_per_sample']} tokens each)"
    ]
    for r in rows:
        if not 0 <= r < size:
            raise IndexError(f"row {r} outside [0, {size})")
        sample = step * size + r
        pieces = sample_pieces(order, sizes, sample, sample + 1)
        lines.append(f"\n── row {r} · sample {sample}")
        for document, start, end in zip(pieces.document, pieces.start, pieces.end):
            info = documents.info(int(document))
            lines.append(
                f"   tokens {start}–{end - 1} of document {document} ({info['tokens']} tokens): "
                f"{info['pile_set_name']} · {info['source']}:{info['line']} · doc_id {info['doc_id']}"
            )
        tokens = batch[r]
        if show_tokens:
            lines.append("   " + " ".join(str(t) for t in tokens.tolist()))
        else:
            text = tokenizer.decode(tokens.tolist())
            shown = text if len(text) <= chars else text[:chars] + f"… (+{len(text) - chars} chars)"
            lines.append("   " + repr(shown))
    return "\n".join(lines)
