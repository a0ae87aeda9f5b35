"""The numbers of a finished run, gathered from its files into one dict (what `pileline stats --json` prints).

`gather_stats` reads small files only: `manifest.json` (accounting per input), the prepare
partitions' JSON summaries (per-subset counts and bytes, filter drops), `stats/dedup.json` and
`stats/tokens.json`; no document text, so `stats` is quick on a run of the full Pile. The files
are located by `pipeline.inspection.run_files.RunFiles`.

Keys of the result:
    run         the run directory, pileline version, seed and filter preset
    documents   input lines → kept / filtered / duplicates / contaminated / rejected (train files),
                `holdout` (the dedup holdout files), and `by_set` (per `pile_set_name`: documents and
                bytes in, after filters, after dedup, and the duplicate rate)
    filters     per filter: documents dropped, in total and per subset
    dedup       `params` (with bands, rows, theoretical false positive/negative), candidate pairs,
                edges, components, `by_set`, `cross_set` {removed subset: {kept subset: n}},
                `cluster_sizes` {size: count} and `cluster_size_summary`
    tokens      `stats/tokens.json` with `available`; before = after filters, after = after dedup
    mixture     per subset: tokens before dedup, after dedup and in one pass of the training order (`shards.mixture`'s
                epochs applied), each with its share, and the Pile paper's share (Table 1); {} before any order
    splits      per evaluation split: files, lines, documents, tokens, sequences and `by_set` (documents, tokens)
    decontamination  per eval set: the `match` rule, documents cleaned and dropped, characters removed, matched
                n-grams (and of them by the Janitor's rule and by the harness's rule only), `by_subset`,
                `examples` (`pipeline.phases.decontamination_summary`); {} when not run. Documents
                dropped whole are `documents.decontaminated` (manifest.json counts them in `rejected`
                as `decontaminate:<set>`), not `documents.rejected`
"""

from __future__ import annotations

import math
from collections import Counter

from pipeline.formats.run_layout import DEDUP_STATS, TOKEN_STATS
from pipeline.inspection.run_files import RunFiles
from pipeline.phases.decontamination_summary import merge_decontamination
from pipeline.summaries import merge_by_set
from stages.decontaminate import REASON_PREFIX
from stages.mixture import pile_paper_shares


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _set_counts(files: RunFiles) -> tuple[dict[str, Counter], dict[str, Counter], dict]:
    """Per subset (train partitions): docs/bytes in and after filters, documents decontamination dropped;
    per filter: drops per subset; decontamination per eval set."""
    decontamination = []

    def summaries():
        for part in files.train_partitions():
            summary = files.summary(part.name)
            decontamination.append(summary.decontamination)
            yield summary

    by_set = merge_by_set(summaries())
    filters: dict[str, Counter] = {}
    for name, counts in by_set.items():
        for key, n in counts.items():
            if key.startswith("filter:"):
                filters.setdefault(key.removeprefix("filter:"), Counter())[name] += n
        counts["decontaminated"] = sum(n for key, n in counts.items() if key.startswith(REASON_PREFIX))
    return by_set, filters, merge_decontamination(decontamination)


def cluster_size_summary(cluster_sizes: dict[str, int]) -> dict:
    """Components, documents in them, largest, mean, median, 90th and 99th percentile size (by component)."""
    sizes = sorted((int(size), count) for size, count in cluster_sizes.items() if count)
    components = sum(count for _, count in sizes)
    documents = sum(size * count for size, count in sizes)

    def quantile(q: float) -> int | None:
        if not components:
            return None
        rank = max(1, math.ceil(q * components))
        seen = 0
        for size, count in sizes:
            seen += count
            if seen >= rank:
                return size
        return sizes[-1][0]

    return {
        "components": components,
        "documents": documents,
        "largest": sizes[-1][0] if sizes else None,
        "mean": documents / components if components else None,
        "median": quantile(0.5),
        "p90": quantile(0.9),
        "p99": quantile(0.99),
    }


def _dedup_section(files: RunFiles) -> dict:
    stats = files.optional_json(DEDUP_STATS)
    if stats is None:
        return {
            "enabled": False,
            "params": {},
            "by_set": {},
            "cross_set": {},
            "cluster_sizes": {},
            "cluster_size_summary": cluster_size_summary({}),
        }
    by_set = {
        name: {**counts, "dup_rate": _rate(counts["duplicates"] + counts["contaminated"], counts["documents"])}
        for name, counts in stats["by_set"].items()
    }
    documents = sum(c["documents"] for c in stats["by_set"].values())
    return {
        "enabled": True,
        **stats,
        "documents": documents,
        "dup_rate": _rate(stats["duplicates"] + stats["contaminated"], documents),
        "by_set": by_set,
        "cluster_size_summary": cluster_size_summary(stats["cluster_sizes"]),
    }


