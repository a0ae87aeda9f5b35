"""`pileline inspect`: the sequences of one training step, decoded, with the documents each one spans."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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
    if not 0 <= step < sequences.steps(size):
        raise IndexError(f"step {step} outside [0, {sequences.steps(size)}) at batch size {size}")
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
        # Without sequence shards (shards.sequences: false) the sample is cut from the documents, as GPT-NeoX does.
        if sequences.shards:
            tokens = sequences[sample]
        else:
            spans = zip(pieces.document, pieces.start, pieces.end)
            tokens = np.concatenate([documents[int(d)][s:e] for d, s, e in spans])
        if show_tokens:
            lines.append("   " + " ".join(str(t) for t in tokens.tolist()))
        else:
            text = tokenizer.decode(tokens.tolist())
            shown = text if len(text) <= chars else text[:chars] + f"… (+{len(text) - chars} chars)"
            lines.append("   " + repr(shown))
    return "\n".join(lines)
