"""On-disk formats: the run directory, filesystems, input files, MMIDIDX, order file, Parquet and shuffle files, the
token reader."""
