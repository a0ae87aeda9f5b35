"""GPT-NeoX v1.0 training order against a slow, line-by-line transcription of GPT-NeoX's code.

The oracle below follows `megatron/data/gpt2_dataset.py` (`_num_epochs`, `_build_doc_idx`,
`_build_shuffle_idx`, `GPT2Dataset.__getitem__`) and `megatron/data/helpers.cpp` (`build_sample_idx`)
statement by statement, one sample and one document at a time.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from stages import training_order
from stages.training_order import (
    ShardsConfig,
    build_file_order,
    build_training_order,
    num_epochs,
    resolved_num_samples,
    sample_pieces,
    sample_tokens,
    samples_per_shard,
)

# ---------------------------------------------------------------- the oracle


def neox_num_epochs(tokens_per_epoch, seq_length, num_samples):
    num_epochs = 0
    total_tokens = 0
    while True:
        num_epochs += 1
        total_tokens += tokens_per_epoch
        if ((total_tokens - 1) // seq_length) >= num_samples:
            return num_epochs


def neox_build_doc_idx(documents, num_epochs, np_rng):
    doc_idx = np.mgrid[0:num_epochs, 0 : len(documents)][1]
    doc_idx[:] = documents
    doc_idx = doc_idx.reshape(-1)
    doc_idx = doc_idx.astype(np.int32)
    np_rng.shuffle(doc_idx)
    return doc_idx


def helpers_build_sample_idx(sizes, doc_idx, seq_length, num_epochs, tokens_per_epoch):
    num_samples = (num_epochs * tokens_per_epoch - 1) // seq_length
    sample_idx = np.zeros(2 * (num_samples + 1), dtype=np.int32)
    sample_index = 0
    doc_idx_index = 0
    doc_offset = 0
    sample_idx[2 * sample_index] = doc_idx_index
    sample_idx[2 * sample_index + 1] = doc_offset
    sample_index += 1
    while sample_index <= num_samples:
        remaining_seq_length = seq_length + 1
        while remaining_seq_length != 0:
            doc_id = doc_idx[doc_idx_index]
            doc_length = int(sizes[doc_id]) - doc_offset
            remaining_seq_length -= doc_length
            if remaining_seq_length <= 0:
                doc_offset += remaining_seq_length + doc_length - 1
                remaining_seq_length = 0
            else:
                doc_idx_index += 1
                doc_offset = 0
        sample_idx[2 * sample_index] = doc_idx_index
        sample_idx[2 * sample_index + 1] = doc_offset
        sample_index += 1
    return sample_idx.reshape(num_samples + 1, 2)


def neox_build_shuffle_idx(size, np_rng):
    dtype_ = np.uint32
    if size >= (np.iinfo(np.uint32).max - 1):
        dtype_ = np.int64
    shuffle_idx = np.arange(start=0, stop=size, step=1, dtype=dtype_)
    np_rng.shuffle(shuffle_idx)
    return shuffle_idx


def neox_index_mappings(sizes, num_samples, seq_length, seed):
    documents = np.arange(start=0, stop=len(sizes), step=1, dtype=np.int32)
    tokens_per_epoch = int(np.sum(sizes[documents]))
    epochs = neox_num_epochs(tokens_per_epoch, seq_length, num_samples)
    np_rng = np.random.RandomState(seed=seed)
    doc_idx = neox_build_doc_idx(documents, epochs, np_rng)
    sample_idx = helpers_build_sample_idx(sizes, doc_idx, seq_length, epochs, tokens_per_epoch)
    shuffle_idx = neox_build_shuffle_idx(sample_idx.shape[0] - 1, np_rng)
    return epochs, tokens_per_epoch, doc_idx, sample_idx, shuffle_idx


def neox_getitem(doc_idx, sample_idx, shuffle_idx, documents, idx):
    """`GPT2Dataset.__getitem__` with `indexed_dataset.get(i, offset, length)` as list slicing."""
    idx = shuffle_idx[idx]
    doc_index_f = sample_idx[idx][0]
    doc_index_l = sample_idx[idx + 1][0]
    offset_f = sample_idx[idx][1]
    offset_l = sample_idx[idx + 1][1]
    if doc_index_f == doc_index_l:
        return documents[doc_idx[doc_index_f]][offset_f : offset_f + (offset_l - offset_f + 1)]
    sample_list = [documents[doc_idx[doc_index_f]][offset_f:]]
    for i in range(doc_index_f + 1, doc_index_l):
        sample_list.append(documents[doc_idx[i]])
    sample_list.append(documents[doc_idx[doc_index_l]][: offset_l + 1])
    return [t for part in sample_list for t in part]


class Documents:
    """A documents file in memory: document d's tokens are distinct numbers, so any misplacement shows."""

    def __init__(self, sizes):
        self.sizes = np.asarray(sizes, dtype=np.int32)
        starts = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])
        self.tokens = [np.arange(s, s + n, dtype=np.int64) for s, n in zip(starts, self.sizes)]

    def __getitem__(self, doc_id):
        return self.tokens[doc_id]


