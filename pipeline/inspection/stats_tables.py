"""The tables of `pileline stats`, built once as plain rows and drawn with rich (terminal) or as HTML (report).

`stats_tables(stats)` turns the dict of `pipeline.inspection.run_stats.gather_stats` into `StatsTable`s whose
cells are already formatted strings, so the terminal and the HTML report show the same numbers in
the same words; `rich_table` draws one for the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.table import Table

from pipeline.inspection.run_stats import describe_dedup_params
from pipeline.phases.decontamination_summary import COUNTS as DECONTAMINATION_COUNTS

NOT_AVAILABLE = "n/a"
CROSS_SET_ROWS = 15


@dataclass(frozen=True)
class StatsTable:
    """A titled table of formatted cells; `numeric[i]` right-aligns column i; `footer` is a totals row."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    footer: list[str] | None = None
    note: str = ""
    indent_rows: set[int] = field(default_factory=set)


def count(value: int | None) -> str:
    """A count with thousands separators, or n/a."""
    return NOT_AVAILABLE if value is None else f"{value:,}"


def size(value: int | None) -> str:
    """Bytes in decimal units (B, kB, MB, GB, TB), or n/a."""
    if value is None:
        return NOT_AVAILABLE
    amount = float(value)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(amount) < 1000 or unit == "TB":
            return f"{value:,} B" if unit == "B" else f"{amount:,.1f} {unit}"
        amount /= 1000
    return f"{amount:,.1f} PB"


def percent(part: float | None, whole: float | None = 1.0) -> str:
    """`part / whole` as a percentage with one decimal, or n/a."""
    if part is None or whole is None:
        return NOT_AVAILABLE
    return f"{100 * part / whole:.1f}%" if whole else "0.0%"


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _documents_table(stats: dict) -> StatsTable:
    d = stats["documents"]
    rows = [
        ["input lines (train files)", count(d["in"]), percent(1.0)],
        ["kept", count(d["kept"]), percent(d["kept"], d["in"])],
    ]
    indented = set()
    rows.append(["removed by filters", count(d["filtered"]), percent(d["filtered"], d["in"])])
    for name, entry in stats["filters"].items():
        indented.add(len(rows))
        rows.append([f"by {name}", count(entry["documents"]), percent(entry["documents"], d["in"])])
    if stats["decontamination"]:
        rows.append(["removed by decontamination", count(d["decontaminated"]), percent(d["decontaminated"], d["in"])])
        for name, entry in stats["decontamination"].items():
            indented.add(len(rows))
            dropped = entry["documents_dropped"]
            rows.append([f"for {name}", count(dropped), percent(dropped, d["in"])])
    rows.append(["removed as duplicates", count(d["duplicates"]), percent(d["duplicates"], d["in"])])
    for label, key in (("exact copies", "exact_duplicates"), ("near-duplicates", "near_duplicates")):
        indented.add(len(rows))
        rows.append([label, count(d[key]), percent(d[key], d["in"])])
    rows.append(
        ["removed as copies of holdout documents", count(d["contaminated"]), percent(d["contaminated"], d["in"])]
    )
    rows.append(["rejected (unreadable lines)", count(d["rejected"]), percent(d["rejected"], d["in"])])
    for reason, n in d["rejected_by_reason"].items():
        indented.add(len(rows))
        rows.append([f"as {reason}", count(n), percent(n, d["in"])])
    h = d["holdout"]
    note = (
        f"{_plural(d['files'], 'train file')}; holdout: {_plural(h['files'], 'file')}, {_plural(h['in'], 'line')}, "
        f"{count(h['kept'])} kept (never removed, not trained on)"
    )
    if stats["splits"]:
        splits = ", ".join(f"{name} {_plural(split['lines'], 'line')}" for name, split in stats["splits"].items())
        note += f"; evaluation splits (holdout too): {splits}"
    return StatsTable(
        "documents",
        "Documents",
        ["", "documents", "of input"],
        rows,
        [False, True, True],
        note=note,
        indent_rows=indented,
    )


