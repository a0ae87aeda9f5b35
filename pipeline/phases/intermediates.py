"""What a finished run keeps under `stages/`, and what it removes because no command reads it.

| intermediate | read after the run by | kept |
|---|---|---|
| `prepare-*/file-*.json`, `<partition>.json` | `stats`, `report`, `clusters`; a re-run | yes |
| `prepare-*/<partition>.docs.parquet` | `report` (audits, lengths), `clusters` (texts); a re-run | yes |
| `dedup-*/…` | a re-run (reuse of the dedup phase) | yes |
| `tokens-*/tokens/<partition>.json` | a re-run (reuse, token statistics) | yes |
| `tokens-*/tokens/<partition>.{bin,parquet}` | nothing: the documents step copied them to `tokens/` | removed |
| `layout-*/…/*.json` | a re-run (reuse of documents, order and sequences) | yes |

A re-run that must write a documents file again tokenizes its partitions again
(`pipeline.phases.tokens._restore_tokenized`); `--keep-intermediates` keeps everything.
"""

from __future__ import annotations

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
