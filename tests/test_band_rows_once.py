"""The band-keys task computes each distinct text of a partition once (`_once_per_text`): repeated texts get
exactly the rows a direct computation gives."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipeline.phases.dedup import _once_per_text
from stages.dedup import DedupConfig
from stages.exact_copies import text_hashes
from stages.lsh import band_keys
from stages.minhash import signatures

TEXTS = [f"document {i} says " + " ".join(f"w{(i * 7 + j) % 50}" for j in range(40)) for i in range(12)]
CONFIG = DedupConfig(num_perm=32, seed=5)


def _keys(texts) -> np.ndarray:
    return band_keys(signatures(texts, CONFIG, columns=20), 4, 5)


def test_repeated_texts_get_their_first_occurrences_rows():
    batches = [
        [],
        TEXTS[:6] + [TEXTS[2], TEXTS[2]],
        [TEXTS[4], TEXTS[7], TEXTS[0], TEXTS[7], TEXTS[8]],
        [TEXTS[1], TEXTS[7]],
    ]
    computed: list[int] = []

    def counted(texts) -> np.ndarray:
        computed.append(len(texts))
        return _keys(texts)

    for batch in batches:
        column = pa.chunked_array([pa.array(batch, pa.string())])
        got = _once_per_text(counted, column, pa.chunked_array([text_hashes(column)]))
        assert got.dtype == np.uint64 and np.array_equal(got, _keys(batch)), batch
    assert computed == [0, 6, 4, 2]


def test_texts_whose_hashes_share_only_the_first_word_get_their_own_rows():
    """Texts are told apart by the whole 128-bit hash, not its first word."""
    batch = [TEXTS[0], TEXTS[1], TEXTS[2], TEXTS[1]]
    words = np.array([[7, 1], [7, 2], [9, 3], [7, 2]], dtype=np.uint64)  # 0 and 1 share the first word
    hashes = pa.chunked_array([pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), 4, [None, pa.py_buffer(words)])])
    column = pa.chunked_array([pa.array(batch, pa.string())])
    assert np.array_equal(_once_per_text(_keys, column, hashes), _keys(batch))