def _filters_table(stats: dict) -> StatsTable:
    total = stats["documents"]["in"]
    rows = []
    for name, entry in stats["filters"].items():
        top = sorted(entry["by_set"].items(), key=lambda item: (-item[1], item[0]))[:4]
        rows.append(
            [
                name,
                count(entry["documents"]),
                percent(entry["documents"], total),
                ", ".join(f"{s} {count(n)}" for s, n in top),
            ]
        )
    preset = stats["run"]["filter_preset"]
    note = f"filter preset: {preset or 'none'}" + ("; no filter removed anything" if not rows else "")
    return StatsTable(
        "filters",
        "Filters",
        ["filter", "documents", "of input", "most from"],
        rows,
        [False, True, True, False],
        note=note,
    )


def _sets_table(stats: dict) -> StatsTable:
    by_set = stats["documents"]["by_set"]
    names = sorted(by_set, key=lambda name: (-by_set[name]["documents_in"], name))
    keys = (
        "documents_in",
        "filtered",
        "documents_after_filters",
        "exact_duplicates",
        "near_duplicates",
        "contaminated",
        "documents_out",
    )
    rows = []
    for name in names:
        c = by_set[name]
        rows.append([name, *(count(c[k]) for k in keys[:6]), percent(c["dup_rate"]), count(c["documents_out"])])
    totals = {k: sum(by_set[n][k] for n in names) for k in (*keys, "duplicates")}
    removed = totals["duplicates"] + totals["contaminated"]
    footer = [
        "all",
        *(count(totals[k]) for k in keys[:6]),
        percent(removed, totals["documents_after_filters"]),
        count(totals["documents_out"]),
    ]
    columns = [
        "subset",
        "docs in",
        "filtered",
        "after filters",
        "exact copies",
        "near-duplicates",
        "holdout copies",
        "dup rate",
        "docs out",
    ]
    note = "dup rate = (exact copies + near-duplicates + holdout copies) / documents after filters"
    return StatsTable("sets", "Subsets: documents", columns, rows, [False] + [True] * 8, footer, note)


def _sizes_table(stats: dict) -> StatsTable:
    by_set = stats["documents"]["by_set"]
    tokens = stats["tokens"]
    token_sets = tokens["by_set"]
    names = sorted(by_set, key=lambda name: (-by_set[name]["bytes_in"], name))
    rows = []

    def token_cells(name: str | None) -> list[str]:
        if not tokens["available"]:
            return [NOT_AVAILABLE] * 3
        entries = [token_sets.get(name, {})] if name else list(token_sets.values())
        before = sum(e.get("tokens_before", 0) for e in entries)
        after = sum(e.get("tokens", 0) for e in entries)
        return [count(before), count(after), percent(before - after, before)]

    for name in names:
        c = by_set[name]
        rows.append(
            [name, size(c["bytes_in"]), size(c["bytes_after_filters"]), size(c["bytes_out"]), *token_cells(name)]
        )
    footer = [
        "all",
        *(size(sum(by_set[n][k] for n in names)) for k in ("bytes_in", "bytes_after_filters", "bytes_out")),
        *token_cells(None),
    ]
    columns = [
        "subset",
        "bytes in",
        "after filters",
        "bytes out",
        "tokens before dedup",
        "tokens after dedup",
        "tokens removed",
    ]
    if tokens["available"]:
        eod = "with" if tokens.get("append_eod") else "without"
        note = f"tokens: {tokens['tokenizer']}, {eod} an end-of-document token; bytes are UTF-8 of the normalised text"
    else:
        note = "tokens: n/a (the run has no stats/tokens.json); bytes are UTF-8 of the normalised text"
    return StatsTable("sizes", "Subsets: bytes and tokens", columns, rows, [False] + [True] * 6, footer, note)


