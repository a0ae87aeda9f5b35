"""The training mixture: how many times each document of a subset (`pile_set_name`) enters one pass of training.

A mixture gives each subset a weight in epochs, w = k + f (k whole, 0 ≤ f < 1). Every document of the
subset appears k times; the fractional part adds one more appearance to a seeded sample of the subset's
documents, drawn by tokens: the subset's documents in a random order from a generator of the subset's own
(seeded by the run's seed and the subset's name), the shortest prefix holding at least f × the subset's
tokens. So a subset's tokens in one pass are w × its tokens, plus less than one of its documents, and
adding or re-weighting one subset never moves another subset's sample. Subsets a mixture does not name
keep weight 1. The mixture is a repeat count per document; `none` is 1 everywhere (today's order).

The `pile` preset is the Pile's own upsampling: the epochs per component of Table 1 of Gao et al. 2020,
"The Pile: An 800GB Dataset of Diverse Text for Language Modeling" (arXiv:2101.00027), with its raw size
(GiB), from which the table's effective share of each component follows.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

import numpy as np

MIXTURE_PRESETS = ("none", "pile")

PILE_TABLE_1: dict[str, tuple[float, float]] = {
    "Pile-CC": (227.12, 1.0),
    "PubMed Central": (90.27, 2.0),
    "Books3": (100.96, 1.5),
    "OpenWebText2": (62.77, 2.0),
    "ArXiv": (56.21, 2.0),
    "Github": (95.16, 1.0),
    "FreeLaw": (51.15, 1.5),
    "StackExchange": (32.20, 2.0),
    "USPTO Backgrounds": (22.90, 2.0),
    "PubMed Abstracts": (19.26, 2.0),
    "Gutenberg (PG-19)": (10.88, 2.5),
    "OpenSubtitles": (12.98, 1.5),
    "Wikipedia (en)": (6.38, 3.0),
    "DM Mathematics": (7.75, 2.0),
    "Ubuntu IRC": (5.52, 2.0),
    "BookCorpus2": (6.30, 1.5),
    "EuroParl": (4.59, 2.0),
    "HackerNews": (3.90, 2.0),
    "YoutubeSubtitles": (3.73, 2.0),
    "PhilPapers": (2.38, 2.0),
    "NIH ExPorter": (1.89, 2.0),
    "Enron Emails": (0.88, 2.0),
}
"""The Pile paper's Table 1, per `pile_set_name`: (raw size in GiB, epochs)."""


def pile_paper_shares() -> dict[str, float]:
    """Each component's share of the Pile as trained (Table 1's effective size: raw GiB × epochs, normalised)."""
    effective = {name: raw * epochs for name, (raw, epochs) in PILE_TABLE_1.items()}
    total = sum(effective.values())
    return {name: size / total for name, size in effective.items()}


def mixture_weights(mixture: str | Mapping[str, float], names: list[str]) -> dict[str, float]:
    """The weight (epochs) of each subset in `names` under `mixture` (a preset name or weights by subset)."""
    if mixture == "none":
        given: Mapping[str, float] = {}
    elif mixture == "pile":
        given = {name: epochs for name, (_, epochs) in PILE_TABLE_1.items()}
    elif isinstance(mixture, Mapping):
        given = mixture
    else:
        raise ValueError(f"unknown mixture {mixture!r}: one of {', '.join(MIXTURE_PRESETS)} or weights by subset")
    return {name: float(given.get(name, 1.0)) for name in names}


def subset_generator(seed: int, name: str) -> np.random.Generator:
    """The random generator of one subset's fractional sample: its own stream, from the seed and the name."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, zlib.crc32(name.encode())])))


def mixture_repeats(
    subset: np.ndarray, names: list[str], sizes: np.ndarray, weights: Mapping[str, float], seed: int
) -> np.ndarray:
    """How many times each document enters one pass of training (int32, one per document; when every weight is
    1, a read-only array of ones that takes no memory).

    `subset[i]` is the index in `names` of document i's subset; `sizes` its tokens; `weights` by name.
    """
    subset = np.asarray(subset)
    sizes = np.asarray(sizes)
    if subset.shape != sizes.shape:
        raise ValueError(f"{subset.size} subset codes for {sizes.size} documents")
    for name in names:
        if weights[name] < 0:
            raise ValueError(f"mixture weight of {name!r} is negative ({weights[name]})")
    if all(weights[name] == 1.0 for name in names):
        return np.broadcast_to(np.int32(1), sizes.shape)
    repeats = np.ones(sizes.size, dtype=np.int32)
    for code, name in enumerate(names):
        weight = weights[name]
        if weight == 1.0:
            continue
        members = np.flatnonzero(subset == code)
        whole = int(np.floor(weight))
        repeats[members] = whole
        fraction = weight - whole
        if fraction == 0 or members.size == 0:
            continue
        members = subset_generator(seed, name).permutation(members)
        member_sizes = sizes[members].astype(np.int64)
        target = fraction * float(member_sizes.sum())
        taken = min(members.size, int(np.searchsorted(np.cumsum(member_sizes), target, side="left")) + 1)
        repeats[members[:taken]] += 1
    return repeats
