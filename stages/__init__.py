"""Pure, deterministic stages over Arrow tables: no Ray, no globals, no I/O beyond what a config names."""
