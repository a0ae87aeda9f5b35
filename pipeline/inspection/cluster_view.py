"""One duplicate cluster as a person reads it: its members, which one was kept, and why.

`describe_clusters` gathers, for given clusters, the members (the first `limit` by doc_id and every
kept one), each member's place (`file:line`), subset, role, UTF-8 size, a snippet and the exact
shingle Jaccard similarity to the kept copy. Texts are read per partition (`member_details`, a Ray
task when Ray is up) and never more than the members shown. `pileline clusters` and the HTML report
both use it; `find_document` answers `--doc SOURCE:LINE`, also for documents in no cluster.
"""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.table import Table

from pipeline.errors import UserError
from pipeline.inspection.cluster_table import (
    cluster_composition,
    cluster_rows,
    document_rows,
    largest_clusters,
)
from pipeline.inspection.run_files import RunFiles
from pipeline.runtime.ray_or_local_map import parallel_map
from stages.batch import make_doc_id, split_doc_id
from stages.minhash import exact_jaccard

SNIPPET_CHARS = 240
MEMBERS_SHOWN = 50


def place(files: RunFiles, doc_id: int) -> str:
    """`file:line` of a document, with the input file's base name."""
    file_index, line = split_doc_id(doc_id)
    return f"{files.source_of(file_index).rsplit('/', 1)[-1]}:{line}"


def is_holdout(files: RunFiles, doc_id: int) -> bool:
    return bool(files.record["inputs"][split_doc_id(doc_id)[0]].get("holdout"))


def parse_document(files: RunFiles, text: str) -> int:
    """The doc_id named by `SOURCE:LINE`: SOURCE is an input's path or a trailing part of it (`00.jsonl.zst`)."""
    source, _, line_text = text.rpartition(":")
    if not source or not line_text.isdigit() or int(line_text) < 1:
        raise UserError(f"{text}: expected SOURCE:LINE, e.g. 00.jsonl.zst:31 (lines count from 1)")
    paths = [r["path"] for r in files.record["inputs"]]
    matches = [i for i, path in enumerate(paths) if path == source or path.endswith("/" + source.lstrip("/"))]
    if not matches:
        raise UserError(
            f"{source}: not an input of this run (inputs: {', '.join(p.rsplit('/', 1)[-1] for p in paths)})"
        )
    if len(matches) > 1:
        raise UserError(
            f"{source}: names several inputs ({', '.join(paths[i] for i in matches)}); give more of the path"
        )
    line = int(line_text)
    lines = files.record["inputs"][matches[0]]["lines"]
    if line > lines:
        raise UserError(f"{paths[matches[0]]} has {lines:,} lines; there is no line {line:,}")
    return make_doc_id(matches[0], line)


def member_details(
    files: RunFiles, partition: str, doc_ids: list[int], kept_texts: dict[int, str], kept_of: dict[int, int]
) -> dict[int, dict]:
    """Snippet, size and exact Jaccard to the kept copy (`kept_of[doc] → kept doc_id`) of members in one partition."""
    dedup = files.manifest["dedup"]
    out = {}
    for doc_id, row in files.texts(partition, doc_ids).items():
        text = row["text"]
        kept = kept_texts.get(kept_of.get(doc_id))
        similarity = exact_jaccard(text, kept, dedup["shingle"], dedup["ngram"]) if kept is not None else None
        out[doc_id] = {
            "snippet": text[:SNIPPET_CHARS],
            "bytes": len(text.encode("utf-8")),
            "jaccard_to_kept": similarity,
        }
    return out


def _details(files: RunFiles, doc_ids: list[int], kept_of: dict[int, int]) -> dict[int, dict]:
    """`member_details` for documents anywhere, one task per partition."""
    kept_ids = sorted(set(kept_of.values()))
    kept_texts: dict[int, str] = {}
    for partition, ids in _by_partition(files, kept_ids).items():
        kept_texts.update({d: row["text"] for d, row in files.texts(partition, ids).items()})
    groups = _by_partition(files, doc_ids)
    args = []
    for partition, ids in groups.items():
        texts_needed = {kept_of[d]: kept_texts.get(kept_of[d]) for d in ids if d in kept_of}
        args.append((files, partition, ids, texts_needed, kept_of))
    return parallel_map(member_details, args, lambda acc, part: {**acc, **part}, {})


