"""`pileline report`: one self-contained HTML file (inline CSS, PNG plots as data URIs, no scripts, no links out).

It shows the tables of `pileline stats` (`stats_tables`), the plots of `report_plots`, the largest
duplicate clusters with a snippet of each member (`cluster_view.describe_clusters`), and an audit
sample of removed documents beside their kept copy with the estimated precision of dedup
(`audit_sample.audit`), and the recall of dedup measured on a sample (`recall_audit.measure_recall`).
Per-document work (length histograms, cluster scans, texts) runs per
partition or row group, as Ray tasks when Ray is up.
"""

from __future__ import annotations

import html

from pipeline.formats.filesystems import resolve
from pipeline.formats.run_layout import REPORT
from pipeline.inspection.audit_sample import audit
from pipeline.inspection.cluster_table import largest_clusters
from pipeline.inspection.cluster_view import describe_clusters, place, subsets_text
from pipeline.inspection.length_stats import length_histograms
from pipeline.inspection.recall_audit import measure_recall
from pipeline.inspection.report_plots import (
    Plot,
    cluster_size_plot,
    cross_set_heatmap,
    duplicate_rate_plot,
    filter_drops_plot,
    length_plot,
    volume_plot,
)
from pipeline.inspection.run_files import RunFiles
from pipeline.inspection.run_stats import describe_dedup_params, gather_stats, giant_component_warnings
from pipeline.inspection.stats_tables import (
    NOT_AVAILABLE,
    StatsTable,
    count,
    percent,
    stats_tables,
)

LARGEST_CLUSTERS = 20
MEMBERS_PER_CLUSTER = 8
DEFAULT_AUDIT = 50
MOST_CONTAMINATED = 10

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0; color: #1f2328;
  background: #f6f8fa; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 32px 64px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 40px 0 12px; border-bottom: 1px solid #d0d7de; padding-bottom: 6px; }
