"""The dedup phase's exchanges: rows routed to K = F^L slots in L levels of fan-out F, never to partitions.

A task that sends rows writes one segment file per exchange with F segments (`segment_files`). With
one level (L = 1) a receiving task reads its run of slots from every sender's file. With L ≥ 2 the
senders split by the slot's first base-F digit only, and relay levels take each next digit: a relay
task reads one segment of at most F files and writes one file of F segments. Every file is read by at
most F tasks and every task reads at most F segments per file, so an exchange's pieces (non-empty
segments), files and requests grow with its senders times F, that is with the corpus, not its square.

    level 0   senders                      file {name}/{sender:05d}.seg, segment = digit 0 of the slot
    level j   relay (prefix q, group g)    file {name}-relay{j}/{q:05d}-{g:05d}.seg: segment q % F of
                                           the level j-1 files of prefix q // F, groups [gF, gF+F)
    receive   slots [a, b) in one block    segments [a % F, ..] of the last level's files of prefix a // F

The slot of a row is recomputed from the row at every level (`SlotSpace.slots`), so relays need no
extra column; K, F and L depend on the data alone, and no result depends on them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa

from pipeline.formats.run_directory import RunDirectory
from pipeline.formats.segment_files import IOLedger, read_segments, write_segments
from pipeline.runtime.task_resources import phase_task

FAN_OUT = 64
"""F: segments per file and files per relay task; K = F^L slots, L the fewest levels giving enough slots."""


@dataclass(frozen=True)
class Exchange:
    """One exchange: the directory its files go to, its rows' schema, and the column that routes a row
    (`by`: "hash" of an id into K slots, or "doc": the slot of the doc range holding a doc_id)."""

    name: str
    schema: pa.Schema
    column: str
    by: str = "hash"


@dataclass(frozen=True)
class Levels:
    """K = fan_out ** levels slots; `slot_tasks` contiguous runs of slots, each inside one block of F."""

    fan_out: int
    levels: int
    slot_tasks: tuple[tuple[int, int], ...]

    @property
    def slots(self) -> int:
        return self.fan_out**self.levels

    def digit(self, slots: np.ndarray, level: int) -> np.ndarray:
        return (slots // self.fan_out ** (self.levels - 1 - level)) % self.fan_out

    def files_at(self, senders: int, level: int) -> int:
        """Files per prefix at `level` (level 0: the senders' files)."""
        files = senders
        for _ in range(level):
            files = math.ceil(files / self.fan_out)
        return files


def plan_levels(slots_needed: int, tasks: int, fan_out: int = FAN_OUT) -> Levels:
    """The fewest levels whose F^L slots reach `slots_needed`, and `tasks` runs of slots to receive them in."""
    levels = 1
    while fan_out**levels < slots_needed:
        levels += 1
    slots = fan_out**levels
    blocks = slots // fan_out if levels > 1 else 1
    per_block = max(1, math.ceil(min(tasks, slots) / blocks))
    width = slots // blocks
    runs = []
    for block in range(blocks):
        bounds = np.linspace(0, width, min(per_block, width) + 1).round().astype(int)
        runs.extend((block * width + int(a), block * width + int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a)
    return Levels(fan_out, levels, tuple(runs))


class SlotSpace(Protocol):
    """What an exchange needs of its phase: where files go, the levels, and each row's slot."""

    run: RunDirectory
    work_dir: str
    levels: Levels

    def slots(self, exchange: Exchange, table: pa.Table) -> np.ndarray: ...


def sender_path(space: SlotSpace, exchange: Exchange, sender: int) -> str:
    return f"{space.work_dir}/{exchange.name}/{sender:05d}.seg"


def relay_path(space: SlotSpace, exchange: Exchange, level: int, prefix: int, group: int) -> str:
    return f"{space.work_dir}/{exchange.name}-relay{level}/{prefix:05d}-{group:05d}.seg"


def send(space: SlotSpace, exchange: Exchange, sender: int, table: pa.Table, ledger: IOLedger) -> None:
    """Write `table` as sender `sender`'s file of `exchange`, segmented by the first digit of each row's slot."""
    levels = space.levels
    segment = levels.digit(space.slots(exchange, table), 0) if table.num_rows else np.zeros(0, np.int64)
    io = write_segments(space.run, sender_path(space, exchange, sender), table, segment, levels.fan_out)
    ledger.of(exchange.name).add(io)


def _level_files(space: SlotSpace, exchange: Exchange, senders: int, level: int, prefix: int) -> list[str]:
    """The files at `level` whose segments hold prefix `prefix` (level digits) followed by the next digit."""
    if level == 0:
        return [sender_path(space, exchange, i) for i in range(senders)]
    count = space.levels.files_at(senders, level)
    return [relay_path(space, exchange, level, prefix, g) for g in range(count)]


def relay_items(space: SlotSpace, exchange: Exchange, senders: int, level: int) -> list[tuple[int, int]]:
    """The (prefix, group) relay tasks of `level` (1 ≤ level < L)."""
    groups = space.levels.files_at(senders, level)
    return [(prefix, group) for prefix in range(space.levels.fan_out**level) for group in range(groups)]


def relay_summary_path(space: SlotSpace, exchange: Exchange, level: int, item: tuple[int, int]) -> str:
    return relay_path(space, exchange, level, *item).removesuffix(".seg") + ".json"


@phase_task
def relay_task(space: SlotSpace, exchange: Exchange, senders: int, level: int, prefix: int, group: int) -> dict:
    """One relay: segment `prefix % F` of a group of F files of the previous level, split by the next digit."""
    levels = space.levels
    fan = levels.fan_out
    inputs = _level_files(space, exchange, senders, level - 1, prefix // fan)[group * fan : (group + 1) * fan]
    ledger = IOLedger()
    digit = prefix % fan
    table, io = read_segments(space.run, inputs, digit, digit + 1, fan, exchange.schema)
    ledger.of(exchange.name).add(io)
    segment = levels.digit(space.slots(exchange, table), level) if table.num_rows else np.zeros(0, np.int64)
    path = relay_path(space, exchange, level, prefix, group)
    ledger.of(exchange.name).add(write_segments(space.run, path, table, segment, fan))
    summary = {"rows": table.num_rows, "io": ledger.to_json()}
    space.run.write_json(path.removesuffix(".seg") + ".json", summary)
    return summary


def receive(space: SlotSpace, sources: list[tuple[Exchange, int]], first: int, stop: int, ledger: IOLedger) -> pa.Table:
    """Rows of slots [first, stop) (one block) from every (exchange, sender count) in `sources`, in order."""
    levels = space.levels
    fan = levels.fan_out
    last = levels.levels - 1
    block = first // fan if last else 0
    low, high = (first - block * fan, stop - block * fan) if last else (first, stop)
    tables = []
    for exchange, senders in sources:
        files = _level_files(space, exchange, senders, last, block)
        table, io = read_segments(space.run, files, low, high, fan, exchange.schema)
        ledger.of(exchange.name).add(io)
        tables.append(table)
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]
