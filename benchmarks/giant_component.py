"""One component of a million members (a shared template), through the steps that hold a whole component.

    python benchmarks/giant_component.py [--members 1000000] [--seed 0]

The keep step is the only dedup step that holds a whole component in one task: its members and
their verified edges. This builds the edges a template makes after verification: every member
within the threshold of a few template variants (hubs), and chains of members within it of the
previous one only; then it runs the connected components of those edges (what the distributed
rounds compute) and both keep rules on the component, each in a forked process, and prints seconds
and how far the process's peak RSS rose above its start, plus how many documents each rule keeps.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time

import numpy as np

from stages.clustering import connected_components, keep_with_copies


def template_edges(members: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Edges of one component: 60% of members hang on one of 50 hubs, 40% form chains of 2–20 links."""
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(1 << 40, members, replace=False)).astype(np.int64)
    hubs = ids[:50]
    on_hub = rng.random(members) < 0.6
    on_hub[:50] = False
    hub_src = ids[on_hub]
    hub_dst = hubs[rng.integers(0, hubs.size, hub_src.size)]
    chained = ids[~on_hub]
    chain_src, chain_dst = chained[1:], chained[:-1]
    keep_link = rng.random(chain_src.size) < 0.9  # cut into chains of ~10
    joins = rng.integers(0, hubs.size, chained.size)  # every chain start touches a hub, so it is one component
    src = np.concatenate([hub_src, chain_src[keep_link], chained])
    dst = np.concatenate([hub_dst, chain_dst[keep_link], hubs[joins]])
    loop = src == dst
    return src[~loop], dst[~loop]


def _child(function, args, pipe) -> None:
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = function(*args)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pipe.send((seconds, (peak - baseline) * 1024, result))


def measured(label: str, function, *args):
    """Run `function(*args)` in a forked child; print its seconds and how far its peak RSS rose above the start."""
    receive, send = multiprocessing.get_context("fork").Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(target=_child, args=(function, args, send))
    child.start()
    seconds, grown, result = receive.recv()
    child.join()
    print(f"| {label} | {seconds:.2f} | {grown / 2**20:,.0f} |")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    src, dst = template_edges(args.members, args.seed)
    print(f"one component: {args.members:,} members, {src.size:,} verified edges\n")
    print("| step | seconds | peak RSS growth MiB |")
    print("|---|---|---|")
    nodes, labels = measured("connected components (single process)", connected_components, src, dst)
    if np.unique(labels).size != 1:
        raise SystemExit(f"FAIL: expected one component, got {np.unique(labels).size}")
    n = nodes.size
    zeros, holdout, no_copy = np.zeros(n, np.int64), np.zeros(n, bool), np.full(n, -1, np.int64)
    components = measured(
        "keep rule: components", keep_with_copies, "components", labels, nodes, zeros, holdout, no_copy, src, dst
    )
    threshold = measured(
        "keep rule: threshold-true", keep_with_copies, "threshold", labels, nodes, zeros, holdout, no_copy, src, dst
    )
    print(f"\nkept: components {int(components.kept.sum()):,}, threshold-true {int(threshold.kept.sum()):,} of {n:,}")


if __name__ == "__main__":
    main()
