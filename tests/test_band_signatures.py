"""The band-keys task computes each distinct text's signature once (`_SignaturesOnce`): repeated texts, within
one partition or across the task's partitions, get exactly the signatures a direct computation gives."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from pipeline.phases import dedup as dedup_phase
from pipeline.phases.dedup import _SignaturesOnce
from stages.dedup import DedupConfig
from stages.exact_copies import text_hashes
from stages.minhash import signatures

TEXTS = [f"document {i} says " + " ".join(f"w{(i * 7 + j) % 50}" for j in range(40)) for i in range(12)]


def _batch(texts: list[str]) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    column = pa.chunked_array([pa.array(texts, pa.string())])
    return column, pa.chunked_array([text_hashes(column)])


@pytest.mark.parametrize("columns", [None, 20])
def test_repeated_texts_get_their_first_occurrences_signatures(columns, monkeypatch):
    config = DedupConfig(num_perm=32, seed=5)
    first = TEXTS[:6] + [TEXTS[2], TEXTS[2]]
    second = [TEXTS[4], TEXTS[7], TEXTS[0], TEXTS[7], TEXTS[8]]
    third = [TEXTS[1], TEXTS[7]]
    computed: list[int] = []
    original = dedup_phase.signatures

    def counting(texts, config, **kwargs):
        computed.append(len(texts))
        return original(texts, config, **kwargs)

    monkeypatch.setattr(dedup_phase, "signatures", counting)
    once = _SignaturesOnce(config, columns)
    for batch in (first, second, third):
        got = once(*_batch(batch))
        assert np.array_equal(got, signatures(batch, config, columns=columns)), batch
    assert computed == [6, 2, 0]