def _by_partition(files: RunFiles, doc_ids: list[int]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for doc_id in sorted(set(doc_ids)):
        groups[files.partition_of(doc_id).name].append(doc_id)
    return dict(groups)


def keep_reason(files: RunFiles, members: list[dict]) -> str:
    """Why the cluster's kept member(s) were kept, in words (the keep rule of `stages.clustering.choose_kept`)."""
    holdout = [m for m in members if m["holdout"]]
    if holdout:
        return (
            f"the cluster holds {len(holdout)} holdout document(s) ({', '.join(m['place'] for m in holdout[:3])}): "
            "holdout documents are "
            "never removed, and every train member is removed as a copy of holdout data"
        )
    priority = files.manifest["dedup"].get("priority") or []
    kept = next((m for m in members if m["kept"]), None)
    if kept is None:
        return "no kept member among the rows shown"
    if priority and kept["pile_set_name"] in priority:
        return (
            f"kept {kept['place']}: its subset {kept['pile_set_name']} comes first in dedup.priority "
            f"({', '.join(priority)}) among the members, and it has the smallest doc_id (file, then line) within "
            "that subset"
        )
    reason = (
        f"kept {kept['place']}: the member with the smallest doc_id (the first in input order: file index, then line)"
    )
    if files.manifest["dedup"].get("mode") == "threshold":
        reason = (
            f"kept {kept['place']}: the first of its component (input order) with no verified edge to an already kept "
            "member; every member listed here shares a verified edge "
            f"(Jaccard ≥ {files.manifest['dedup']['threshold']}) with it or is an exact copy of one that does"
        )
    return reason


def describe_clusters(
    files: RunFiles, cluster_ids: list[int], limit: int = MEMBERS_SHOWN, texts: bool = True
) -> list[dict]:
    """Size, subsets, members (the first `limit` and the kept ones), roles and the keep reason of each
    cluster, in the order given; with `texts`, also each shown member's snippet, size and Jaccard to the kept copy."""
    rows = cluster_rows(files, cluster_ids, limit=limit)
    composition = cluster_composition(files, cluster_ids)
    members_of: dict[int, list[dict]] = defaultdict(list)
    for row in rows.to_pylist() if rows.num_rows else []:
        members_of[row["cluster_id"]].append(row)
    details: dict[int, dict] = {}
    if texts:
        kept_of = {}
        for members in members_of.values():
            kept = next((m["doc_id"] for m in members if m["kept"]), None)
            if kept is not None:
                kept_of.update({m["doc_id"]: kept for m in members})
        details = _details(files, [r["doc_id"] for ms in members_of.values() for r in ms], kept_of)
    out = []
    for cluster_id in cluster_ids:
        members = []
        for row in members_of.get(cluster_id, []):
            holdout = is_holdout(files, row["doc_id"])
            if row["kept"]:
                role = "kept (holdout)" if holdout else "kept"
            else:
                role = "removed: copy of holdout" if row["contaminated"] else "removed: duplicate"
                if row.get("exact") and not row["contaminated"]:
                    role = "removed: exact copy"
            members.append(
                {
                    **row,
                    "place": place(files, row["doc_id"]),
                    "holdout": holdout,
                    "role": role,
                    **details.get(row["doc_id"], {}),
                }
            )
        members.sort(key=lambda m: (not m["kept"], m["doc_id"]))
        subsets = dict(sorted(composition.get(cluster_id, {}).items(), key=lambda item: (-item[1], item[0])))
        out.append(
            {
                "cluster_id": cluster_id,
                "place": place(files, cluster_id),
                "size": sum(subsets.values()),
                "shown": len(members),
                "subsets": subsets,
                "members": members,
                "why": keep_reason(files, members),
            }
        )
    return out


def find_document(files: RunFiles, doc_id: int) -> dict:
    """What happened to one document: its cluster row if it has one, else kept / filtered / rejected."""
    rows = document_rows(files, [doc_id])
    if rows.num_rows:
        return {"doc_id": doc_id, "place": place(files, doc_id), "cluster_id": rows.column("cluster_id")[0].as_py()}
    partition = files.partition_of(doc_id)
    if files.texts(partition.name, [doc_id], ()):
        return {
            "doc_id": doc_id,
            "place": place(files, doc_id),
            "cluster_id": None,
            "fate": "kept: it is in no duplicate cluster",
        }
    rejects_path = files.rejects_path(partition.name)
    _, line = split_doc_id(doc_id)
    if files.run.exists(rejects_path):
        for row in files.run.read_parquet(rejects_path, columns=["line", "reason"]).to_pylist():
            if row["line"] == line:
                reason = row["reason"]
                fate = (
                    f"removed by the filter {reason.removeprefix('filter:')}"
                    if reason.startswith("filter:")
                    else f"rejected as {reason}"
                )
                return {"doc_id": doc_id, "place": place(files, doc_id), "cluster_id": None, "fate": fate}
    return {
        "doc_id": doc_id,
        "place": place(files, doc_id),
        "cluster_id": None,
        "fate": "not found in the partition's documents or rejects",
    }


def subsets_text(subsets: dict[str, int]) -> str:
    """`Pile-CC 5, Github 2` (members per subset)."""
    return ", ".join(f"{name} {n:,}" for name, n in subsets.items())


def _one_line(text: str, width: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def cluster_table(cluster: dict) -> Table:
    """One cluster's members for the terminal, kept first."""
    title = f"cluster {cluster['cluster_id']} ({cluster['place']}): {cluster['size']:,} members"
    if cluster["shown"] < cluster["size"]:
        title += f", {cluster['shown']:,} shown"
    table = Table(title=title, title_justify="left")
    for name in ("role", "document", "subset", "J to kept", "bytes", "beginning"):
        justify = "right" if name in ("J to kept", "bytes") else "left"
        table.add_column(name, justify=justify, no_wrap=True, overflow="ellipsis")
    for m in cluster["members"]:
        similarity = m.get("jaccard_to_kept")
        style = "bold green" if m["kept"] else None
        table.add_row(
            m["role"],
            m["place"],
            m["pile_set_name"],
            "n/a" if similarity is None else f"{similarity:.3f}",
            f"{m['bytes']:,}" if "bytes" in m else "n/a",
            _one_line(m.get("snippet", "")),
            style=style,
        )
    return table


def show_clusters(
    run_dir: str,
    cluster_id: int | None = None,
    doc: str | None = None,
    limit: int = MEMBERS_SHOWN,
    console: Console | None = None,
) -> int:
    """`pileline clusters`: one cluster (by id or by a member's SOURCE:LINE), or the 20 largest when neither is
    given."""
    console = console or Console()
    files = RunFiles(run_dir)
    if not files.has_clusters():
        raise UserError(f"{run_dir}: this run has no dedup/clusters.parquet (dedup was not enabled)")
    if doc is not None:
        doc_id = parse_document(files, doc)
        found = find_document(files, doc_id)
        if found["cluster_id"] is None:
            console.print(f"{found['place']} (doc_id {doc_id}): {found['fate']}")
            return 0
        console.print(f"{found['place']} (doc_id {doc_id}) is in cluster {found['cluster_id']}")
        cluster_id = found["cluster_id"]
    if cluster_id is not None:
        clusters = describe_clusters(files, [cluster_id], limit)
        if not clusters[0]["members"]:
            raise UserError(
                f"{cluster_id}: no such cluster (a cluster id is the smallest doc_id of its members; see `pileline "
                f"clusters {run_dir}`)"
            )
        console.print(cluster_table(clusters[0]))
        console.print(f"why: {clusters[0]['why']}")
        dedup = files.manifest["dedup"]
        console.print(
            f"J to kept: exact Jaccard similarity of the {dedup['shingle']} {dedup['ngram']}-gram shingle sets to "
            "the kept copy; "
            f"the run's threshold is {dedup['threshold']}"
        )
        return 0
    top = largest_clusters(files, 20)
    table = Table(title="The 20 largest duplicate clusters (show one with --cluster ID)", title_justify="left")
    for name, justify in (("cluster ID", "right"), ("size", "right"), ("kept", "left"), ("subsets", "left")):
        table.add_column(name, justify=justify)
    for cluster in describe_clusters(files, [c for _, c in top], limit=0, texts=False):
        kept = ", ".join(m["place"] for m in cluster["members"] if m["kept"])
        table.add_row(str(cluster["cluster_id"]), f"{cluster['size']:,}", kept, subsets_text(cluster["subsets"]))
    console.print(table)
    return 0
