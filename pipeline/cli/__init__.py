"""The `pileline` command line."""
