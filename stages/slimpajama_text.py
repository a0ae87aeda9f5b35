"""SlimPajama's text normalisation, shared by its length filter and by character shingles.

Cerebras modelzoo (`slimpajama/preprocessing/filter.py`, `slimpajama/dedup/to_hash.py`): lower-case
(`str.lower`), delete the 32 characters of `string.punctuation`, strip, and collapse every run of
whitespace into one space. Python's `re` `\\s` and `str.split()` both take whitespace to be
`str.isspace` (equal on every code point), so `" ".join(....split())` is exactly that definition.
"""

from __future__ import annotations

import string

PUNCTUATION = string.punctuation
"""The ASCII punctuation SlimPajama deletes (vectorised shingling builds its byte table from this)."""
_DELETE_PUNCTUATION = str.maketrans("", "", PUNCTUATION)


def slimpajama_clean(text: str) -> str:
    """Lower-cased, punctuation deleted, whitespace runs collapsed to one space and stripped."""
    return " ".join(text.lower().translate(_DELETE_PUNCTUATION).split())