def _dedup_table(stats: dict) -> StatsTable:
    dedup = stats["dedup"]
    if not dedup["enabled"]:
        return StatsTable("dedup", "Dedup", ["", ""], [["dedup", "not run"]], [False, False])
    p = dedup["params"]
    exact, near = dedup.get("exact", {}), dedup.get("near", {})
    removed = (
        f"{count(dedup['duplicates'])} duplicates ({size(dedup['duplicates_bytes'])}): "
        f"{count(exact.get('documents', 0))} exact copies ({size(exact.get('bytes', 0))}), "
        f"{count(near.get('documents', 0))} near-duplicates ({size(near.get('bytes', 0))}); "
        f"{count(dedup['contaminated'])} holdout copies ({size(dedup['contaminated_bytes'])})"
    )
    priority = "first of priority " + ", ".join(p["priority"]) + ", then " if p.get("priority") else ""
    if p.get("mode") == "threshold":
        rule = f"threshold-true: removed only for a kept document with a verified edge; {priority}smallest doc_id first"
    else:
        rule = f"connected components: one kept per component, {priority}smallest doc_id"
    recall = (
        f"{100 * p['recall_at_threshold']:.1f}% at J = {p['threshold']}, "
        f"{100 * p['mean_recall_above']:.1f}% averaged over J ≥ {p['threshold']}"
        if "recall_at_threshold" in p
        else NOT_AVAILABLE
    )
    rows = [
        ["shingles", f"{p['shingle']} {p['ngram']}-grams"],
        ["MinHash", f"{p['num_perm']} permutations, seed {p['seed']}, shingle hash {p['hash']}"],
        ["Jaccard threshold", f"{p['threshold']}"],
        ["banding", f"{p['bands']} bands × {p['rows']} rows ({p['banding']})"],
        ["theoretical false positive area", f"{p['false_positive']:.4f}"],
        ["theoretical false negative area", f"{p['false_negative']:.4f}"],
        ["theoretical recall (P candidate)", recall],
        ["candidate verification", p.get("verify", NOT_AVAILABLE)],
        ["keep rule", rule],
        ["holdout files", count(p.get("holdout_files", 0))],
        ["candidate pairs", count(dedup["candidate_pairs"])],
        ["edges proposed / kept", f"{count(dedup['star_edges'])} / {count(dedup['edges'])}"],
        ["components rounds", count(dedup["components_rounds"])],
        ["documents removed", removed],
    ]
    return StatsTable(
        "dedup", "Dedup parameters", ["parameter", "value"], rows, [False, False], note=describe_dedup_params(p)
    )


def size_ranges(cluster_sizes: dict[str, int]) -> list[tuple[str, int, int]]:
    """(size range, clusters, documents) with sizes grouped as 2, 3–4, 5–8, 9–16, …"""
    groups: dict[int, list[int]] = {}
    for text, n in cluster_sizes.items():
        s = int(text)
        bucket = max(1, (s - 1).bit_length())
        entry = groups.setdefault(bucket, [0, 0])
        entry[0] += n
        entry[1] += s * n
    out = []
    for bucket in sorted(groups):
        low, high = (1 << (bucket - 1)) + 1, 1 << bucket
        label = f"{high}" if low == high else f"{low}–{high}"
        out.append((label, groups[bucket][0], groups[bucket][1]))
    return out


def _clusters_table(stats: dict) -> StatsTable:
    dedup = stats["dedup"]
    s = dedup["cluster_size_summary"]
    rows = [
        [label, count(clusters), count(documents)] for label, clusters, documents in size_ranges(dedup["cluster_sizes"])
    ]
    mean = NOT_AVAILABLE if s["mean"] is None else f"{s['mean']:.2f}"
    note = (
        f"{count(s['components'])} clusters holding {count(s['documents'])} documents; size largest "
        f"{count(s['largest'])}, "
        f"mean {mean}, median {count(s['median'])}, 90th percentile {count(s['p90'])}, 99th percentile "
        f"{count(s['p99'])}"
    )
    footer = ["all", count(s["components"]), count(s["documents"])]
    return StatsTable(
        "clusters", "Cluster sizes", ["size", "clusters", "documents"], rows, [False, True, True], footer, note
    )