def _tokens_section(files: RunFiles) -> dict:
    stats = files.optional_json(TOKEN_STATS)
    if stats is None:
        return {
            "available": False,
            "tokenizer": None,
            "append_eod": None,
            "documents": None,
            "tokens": None,
            "by_set": {},
        }
    return {"available": True, **stats}


def _mixture_section(tokens: dict) -> dict:
    """Tokens and shares per subset before dedup, after dedup and in one pass of the training order."""
    trained = tokens.get("mixture")
    if not trained:
        return {}
    paper = pile_paper_shares()
    by_set = tokens["by_set"]
    totals = {
        "before": sum(c["tokens_before"] for c in by_set.values()),
        "after": sum(c["tokens"] for c in by_set.values()),
        "trained": sum(c["tokens"] for c in trained["by_set"].values()),
    }
    rows = {}
    for name in sorted(set(by_set) | set(trained["by_set"])):
        counts, order = by_set.get(name, {}), trained["by_set"].get(name, {})
        row = {
            "tokens_before_dedup": counts.get("tokens_before", 0),
            "tokens_after_dedup": counts.get("tokens", 0),
            "weight": order.get("weight", 1.0),
            "tokens_trained": order.get("tokens", 0),
            "documents_trained": order.get("documents", 0),
            "pile_paper_share": paper.get(name),
        }
        for key, total in (("before_dedup", totals["before"]), ("after_dedup", totals["after"])):
            row[f"share_{key}"] = _rate(row[f"tokens_{key}"], total)
        row["share_trained"] = _rate(row["tokens_trained"], totals["trained"])
        rows[name] = row
    return {"preset": trained["preset"], "tokens_per_pass": totals["trained"], "by_set": rows}


def _splits_section(record: dict, tokens: dict) -> dict:
    """Per evaluation split: its files' lines, and documents, tokens and sequences in all and per subset."""
    splits = {}
    for name, entry in (record.get("splits") or {}).items():
        counts = tokens.get("splits", {}).get(name, {})
        splits[name] = {
            "files": entry["files"],
            "lines": entry["lines"],
            "documents": entry["documents"],
            "tokens": entry["tokens"],
            "sequences": entry["sequences"],
            "by_set": {
                subset: {"documents": c["documents"], "tokens": c["tokens"]}
                for subset, c in counts.get("by_set", {}).items()
            },
        }
    return splits


def gather_stats(run_dir: str | RunFiles) -> dict:
    """Every number of `pileline stats` for the run at `run_dir`, as one JSON-ready dict (see the module doc)."""
    files = run_dir if isinstance(run_dir, RunFiles) else RunFiles(run_dir)
    record = files.record
    totals = record["totals"]
    holdout = record.get("holdout_totals") or {"files": 0, "lines": 0, "kept": 0}
    set_counts, filter_counts, decontamination = _set_counts(files)
    dedup = _dedup_section(files)
    tokens = _tokens_section(files)

    by_set = {}
    for name in sorted(set(set_counts) | set(dedup["by_set"])):
        counts = set_counts.get(name, Counter())
        removed = dedup["by_set"].get(name, {})
        duplicates, contaminated = removed.get("duplicates", 0), removed.get("contaminated", 0)
        after_filters = counts["kept"]
        by_set[name] = {
            "documents_in": counts["docs"],
            "bytes_in": counts["docs_bytes"],
            "decontaminated": counts["decontaminated"],
            "filtered": counts["docs"] - counts["kept"] - counts["decontaminated"],
            "documents_after_filters": after_filters,
            "bytes_after_filters": counts["kept_bytes"],
            "duplicates": duplicates,
            "exact_duplicates": removed.get("exact", 0),
            "near_duplicates": removed.get("near", 0),
            "contaminated": contaminated,
            "dup_rate": _rate(duplicates + contaminated, after_filters),
            "documents_out": after_filters - duplicates - contaminated,
            "bytes_out": counts["kept_bytes"]
            - removed.get("duplicates_bytes", 0)
            - removed.get("contaminated_bytes", 0),
        }
    filtered = sum(totals["filtered"].values())
    decontaminated = {r: n for r, n in totals["rejected"].items() if r.startswith(REASON_PREFIX)}
    unreadable = {r: n for r, n in totals["rejected"].items() if r not in decontaminated}
    documents = {
        "files": totals["files"],
        "in": totals["lines"],
        "kept": totals["kept"],
        "filtered": filtered,
        "duplicates": totals["duplicates"],
        "exact_duplicates": dedup.get("exact", {}).get("documents", 0),
        "near_duplicates": dedup.get("near", {}).get("documents", 0),
        "contaminated": totals["contaminated"],
        "decontaminated": sum(decontaminated.values()),
        "rejected": sum(unreadable.values()),
        "rejected_by_reason": unreadable,
        "bytes_in": sum(c["bytes_in"] for c in by_set.values()),
        "bytes_out": sum(c["bytes_out"] for c in by_set.values()),
        "holdout": {"files": holdout["files"], "in": holdout["lines"], "kept": holdout["kept"]},
        "by_set": by_set,
    }
    filters = {
        name: {
            "documents": totals["filtered"].get(name, 0),
            "by_set": dict(sorted(filter_counts.get(name, Counter()).items())),
        }
        for name in sorted(set(totals["filtered"]) | set(filter_counts))
    }
    run = {
        "dir": files.location,
        "pileline": record.get("pileline"),
        "seed": files.manifest.get("seed"),
        "filter_preset": files.manifest.get("filter", {}).get("preset"),
    }
    return {
        "run": run,
        "documents": documents,
        "filters": filters,
        "dedup": dedup,
        "tokens": tokens,
        "mixture": _mixture_section(tokens),
        "splits": _splits_section(record, tokens),
        "decontamination": decontamination,
    }


