"""What a finished run keeps under `stages/`, and what it removes because no command reads it.

| intermediate | read after the run by | kept |
|---|---|---|
| `prepare-*/file-*.json`, `<partition>.json` | `stats`, `report`, `clusters`; a re-run | yes |
| `prepare-*/<partition>.docs.parquet` | `report` (audits, lengths), `clusters` (texts); a re-run | yes |
| `dedup-*/<step>/*.json` (every step's summaries) | a re-run (reuse of the dedup phase) | yes |
| `dedup-*/clusters/<partition>.parquet` | the tokens phase of a re-run | yes |
| `dedup-*/<exchange>/*.seg` (band keys, texts to verify, edges…) | nothing: only later steps read them | removed |
| `tokens-*/tokens/<partition>.json` | a re-run (reuse, token statistics) | yes |
| `tokens-*/tokens/<partition>.{bin,parquet}` | nothing: the documents step copied them to `tokens/` | removed |
| `layout-*/…/*.json` | a re-run (reuse of documents, order and sequences) | yes |

MinHash signatures are never stored: the dedup phase's band-keys step computes them from the prepared
texts, and inspection recomputes the few it needs (`RunFiles.signatures`). A re-run with the same dedup
settings finds every dedup step's summary and reuses the phase without reading its removed files.
A re-run that must write a documents file again tokenizes its partitions again
(`pipeline.phases.tokens._restore_tokenized`); `--keep-intermediates` keeps everything.
"""

from __future__ import annotations

from pipeline.formats.run_directory import RunDirectory
from pipeline.phases.tokens_plan import TokensPlan


def remove_tokenized_partitions(plan: TokensPlan) -> int:
    """Delete every tokenized partition's ids (`.bin`) and table (`.parquet`), keeping its summary; bytes freed."""
    run = plan.run
    freed = 0
    for partition in plan.partitions:
        for suffix in (".bin", ".parquet"):
            path = plan.step_path("tokens", partition, suffix)
            if run.exists(path):
                freed += run.size(path)
                run.delete(path)
    return freed


def remove_dedup_work(run: RunDirectory, work_dir: str) -> int:
    """Delete the dedup exchanges' segment files (`.seg`), keeping the summaries and the `clusters` step's
    Parquet files; bytes freed."""
    freed = 0
    for path in run.list_files(work_dir, ".seg"):
        freed += run.size(path)
        run.delete(path)
    return freed