# ---------------------------------------------------------------- corpora


def random_corpus(rng: np.random.Generator, seq_len: int) -> np.ndarray:
    kind = rng.integers(0, 5)
    n = int(rng.integers(1, 25))
    if kind == 0:  # tiny documents, many empty
        sizes = rng.integers(0, 4, size=n)
    elif kind == 1:  # documents longer than a sequence
        sizes = rng.integers(seq_len, 4 * seq_len + 3, size=n)
    elif kind == 2:  # exact multiples of seq_len and of seq_len + 1
        sizes = rng.choice([seq_len, 2 * seq_len, seq_len + 1, 2 * (seq_len + 1), 1], size=n)
    elif kind == 3:  # mixed
        sizes = rng.integers(0, 3 * seq_len, size=n)
    else:  # one document only
        sizes = rng.integers(1, 5 * seq_len, size=1)
    if sizes.sum() == 0:
        sizes[0] = 1
    return sizes.astype(np.int32)


def test_equals_gpt_neox_on_many_random_corpora():
    rng = np.random.default_rng(2024)
    for case in range(400):
        seq_len = int(rng.integers(1, 18))
        sizes = random_corpus(rng, seq_len)
        num_samples = int(rng.integers(1, 60))
        seed = int(rng.integers(0, 2**32))
        order = build_training_order(sizes, seq_len, num_samples, seed)
        epochs, tokens, doc_idx, sample_idx, shuffle_idx = neox_index_mappings(sizes, num_samples, seq_len, seed)
        context = f"case {case}: sizes={sizes.tolist()} seq_len={seq_len} num_samples={num_samples} seed={seed}"
        assert (order.epochs, order.tokens_per_epoch) == (epochs, tokens), context
        assert order.doc_idx.dtype == np.int32 and np.array_equal(order.doc_idx, doc_idx), context
        assert order.sample_idx.dtype == np.int32 and np.array_equal(order.sample_idx, sample_idx), context
        assert order.shuffle_idx.dtype == np.uint32 and np.array_equal(order.shuffle_idx, shuffle_idx), context
        assert order.total_samples >= num_samples


def test_sample_tokens_equal_gpt2dataset_getitem():
    rng = np.random.default_rng(11)
    for _ in range(60):
        seq_len = int(rng.integers(1, 12))
        sizes = random_corpus(rng, seq_len)
        num_samples = int(rng.integers(1, 40))
        seed = int(rng.integers(0, 1000))
        documents = Documents(sizes)
        order = build_training_order(sizes, seq_len, num_samples, seed)
        for i in range(num_samples):
            expected = neox_getitem(order.doc_idx, order.sample_idx, order.shuffle_idx, documents, i)
            got = sample_tokens(order, i, documents)
            assert got.tolist() == [int(t) for t in expected]
            assert got.size == seq_len + 1


def test_consecutive_rows_share_one_token_and_cover_the_stream():
    sizes = np.array([5, 0, 9, 1, 1, 17, 0, 3], dtype=np.int32)
    seq_len = 4
    order = build_training_order(sizes, seq_len, 12, seed=1234)
    documents = Documents(sizes)
    sample_of_row = np.argsort(order.shuffle_idx)
    rows = [sample_tokens(order, int(sample_of_row[j]), documents) for j in range(order.num_samples)]
    for previous, current in zip(rows, rows[1:]):
        assert previous[-1] == current[0]
    stream = np.concatenate([documents[d] for d in order.doc_idx])
    assert np.array_equal(np.concatenate([rows[0]] + [r[1:] for r in rows[1:]]), stream[: 1 + seq_len * len(rows)])


