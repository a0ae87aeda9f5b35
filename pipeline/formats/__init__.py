"""On-disk formats: the run directory (its lock, storage errors), filesystems, input files (and their identity),
MMIDIDX, order file, Parquet and shuffle files, the token reader."""