def _cross_set_table(stats: dict) -> StatsTable:
    cross = stats["dedup"]["cross_set"]
    pairs = [(n, removed, kept) for removed, row in cross.items() for kept, n in row.items()]
    same = sum(n for n, removed, kept in pairs if removed == kept)
    other = sorted(((n, r, k) for n, r, k in pairs if r != k), key=lambda item: (-item[0], item[1], item[2]))
    rows = [[removed, kept, count(n)] for n, removed, kept in other[:CROSS_SET_ROWS]]
    elsewhere = count(sum(n for n, _, _ in other))
    note = f"{count(same)} duplicates had their kept copy in the same subset, {elsewhere} in another"
    if len(other) > CROSS_SET_ROWS:
        note += f"; the {CROSS_SET_ROWS} largest of {len(other)} cross-subset pairs are shown"
    return StatsTable(
        "cross_set",
        "Duplicates across subsets",
        ["removed from", "kept copy in", "documents"],
        rows,
        [False, False, True],
        note=note,
    )


def _exact_table(stats: dict) -> StatsTable:
    """Exact copies of the normalised text per subset: upsampled components repeat whole documents."""
    by_set = stats["documents"]["by_set"]
    rows = [
        [
            name,
            count(c["documents_after_filters"]),
            count(c["exact_duplicates"]),
            percent(c["exact_duplicates"], c["documents_after_filters"]),
            count(c["near_duplicates"]),
        ]
        for name, c in by_set.items()
    ]
    total = sum(c["documents_after_filters"] for c in by_set.values())
    exact = sum(c["exact_duplicates"] for c in by_set.values())
    footer = [
        "all",
        count(total),
        count(exact),
        percent(exact, total),
        count(sum(c["near_duplicates"] for c in by_set.values())),
    ]
    note = (
        "exact copies: the same normalised text as a document kept before it (128-bit hash), "
        "removed before MinHash dedup"
    )
    columns = ["subset", "documents after filters", "exact copies", "exact share", "near-duplicates"]
    return StatsTable(
        "exact",
        "Exact copies and near-duplicates per subset",
        columns,
        rows,
        [False, True, True, True, True],
        footer,
        note,
    )


def _components_table(stats: dict) -> StatsTable:
    """The largest components of candidate edges before the keep rule, and how many documents each kept."""
    dedup = stats["dedup"]
    limit = dedup["params"].get("warn_component_size")
    rows = [
        [
            str(c["component_id"]),
            count(c["size"]),
            count(c["kept"]),
            "over the warning size" if limit and c["size"] > limit else "",
        ]
        for c in dedup.get("largest_components", [])
    ]
    note = "components before splitting; a large one is usually a shared template or boilerplate chained together" + (
        f"; warning size {count(limit)}" if limit else ""
    )
    columns = ["component (smallest doc_id)", "members", "kept", ""]
    return StatsTable("components", "Largest components", columns, rows, [False, True, True, False], note=note)


def _decontamination_table(stats: dict) -> StatsTable:
    rows, indented = [], set()
    for name, entry in stats["decontamination"].items():
        rows.append([name, *(count(entry[key]) for key in DECONTAMINATION_COUNTS)])

        def touched(item: tuple[str, dict]) -> tuple[int, str]:
            return -item[1]["documents_cleaned"] - item[1]["documents_dropped"], item[0]

        for subset, counts in sorted(entry["by_subset"].items(), key=touched):
            indented.add(len(rows))
            rows.append([subset, *(count(counts[key]) for key in DECONTAMINATION_COUNTS)])
    columns = [
        "eval set / subset",
        "documents cleaned",
        "documents dropped",
        "characters removed",
        "matched n-grams",
        "by the Janitor's rule",
        "by the harness's rule only",
    ]
    rules = sorted({entry.get("match", "janitor") for entry in stats["decontamination"].values()})
    note = (
        f"match rule: {', '.join(rules)} (janitor: lm-evaluation-harness's Janitor, split then normalise; harness: "
        "its overlap check, normalise then split; both: either); Janitor semantics: matches cut out with their "
        "window; dropped = too many matches or no piece left"
    )
    numeric = [False] + [True] * 6
    return StatsTable("decontamination", "Decontamination", columns, rows, numeric, note=note, indent_rows=indented)