def test_pieces_of_a_range_equal_the_samples_one_by_one():
    rng = np.random.default_rng(5)
    sizes = rng.integers(0, 40, size=200).astype(np.int32)
    documents = Documents(sizes)
    order = build_training_order(sizes, 16, 300, seed=7)
    pieces = sample_pieces(order, sizes, 40, 260)
    assert np.all(pieces.end > pieces.start)
    assert np.array_equal(pieces.document, order.doc_idx[pieces.position])
    lengths = np.bincount(pieces.sample - 40, weights=pieces.end - pieces.start, minlength=220)
    assert np.all(lengths == 17)
    flat = np.concatenate([documents[d][s:e] for d, s, e in zip(pieces.document, pieces.start, pieces.end)])
    expected = np.concatenate([sample_tokens(order, i, documents) for i in range(40, 260)])
    assert np.array_equal(flat, expected)
    empty = sample_pieces(order, sizes, 10, 10)
    assert empty.sample.size == 0
    with pytest.raises(ValueError, match="outside"):
        sample_pieces(order, sizes, 0, order.total_samples + 1)


def test_a_pile_shaped_corpus_matches():
    """Pile-like shape (many documents, seq_len 2048), checked row by row against helpers.cpp."""
    rng = np.random.default_rng(0)
    sizes = np.minimum(rng.lognormal(6.5, 1.5, size=20_000), 200_000).astype(np.int32) + 1
    seq_len = 2048
    num_samples = int(sizes.sum()) * 3 // seq_len // 2  # 1.5 epochs, as Pythia deduped
    order = build_training_order(sizes, seq_len, num_samples, seed=1234)
    epochs, _, doc_idx, sample_idx, shuffle_idx = neox_index_mappings(sizes, num_samples, seq_len, 1234)
    assert order.epochs == epochs == 2
    assert np.array_equal(order.doc_idx, doc_idx)
    assert np.array_equal(order.sample_idx, sample_idx)
    assert np.array_equal(order.shuffle_idx, shuffle_idx)


@pytest.mark.parametrize("block, rows", [(1, 1), (2, 3), (5, 2), (64, 7)])
def test_blocks_of_documents_give_the_same_arrays(monkeypatch, block, rows):
    """After the shuffle the documents are read ORDER_BLOCK at a time and rows found SAMPLE_IDX_CHUNK at a time:
    rows, empty documents and epochs that straddle a block's edge still give GPT-NeoX's arrays, for the
    training order, an order over a pass with repeats, and the file order."""
    monkeypatch.setattr(training_order, "ORDER_BLOCK", block)
    monkeypatch.setattr(training_order, "SAMPLE_IDX_CHUNK", rows)
    rng = np.random.default_rng(block)
    for case in range(150):
        seq_len = int(rng.integers(1, 18))
        sizes = random_corpus(rng, seq_len)
        num_samples = int(rng.integers(1, 60))
        seed = int(rng.integers(0, 2**32))
        context = f"case {case}: sizes={sizes.tolist()} seq_len={seq_len} num_samples={num_samples} seed={seed}"
        order = build_training_order(sizes, seq_len, num_samples, seed)
        _, _, doc_idx, sample_idx, shuffle_idx = neox_index_mappings(sizes, num_samples, seq_len, seed)
        assert np.array_equal(order.doc_idx, doc_idx), context
        assert order.sample_idx.dtype == np.int32 and np.array_equal(order.sample_idx, sample_idx), context
        assert np.array_equal(order.shuffle_idx, shuffle_idx), context
        epoch = np.repeat(np.arange(sizes.size), rng.integers(0, 3, sizes.size))
        if sizes[epoch].sum() > 0:
            order = build_training_order(sizes, seq_len, num_samples, seed, epoch)
            _, _, doc_idx, sample_idx, shuffle_idx = neox_index_mappings(sizes[epoch], num_samples, seq_len, seed)
            assert np.array_equal(order.doc_idx, epoch[doc_idx]), context
            assert np.array_equal(order.sample_idx, sample_idx), context
        if (sizes.sum() - 1) // seq_len >= 1:
            file_order = build_file_order(sizes, seq_len)
            expected = helpers_build_sample_idx(sizes, np.arange(sizes.size), seq_len, 1, int(sizes.sum()))
            assert np.array_equal(file_order.sample_idx, expected), context


