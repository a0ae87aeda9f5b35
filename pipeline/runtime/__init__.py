"""The Ray runtime: the session, bounded task maps, progress display."""
