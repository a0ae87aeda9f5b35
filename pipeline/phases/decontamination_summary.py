"""Decontamination counts of one partition (kept in its summary) and of a whole run (for stats and the report).

Per eval set: `documents_cleaned` (kept, with pieces cut out), `documents_dropped` (rejected as
`decontaminate:<set>`), `characters_removed` (input characters minus kept characters),
`matched_ngrams` (matches found, over every cleaning round), of them `matched_by_janitor_rule` (those
the Janitor's split-then-normalise rule finds) and `matched_by_harness_rule_only` (those only the harness's
normalise-then-split rule finds; 0 under `match: janitor`, which does not look for them), the same per
`pile_set_name` under `by_subset`, `match` (the rule that ran) and a few `examples` (document, the first
matched n-gram as the harness normalises it, the text around it).
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from stages.decontaminate import DecontaminateConfig, DocOutcome
from stages.eval_ngrams import EvalNgrams, janitor_translation

COUNTS = (
    "documents_cleaned",
    "documents_dropped",
    "characters_removed",
    "matched_ngrams",
    "matched_by_janitor_rule",
    "matched_by_harness_rule_only",
)
EXAMPLES_PER_SET = 5
CONTEXT_CHARS = 160


def _empty(match: str) -> dict:
    return {"match": match, **dict.fromkeys(COUNTS, 0), "by_subset": {}, "examples": []}


def _add(counts: dict, outcome: DocOutcome) -> None:
    counts["documents_cleaned" if outcome.text is not None else "documents_dropped"] += 1
    counts["characters_removed"] += outcome.chars_removed
    counts["matched_ngrams"] += outcome.matched_ngrams
    counts["matched_by_janitor_rule"] += outcome.janitor_matches
    counts["matched_by_harness_rule_only"] += outcome.matched_ngrams - outcome.janitor_matches


def _example(docs: pa.Table, outcome: DocOutcome, config: DecontaminateConfig) -> dict:
    row = {
        name: docs.column(name)[outcome.row].as_py() for name in ("doc_id", "source", "line", "pile_set_name", "text")
    }
    text = row.pop("text")
    start, end = outcome.first_match[0], outcome.first_match[1] + 1
    translation = janitor_translation(config.delete_chars)
    return {
        **row,
        "dropped": outcome.text is None,
        "matched_ngrams": outcome.matched_ngrams,
        "characters_removed": outcome.chars_removed,
        "ngram": " ".join(text[start:end].translate(translation).split()),
        "before": text[max(0, start - CONTEXT_CHARS) : start],
        "match": text[start:end],
        "after": text[end : end + CONTEXT_CHARS],
    }


def decontamination_summary(
    docs: pa.Table, outcomes: list[DocOutcome], index: EvalNgrams, config: DecontaminateConfig
) -> dict:
    """Per eval set: the partition's counts, per subset, and its first few examples (in doc_id order)."""
    sets = {name: _empty(config.match) for name in index.set_names}
    subsets = docs.column("pile_set_name").to_pylist()
    for outcome in outcomes:
        entry = sets[outcome.set_name]
        _add(entry, outcome)
        _add(entry["by_subset"].setdefault(subsets[outcome.row], dict.fromkeys(COUNTS, 0)), outcome)
        if len(entry["examples"]) < EXAMPLES_PER_SET:
            entry["examples"].append(_example(docs, outcome, config))
    for entry in sets.values():
        entry["by_subset"] = dict(sorted(entry["by_subset"].items()))
    return sets


RULE_BEFORE_MATCH = "janitor"
"""The rule of a partition summary written before `decontaminate.match` existed (it counted no rule apart)."""


def merge_decontamination(summaries: Iterable[dict | None]) -> dict:
    """The run's decontamination by set, summed over partition summaries (in doc_id order); {} when not run."""
    merged: dict[str, dict] = {}
    for summary in summaries:
        for name, part in (summary or {}).items():
            entry = merged.setdefault(name, _empty(part.get("match", RULE_BEFORE_MATCH)))
            for key in COUNTS:
                entry[key] += part.get(key, 0)
            for subset, counts in part["by_subset"].items():
                target = entry["by_subset"].setdefault(subset, dict.fromkeys(COUNTS, 0))
                for key in COUNTS:
                    target[key] += counts.get(key, 0)
            entry["examples"].extend(part["examples"][: EXAMPLES_PER_SET - len(entry["examples"])])
    for entry in merged.values():
        entry["by_subset"] = dict(sorted(entry["by_subset"].items()))
    return dict(sorted(merged.items()))
