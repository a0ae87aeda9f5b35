"""The report's plots: matplotlib figures (Agg, no pyplot state) encoded as base64 PNG for inline `<img>`.

Each function takes numbers gathered elsewhere (`run_stats.gather_stats`, `length_stats.length_histograms`)
and returns a `Plot` (PNG bytes as base64 and alt text), or None when there is nothing to draw.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

DPI = 110
WIDTH = 9.0
KEPT_COLOUR, DUPLICATE_COLOUR, HOLDOUT_COLOUR, FILTERED_COLOUR = "#4C72B0", "#DD8452", "#C44E52", "#8C8C8C"
EXACT_COLOUR = "#937860"
FILTER_COLOURS = ("#8172B3", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974", "#64B5CD", "#55A868", "#C44E52")


@dataclass(frozen=True)
class Plot:
    """A rendered figure: base64 PNG and a text alternative."""

    png_base64: str
    alt: str

    @property
    def data_uri(self) -> str:
        return f"data:image/png;base64,{self.png_base64}"


def _render(figure: Figure, alt: str) -> Plot:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    return Plot(base64.b64encode(buffer.getvalue()).decode("ascii"), alt)


def _integer_label(value: float, _position=None) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def _bar_height(rows: int) -> float:
    return max(2.5, 0.32 * rows + 1.2)


def duplicate_rate_plot(stats: dict) -> Plot | None:
    """Per subset with removals: share of documents after filters removed as exact copies, as near-duplicates and
    as holdout copies."""
    by_set = {n: c for n, c in stats["documents"]["by_set"].items() if c["duplicates"] + c["contaminated"]}
    if not stats["dedup"]["enabled"] or not by_set:
        return None
    names = sorted(by_set, key=lambda n: (by_set[n]["dup_rate"], n))

    def shares(key: str) -> list[float]:
        return [by_set[n][key] / by_set[n]["documents_after_filters"] for n in names]

    exact, near, held = shares("exact_duplicates"), shares("near_duplicates"), shares("contaminated")
    dup = [e + n for e, n in zip(exact, near)]
    figure = Figure(figsize=(WIDTH, _bar_height(len(names))))
    ax = figure.subplots()
    ax.barh(names, exact, color=EXACT_COLOUR, label="exact copies")
    ax.barh(names, near, left=exact, color=DUPLICATE_COLOUR, label="near-duplicates")
    ax.barh(names, held, left=dup, color=HOLDOUT_COLOUR, label="copies of holdout documents")
    for y, name in enumerate(names):
        c = by_set[name]
        ax.text(
            dup[y] + held[y],
            y,
            f"  {c['duplicates'] + c['contaminated']:,} / {c['documents_after_filters']:,}",
            va="center",
            fontsize=8,
        )
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlim(0, max(0.05, max(d + h for d, h in zip(dup, held)) * 1.25))
    ax.set_xlabel("removed by dedup, share of the subset's documents after filters")
    ax.set_title("Duplicate rate per subset")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return _render(figure, "Bar chart: share of each subset's documents removed by dedup")


def cross_set_heatmap(stats: dict) -> Plot | None:
    """Subset × subset matrix: duplicates removed from one subset (rows) whose kept copy is in another (columns)."""
    cross = stats["dedup"]["cross_set"]
    if not cross:
        return None
    sets = sorted({name for name in cross} | {kept for row in cross.values() for kept in row})
    matrix = [[cross.get(r, {}).get(k, 0) for k in sets] for r in sets]
    top = max(max(row) for row in matrix)
    side = max(4.0, 0.42 * len(sets) + 2.5)
    figure = Figure(figsize=(side + 1.5, side))
    ax = figure.subplots()
    masked = [[value if value else float("nan") for value in row] for row in matrix]
    image = ax.imshow(masked, cmap="viridis", norm=LogNorm(vmin=1, vmax=max(top, 2)))
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value:
                ax.text(
                    j,
                    i,
                    f"{value:,}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if value < top**0.5 else "black",
                )
    ax.set_xticks(range(len(sets)), sets, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(sets)), sets, fontsize=8)
    ax.set_xlabel("kept copy in")
    ax.set_ylabel("duplicate removed from")
    ax.set_title("Duplicates (exact copies and near-duplicates) by subset pair")
    bar = figure.colorbar(image, ax=ax, label="documents (log scale)", shrink=0.8)
    bar.ax.yaxis.set_major_formatter(FuncFormatter(_integer_label))
    return _render(figure, "Heatmap: duplicates removed from each subset by the subset of their kept copy")


def cluster_size_plot(stats: dict) -> Plot | None:
    """Number of clusters of each size, on log–log axes."""
    sizes = sorted((int(s), n) for s, n in stats["dedup"]["cluster_sizes"].items() if n)
    if not sizes:
        return None
    figure = Figure(figsize=(WIDTH, 4.2))
    ax = figure.subplots()
    ax.loglog([s for s, _ in sizes], [n for _, n in sizes], "o", color=KEPT_COLOUR, markersize=5)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(_integer_label))
        axis.set_minor_formatter(FuncFormatter(lambda value, _p: ""))
    if len(sizes) <= 12:
        ax.set_xticks([s for s, _ in sizes])
    ax.set_xlabel("cluster size (documents)")
    ax.set_ylabel("clusters")
    ax.set_title(f"Cluster size distribution ({sum(n for _, n in sizes):,} clusters)")
    ax.grid(which="both", alpha=0.3)
    ax.set_xlim(1.5, max(s for s, _ in sizes) * 1.6)
    ax.set_ylim(0.7, max(n for _, n in sizes) * 1.6)
    return _render(figure, "Log-log plot of cluster sizes and how many clusters have each size")


def filter_drops_plot(stats: dict) -> Plot | None:
    """Per subset: documents dropped by each filter (stacked)."""
    filters = {name: entry["by_set"] for name, entry in stats["filters"].items() if entry["by_set"]}
    if not filters:
        return None
    by_set = stats["documents"]["by_set"]
    sets = sorted(
        {s for counts in filters.values() for s in counts}, key=lambda s: (by_set.get(s, {}).get("filtered", 0), s)
    )
    figure = Figure(figsize=(WIDTH, _bar_height(len(sets))))
    ax = figure.subplots()
    left = [0] * len(sets)
    for index, (name, counts) in enumerate(sorted(filters.items())):
        values = [counts.get(s, 0) for s in sets]
        ax.barh(sets, values, left=left, color=FILTER_COLOURS[index % len(FILTER_COLOURS)], label=name)
        left = [a + b for a, b in zip(left, values)]
    for y, name in enumerate(sets):
        total = by_set.get(name, {}).get("documents_in", 0)
        share = f" ({100 * left[y] / total:.1f}% of {total:,})" if total else ""
        ax.text(left[y], y, f"  {left[y]:,}{share}", va="center", fontsize=8)
    ax.set_xlim(0, max(left) * 1.45)
    ax.set_xlabel("documents dropped")
    ax.set_title("Filter drops per subset")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return _render(figure, "Stacked bar chart: documents each filter dropped, per subset")


def volume_plot(stats: dict) -> Plot | None:
    """Per subset: tokens before and after dedup (bytes after filters and after dedup when there are no token stats)."""
    tokens = stats["tokens"]
    by_set = stats["documents"]["by_set"]
    if tokens["available"] and tokens["by_set"]:
        values = {n: (c.get("tokens_before", 0), c.get("tokens", 0)) for n, c in tokens["by_set"].items()}
        unit, title = "tokens", f"Tokens per subset ({tokens['tokenizer']})"
    else:
        values = {n: (c["bytes_after_filters"], c["bytes_out"]) for n, c in by_set.items()}
        unit, title = "bytes", "Bytes per subset (no token statistics in this run)"
    values = {n: v for n, v in values.items() if v[0] or v[1]}
    if not values:
        return None
    names = sorted(values, key=lambda n: (values[n][0], n))
    figure = Figure(figsize=(WIDTH, _bar_height(len(names)) * 1.2))
    ax = figure.subplots()
    positions = range(len(names))
    before, after = [values[n][0] for n in names], [values[n][1] for n in names]
    ax.barh(
        [p + 0.2 for p in positions],
        before,
        height=0.4,
        color=FILTERED_COLOUR,
        label=f"{unit} before dedup (after filters)",
    )
    ax.barh([p - 0.2 for p in positions], after, height=0.4, color=KEPT_COLOUR, label=f"{unit} after dedup")
    for p, name in zip(positions, names):
        before, after = values[name]
        if before:
            change = 100 * (before - after) / before
            ax.text(before, p + 0.2, f"  −{change:.1f}%" if change else "  unchanged", va="center", fontsize=7)
    ax.set_yticks(list(positions), names)
    ax.set_xscale("log")
    ax.set_xlabel(f"{unit} (log scale)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", which="both", alpha=0.3)
    return _render(figure, f"Bar chart: {unit} per subset before and after dedup")


def _bytes_label(value: float, _position=None) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:g} {unit}"
        value /= 1024
    return f"{value:g} TiB"


def length_plot(lengths: dict) -> Plot | None:
    """Document length distributions (UTF-8 bytes, power-of-two bins) of kept, duplicate, holdout-copy and filtered
    documents."""
    histograms = lengths["histograms"]
    edges = lengths["bin_edges"]
    colours = {
        "kept": KEPT_COLOUR,
        "duplicate": DUPLICATE_COLOUR,
        "contaminated": HOLDOUT_COLOUR,
        "filtered": FILTERED_COLOUR,
    }
    labels = {
        "kept": "kept",
        "duplicate": "removed: exact copy or near-duplicate",
        "contaminated": "removed: copy of holdout",
        "filtered": "removed: filtered",
    }
    used = [i for i in range(len(edges)) if any(histograms[c][i] for c in histograms)]
    if not used:
        return None
    low, high = max(1, min(used)), max(used) + 1
    figure = Figure(figsize=(WIDTH, 4.4))
    ax = figure.subplots()
    for category, counts in histograms.items():
        total = sum(counts)
        if not total:
            continue
        xs = [2 ** (i - 1) for i in range(low, high + 1)]
        shares = [counts[i] / total for i in range(low, high)]
        ax.stairs(shares, xs, color=colours[category], linewidth=2, label=f"{labels[category]} ({total:,})")
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(FuncFormatter(_bytes_label))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("document length (UTF-8 bytes, power-of-two bins)")
    ax.set_ylabel("share of the category's documents")
    title = "Document length: kept vs removed"
    if lengths.get("filtered_cut"):
        cut_to = _bytes_label(lengths["filtered_cut_bytes"])
        title += f" ({lengths['filtered_cut']:,} filtered documents stored cut to {cut_to})"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _render(figure, "Step histograms of document length for kept and removed documents")