def test_a_pile_shaped_corpus_in_many_blocks_matches(monkeypatch):
    """Two epochs of 20,000 documents in blocks of 1,000 against helpers.cpp row by row."""
    monkeypatch.setattr(training_order, "ORDER_BLOCK", 1000)
    rng = np.random.default_rng(3)
    sizes = np.minimum(rng.lognormal(6.5, 1.5, size=20_000), 200_000).astype(np.int32) + 1
    sizes[rng.integers(0, sizes.size, 500)] = 0
    num_samples = int(sizes.sum()) * 3 // 2048 // 2
    order = build_training_order(sizes, 2048, num_samples, seed=1234)
    _, _, doc_idx, sample_idx, shuffle_idx = neox_index_mappings(sizes, num_samples, 2048, 1234)
    assert np.array_equal(order.doc_idx, doc_idx)
    assert np.array_equal(order.sample_idx, sample_idx)
    assert np.array_equal(order.shuffle_idx, shuffle_idx)


def test_epochs_are_the_smallest_that_suffice():
    assert num_epochs(10, 3, 3) == 1  # (10 - 1) // 3 = 3
    assert num_epochs(10, 3, 4) == 2  # (20 - 1) // 3 = 6
    assert num_epochs(10, 3, 6) == 2
    assert num_epochs(10, 3, 7) == 3
    assert num_epochs(1, 1, 1) == 2  # one token cannot fill a 2-token sample
    for tokens in range(1, 40):
        for seq_len in range(1, 9):
            for n in range(1, 30):
                assert num_epochs(tokens, seq_len, n) == neox_num_epochs(tokens, seq_len, n)
    with pytest.raises(ValueError, match="no tokens"):
        build_training_order(np.zeros(4, dtype=np.int32), 4, 1, 0)


def test_resolved_num_samples():
    # Pythia: 143,000 iterations of 1,024 → 147,164,160 samples (REFERENCE.md).
    assert resolved_num_samples(ShardsConfig(train_iters=143_000), 10**12) == 147_164_160
    assert resolved_num_samples(ShardsConfig(train_iters=3, global_batch=7), 10**6) == math.ceil(21 * 1.005) == 22
    assert resolved_num_samples(ShardsConfig(num_samples=5), 10**6) == 5
    assert resolved_num_samples(ShardsConfig(seq_len=4), 21) == 5  # one epoch: (21 - 1) // 4
    order = build_training_order(np.array([10, 11], dtype=np.int32), 4, 5, seed=3)
    assert order.epochs == 1 and order.total_samples == 5
    with pytest.raises(ValueError, match="cannot fill one sequence"):
        resolved_num_samples(ShardsConfig(seq_len=2048), 2048)


def test_samples_per_shard():
    assert samples_per_shard(ShardsConfig(), 2) == 262_016  # floor(2**30 / 4098)
    assert samples_per_shard(ShardsConfig(seq_len=3, shard_bytes=1024), 4) == 64
    assert samples_per_shard(ShardsConfig(seq_len=4096, shard_bytes=1024), 4) == 1


def test_shards_config_validation():
    with pytest.raises(ValidationError, match="not both"):
        ShardsConfig(num_samples=10, train_iters=10)
    with pytest.raises(ValidationError, match="seq_length"):
        ShardsConfig(seq_length=2048)
    with pytest.raises(ValidationError):
        ShardsConfig(seq_len=0)
    assert ShardsConfig().seq_len == 2048 and ShardsConfig().global_batch == 1024


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="non-negative"):
        build_training_order(np.array([3, -1]), 2, 1, 0)
    with pytest.raises(ValueError, match="non-negative"):
        build_training_order(np.array([1.5, 2.0]), 2, 1, 0)
    with pytest.raises(ValueError, match="positive"):
        build_training_order(np.array([3, 4]), 2, 0, 0)
    with pytest.raises(ValueError, match="outside"):
        build_training_order(np.array([3, 4]), 2, 1, 0, np.array([0, 2]))
    with pytest.raises(ValueError, match="32 bits"):
        build_training_order(np.array([3, 2**32]), 2, 1, 0)
    documents = Documents([3, 4])
    order = build_training_order(documents.sizes, 2, 2, 0)
    with pytest.raises(ValueError, match="sizes do not match"):
        sample_tokens(order, 0, Documents([2, 4]))
