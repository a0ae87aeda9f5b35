"""Decontamination of training documents with lm-evaluation-harness's Janitor semantics.

For each document with at least one eval n-gram (see `stages.eval_ngrams`), the pieces kept are
cut as `Janitor.clean_python` cuts them: every matched n-gram is cut out with `window_to_remove` characters on
each side, pieces of `minimum_slice_length` characters or fewer are dropped (the last piece is kept
from `minimum_slice_length` characters on, as the Janitor's slicing does), and a document with more
than `too_dirty_cutoff` matches, or with no piece left, is dropped whole. A document without a match
is left as it is (the Janitor would also return nothing for one shorter than `minimum_slice_length`;
that is a length filter, not decontamination, and is not applied).

Which n-grams are matches is `match`'s rule. `janitor`: the Janitor's own (the training text split on
whitespace, each n-gram normalised), exactly `clean_python`'s. `harness`: the n-grams lm-evaluation-harness's
overlap check sees (`get_train_overlap` and its 13-gram files normalise the training text first and split
after, so a word made only of punctuation does not break an n-gram), each mapped to the characters from its
first word to its last. `both` (the default): an occurrence found by either rule is a match, counted once
toward `too_dirty_cutoff`. Every Janitor occurrence is also a harness occurrence at the same characters, so
`both` and `harness` find the same matches; a run under either passes both checks. The outcome counts the
matches the Janitor's rule finds apart from those only the harness's rule finds.

A cleaned document stays one document (one `doc_id` per input line): its pieces joined by
`PIECE_SEPARATOR`. Joining, or cutting a word at a piece's edge, can in rare cases make a new
n-gram that matches; the joined text is then cleaned again until no match is left, so no kept
document contains an eval n-gram.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
from pydantic import Field, field_validator

from stages.batch import StageResult, with_reasons
from stages.config import StageConfig
from stages.eval_ngrams import EvalNgrams, find_matches

PIECE_SEPARATOR = "\n\n"
REASON_PREFIX = "decontaminate:"


class DecontaminateConfig(StageConfig):
    """Eval sets by name (paths, globs or URIs of jsonl, jsonl.gz, jsonl.zst or Parquet files with a `text` field)
    (one path or a list), the match rule and the Janitor's parameters."""

    sets: dict[str, list[str]] = Field(default_factory=dict)
    match: Literal["janitor", "harness", "both"] = "both"
    ngram_n: int = Field(13, ge=1)
    window_to_remove: int = Field(200, ge=0)
    too_dirty_cutoff: int = Field(10, ge=0)
    minimum_slice_length: int = Field(200, ge=0)
    delete_chars: str = string.punctuation

    @property
    def enabled(self) -> bool:
        return bool(self.sets)

    @field_validator("sets", mode="before")
    @classmethod
    def _one_path_is_a_list(cls, value: object) -> object:
        if isinstance(value, dict):
            return {name: [paths] if isinstance(paths, str) else paths for name, paths in value.items()}
        return value

    @property
    def normalise_first(self) -> bool:
        """Whether matches are searched in the harness's form (a superset of the Janitor's)."""
        return self.match != "janitor"

    @field_validator("sets")
    @classmethod
    def _sets_named_and_given(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if len(value) > 64:
            raise ValueError(f"at most 64 sets, got {len(value)}")
        for name, paths in value.items():
            if not name or not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
                raise ValueError(f"set name {name!r}: use letters, digits, '_', '-' or '.'")
            if not paths or any(not p.strip() for p in paths):
                raise ValueError(f"set {name!r}: give at least one path, none blank")
        return value

    @field_validator("delete_chars")
    @classmethod
    def _no_whitespace(cls, value: str) -> str:
        if any(c.isspace() or not c.isascii() or not c.isprintable() for c in value):
            raise ValueError("delete_chars must be printable ASCII characters other than whitespace")
        return value


def janitor_pieces(text: str, starts: list[int], ends: list[int], config: DecontaminateConfig) -> list[str]:
    """`Janitor._split_chunks`: the pieces of `text` left by matches at characters `starts[i]..ends[i]` (inclusive)."""
    pieces: list[str] = []
    splice = 0
    end = -1
    for i, (start, end) in enumerate(zip(starts, ends)):
        if i >= config.too_dirty_cutoff:
            return []
        start = max(0, start - config.window_to_remove)
        end = min(len(text), end + config.window_to_remove)
        if start - splice > config.minimum_slice_length:
            pieces.append(text[splice:start])
        splice = end
    if end < len(text) - config.minimum_slice_length:
        pieces.append(text[end + 1 :])
    return pieces


@dataclass(frozen=True)
class DocOutcome:
    """What decontamination did to one document with a match: its set, text (None: dropped), counts.

    `chars_removed` is the document's length in characters minus the kept text's (separators included);
    `janitor_matches` the matches of `matched_ngrams` that the Janitor's rule finds too.
    """

    row: int
    set_name: str
    text: str | None
    matched_ngrams: int
    janitor_matches: int
    chars_removed: int
    first_match: tuple[int, int]


def decontaminate_texts(
    texts: list[str] | pa.Array, index: EvalNgrams, config: DecontaminateConfig
) -> list[DocOutcome]:
    """The outcome of every text with at least one eval n-gram (texts without one are unchanged).

    Each round cuts the Janitor's pieces out of the texts still matching and joins them; the joined
    texts are searched again together, until none matches.
    """
    matches = find_matches(texts, index, config.normalise_first)
    groups = matches.by_doc()
    originals = {row: texts[row] if isinstance(texts[row], str) else texts[row].as_py() for row in groups}
    sets = {row: _set_of(matches.set_mask[span], index.set_names) for row, span in groups.items()}
    first = {row: (int(matches.start[span.start]), int(matches.end[span.start])) for row, span in groups.items()}
    found = {row: span.stop - span.start for row, span in groups.items()}
    by_janitor = {row: int(matches.janitor[span].sum()) for row, span in groups.items()}
    current: dict[int, str | None] = dict(originals)
    while groups:
        joined = {}
        for row, span in groups.items():
            pieces = janitor_pieces(current[row], matches.start[span].tolist(), matches.end[span].tolist(), config)
            current[row] = PIECE_SEPARATOR.join(pieces) if pieces else None
            if pieces:
                joined[row] = current[row]
        rows = list(joined)
        matches = find_matches(list(joined.values()), index, config.normalise_first)
        groups = {rows[position]: span for position, span in matches.by_doc().items()}
        for row, span in groups.items():
            found[row] += span.stop - span.start
            by_janitor[row] += int(matches.janitor[span].sum())
    return [
        DocOutcome(
            row,
            sets[row],
            current[row],
            found[row],
            by_janitor[row],
            len(originals[row]) - len(current[row] or ""),
            first[row],
        )
        for row in originals
    ]


def _set_of(masks: np.ndarray, set_names: tuple[str, ...]) -> str:
    """The set with most matched n-grams among `masks` (the first name on ties)."""
    if len(set_names) == 1:
        return set_names[0]
    counts = ((masks[:, None] >> np.arange(len(set_names), dtype=np.uint64)) & np.uint64(1)).sum(axis=0)
    return set_names[int(np.argmax(counts))]


def decontaminate_batch(
    batch: pa.Table, index: EvalNgrams, config: DecontaminateConfig
) -> tuple[StageResult, list[DocOutcome]]:
    """Clean `batch`'s texts: kept rows (cleaned texts replaced), dropped rows with `decontaminate:<set>`, outcomes."""
    outcomes = decontaminate_texts(batch.column("text"), index, config)
    if not outcomes:
        return StageResult(batch, with_reasons(batch.slice(0, 0), [])), outcomes
    texts = batch.column("text").to_pylist()
    dropped_rows = [o.row for o in outcomes if o.text is None]
    for outcome in outcomes:
        if outcome.text is not None:
            texts[outcome.row] = outcome.text
    keep = np.ones(batch.num_rows, dtype=bool)
    keep[dropped_rows] = False
    cleaned = batch.set_column(
        batch.schema.get_field_index("text"), batch.schema.field("text"), pa.array(texts, pa.string())
    )
    dropped = batch.take(pa.array(dropped_rows, pa.int64()))
    reasons = [f"{REASON_PREFIX}{o.set_name}" for o in outcomes if o.text is None]
    return StageResult(cleaned.filter(pa.array(keep)), with_reasons(dropped, reasons)), outcomes
