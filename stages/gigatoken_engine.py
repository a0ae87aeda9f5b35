"""gigatoken's BPE (Rust, ~6x tiktoken on one core) with exactly the ids of a reference tokenizer.

- GPT-2: the checked GPT-2 ranks written as a `.tiktoken` rank file, gigatoken's "gpt2" pretokenizer and
  no special tokens, so "<|endoftext|>" inside a text is plain text, as in tiktoken's `encode_ordinary`.
- tokenizer.json: gigatoken reads the file's contents; a file it cannot read leaves `auto` on `tokenizers`.
- Parity: on first use a probe corpus (`probe_texts`) must give the reference's ids, else `auto` uses the
  reference and engine `gigatoken` is an error.
- Refused input: a batch gigatoken raises on is encoded document by document; a document it refuses (a lone
  surrogate: `TypeError`) goes to the reference.
- Newer Unicode: gigatoken knows the letters Unicode 17 added (`DISPUTED_RANGES`), tiktoken's regex does not;
  a document holding one goes to the reference.
- Memory: gigatoken's pretoken cache grows with the distinct pieces seen and has no bound, so the engine is
  rebuilt after `REBUILD_CHARS` characters.

Only `TESTED_VERSION` is used: another installed version leaves `auto` on the reference, as its ids
are unchecked. Nothing is loaded until the first encode, so a driver that needs only the vocabulary
size and EOD id pays nothing.
"""

from __future__ import annotations

import os
import re
import tempfile
from binascii import b2a_base64
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import numpy as np
import pyarrow as pa

from stages.tokenize import ENDOFTEXT, GPT2, Gpt2Tokenizer, JsonTokenizer, flat_ids
from stages.utf8_buffers import utf8_buffers

TESTED_VERSION = "0.10.0"
"""The gigatoken release the parity tests ran on (pinned in pyproject.toml)."""
DISPUTED_RANGES = (
    (0x11DB0, 0x11DBF),
    (0x16EA0, 0x16EB8),
    (0x16EBB, 0x16EBF),
    (0x187F8, 0x187FF),
    (0x18D80, 0x18DBF),
    (0x1E6C0, 0x1E6DE),
    (0x1E6E0, 0x1E6E2),
    (0x1E6E4, 0x1E6E5),
    (0x1E6E7, 0x1E6ED),
    (0x1E6F0, 0x1E6F4),
    (0x1E6FE, 0x1E6FF),
    (0x2B73A, 0x2B73F),
    (0x323B0, 0x3343F),
)
"""Code points gigatoken 0.10.0 splits differently from tiktoken 0.14's regex: Unicode 17 letters and digits
such as Tolong Siki (U+11DB0), all astral. Found, and proven complete, by the every-code-point test."""
DISPUTED = re.compile("[" + "".join(f"{chr(low)}-{chr(high)}" for low, high in DISPUTED_RANGES) + "]")
REBUILD_CHARS = 1 << 30
"""Characters encoded before the engine is rebuilt, dropping its pretoken cache (BENCHMARKS.md: RSS over the
1 GB sample). A rebuild takes a few tenths of a second, ~3 % of gigatoken's time for this much text."""


def probe_texts(specials: Sequence[str] = (ENDOFTEXT,)) -> list[str]:
    """Texts over every alternative of the byte-level pretokenizers: all bytes, scripts, digits, contractions,
    whitespace runs, and each of `specials` alone and inside words."""
    every_byte = "".join(map(chr, range(256)))
    samples = [
        every_byte,
        " ".join(map(chr, range(256))),
        bytes(range(128)).decode("ascii") * 3,
        "Hello, World! It's 3.14159 o'clock; they'll've gone. I'M SURE 'TIS FINE. He’s “quoted”.",
        "'s 's 't 're 've 'm 'll 'd 'S 'T 'LL ''s s' '",
        "a  b   c    d\n\ne\n \nf \n g\t\th \t\n\r\n i \u00a0\u00a0j\u3000\u3000k\u2028l\u200bm",
        "naïve café — déjà vu, Ærøskøbing, Straße, İstanbul 日本語のテキスト 中文 한국어 مرحبا שלום Привет Γειά",
        "emoji 😀👍🏽👨‍👩‍👧‍👦 🇯🇵 Z̷̢̛a̴̡͝l̶̨̛g̷̢̛o̴̡͝ e\u0301 \U0010ffff\ue000 \ufffd",
        "1234567890 12,345.67 1e-10 0x1F ٣٤٥ ⅷ ½ ²",
        "def f(x):\n    return x ** 2  # comment\n\n\tif x != 0: pass\n",
        " " * 300 + "x" + "\n" * 300 + "y" + " \n" * 150 + "\t" * 100,
    ]
    for special in specials:
        samples += [special, f"a{special}b", f" {special} {special}{special}", f"{special}\n\n{special[:-1]}"]
    return samples