def _mixture_table(stats: dict) -> StatsTable:
    """Tokens per subset before dedup, after it and in one pass of the training order, beside the Pile paper."""
    mixture = stats["mixture"]
    by_set = mixture["by_set"]
    names = sorted(by_set, key=lambda name: (-by_set[name]["tokens_trained"], name))
    rows = []
    for name in names:
        c = by_set[name]
        paper = c["pile_paper_share"]
        rows.append(
            [
                name,
                count(c["tokens_before_dedup"]),
                percent(c["share_before_dedup"]),
                count(c["tokens_after_dedup"]),
                percent(c["share_after_dedup"]),
                f"{c['weight']:g}",
                count(c["tokens_trained"]),
                percent(c["share_trained"]),
                NOT_AVAILABLE if paper is None else percent(paper),
            ]
        )
    totals = {k: sum(c[k] for c in by_set.values()) for k in ("tokens_before_dedup", "tokens_after_dedup")}
    footer = ["all", count(totals["tokens_before_dedup"]), "", count(totals["tokens_after_dedup"]), "", ""]
    footer += [count(mixture["tokens_per_pass"]), "", ""]
    columns = [
        "subset",
        "tokens before dedup",
        "share",
        "after dedup",
        "share",
        "epochs",
        "training order (one pass)",
        "share",
        "Pile paper",
    ]
    note = (
        f"mixture: {mixture['preset'] if isinstance(mixture['preset'], str) else 'custom'}; one pass = each subset's "
        "documents repeated its epochs (the fraction a seeded sample by tokens), before GPT-NeoX's shuffle; "
        "Pile paper = Table 1's effective share (raw size × epochs)"
    )
    return StatsTable("mixture", "Mixture", columns, rows, [False] + [True] * 8, footer, note)


def _splits_table(stats: dict) -> StatsTable:
    """Documents and tokens per evaluation split and subset."""
    rows, indented = [], set()
    for name, split in stats["splits"].items():
        rows.append([name, count(split["files"]), count(split["documents"]), count(split["tokens"])])
        rows[-1].append(count(split["sequences"]))
        for subset, c in sorted(split["by_set"].items(), key=lambda item: (-item[1]["tokens"], item[0])):
            indented.add(len(rows))
            rows.append([subset, "", count(c["documents"]), count(c["tokens"]), ""])
    note = (
        "read and tokenized as the training data, never filtered, decontaminated or removed by dedup (holdout in "
        "dedup); sequences of seq_len + 1 tokens in file order"
    )
    columns = ["split / subset", "files", "documents", "tokens", "sequences"]
    numeric = [False] + [True] * 4
    return StatsTable("splits", "Evaluation splits", columns, rows, numeric, note=note, indent_rows=indented)


def stats_tables(stats: dict) -> list[StatsTable]:
    """Every table of `pileline stats`, in display order."""
    tables = [
        _documents_table(stats),
        _filters_table(stats),
        _sets_table(stats),
        _sizes_table(stats),
        _dedup_table(stats),
    ]
    if stats["decontamination"]:
        tables.insert(2, _decontamination_table(stats))
    if stats["mixture"]:
        tables.insert(tables.index(next(t for t in tables if t.key == "sizes")) + 1, _mixture_table(stats))
    if stats["splits"]:
        tables.append(_splits_table(stats))
    if stats["dedup"]["enabled"]:
        tables += [_exact_table(stats), _clusters_table(stats), _components_table(stats), _cross_set_table(stats)]
    return tables


def rich_table(table: StatsTable) -> Table:
    """`table` drawn for the terminal: the first column never squeezed, headers wrap before numbers do."""
    out = Table(title=table.title, title_justify="left", show_footer=table.footer is not None)
    first_width = max(
        [len(table.columns[0])]
        + [len(row[0]) + (2 if i in table.indent_rows else 0) for i, row in enumerate(table.rows)]
    )
    for index, (name, numeric) in enumerate(zip(table.columns, table.numeric)):
        footer = table.footer[index] if table.footer else ""
        if index == 0:
            out.add_column(name, footer=footer, min_width=min(first_width, 40))
        else:
            widest = max([len(row[index]) for row in table.rows] + [len(footer)]) if numeric else None
            out.add_column(name, justify="right" if numeric else "left", footer=footer, min_width=widest)
    for index, row in enumerate(table.rows):
        cells = list(row)
        if index in table.indent_rows:
            cells[0] = "  " + cells[0]
        out.add_row(*cells)
    return out
