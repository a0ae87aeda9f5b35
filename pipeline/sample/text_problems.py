"""Text problems a cleaner must repair (mojibake, entities, CRLF, control characters, ...) and junk it must drop."""

from __future__ import annotations

import re
from collections.abc import Callable

from pipeline.sample.templates import GENERAL
from pipeline.sample.writer import Writer

_OPEN_DOUBLE = re.compile(r'(^|[\s(\[—-])"', re.M)
_OPEN_SINGLE = re.compile(r"(^|[\s(\[—])'", re.M)


def smarten(text: str) -> str:
    """Straight quotes to curly ones, the way word processors do."""
    text = _OPEN_DOUBLE.sub("\\1“", text).replace('"', "”")
    return _OPEN_SINGLE.sub("\\1‘", text).replace("'", "’")


_CP1252_C1 = str.maketrans({chr(b): bytes([b]).decode("cp1252") for b in range(0x80, 0xA0)
                            if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)})


def _mojibake_of(text: str, windows: bool) -> str:
    """UTF-8 bytes read as Windows-1252 (undefined bytes kept as Latin-1, as browsers do) or as Latin-1."""
    wrong = text.encode("utf-8").decode("latin-1")
    return wrong.translate(_CP1252_C1) if windows else wrong


def _mojibake(w: Writer, text: str) -> str:
    windows, layers = w.chance(0.7), 2 if w.chance(0.1) else 1
    paragraphs = text.split("\n\n")
    if len(paragraphs) > 3 and w.chance(0.4):
        start = w.between(0, len(paragraphs) - 2)
        span = "\n\n".join(paragraphs[start:start + 2])
        if not span.isascii():
            for _ in range(layers):
                span = _mojibake_of(span, windows)
            return "\n\n".join(paragraphs[:start] + [span] + paragraphs[start + 2:])
    if text.isascii():
        text += f"\n\nCafé {w.surname()} — it’s open."
    for _ in range(layers):
        text = _mojibake_of(text, windows)
    return text


_ENTITIES = (("&", ("&amp;",)), ('"', ("&quot;",)), ("’", ("&#8217;", "&rsquo;")), ("“", ("&#8220;", "&ldquo;")),
             ("”", ("&#8221;", "&rdquo;")), ("—", ("&mdash;", "&#8212;")), ("é", ("&eacute;", "&#233;")),
             ("ü", ("&uuml;",)), ("…", ("&hellip;",)))


def _html_entities(w: Writer, text: str) -> str:
    for char, names in _ENTITIES:
        text = text.replace(char, w.pick(names))
    return text if "&" in text else text + f" {w.surname()} &amp; {w.surname()}"


def _html_markup(w: Writer, text: str) -> str:
    """Entities inside tags: text that looks like HTML, which ftfy's unescape_html="auto" leaves alone."""
    return "\n".join(f"<p>{p}</p>" for p in _html_entities(w, text).split("\n\n")) + "\n<br />"


def _crlf(w: Writer, text: str) -> str:
    return text.replace("\n", "\r\n") if "\n" in text else text + "\r\n"


_C0 = "\x00\x01\x02\x07\x08\x0b\x0e\x1a\x1f\x7f"


def _control_chars(w: Writer, text: str) -> str:
    """Windows-1252 punctuation left as C1 controls, plus a few stray C0 characters."""
    text = text.translate(str.maketrans({"’": "\x92", "‘": "\x91", "“": "\x93", "”": "\x94", "—": "\x97"}))
    spaces = [m.start() for m in re.finditer(" ", text)] or [len(text)]
    for pos in sorted(w.rng.sample(spaces, min(len(spaces), w.between(1, 4))), reverse=True):
        text = text[:pos] + w.pick(_C0) + text[pos:]
    return text


def _terminal_escapes(w: Writer, text: str) -> str:
    words = text.split(" ")
    for _ in range(w.between(1, 6)):
        i = w.between(0, len(words) - 1)
        words[i] = f"\x1b[{w.pick(('1', '31', '32', '1;33', '0;36', '4'))}m{words[i]}\x1b[0m"
    return " ".join(words)


def _ligatures(w: Writer, text: str) -> str:
    """As text extracted from PDFs: fi, fl, ff, ffi as single ligature characters."""
    for plain, ligature in (("ffi", "ﬃ"), ("ffl", "ﬄ"), ("ff", "ﬀ"), ("fi", "ﬁ"), ("fl", "ﬂ")):
        text = text.replace(plain, ligature)
    return text if any(c in text for c in "ﬃﬄﬀﬁﬂ") else text + " Conﬁdential."


_FULLWIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)} | {" ": "\u3000"})


def _full_width(w: Writer, text: str) -> str:
    words = text.split(" ")
    for _ in range(w.between(1, 4)):
        i = w.between(0, len(words) - 1)
        words[i] = words[i].translate(_FULLWIDTH)
    return " ".join(words) + f" ＳＡＬＥ {w.between(10, 70)}％ ＯＦＦ"


PROBLEMS: dict[str, tuple[float, tuple[str, ...], Callable[[Writer, str], str]]] = {
    # name: (share of problem documents, sets it is put in, transformation)
    "mojibake": (0.32, ("Pile-CC", "OpenWebText2", "HackerNews", "Enron Emails", "Wikipedia (en)", "FreeLaw"),
                 _mojibake),
    "html_entities": (0.1, ("Pile-CC", "OpenWebText2", "StackExchange", "HackerNews"), _html_entities),
    "html_markup": (0.05, ("Pile-CC", "OpenWebText2", "HackerNews"), _html_markup),
    "crlf": (0.15, ("Enron Emails", "Github", "Pile-CC", "StackExchange"), _crlf),
    "control_chars": (0.1, ("Pile-CC", "OpenWebText2", "Enron Emails"), _control_chars),
    "terminal_escapes": (0.08, ("Ubuntu IRC", "Github", "StackExchange"), _terminal_escapes),
    "ligatures": (0.12, ("PubMed Central", "ArXiv", "PhilPapers", "USPTO Backgrounds", "FreeLaw"), _ligatures),
    "full_width": (0.08, ("Pile-CC", "Wikipedia (en)"), _full_width),
}


def junk_text(w: Writer, kind: str, serial: int) -> str:
    """A document a quality filter should drop; `serial` keeps whitespace-only documents distinct."""
    if kind == "empty":
        return ""
    if kind == "whitespace":
        return "".join(w.pick(" \n\t") for _ in range(8 * serial + w.between(1, 7)))
    if kind == "short":
        return w.pick(("Page not found: ", "Click here to ", "Loading ", "Subscribe to ")) + w.noun() + f" {w.num()}"
    if kind == "symbols":
        return " ".join("".join(w.pick("#$%&*@!^~+=|<>{}[]/\\") for _ in range(w.between(1, 8)))
                        for _ in range(w.between(40, 300)))
    if kind == "repeated_line":
        return "\n".join([w.sentence(GENERAL)] * w.between(20, 200))
    if kind == "bullets":
        return w.title() + "\n" + "\n".join(f"{w.pick(('•', '-', '*', '·'))} {w.noun()} {w.adj()} {w.noun()}"
                                            for _ in range(w.between(10, 40)))
    return "\n".join(w.sentence(GENERAL).rsplit(" ", 2)[0] + "…" for _ in range(w.between(10, 40)))


JUNK_KINDS = ("empty", "whitespace", "short", "symbols", "repeated_line", "bullets", "ellipsis")
JUNK_SETS = ("Pile-CC", "Pile-CC", "Pile-CC", "OpenWebText2", "HackerNews", "StackExchange")
