"""Phase drivers on Ray: prepare, dedup, tokens, sequences, their tasks and the runner that chains them."""