h3 { font-size: 15px; margin: 24px 0 8px; }
.sub { color: #57606a; font-size: 13px; margin: 0 0 16px; }
nav { font-size: 13px; margin: 8px 0 16px; } nav a { margin-right: 14px; color: #0969da; text-decoration: none; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 16px 0; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: 10px 14px; min-width: 130px; }
.card .value { font-size: 20px; font-weight: 600; } .card .label { font-size: 12px; color: #57606a; }
.card .share { font-size: 12px; color: #57606a; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eaeef2; text-align: left; vertical-align: top; }
th { background: #f6f8fa; border-bottom: 1px solid #d0d7de; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tfoot td { font-weight: 600; border-top: 1px solid #d0d7de; }
td.indent { padding-left: 28px; color: #57606a; }
.note { font-size: 12px; color: #57606a; margin: 2px 0 14px; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 32px; align-items: start; }
figure { margin: 12px 0 20px; } figure img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
figcaption { font-size: 12px; color: #57606a; }
details { border: 1px solid #d0d7de; border-radius: 6px; margin: 8px 0; padding: 6px 10px; }
summary { cursor: pointer; font-size: 13px; }
.snippet { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; white-space: normal;
  word-break: break-word; color: #24292f; max-width: 720px; }
tr.kept td { background: #eef7ee; }
.diff { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; line-height: 1.6;
  white-space: pre-wrap; word-break: break-word; background: #fafbfc; padding: 8px; border-radius: 4px; }
.diff del, .legend del { background: #ffd7d5; color: #82071e; text-decoration: line-through; }
.diff ins, .legend ins { background: #ccffd8; color: #055d20; text-decoration: none; }
.skip { color: #8c959f; font-style: italic; }
.ok { color: #1a7f37; font-weight: 600; } .bad { color: #cf222e; font-weight: 600; }
.precision { font-size: 15px; border-left: 4px solid #0969da; padding: 8px 12px; background: #f1f8ff; margin: 12px 0; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _cell(tag: str, text: str, numeric: bool) -> str:
    return f'<{tag} class="num">{_e(text)}</{tag}>' if numeric else f"<{tag}>{_e(text)}</{tag}>"


def table_html(table: StatsTable) -> str:
    """A `StatsTable` as an HTML table with its note."""
    head = "".join(_cell("th", c, n) for c, n in zip(table.columns, table.numeric))
    body = []
    for index, row in enumerate(table.rows):
        cells = []
        for column, (cell, numeric) in enumerate(zip(row, table.numeric)):
            css = "num" if numeric else ("indent" if column == 0 and index in table.indent_rows else "")
            cells.append(f'<td class="{css}">{_e(cell)}</td>' if css else f"<td>{_e(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    foot = ""
    if table.footer:
        foot = "<tfoot><tr>" + "".join(_cell("td", c, n) for c, n in zip(table.footer, table.numeric)) + "</tr></tfoot>"
    note = f'<p class="note">{_e(table.note)}</p>' if table.note else ""
    return (
        f'<h3 id="table-{table.key}">{_e(table.title)}</h3>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>{foot}</table>{note}"
    )


def figure_html(plot: Plot | None, caption: str, missing: str) -> str:
    if plot is None:
        return f'<p class="note">{_e(missing)}</p>'
    return f'<figure><img src="{plot.data_uri}" alt="{_e(plot.alt)}"><figcaption>{_e(caption)}</figcaption></figure>'


def _recall_card(params: dict, recalled: dict | None) -> tuple[str, str, str]:
    """The first-page recall: measured on a sample (`recall_audit`) beside the banding's theoretical figure."""
    theory = (
        f"theory {100 * params['recall_at_threshold']:.1f}% at J = {params['threshold']}"
        if "recall_at_threshold" in params
        else ""
    )
    label = f"dedup recall at J ≥ {params.get('threshold', NOT_AVAILABLE)} (measured)"
    if not recalled or recalled["recall"] is None:
        return label, NOT_AVAILABLE, "; ".join(filter(None, [theory, "no pairs at the threshold in the sample"]))
    low, high = recalled["interval"]
    measured = f"95% CI {100 * low:.1f}–{100 * high:.1f}%, {recalled['pairs']:,} pairs"
    return label, f"{100 * recalled['recall']:.1f}%", "; ".join(filter(None, [measured, theory]))


def _cards(stats: dict, audited: dict, recalled: dict | None) -> str:
    d = stats["documents"]
    tokens = stats["tokens"]
    params = stats["dedup"]["params"]
    threshold = params.get("threshold", NOT_AVAILABLE)
    if audited.get("size"):
        low, high = audited["interval"]
        precision = (
            f"{100 * audited['precision']:.1f}%",
            f"95% CI {100 * low:.1f}–{100 * high:.1f}%, n={audited['size']}",
        )
    else:
        precision = (NOT_AVAILABLE, "no removals to audit")
    cards = [
        ("input documents", count(d["in"]), f"{d['files']} train files"),
        ("kept", count(d["kept"]), percent(d["kept"], d["in"])),
        ("filtered", count(d["filtered"]), percent(d["filtered"], d["in"])),
        ("exact copies", count(d["exact_duplicates"]), percent(d["exact_duplicates"], d["in"])),
        ("near-duplicates", count(d["near_duplicates"]), percent(d["near_duplicates"], d["in"])),
        ("copies of holdout", count(d["contaminated"]), percent(d["contaminated"], d["in"])),
        ("rejected lines", count(d["rejected"]), percent(d["rejected"], d["in"])),
        (
            "tokens kept",
            count(tokens["tokens"]) if tokens["available"] else NOT_AVAILABLE,
            tokens["tokenizer"] or "no stats/tokens.json",
        ),
        (f"dedup precision at J ≥ {threshold} (audit)", *precision),
        _recall_card(params, recalled),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="value">{_e(v)}</div><div class="label">{_e(label)}</div><div '
            f'class="share">{_e(share)}</div></div>'
            for label, v, share in cards
        )
        + "</div>"
    )


def _similarity(value: float | None) -> str:
    return NOT_AVAILABLE if value is None else f"{value:.3f}"


def _snippet(text: str) -> str:
    """A member's beginning on one line: runs of whitespace as one space, line breaks as ↵."""
    return " ".join(" ↵ ".join(line.strip() for line in text.splitlines()).split())


def clusters_html(clusters: list[dict], threshold: float) -> str:
    """The largest clusters, each a collapsible table of its shown members (kept first) with snippets."""
    if not clusters:
        return '<p class="note">No duplicate clusters.</p>'
    parts = []
    for rank, cluster in enumerate(clusters, 1):
        kept_members = [m for m in cluster["members"] if m["kept"]]
        kept = ", ".join(m["place"] for m in kept_members) or NOT_AVAILABLE
        kept_snippet = kept_members[0].get("snippet") if kept_members else None
        shown = (
            f"{cluster['shown']} of {cluster['size']:,} members shown"
            if cluster["shown"] < cluster["size"]
            else f"{cluster['size']:,} members"
        )
        rows = []
        for m in cluster["members"]:
            similarity = m.get("jaccard_to_kept")
            flag = (
                ""
                if similarity is None or m["kept"]
                else (' class="ok"' if similarity >= threshold else ' class="bad"')
            )
            row_class = ' class="kept"' if m["kept"] else ""
            if not m["kept"] and m.get("snippet") is not None and m.get("snippet") == kept_snippet:
                beginning = '<span class="skip">same beginning as the kept copy</span>'
            else:
                beginning = f'<div class="snippet">{_e(_snippet(m.get("snippet", "")))}</div>'
            rows.append(
                f"<tr{row_class}><td>{_e(m['role'])}</td><td>{_e(m['place'])}</td><td>{_e(m['pile_set_name'])}</td>"
                f'<td class="num"><span{flag}>{_e(_similarity(similarity))}</span></td><td '
                f'class="num">{_e(count(m.get("bytes")))}</td>'
                f"<td>{beginning}</td></tr>"
            )
        parts.append(
            f"<details{' open' if rank <= 3 else ''}><summary><b>#{rank}</b> cluster {_e(cluster['place'])} (id "
            f"{_e(cluster['cluster_id'])}): "
            f"{_e(shown)}; subsets: {_e(subsets_text(cluster['subsets']))}; kept {_e(kept)}</summary>"
            f'<p class="note">{_e(cluster["why"])}</p>'
            '<table><thead><tr><th>role</th><th>document</th><th>subset</th><th class="num">J to kept</th><th '
            'class="num">bytes</th>'
            f"<th>beginning</th></tr></thead><tbody>{''.join(rows)}</tbody></table></details>"
        )
    return "".join(parts)


def diff_html(pieces: list[tuple[str, str]]) -> str:
    """A word diff: words only in the removed document struck out in red, words only in the kept copy in green."""
    out = []
    for op, text in pieces:
        if op == "removed":
            out.append(f"<del>{_e(text)}</del>")
        elif op == "kept":
            out.append(f"<ins>{_e(text)}</ins>")
        elif op == "skip":
            out.append(f'<span class="skip">{_e(text)}</span>')
        else:
            out.append(_e(text))
    return " ".join(out)


def _verdict(pair: dict, files: RunFiles) -> str:
    if pair["correct"]:
        return '<span class="ok">≥ threshold</span>'
    closest = pair.get("closest")
    if pair.get("cause") == "chain" and closest:
        return (
            f'<span class="bad">below</span>: chain, {closest["jaccard"]:.3f} to {_e(place(files, closest["doc_id"]))}'
        )
    compared = pair.get("compared", 0)
    best = (
        f" (best of {compared} other member{'s' if compared != 1 else ''}: {closest['jaccard']:.3f})" if closest else ""
    )
    return f'<span class="bad">below</span>: false positive{best}'


def audit_html(result: dict, files: RunFiles) -> str:
    """The precision estimate, each sampled removal beside its kept copy, and word diffs (below-threshold first)."""
    if not result["size"]:
        if result.get("requested") == 0:
            return '<p class="note">No audit sample was asked for (--audit 0).</p>'
        return '<p class="note">No documents were removed by dedup, so there is nothing to audit.</p>'
    low, high = result["interval"]
    threshold = result["threshold"]
    below = result["size"] - result["correct"]
    causes = ""
    if below:
        causes = (
            f" Of the {below} below the threshold, {result['chains']} come from chains (another member of the "
            "cluster reaches "
            f"the threshold, the kept copy does not) and {result['false_positives']} from MinHash/LSH false positives "
            f"(no member compared reaches it)."
        )
    head = (
        f'<div class="precision">Estimated precision of dedup: <b>{result["correct"]} of {result["size"]}</b> '
        "sampled removals "
        f"({100 * result['precision']:.1f}%) have exact {result['shingle']} {result['ngram']}-gram Jaccard ≥ "
        f"{threshold} with their kept copy; "
        f"{round(100 * result['confidence'])}% Wilson interval <b>{100 * low:.1f}% – "
        f"{100 * high:.1f}%</b>.{_e(causes)}</div>"
        f'<p class="note">Sample: {result["size"]} documents drawn uniformly without replacement from all removed '
        "documents "
        f"(duplicates and holdout copies), seed {result['seed']}. MinHash J is the estimate from the stored "
        "signatures. "
        'The word diff compares the first words of each document: <span class="legend"><del>struck out</del></span> '
        "only in the "
        'removed document, <span class="legend"><ins>green</ins></span> only in the kept copy.</p>'
    )
    rows = []
    details = []
    for index, pair in enumerate(result["pairs"], 1):
        removed, kept = pair["removed"], pair["kept"]
        kind = "copy of holdout" if removed["contaminated"] else "duplicate"
        removed_place, kept_place = place(files, removed["doc_id"]), place(files, kept["doc_id"])
        verdict = _verdict(pair, files)
        rows.append(
            "<tr><td "
            f'class="num">{index}</td><td>{_e(removed_place)}</td><td>{_e(removed["pile_set_name"])}</td><td>{_e(kind)}</td>'
            f"<td>{_e(kept_place)}</td><td>{_e(kept['pile_set_name'])}</td><td "
            f'class="num">{pair["exact_jaccard"]:.3f}</td>'
            f'<td class="num">{_e(_similarity(pair["estimated_jaccard"]))}</td><td>{verdict}</td></tr>'
        )
        changed = any(op in ("removed", "kept") for op, _ in pair["diff"])
        body = diff_html(pair["diff"]) if changed else '<span class="skip">the same words in the same order</span>'
        truncated = " (diff of the first words only)" if pair["diff_truncated"] else ""
        details.append(
            (
                pair["correct"],
                index,
                (
                    f"<details{'' if pair['correct'] else ' open'}><summary>#{index} {_e(removed_place)} "
                    f"({_e(removed['pile_set_name'])}, "
                    f"{pair['words'][0]:,} words) → kept {_e(kept_place)} ({_e(kept['pile_set_name'])}, "
                    f"{pair['words'][1]:,} words): "
                    f"exact J {pair['exact_jaccard']:.3f} {verdict}{_e(truncated)}</summary>"
                    f'<div class="diff">{body}</div></details>'
                ),
            )
        )
    table = (
        '<table><thead><tr><th class="num">#</th><th>removed</th><th>subset</th><th>as</th><th>kept '
        "copy</th><th>subset</th>"
        '<th class="num">exact J</th><th class="num">MinHash J</th><th>verdict</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )
    ordered = "".join(html_text for _, _, html_text in sorted(details, key=lambda item: (item[0], item[1])))
    return head + table + "<h3>Word diffs (below the threshold first)</h3>" + ordered


def _overview(stats: dict, tables: dict[str, StatsTable], audited: dict, recalled: dict | None) -> str:
    drops = figure_html(
        filter_drops_plot(stats), "Documents each filter dropped, per subset.", "No filter dropped any document."
    )
    return _cards(stats, audited, recalled) + table_html(tables["documents"]) + table_html(tables["filters"]) + drops


def _subsets(stats: dict, tables: dict[str, StatsTable]) -> str:
    by_set = stats["documents"]["by_set"]
    untouched = sorted(n for n, c in by_set.items() if not c["duplicates"] + c["contaminated"])
    caption = "Share of each subset's documents (after filters) that dedup removed."
    if untouched:
        caption += f" No removals from: {', '.join(untouched)}."
    rates = figure_html(duplicate_rate_plot(stats), caption, "Dedup removed nothing.")
    volume = figure_html(volume_plot(stats), "Volume per subset before and after dedup (log scale).", "No documents.")
    return table_html(tables["sets"]) + rates + table_html(tables["sizes"]) + volume


def _mixture_and_splits(tables: dict[str, StatsTable]) -> str:
    return "".join(table_html(tables[key]) for key in ("mixture", "splits") if key in tables)


def _lengths(lengths: dict) -> str:
    empty = sum(counts[0] for counts in lengths["histograms"].values())
    caption = f"Normalised per category; {empty:,} empty documents are not on the log axis. Train files only."
    return figure_html(length_plot(lengths), caption, "No documents.")


def _dedup(stats: dict, tables: dict[str, StatsTable]) -> str:
    cross = tables["cross_set"]
    cross_html = table_html(cross) if cross.rows else f'<h3>{_e(cross.title)}</h3><p class="note">{_e(cross.note)}</p>'
    heatmap_caption = "Rows: subset a duplicate was removed from; columns: subset of its kept copy."
    return (
        f'<p class="sub">{_e(describe_dedup_params(stats["dedup"]["params"]))}</p>'
        + "".join(f'<p class="note bad">{_e(line)}</p>' for line in giant_component_warnings(stats["dedup"]))
        + f'<div class="grid"><div>{table_html(tables["dedup"])}</div><div>{table_html(tables["clusters"])}</div></div>'
        + table_html(tables["exact"])
        + table_html(tables["components"])
        + figure_html(cluster_size_plot(stats), "How many clusters have each size (log–log).", "No clusters.")
        + cross_html
        + figure_html(cross_set_heatmap(stats), heatmap_caption, "No duplicates.")
    )


def _most_contaminated(stats: dict) -> StatsTable:
    """Subsets by the share of their input documents that decontamination touched (cleaned or dropped)."""
    by_set = stats["documents"]["by_set"]
    rows = []
    for set_name, entry in stats["decontamination"].items():
        for subset, counts in entry["by_subset"].items():
            touched = counts["documents_cleaned"] + counts["documents_dropped"]
            total = by_set.get(subset, {}).get("documents_in", 0)
            rows.append((-touched / max(total, 1), subset, set_name, touched, total))
    cells = [
        [subset, set_name, count(touched), percent(touched, total)]
        for _, subset, set_name, touched, total in sorted(rows)[:MOST_CONTAMINATED]
    ]
    columns = ["subset", "eval set", "documents touched", "of subset"]
    return StatsTable("most_contaminated", "Most contaminated subsets", columns, cells, [False, False, True, True])


def _decontamination(stats: dict, tables: dict[str, StatsTable]) -> str:
    examples = []
    for set_name, entry in stats["decontamination"].items():
        for example in entry["examples"]:
            fate = "dropped" if example["dropped"] else f"cleaned, {example['characters_removed']:,} characters removed"
            where = f"{example['source']}:{example['line']} · {example['pile_set_name']}"
            head = f"{set_name} · {where} · {example['matched_ngrams']} matched n-grams · {fate}"
            context = f"…{_e(example['before'])}<del>{_e(example['match'])}</del>{_e(example['after'])}…"
            examples.append(
                f'<p class="note">{_e(head)}<br>n-gram: {_e(example["ngram"])}</p><div class="diff">{context}</div>'
            )
    shown = "".join(examples) or '<p class="note">No document matched an eval n-gram.</p>'
    tables_html = table_html(tables["decontamination"]) + table_html(_most_contaminated(stats))
    return tables_html + "<h3>Examples (first matches by doc_id)</h3>" + shown


def _largest(files: RunFiles, clusters: list[dict]) -> str:
    threshold = files.manifest["dedup"]["threshold"]
    note = (
        f"Up to {MEMBERS_PER_CLUSTER} members per cluster (kept first), each with its exact Jaccard similarity to "
        "the kept "
        f"copy (threshold {threshold}). `pileline clusters {files.location} --cluster ID` lists every member."
    )
    return f'<p class="note">{_e(note)}</p>' + clusters_html(clusters, threshold)


def build_report(run_dir: str | RunFiles, audit_size: int = DEFAULT_AUDIT, seed: int | None = None) -> str:
    """The report of the run at `run_dir` as one HTML string; the audit seed defaults to the manifest's."""
    files = run_dir if isinstance(run_dir, RunFiles) else RunFiles(run_dir)
    stats = gather_stats(files)
    tables = {t.key: t for t in stats_tables(stats)}
    lengths = length_histograms(files)
    enabled = stats["dedup"]["enabled"]
    seed = files.manifest.get("seed", 0) if seed is None else seed
    top = largest_clusters(files, LARGEST_CLUSTERS) if enabled else []
    clusters = describe_clusters(files, [c for _, c in top], limit=MEMBERS_PER_CLUSTER) if top else []
    audited = audit(files, audit_size, seed) if enabled else {"size": 0}
    recalled = measure_recall(files, seed) if enabled else None

    sections = [
        ("overview", "Overview", _overview(stats, tables, audited, recalled)),
        ("subsets", "Subsets", _subsets(stats, tables)),
        ("lengths", "Document lengths", _lengths(lengths)),
    ]
    if stats["mixture"] or stats["splits"]:
        sections.append(("mixture", "Mixture and evaluation splits", _mixture_and_splits(tables)))
    if stats["decontamination"]:
        sections.append(("decontamination", "Decontamination", _decontamination(stats, tables)))
    if enabled:
        sections += [
            ("dedup", "Dedup", _dedup(stats, tables)),
            ("clusters", f"The {len(clusters)} largest clusters", _largest(files, clusters)),
            ("audit", "Audit sample", audit_html(audited, files)),
        ]
    nav = "<nav>" + "".join(f'<a href="#{key}">{_e(title)}</a>' for key, title, _ in sections) + "</nav>"
    body = "".join(f'<section id="{key}"><h2>{_e(title)}</h2>{content}</section>' for key, title, content in sections)
    run = stats["run"]
    subtitle = (
        f"{files.location} · pileline {run['pileline']} · seed {run['seed']} · "
        f"filter preset {run['filter_preset'] or 'none'}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>pileline report: {_e(files.location)}</title><style>{CSS}</style></head>"
        f'<body><main><h1>pileline run report</h1><p class="sub">{_e(subtitle)}</p>{nav}{body}</main></body></html>\n'
    )


def write_report(run_dir: str, out: str | None = None, audit_size: int = DEFAULT_AUDIT, seed: int | None = None) -> str:
    """Write the report (default `RUN_DIR/stats/report.html`) and return where it went."""
    files = RunFiles(run_dir)
    document = build_report(files, audit_size, seed).encode("utf-8")
    if out is None:
        files.run.write_bytes(REPORT, document)
        return files.run.uri(REPORT)
    filesystem, path = resolve(out)
    parent = path.rsplit("/", 1)[0]
    if parent:
        filesystem.create_dir(parent, recursive=True)
    with filesystem.open_output_stream(path, compression=None) as stream:
        stream.write(document)
    return out
