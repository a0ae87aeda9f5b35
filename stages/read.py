"""Read: turn raw JSON lines of one input file into a document batch and a batch of rejected lines.

Pure: the caller streams the file (`pipeline.formats.input_files`) and hands over lines with their 1-based
numbers. A line is rejected, never dropped silently, when it is blank, not valid UTF-8, not a JSON
object, lacks `text`, has a non-string `text`, or is larger than `max_doc_bytes`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import orjson
import pyarrow as pa
from pydantic import Field

from stages.batch import DOC_SCHEMA, REJECT_RAW_BYTES, REJECT_SCHEMA, make_doc_id
from stages.config import StageConfig
from stages.normalize import NormalizeConfig, normalize_texts

UNKNOWN_SET = "unknown"


class ReadConfig(StageConfig):
    """Limits on input lines."""

    max_doc_bytes: int = Field(64 << 20, ge=1, description="lines longer than this are rejected as too_large")


def _parse(raw: bytes, max_doc_bytes: int) -> tuple[str, str] | str:
    """(text, pile_set_name) for a good line, else the reject reason."""
    if len(raw) > max_doc_bytes:
        return "too_large"
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return "blank_line" if not raw.strip() else _diagnose(raw)
    if not isinstance(obj, dict):
        return "not_an_object"
    if "text" not in obj:
        return "missing_text"
    text = obj["text"]
    if isinstance(text, list) and all(isinstance(part, str) for part in text):
        text = "\n\n".join(text)  # lm_dataformat's convention for list-valued text
    if not isinstance(text, str):
        return "text_not_a_string"
    return text, _pile_set_name(obj.get("meta"))


def _diagnose(raw: bytes) -> str:
    """Why orjson refused a line: bad UTF-8, a lone surrogate escape (valid JSON, unencodable text), or bad JSON."""
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid_utf8"
    try:
        json.loads(decoded)
    except ValueError:
        return "invalid_json"
    return "lone_surrogate"


def _pile_set_name(meta: object) -> str:
    if isinstance(meta, (str, bytes)):
        try:
            meta = orjson.loads(meta)
        except orjson.JSONDecodeError:
            return UNKNOWN_SET
    if isinstance(meta, dict):
        name = meta.get("pile_set_name")
        if isinstance(name, str) and name:
            return name
    return UNKNOWN_SET


def parse_lines(
    lines: Sequence[bytes],
    first_line: int,
    file_index: int,
    source: str,
    config: ReadConfig,
    normalize: NormalizeConfig | None = None,
) -> tuple[pa.Table, pa.Table]:
    """Parse `lines` (numbered from `first_line`) into (documents, rejects) tables; with `normalize`, the texts
    are fixed (`stages.normalize`) before they become Arrow strings. Only the texts and subset names are
    collected line by line; ids, line numbers and the source are filled in for all documents at once."""
    texts: list[str] = []
    names: list[str] = []
    good: list[int] = []
    rejects: dict[str, list] = {name: [] for name in REJECT_SCHEMA.names}
    max_doc_bytes = config.max_doc_bytes
    for offset, raw in enumerate(lines):
        parsed = _parse(raw, max_doc_bytes)
        if isinstance(parsed, str):
            rejects["source"].append(source)
            rejects["line"].append(first_line + offset)
            rejects["reason"].append(parsed)
            rejects["pile_set_name"].append(None)
            rejects["raw"].append(bytes(raw[:REJECT_RAW_BYTES]))
            continue
        good.append(offset)
        texts.append(parsed[0])
        names.append(parsed[1])
    if normalize is not None:
        texts = normalize_texts(texts, normalize)
    line = np.asarray(good, dtype=np.int64) + first_line
    docs = {
        "doc_id": make_doc_id(file_index, 0) | line,
        "source": pa.array([source] * len(good), pa.string()),
        "line": line,
        "pile_set_name": names,
        "text": texts,
    }
    return pa.table(docs, schema=DOC_SCHEMA), pa.table(rejects, schema=REJECT_SCHEMA)