def _percent(part: int, whole: int) -> str:
    return f"{100 * _rate(part, whole):.1f}%"


def describe_dedup_params(params: dict) -> str:
    """One line: keep rule, shingles, permutations, threshold, banding and its theoretical recall and error rates."""
    mode = params.get("mode", "components")
    rule = "threshold-true" if mode == "threshold" else "connected components"
    recall = (
        f"recall at the threshold {100 * params['recall_at_threshold']:.1f}%, "
        if "recall_at_threshold" in params
        else ""
    )
    return (
        f"{rule}, {params['shingle']} {params['ngram']}-grams, {params['num_perm']} permutations, "
        f"threshold {params['threshold']}, {params['bands']} bands × {params['rows']} rows ({params['banding']}; "
        f"theoretical {recall}FP {params['false_positive']:.4f}, "
        f"FN {params['false_negative']:.4f})"
    )


def giant_component_warnings(dedup: dict) -> list[str]:
    """One line per component (before splitting) larger than `dedup.warn_component_size`: over-merging to look at."""
    limit = dedup.get("params", {}).get("warn_component_size")
    if limit is None:
        return []
    return [
        f"warning: dedup component {c['component_id']} has {c['size']:,} members (over {limit:,}); "
        f"{c['kept']:,} kept after the keep rule — see `pileline clusters RUN --cluster {c['component_id']}`"
        for c in dedup.get("largest_components", [])
        if c["size"] > limit
    ]


def summary_text(run_dir: str) -> str:
    """A short, plain-text summary of a finished run: the lines the demo prints at its end."""
    stats = gather_stats(run_dir)
    d = stats["documents"]
    first = (
        f"stats: {d['in']:,} documents in {d['files']} files → {d['kept']:,} kept ({_percent(d['kept'], d['in'])}); "
        f"removed {d['filtered']:,} by filters, {d['duplicates']:,} as duplicates "
        f"({d['exact_duplicates']:,} exact copies, "
        f"{d['near_duplicates']:,} near-duplicates), {d['contaminated']:,} as copies of holdout, "
        f"{d['rejected']:,} rejected"
    )
    if stats["decontamination"]:
        first += f", {d['decontaminated']:,} dropped by decontamination"
    lines = [first]
    dedup = stats["dedup"]
    if dedup["enabled"]:
        sizes = dedup["cluster_size_summary"]
        lines.append(f"dedup: {describe_dedup_params(dedup['params'])}")
        removed = _percent(dedup["duplicates"] + dedup["contaminated"], dedup["documents"])
        lines.append(
            f"dedup: {dedup['candidate_pairs']:,} candidate pairs → {sizes['components']:,} clusters holding "
            f"{sizes['documents']:,} "
            f"documents (largest {sizes['largest'] or 0:,}); {removed} of the documents that passed the filters removed"
        )
        worst = sorted(
            ((c["dup_rate"], name) for name, c in d["by_set"].items() if c["duplicates"] + c["contaminated"]),
            reverse=True,
        )[:5]
        if worst:
            lines.append(
                "dedup: highest duplicate rates: " + ", ".join(f"{name} {100 * rate:.1f}%" for rate, name in worst)
            )
    else:
        lines.append("dedup: not run")
    tokens = stats["tokens"]
    if tokens["available"]:
        before = sum(c.get("tokens_before", 0) for c in tokens["by_set"].values())
        lines.append(
            f"tokens: {tokens['tokens']:,} {tokens['tokenizer']} tokens in {tokens['documents']:,} documents "
            f"({before:,} before dedup)"
        )
    else:
        lines.append("tokens: n/a (no stats/tokens.json)")
    if mixture := stats["mixture"]:
        preset = mixture["preset"] if isinstance(mixture["preset"], str) else "custom epochs per subset"
        lines.append(f"mixture: {preset}; one pass of the training order holds {mixture['tokens_per_pass']:,} tokens")
    for name, split in stats["splits"].items():
        lines.append(
            f"split {name}: {split['documents']:,} documents, {split['tokens']:,} tokens, "
            f"{split['sequences']:,} sequences in file order (tokens/{name}-*)"
        )
    return "\n".join(lines)
