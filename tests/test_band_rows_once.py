"""The band-keys task computes each distinct text's rows once (`_OncePerText`): repeated texts, within one
partition or across the task's partitions, get exactly the rows a direct computation gives."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipeline.phases.dedup import _OncePerText
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

    once = _OncePerText(counted)
    for batch in batches:
        column = pa.chunked_array([pa.array(batch, pa.string())])
        got = once(column, pa.chunked_array([text_hashes(column)]))
        assert got.dtype == np.uint64 and np.array_equal(got, _keys(batch)), batch
    assert computed == [0, 6, 2, 0]


def test_texts_whose_hashes_share_only_the_first_word_get_their_own_rows():
    """The lookup goes by the hash's first word; two texts that share it (a 2^-64 chance) are told apart."""
    batch = [TEXTS[0], TEXTS[1], TEXTS[2], TEXTS[1]]
    words = np.array([[7, 1], [7, 2], [9, 3], [7, 2]], dtype=np.uint64)  # 0 and 1 share the first word
    hashes = pa.chunked_array([pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), 4, [None, pa.py_buffer(words)])])
    once = _OncePerText(_keys)
    column = pa.chunked_array([pa.array(batch, pa.string())])
    assert np.array_equal(once(column, hashes), _keys(batch))
    later = [TEXTS[1], TEXTS[0], TEXTS[2]]
    later_words = pa.py_buffer(words[[1, 0, 2]].copy())
    later_hashes = pa.chunked_array([pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), 3, [None, later_words])])
    assert np.array_equal(once(pa.chunked_array([pa.array(later, pa.string())]), later_hashes), _keys(later))
