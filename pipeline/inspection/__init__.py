"""Reading a finished run: its files, statistics, tables, report, clusters, audit, step view, verify."""
