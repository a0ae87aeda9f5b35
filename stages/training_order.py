"""GPT-NeoX v1.0 training order: which `seq_len + 1` tokens form training sample i, as Pythia's trainer read them.

This is GPT-NeoX v1.0's `megatron/data/gpt2_dataset.py` (`_build_index_mappings`, `_num_epochs`,
`_build_doc_idx`, `_build_shuffle_idx`, `GPT2Dataset.__getitem__`) and `megatron/data/helpers.cpp`
(`build_sample_idx`), over all documents of a documents file:

1. `tokens_per_epoch = sum(sizes)`; `epochs` = the smallest E ≥ 1 with (E·tokens_per_epoch − 1) // seq_len ≥
num_samples.
2. One `np.random.RandomState(seed)` drives both shuffles, in this order.
3. `doc_idx`: the document ids 0…D−1 tiled `epochs` times (int32), shuffled all together (GPT-NeoX has no
   `separate_last_epoch`; that is Megatron-LM's later change, which gives a different order).
4. `sample_idx` ((total + 1) × 2: position in `doc_idx`, token offset in that document), total =
   (epochs·tokens_per_epoch − 1) // seq_len. Read the shuffled documents as one token stream: row j is
   where token j·seq_len lies (row 0 is (0, 0)). helpers.cpp walks documents one by one to find it;
   here a cumulative sum over the shuffled sizes and `searchsorted` find the rows of `ORDER_BLOCK` documents
   at a time.
5. `shuffle_idx = arange(total)` (uint32; int64 from 2³² − 1 on), shuffled by the same generator.
6. Sample i is row j = shuffle_idx[i]: tokens from row j through row j + 1 inclusive, so consecutive
   rows share one token and every sample has seq_len + 1 tokens. Training step s reads samples
   [s·global_batch, (s+1)·global_batch).

What it costs. A shuffle's permutation depends on the array's length only, so step 3 shuffles each document's
id together with its size, packed in one uint64 (size · 2³² + id), and the shuffled sizes need no second
random read. That shuffle (`RandomState.shuffle`, a Fisher–Yates walk) is the one step whose cost per document
grows with the corpus: each swap reads a random place in the array, a cache miss once the array outgrows the
processor's cache (`benchmarks/training_order.py`, one core: ~20 ns per document at 2 M documents, ~40 ns at
20 M). Every other step reads and writes in order, `ORDER_BLOCK` documents at a time, so its temporaries stay
in the cache.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from pydantic import Field, field_validator, model_validator

from stages.config import StageConfig
from stages.mixture import MIXTURE_PRESETS

NEOX_SAMPLES_MARGIN = 1.005
"""GPT-NeoX asks each dataset for `ceil(train_iters × batch × weight × 1.005)` samples
(`get_normalized_weights_and_num_samples`, used with `train-data-paths` as Pythia's configs do)."""
SAMPLE_IDX_CHUNK = 1 << 22
"""Rows of `sample_idx` located per vectorised step, bounding the temporaries (~100 MiB)."""
ORDER_BLOCK = 1 << 18
"""Documents per vectorised step around the shuffle (ids and sizes packed; ids out, cumulative sizes, rows
found): ~6 MiB of temporaries, which stay in the processor's cache, where arrays of the whole order left it."""
_SIZE_SHIFT = np.uint64(32)
_ID_MASK = np.uint64(0xFFFFFFFF)


class ShardsConfig(StageConfig):
    """Pre-shuffled training sequences of `seq_len + 1` tokens, in GPT-NeoX v1.0 order.

    `seq_len` (default 2048): context length; each sequence holds seq_len + 1 tokens.
    `num_samples` (default None) or `train_iters` (default None), not both: how many sequences.
    `train_iters` gives ceil(train_iters × global_batch × 1.005), as GPT-NeoX computes it; with neither,
    one epoch's worth: (tokens − 1) // seq_len sequences, every document used once.
    `global_batch` (default 1024): sequences per training step (Pythia's 1024).
    `shard_bytes` (default 1 GiB): target size of one sequence shard's `.bin`.
    `sequences` (default true): write the pre-shuffled sequence shards; false for trainers that build the
    order themselves from the documents file (GPT-NeoX, Megatron), halving `tokens/`.
    `mixture` (default `none`): epochs per `pile_set_name` in one pass of training (`stages.mixture`):
    `none` (every document once), `pile` (the Pile paper's Table 1), or a mapping of subset to epochs.
    """

    seq_len: int = Field(2048, ge=1)
    num_samples: int | None = Field(None, ge=1)
    train_iters: int | None = Field(None, ge=1)
    global_batch: int = Field(1024, ge=1)
    shard_bytes: int = Field(1 << 30, ge=1024)
    sequences: bool = True
    mixture: str | dict[str, float] = "none"

    @field_validator("mixture", mode="before")
    @classmethod
    def _known_mixture(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in MIXTURE_PRESETS:
            raise ValueError(f"unknown mixture {value!r}: {', '.join(MIXTURE_PRESETS)}, or epochs by pile_set_name")
        if isinstance(value, dict):
            for name, weight in value.items():
                if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight < 1e6:
                    raise ValueError(f"{name}: epochs must be a number from 0 (got {weight!r})")
        return value

    @model_validator(mode="after")
    def _one_way_to_count(self) -> ShardsConfig:
        if self.num_samples is not None and self.train_iters is not None:
            raise ValueError("shards: give num_samples or train_iters, not both")
        return self


def resolved_num_samples(config: ShardsConfig, tokens_per_epoch: int) -> int:
    """The number of training sequences `config` asks for, given the documents file's token count."""
    if config.num_samples is not None:
        return config.num_samples
    if config.train_iters is not None:
        return math.ceil(config.train_iters * config.global_batch * 1.0 * NEOX_SAMPLES_MARGIN)
    one_epoch = (tokens_per_epoch - 1) // config.seq_len
    if one_epoch < 1:
        raise ValueError(f"{tokens_per_epoch} tokens cannot fill one sequence of {config.seq_len + 1}")
    return one_epoch


def samples_per_shard(config: ShardsConfig, token_itemsize: int) -> int:
    """Sequences per shard: as many whole sequences of `seq_len + 1` tokens as fit in `shard_bytes` (at least 1)."""
    return max(1, config.shard_bytes // ((config.seq_len + 1) * token_itemsize))


def num_epochs(tokens_per_epoch: int, seq_len: int, num_samples: int) -> int:
    """GPT-NeoX `_num_epochs`: the smallest E ≥ 1 with (E·tokens_per_epoch − 1) // seq_len ≥ num_samples."""
    if tokens_per_epoch < 1:
        raise ValueError("the documents hold no tokens")
    return max(1, -(-(num_samples * seq_len + 1) // tokens_per_epoch))


@dataclass(frozen=True)
class TrainingOrder:
    """GPT-NeoX's three index arrays plus what produced them; `total_samples` ≥ the requested `num_samples`."""

    seq_len: int
    seed: int
    num_samples: int
    epochs: int
    tokens_per_epoch: int
    doc_idx: np.ndarray
    """int32 [epochs × documents]: document ids, all epochs shuffled together."""
    sample_idx: np.ndarray
    """int32 (int64 if a value needs it) [total_samples + 1, 2]: (position in doc_idx, token offset)."""
    shuffle_idx: np.ndarray
    """uint32 (int64 from 2³² − 1 samples) [total_samples]: sample i reads row shuffle_idx[i]."""

    @property
    def total_samples(self) -> int:
        return int(self.shuffle_idx.shape[0])


def build_training_order(
    sizes: np.ndarray, seq_len: int, num_samples: int, seed: int, epoch: np.ndarray | None = None
) -> TrainingOrder:
    """GPT-NeoX v1.0's doc_idx, sample_idx and shuffle_idx for documents of `sizes` tokens (with EOD).

    `epoch` (default: every document once, 0…D−1) lists the documents of one pass, repeats included (a
    mixture, `stages.mixture`). The order equals GPT-NeoX's over a documents file holding those documents in
    that sequence, with its doc_idx mapped through `epoch`: a shuffle's permutation depends on the length only.
    """
    sizes = np.asarray(sizes)
    if sizes.ndim != 1 or sizes.dtype.kind not in "iu" or (sizes.size and sizes.min() < 0):
        raise ValueError("sizes must be a 1-D array of non-negative token counts")
    if seq_len < 1 or num_samples < 1:
        raise ValueError(f"seq_len ({seq_len}) and num_samples ({num_samples}) must be positive")
    if sizes.size > np.iinfo(np.int32).max:
        raise ValueError("more documents than GPT-NeoX's int32 doc_idx can hold")
    largest = int(sizes.max()) if sizes.size else 0
    if largest > np.iinfo(np.uint32).max:
        raise ValueError(f"a document of {largest} tokens: sizes must fit in 32 bits (MMIDIDX holds int32)")
    if epoch is not None:
        epoch = np.asarray(epoch, dtype=np.int32)
        if epoch.size > np.iinfo(np.int32).max:
            raise ValueError("more documents in one pass than GPT-NeoX's int32 doc_idx can hold")
        if epoch.size and (epoch.min() < 0 or epoch.max() >= sizes.size):
            raise ValueError(f"epoch names documents outside [0, {sizes.size})")
    epoch_sizes = sizes if epoch is None else sizes[epoch]
    tokens_per_epoch = int(epoch_sizes.sum(dtype=np.int64))
    epochs = num_epochs(tokens_per_epoch, seq_len, num_samples)
    rng = np.random.RandomState(seed)
    documents = _packed_documents(epoch_sizes, epoch, epochs)
    rng.shuffle(documents)
    total = (epochs * tokens_per_epoch - 1) // seq_len
    doc_idx, sample_idx = _unpack_shuffled(documents, seq_len, total, _sample_idx_dtype(documents.size, largest))
    del documents
    shuffle_idx = np.arange(total, dtype=np.uint32 if total < np.iinfo(np.uint32).max - 1 else np.int64)
    rng.shuffle(shuffle_idx)
    return TrainingOrder(seq_len, seed, num_samples, epochs, tokens_per_epoch, doc_idx, sample_idx, shuffle_idx)


def _packed_documents(epoch_sizes: np.ndarray, epoch: np.ndarray | None, epochs: int) -> np.ndarray:
    """GPT-NeoX's doc_idx before its shuffle (the pass's documents, `epochs` times), each id packed with its
    size as size · 2³² + id (uint64), so that one shuffle moves both."""
    count = epoch_sizes.size
    packed = np.empty(count * epochs, dtype=np.uint64)
    for low in range(0, count, ORDER_BLOCK):
        high = min(low + ORDER_BLOCK, count)
        block = packed[low:high]
        block[:] = epoch_sizes[low:high]
        block <<= _SIZE_SHIFT
        block |= np.arange(low, high, dtype=np.uint64) if epoch is None else epoch[low:high].astype(np.uint64)
    for copy in range(1, epochs):
        packed[copy * count : (copy + 1) * count] = packed[:count]
    return packed


def _unpack_shuffled(packed: np.ndarray, seq_len: int, total: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(doc_idx, sample_idx) from the shuffled packed documents, in one pass of `ORDER_BLOCK` documents at a time."""
    doc_idx = np.empty(packed.size, dtype=np.int32)

    def blocks():
        for low in range(0, packed.size, ORDER_BLOCK):
            block = packed[low : low + ORDER_BLOCK]
            doc_idx[low : low + block.size] = block & _ID_MASK
            yield low, (block >> _SIZE_SHIFT).view(np.int64)

    sample_idx = np.empty((total + 1, 2), dtype=dtype)
    _locate_rows(sample_idx, blocks(), seq_len)
    return doc_idx, sample_idx


def build_file_order(sizes: np.ndarray, seq_len: int) -> TrainingOrder:
    """Evaluation sequences in file order: sample i is tokens [i·seq_len, i·seq_len + seq_len] of the documents
    read back to back (consecutive samples share one token, so every token after the first is a target once);
    no shuffle, one epoch, the tokens after the last whole sample left out. The same index arrays as
    `build_training_order`, with doc_idx and shuffle_idx the identity."""
    sizes = np.asarray(sizes)
    tokens = int(sizes.sum(dtype=np.int64))
    total = (tokens - 1) // seq_len
    if total < 1:
        raise ValueError(f"{tokens} tokens cannot fill one sequence of {seq_len + 1}")
    doc_idx = np.arange(sizes.size, dtype=np.int32)
    sample_idx = build_sample_idx(sizes, doc_idx, seq_len, total)
    shuffle_idx = np.arange(total, dtype=np.uint32 if total < np.iinfo(np.uint32).max - 1 else np.int64)
    return TrainingOrder(seq_len, 0, total, 1, tokens, doc_idx, sample_idx, shuffle_idx)


def build_sample_idx(sizes: np.ndarray, doc_idx: np.ndarray, seq_len: int, total: int) -> np.ndarray:
    """helpers.cpp `build_sample_idx`, vectorised: row j = (k, offset) of token j·seq_len in the shuffled stream.

    The document holding token p is the first k whose cumulative end exceeds p (empty documents are
    skipped, as the C++ walk skips them); row 0 is (0, 0) whatever document 0 holds.
    """
    sizes = np.asarray(sizes)
    sample_idx = np.empty((total + 1, 2), dtype=_sample_idx_dtype(doc_idx.size, int(sizes.max()) if sizes.size else 0))
    blocks = ((low, sizes[doc_idx[low : low + ORDER_BLOCK]]) for low in range(0, doc_idx.size, ORDER_BLOCK))
    _locate_rows(sample_idx, blocks, seq_len)
    return sample_idx


def _sample_idx_dtype(positions: int, largest_size: int) -> np.dtype:
    """int32, as helpers.cpp writes it, unless a position in doc_idx or a token offset needs int64."""
    limit = np.iinfo(np.int32).max
    return np.dtype(np.int32 if positions <= limit and largest_size <= limit else np.int64)


def _locate_rows(sample_idx: np.ndarray, blocks: Iterable[tuple[int, np.ndarray]], seq_len: int) -> None:
    """Fill `sample_idx` (rows 0…total) from the shuffled documents' sizes, given in order as blocks of
    (position in doc_idx of the block's first document, sizes). Every block is consumed.

    Row j belongs to the block whose tokens hold token j·seq_len: the rows of a block are found with a
    cumulative sum and `searchsorted` over that block alone.
    """
    total = sample_idx.shape[0] - 1
    sample_idx[0] = 0
    stream_end = 0
    next_row = 1
    for first, sizes in blocks:
        ends = np.cumsum(sizes, dtype=np.int64)
        ends += stream_end
        stream_end = int(ends[-1]) if ends.size else stream_end
        last_row = min(total, (stream_end - 1) // seq_len)
        for low in range(next_row, last_row + 1, SAMPLE_IDX_CHUNK):
            high = min(low + SAMPLE_IDX_CHUNK, last_row + 1)
            token = np.arange(low, high, dtype=np.int64) * seq_len
            k = np.searchsorted(ends, token, side="right")
            sample_idx[low:high, 0] = first + k
            sample_idx[low:high, 1] = token - (ends[k] - sizes[k])
        next_row = max(next_row, last_row + 1)
    if next_row <= total:
        raise ValueError(f"{total} samples of {seq_len} need more than the {stream_end} tokens given")


class DocumentReader(Protocol):
    """What `sample_tokens` reads: per-document token counts and `[doc_id]` → that document's tokens."""

    sizes: np.ndarray

    def __getitem__(self, doc_id: int) -> np.ndarray: ...


@dataclass(frozen=True)
class SamplePieces:
    """The document slices that compose samples, in order: sample `sample[p]` continues with
    tokens `start[p]:end[p]` of document `document[p]` (= doc_idx[position[p]]). Empty slices are left out."""

    sample: np.ndarray
    position: np.ndarray
    document: np.ndarray
    start: np.ndarray
    end: np.ndarray


def sample_pieces(order: TrainingOrder, sizes: np.ndarray, start: int, stop: int) -> SamplePieces:
    """The pieces of samples [start, stop) in training order, as `GPT2Dataset.__getitem__` reads them.

    Sample i reads row j = shuffle_idx[i] to row j + 1: the first document from its offset, whole
    documents in between, and the last document up to and including its offset. Vectorised over the range.
    """
    if not 0 <= start <= stop <= order.total_samples:
        raise ValueError(f"samples [{start}, {stop}) outside [0, {order.total_samples})")
    rows = order.shuffle_idx[start:stop].astype(np.int64)
    first_position = order.sample_idx[rows, 0].astype(np.int64)
    first_offset = order.sample_idx[rows, 1].astype(np.int64)
    last_position = order.sample_idx[rows + 1, 0].astype(np.int64)
    last_offset = order.sample_idx[rows + 1, 1].astype(np.int64)
    counts = last_position - first_position + 1
    group_of = np.repeat(np.arange(rows.size), counts)
    within = np.arange(group_of.size) - np.repeat(np.cumsum(counts) - counts, counts)
    position = first_position[group_of] + within
    document = order.doc_idx[position].astype(np.int64)
    piece_start = np.where(within == 0, first_offset[group_of], 0)
    piece_end = np.where(within == counts[group_of] - 1, last_offset[group_of] + 1, np.asarray(sizes)[document])
    keep = piece_end > piece_start
    return SamplePieces(
        sample=(group_of + start)[keep],
        position=position[keep],
        document=document[keep],
        start=piece_start[keep],
        end=piece_end[keep],
    )


def sample_tokens(order: TrainingOrder, i: int, documents: DocumentReader) -> np.ndarray:
    """Training sample i's `seq_len + 1` tokens, read from the documents file."""
    pieces = sample_pieces(order, documents.sizes, i, i + 1)
    parts = [documents[int(d)][int(s) : int(e)] for d, s, e in zip(pieces.document, pieces.start, pieces.end)]
    tokens = np.concatenate(parts)
    if tokens.size != order.seq_len + 1:
        raise ValueError(
            f"sample {i} has {tokens.size} tokens, expected {order.seq_len + 1}: sizes do not match the order"
        )
    return tokens


def first_documents(order: TrainingOrder, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """(document, token offset in it) where each of samples [start, stop) begins: cheap provenance of a sample."""
    if not 0 <= start <= stop <= order.total_samples:
        raise ValueError(f"samples [{start}, {stop}) outside [0, {order.total_samples})")
    rows = order.shuffle_idx[start:stop].astype(np.int64)
    return order.doc_idx[order.sample_idx[rows, 0]].astype(np.int64), order.sample_idx[rows, 1].astype(np.int64)