class GigatokenTokenizer:
    """`reference`'s ids, computed by gigatoken; `required=False` (engine `auto`) falls back to the reference
    when gigatoken is missing, another version, unable to read the tokenizer, or off on the probe."""

    def __init__(self, reference: Gpt2Tokenizer | JsonTokenizer, required: bool):
        self._reference = reference
        self._required = required
        self.name = reference.name
        self.vocab_size = reference.vocab_size
        self.eod_id = reference.eod_id
        self._engine = None
        self._checked = False
        self._chars = 0
        self._rank_file: bytes | None = None

    @property
    def engine_name(self) -> str:
        """ "gigatoken", or the reference's engine when `auto` chose it (known after the first encode)."""
        self._load()
        if self._engine is not None:
            return "gigatoken"
        return "tiktoken" if isinstance(self._reference, Gpt2Tokenizer) else "tokenizers"

    def encode_batch(self, texts: list[str]) -> list[np.ndarray]:
        flat, sizes = self.encode_flat(texts)
        return np.split(flat, np.cumsum(sizes)[:-1]) if len(texts) else []

    def encode_flat(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        engine = self._load()
        if engine is None:
            return self._reference.encode_flat(texts)
        engine = self._counted(engine, sum(map(len, texts)))
        if any(map(_disputed, texts)):
            return flat_ids([self._encode_one(engine, text) for text in texts])
        try:
            encoded = engine.encode_batch(texts, parallel=False)
        except Exception:
            return flat_ids([self._encode_one(engine, text) for text in texts])
        return _flat(encoded)

    def encode_arrow(self, texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
        """`encode_flat` of an Arrow string array: gigatoken reads the array's UTF-8 buffer in place, with no
        Python string per text (converting 110 MB of real text costs 0.09 s, and gigatoken encodes the buffer
        ~1.4x as fast as the strings). Texts with a disputed code point take `encode_flat`'s way."""
        engine = self._load()
        data, offsets = utf8_buffers(texts)
        if engine is None or _holds_disputed(data, offsets):
            return self.encode_flat(texts.to_pylist())
        engine = self._counted(engine, data.size)
        import awkward as ak  # gigatoken's own dependency: there only when gigatoken is

        content = ak.contents.NumpyArray(data, parameters={"__array__": "char"})
        strings = ak.contents.ListOffsetArray(ak.index.Index64(offsets), content, parameters={"__array__": "string"})
        try:
            encoded = engine.encode_batch(ak.Array(strings), parallel=False)
        except Exception:
            return self.encode_flat(texts.to_pylist())
        return _flat(encoded)

    def _counted(self, engine, chars: int):
        """The engine to encode `chars` more characters with (UTF-8 bytes for Arrow input): a new one every
        `REBUILD_CHARS`."""
        self._chars += chars
        if self._chars > REBUILD_CHARS:
            self._engine = engine = self._build()
            self._chars = 0
        return engine

    def _encode_one(self, engine, text: str) -> np.ndarray:
        if _disputed(text):
            return self._reference.encode_batch([text])[0]
        try:
            return engine.encode(text)
        except Exception:
            return self._reference.encode_batch([text])[0]

    def decode(self, ids: Sequence[int]) -> str:
        return self._reference.decode(ids)

    def _load(self):
        """The engine, built and checked against the reference on first use; None when `auto` chose the reference."""
        if not self._checked:
            self._checked = True
            try:
                engine = self._build()
                mismatch = _first_mismatch(engine, self._reference, probe_texts(self._specials()))
            except Exception as error:  # missing package, other version, a tokenizer.json it cannot read
                if self._required:
                    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                    raise ValueError(f"tokenize.engine: gigatoken cannot run {self.name}: {reason}") from error
                return None
            if mismatch is not None:
                if self._required:
                    raise ValueError(
                        f"tokenize.engine: gigatoken's ids for {self.name} differ from the reference's on {mismatch!r}"
                    )
                return None
            self._engine = engine
        return self._engine

    def _specials(self) -> list[str]:
        if isinstance(self._reference, Gpt2Tokenizer):
            return [ENDOFTEXT]
        return self._reference.added_tokens()

    def _build(self):
        import gigatoken

        version = metadata.version("gigatoken")
        if version != TESTED_VERSION:
            raise ValueError(f"gigatoken {version} is installed; pileline's parity tests ran on {TESTED_VERSION}")
        if self.name == GPT2:
            self._rank_file = self._rank_file or _gpt2_rank_file(self._reference.mergeable_ranks)
            return _with_rank_file(
                self._rank_file,
                lambda path: gigatoken.Tokenizer.from_tiktoken(path, pretokenizer="gpt2", special_tokens={}),
            )
        return gigatoken.Tokenizer.from_json(Path(self.name).read_bytes())

    def __reduce__(self):
        return GigatokenTokenizer, (self._reference, self._required)


def _disputed(text: str) -> bool:
    """Whether `text` holds a code point of `DISPUTED_RANGES`. `isascii` is O(1); UTF-16 needs more than two
    bytes a character only for astral ones (a lone surrogate passes as two), ~6x faster than a regex scan."""
    return (
        not text.isascii()
        and len(text.encode("utf-16-le", "surrogatepass")) != 2 * len(text)
        and DISPUTED.search(text) is not None
    )


def _holds_disputed(data: np.ndarray, offsets: np.ndarray) -> bool:
    """`_disputed` of any of the texts in UTF-8 `data` split at `offsets`: only a text with a four-byte sequence
    (lead byte 0xF0-0xF4: a code point beyond the BMP) is decoded and searched."""
    leads = np.flatnonzero(data >= 0xF0)
    if leads.size == 0:
        return False
    texts = np.unique(np.searchsorted(offsets, leads, side="right") - 1).tolist()
    return any(DISPUTED.search(data[offsets[i] : offsets[i + 1]].tobytes().decode()) for i in texts)


def _flat(encoded) -> tuple[np.ndarray, np.ndarray]:
    """(ids, ids per document) of gigatoken's awkward list array, without copying the ids."""
    offsets = np.asarray(encoded.layout.offsets)
    return np.asarray(encoded.layout.content.data)[offsets[0] : offsets[-1]], np.diff(offsets)


def _first_mismatch(engine, reference: Gpt2Tokenizer | JsonTokenizer, texts: list[str]) -> str | None:
    """The first of `texts` whose ids differ between the engine and the reference, or None."""
    got = engine.encode_batch(texts, parallel=False)
    for text, ids, expected in zip(texts, got, reference.encode_batch(texts)):
        if not np.array_equal(np.asarray(ids), expected):
            return text
    return None


def _gpt2_rank_file(ranks: dict[bytes, int]) -> bytes:
    """GPT-2's checked ranks in tiktoken's rank-file format: base64 of the token's bytes, space, rank."""
    return b"".join(
        b2a_base64(token, newline=False) + b" %d\n" % rank
        for token, rank in sorted(ranks.items(), key=lambda item: item[1])
    )


def _with_rank_file(contents: bytes, load):
    """`load(path)` on a temporary file holding `contents` (gigatoken reads rank files only by path)."""
    descriptor, path = tempfile.mkstemp(suffix=".tiktoken", prefix="pileline-gpt2-")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(contents)
        return load(path)
    finally:
        os.unlink(path)
