"""An exact fast path for `ftfy.fix_text` (ftfy 6.3.1): ftfy's fixes run only where one of them could act.

How `ftfy.fix_text` works: it cuts the text into segments (each line with its "\\n"; a longer line is cut
every `max_decode_length` characters) and runs `fix_and_explain` on each one, with `unescape_html="auto"`
switched off for good from the first segment whose input holds a "<". `fix_and_explain` applies its fixes
in a fixed order and repeats the whole pass until a pass changes nothing. No other state carries from one
segment to the next.

A fix cannot change text that holds none of its *trigger characters*, derived here at import time from
ftfy's own tables and regexes: the keys of its translate tables, and for a regex a set of characters that
every match contains, read off the regex's parse tree. Unicode normalization cannot change text that
`unicodedata.is_normalized` accepts. ftfy's mojibake test (`badness.is_bad`, the slow part of ftfy, run by
`fix_encoding`) is searched only in small windows around its trigger characters, with only the
alternatives of its regex that can hold the character found. So `fix_text`:

1. returns a document that holds no trigger character and is normalized as it is;
2. fixes a normalized document no longer than `max_decode_length` (its segments are then its lines) all
   at once when its only triggers belong to fixes that act character by character (curly quotes,
   ligatures, widths, control characters) or to the mojibake test and no line looks like mojibake:
   it replaces just the characters present, then checks that a second pass would change nothing;
3. otherwise runs the pass loop of `fix_and_explain` on each segment that holds a trigger (or, in an
   unnormalized document, a character normalization could change), calling ftfy's own function for each
   fix whose triggers are present and skipping the others, whose result would equal their input.

The result equals `ftfy.fix_text(text, config)` for every text and config (`tests/test_normalize.py`
checks it against ftfy itself). The control flow mirrored is ftfy 6.3.1's; under another ftfy version
`fix_text` calls plain `ftfy.fix_text`, which is exact and slow.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

import ftfy
from ftfy import chardata, fixes
from ftfy.badness import BADNESS_RE

try:
    from re import _compiler as sre_compile
    from re import _constants as sre
    from re import _parser as sre_parse
except ImportError:  # Python 3.10
    import sre_compile
    import sre_constants as sre
    import sre_parse

VERIFIED_FTFY_VERSION = "6.3.1"
"""The ftfy whose `fix_text` / `fix_and_explain` control flow this module mirrors."""

FIX_ORDER = (
    "fix_c1_controls",
    "fix_latin_ligatures",
    "fix_character_width",
    "uncurl_quotes",
    "fix_line_breaks",
    "fix_surrogates",
    "remove_terminal_escapes",
    "remove_control_chars",
)
"""The fixes `fix_and_explain` applies after `unescape_html` and `fix_encoding`, in its order."""

PER_CHARACTER_FIXES = frozenset(
    {"fix_c1_controls", "fix_latin_ligatures", "fix_character_width", "uncurl_quotes", "remove_control_chars"}
)
"""Fixes that map each character on its own (a `str.translate` table, or substitutions of one-character
regex classes), so that `fix(text)` is `text` with each character `c` replaced by `fix(c)`."""

LINE_BREAK_CHARS = frozenset("\r\u2028\u2029\x85")
"""What `fixes.fix_line_breaks` replaces (a chain of `str.replace`, so copied; the tests probe every code point)."""


def _char_cost(char: str) -> int:
    """A rough weight for how often `char` turns up in clean text, so that rare characters become the triggers."""
    if char in string.printable:
        return 1000
    category = unicodedata.category(char)
    if category == "Zs":
        return 100
    if category in ("Pi", "Pf"):  # curly quotes and guillemets, frequent in prose
        return 50
    return {"Ll": 10, "Lu": 5, "Lt": 5, "Lo": 5, "Lm": 5}.get(category, 1)


def _cost(chars: frozenset[str]) -> int:
    return sum(map(_char_cost, chars))


def _class_chars(items: list) -> frozenset[str] | None:
    """The characters of a parsed `[...]` class, or None when it is open-ended (negated or `\\s`-like)."""
    chars: set[str] = set()
    for op, arg in items:
        if op is sre.LITERAL:
            chars.add(chr(arg))
        elif op is sre.RANGE:
            chars.update(map(chr, range(arg[0], arg[1] + 1)))
        else:
            return None
    return frozenset(chars)


def _required(item: tuple) -> frozenset[str] | None:
    """A set of characters any match of one parsed item contains, or None when there is none to name."""
    op, arg = item
    if op is sre.LITERAL:
        return frozenset(chr(arg))
    if op is sre.IN:
        return _class_chars(arg)
    if op is sre.SUBPATTERN:
        return _required_in_sequence(arg[-1])
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and arg[0] >= 1:
        return _required_in_sequence(arg[2])
    if op is sre.BRANCH:
        alternatives = [_required_in_sequence(branch) for branch in arg[1]]
        if any(chars is None for chars in alternatives):
            return None
        return frozenset().union(*alternatives)
    return None


def _required_in_sequence(sequence: Iterable[tuple]) -> frozenset[str] | None:
    """The cheapest required set among the items of a sequence (every match passes through all of them)."""
    candidates = [chars for chars in map(_required, sequence) if chars]
    return min(candidates, key=_cost, default=None)


def _parse(pattern: re.Pattern[str]) -> sre_parse.SubPattern:
    if pattern.flags & re.IGNORECASE:
        raise ValueError(f"cannot derive trigger characters of a case-insensitive pattern: {pattern.pattern!r}")
    return sre_parse.parse(pattern.pattern, pattern.flags)


def required_chars(pattern: re.Pattern[str]) -> frozenset[str]:
    """Characters at least one of which lies inside every match of `pattern` (derived from its parse tree)."""
    chars = _required_in_sequence(_parse(pattern))
    if chars is None:
        raise ValueError(f"no character is required by every match of {pattern.pattern!r}")
    return chars


def _check_self_contained(tree: sre_parse.SubPattern, source: str) -> None:
    """Refuse a pattern whose matches depend on text outside them (lookarounds, `$`, `\\b`, back-references).

    `^` is allowed: `re` matches it at the true start of the string only, whatever `pos` a search starts at.
    """
    pending = list(tree)
    while pending:
        op, arg = pending.pop()
        if op in (sre.ASSERT, sre.ASSERT_NOT, sre.GROUPREF, sre.GROUPREF_EXISTS) or (
            op is sre.AT and arg is not sre.AT_BEGINNING
        ):
            raise ValueError(f"{source!r} looks outside its match ({op})")
        if op is sre.BRANCH:
            pending.extend(item for branch in arg[1] for item in branch)
        elif op is sre.SUBPATTERN:
            pending.extend(arg[-1])
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            pending.extend(arg[2])


class WindowSearch(NamedTuple):
    """The alternatives of a regex that can hold one trigger character, and their longest match."""

    pattern: re.Pattern[str]
    width: int


def window_searches(pattern: re.Pattern[str]) -> dict[str, WindowSearch]:
    """For each trigger character of `pattern`, a regex of just the top-level alternatives requiring it.

    Every match of `pattern` is a match of one alternative, which contains one of that alternative's
    required characters at some position p, so it lies within `width` characters of p and is found by the
    search for that character there. Each alternative's matches are matches of `pattern`.
    """
    tree = _parse(pattern)
    _check_self_contained(tree, pattern.pattern)
    if len(tree.data) == 1 and tree.data[0][0] is sre.BRANCH:
        alternatives = list(tree.data[0][1][1])
    else:
        alternatives = [tree]
    by_char: dict[str, list[int]] = {}
    for index, alternative in enumerate(alternatives):
        chars = _required_in_sequence(alternative)
        if chars is None:
            raise ValueError(f"an alternative of {pattern.pattern!r} requires no particular character")
        for char in chars:
            by_char.setdefault(char, []).append(index)
    compiled: dict[tuple[int, ...], WindowSearch] = {}
    for indices in map(tuple, by_char.values()):
        if indices not in compiled:
            chosen = [alternatives[i] for i in indices]
            data = chosen[0].data if len(chosen) == 1 else [(sre.BRANCH, (None, chosen))]
            subpattern = sre_parse.SubPattern(tree.state, data)
            width = subpattern.getwidth()[1]
            if width >= sre.MAXREPEAT:
                raise ValueError(f"an alternative of {pattern.pattern!r} has unbounded matches")
            compiled[indices] = WindowSearch(sre_compile.compile(subpattern, pattern.flags), width)
    return {char: compiled[tuple(indices)] for char, indices in by_char.items()}


def char_class(chars: Iterable[str]) -> re.Pattern[str]:
    """A compiled `[...]` matching exactly `chars` (nothing when `chars` is empty)."""
    points = sorted(map(ord, chars))
    if not points:
        return re.compile("(?!)")
    ranges: list[list[int]] = []
    for point in points:
        if ranges and point == ranges[-1][1] + 1:
            ranges[-1][1] = point
        else:
            ranges.append([point, point])
    body = "".join(f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges)
    return re.compile(f"[{body}]")


ENTITY_TRIGGERS = required_chars(chardata.HTML_ENTITY_RE)
"""Characters `unescape_html` needs: every HTML entity starts with "&"."""
BADNESS_WINDOWS = window_searches(BADNESS_RE)
"""ftfy's mojibake heuristic split by trigger character; without any of them `fix_encoding` changes nothing."""
BADNESS_TRIGGERS = frozenset(BADNESS_WINDOWS)
_BADNESS_TRIGGER_SEARCH = char_class(BADNESS_TRIGGERS)
FIX_TRIGGERS: dict[str, frozenset[str]] = {
    "fix_c1_controls": required_chars(chardata.C1_CONTROL_RE),
    "fix_latin_ligatures": frozenset(map(chr, chardata.LIGATURES)),
    "fix_character_width": frozenset(map(chr, chardata.WIDTH_MAP)),
    "uncurl_quotes": required_chars(chardata.SINGLE_QUOTE_RE) | required_chars(chardata.DOUBLE_QUOTE_RE),
    "fix_line_breaks": LINE_BREAK_CHARS,
    "fix_surrogates": required_chars(fixes.SURROGATE_RE),
    "remove_terminal_escapes": required_chars(fixes.ANSI_RE),
    "remove_control_chars": frozenset(map(chr, chardata.CONTROL_CHARS)),
}
"""For each fix in `FIX_ORDER`, the characters without which it returns its input unchanged."""


class Fix(NamedTuple):
    """One enabled fix: its trigger characters, ftfy's function, and for character-wise fixes the replacements."""

    triggers: frozenset[str]
    apply: Callable[[str], str]
    replacements: dict[str, str] | None
    """`{c: apply(c)}` for the triggers `apply` changes, when replacing them one by one equals `apply`."""


def _make_fix(name: str) -> Fix:
    triggers = FIX_TRIGGERS[name]
    apply = ftfy.FIXERS[name]
    if name not in PER_CHARACTER_FIXES:
        return Fix(triggers, apply, None)
    replacements = {char: apply(char) for char in triggers if apply(char) != char}
    # Replacing one character after another equals the simultaneous mapping only when no replacement
    # brings in a character that is itself replaced; none may make or remove a line break.
    if any(char in replacements or char == "\n" for value in replacements.values() for char in value):
        return Fix(triggers, apply, None)
    return Fix(triggers, apply, replacements)


@dataclass(frozen=True)
class FixPlan:
    """What one `TextFixerConfig` needs: the enabled fixes in ftfy's order, and the trigger searches."""

    config: ftfy.TextFixerConfig
    fixes: tuple[Fix, ...]
    all_triggers: frozenset[str]
    """Every trigger character, "&" included when the config may unescape HTML."""
    later_triggers: frozenset[str]
    """The trigger characters once `unescape_html` is off (no "&")."""
    ascii_triggers: str
    """The ASCII characters of `later_triggers`."""
    replaceable: frozenset[str]
    """Triggers of character-wise fixes and of the mojibake test only, which `fix_lines_at_once` handles."""
    ascii_non_triggers: bytes
    """The ASCII bytes that are no trigger, which `trigger_chars` deletes from the UTF-8 text."""

    @functools.cached_property
    def triggers(self) -> re.Pattern[str]:
        return char_class(self.all_triggers)

    @functools.cached_property
    def ascii_trigger_search(self) -> re.Pattern[str]:
        return char_class(self.ascii_triggers)

    @functools.cached_property
    def triggers_without_entities(self) -> re.Pattern[str]:
        return char_class(self.later_triggers)



@functools.lru_cache(maxsize=32)
def fix_plan(config: ftfy.TextFixerConfig) -> FixPlan:
    """The fixes `config` enables, in ftfy's order, and their trigger characters (cached per config)."""
    enabled = tuple(_make_fix(name) for name in FIX_ORDER if getattr(config, name))
    later = frozenset().union(*(fix.triggers for fix in enabled))
    character_wise = frozenset().union(*(fix.triggers for fix in enabled if fix.replacements is not None))
    other = frozenset().union(*(fix.triggers for fix in enabled if fix.replacements is None))
    if config.fix_encoding:
        later |= BADNESS_TRIGGERS
        character_wise |= BADNESS_TRIGGERS
    return FixPlan(
        config=config,
        fixes=enabled,
        all_triggers=later | ENTITY_TRIGGERS if config.unescape_html else later,
        later_triggers=later,
        ascii_triggers="".join(sorted(char for char in later if char.isascii())),
        replaceable=character_wise - other - ENTITY_TRIGGERS,
        ascii_non_triggers=bytes(byte for byte in range(128) if chr(byte) not in later | ENTITY_TRIGGERS),
    )


def segment_bounds(text: str, position: int, max_length: int) -> tuple[int, int]:
    """The [start, end) of the `ftfy.fix_text` segment holding `text[position]`."""
    line_start = text.rfind("\n", 0, position) + 1
    start = line_start + (position - line_start) // max_length * max_length
    end = text.find("\n", start) + 1 or len(text)
    return start, min(end, start + max_length)


def looks_like_mojibake(text: str) -> bool:
    """`ftfy.badness.is_bad(text)`, searched only in windows around the characters every match contains."""
    for found in _BADNESS_TRIGGER_SEARCH.finditer(text):
        position = found.start()
        search = BADNESS_WINDOWS[text[position]]
        if search.pattern.search(text, max(0, position - search.width + 1), position + search.width):
            return True
    return False


def _occurrences(text: str, chars: Iterable[str]) -> Iterable[int]:
    for char in chars:
        position = text.find(char)
        while position >= 0:
            yield position
            position = text.find(char, position + 1)


def some_line_looks_like_mojibake(text: str, chars: Iterable[str]) -> bool:
    """Whether `ftfy.badness.is_bad` holds for some line of `text` (each taken with its "\\n" as its own
    string), given `chars`, the mojibake trigger characters present in `text`."""
    for position in _occurrences(text, chars):
        search = BADNESS_WINDOWS[text[position]]
        low = max(0, position - search.width + 1)
        high = position + search.width
        line_end = text.find("\n", position, high)
        if line_end >= 0:
            high = line_end + 1
        line_start = text.rfind("\n", max(0, low - 1), position) + 1
        if line_start:  # the line starts inside the window: search it as its own string, where "^" matches
            hit = search.pattern.search(text[line_start:high])
        else:
            hit = search.pattern.search(text, low, high)
        if hit:
            return True
    return False


def trigger_chars(text: str, plan: FixPlan) -> frozenset[str]:
    """The trigger characters present in `text`.

    Mostly-ASCII text is read as UTF-8 with every ASCII byte that is no trigger deleted (a byte-table pass
    far faster than a regex class); deleting ASCII bytes never splits a multi-byte character.
    """
    kept = text.encode("utf-8", "surrogatepass").translate(None, plan.ascii_non_triggers)
    if 2 * len(kept) > len(text):  # mostly non-ASCII: the regex is the cheaper scan
        return frozenset(plan.triggers.findall(text))
    return plan.all_triggers.intersection(kept.decode("utf-8", "surrogatepass"))


_FIX_ENCODING_CONFIG = ftfy.TextFixerConfig(explain=False)
"""The config `fix_and_explain` gives `fix_encoding` when not explaining: none, so ftfy's defaults."""


def fix_encoding(text: str) -> str:
    """`ftfy.fix_encoding(text)`: its loop of one-step repairs, stopping without a step when the text does not
    look like mojibake (then ftfy's step returns it unchanged), so clean text is never scanned in full."""
    while looks_like_mojibake(text):
        fixed = ftfy._fix_encoding_one_step_and_explain(text, _FIX_ENCODING_CONFIG).text
        if fixed == text:
            break
        text = fixed
    return text


def _replace_characters(text: str, present: frozenset[str], fix: Fix, plan: FixPlan) -> tuple[str, frozenset[str]]:
    """`fix.apply(text)` for a character-wise fix, replacing only the `present` triggers; and the new `present`."""
    replaced = []
    brought = []
    for char in present & fix.triggers:
        replacement = fix.replacements.get(char)
        if replacement is not None:
            text = text.replace(char, replacement)
            replaced.append(char)
            brought.append(replacement)
    if not replaced:
        return text, present
    return text, present.difference(replaced) | plan.all_triggers.intersection("".join(brought))


def fix_segment(segment: str, plan: FixPlan, unescape: bool) -> str:
    """`ftfy.fix_and_explain(segment, config).text`, running only the fixes whose trigger characters are present.

    `unescape` says whether `unescape_html` is on for this segment (`fix_text` turns "auto" off from the
    first "<" on). `present` always holds the trigger characters of the current `text`.
    """
    config = plan.config
    text = segment
    present = frozenset(plan.triggers.findall(text))
    while True:
        original = text
        if unescape and present & ENTITY_TRIGGERS:
            fixed = fixes.unescape_html(text)
            if fixed != text:
                text, present = fixed, frozenset(plan.triggers.findall(fixed))
        if config.fix_encoding and present & BADNESS_TRIGGERS:
            fixed = fix_encoding(text)
            if fixed != text:
                text, present = fixed, frozenset(plan.triggers.findall(fixed))
        for fix in plan.fixes:
            if not present & fix.triggers:
                continue
            if fix.replacements is not None:
                text, present = _replace_characters(text, present, fix, plan)
                continue
            fixed = fix.apply(text)
            if fixed != text:
                text, present = fixed, frozenset(plan.triggers.findall(fixed))
        if config.normalization is not None and not unicodedata.is_normalized(config.normalization, text):
            text = unicodedata.normalize(config.normalization, text)
            present = frozenset(plan.triggers.findall(text))
        if text == original:
            return text


def fix_lines_at_once(text: str, plan: FixPlan, entities_until: int) -> str | None:
    """`fix_text` for a normalized text no longer than `max_decode_length` (so its segments are its lines),
    when the only fixes that act are character-wise; None when some line needs `fix_segment`.

    Each line's first pass then leaves `unescape_html` and `fix_encoding` idle (no HTML entity where
    unescaping is on, no line `is_bad`) and replaces characters, which can be done for all lines at once;
    its second pass must change nothing: no fix may find a character it changes, no line may be bad, and
    every line must be normalized (true of every substring of a normalized text).
    """
    config = plan.config
    present = trigger_chars(text, plan)
    if not present:
        return text
    if present & ENTITY_TRIGGERS and chardata.HTML_ENTITY_RE.search(text, 0, entities_until):
        return None
    present &= plan.later_triggers
    if not present <= plan.replaceable:
        return None
    if config.fix_encoding and some_line_looks_like_mojibake(text, present & BADNESS_TRIGGERS):
        return None
    fixed = text
    for fix in plan.fixes:
        if present & fix.triggers:
            if fix.replacements is None:  # brought in by an earlier replacement
                return None
            fixed, present = _replace_characters(fixed, present, fix, plan)
    if fixed == text:
        return text
    if entities_until and chardata.HTML_ENTITY_RE.search(fixed):
        return None
    for fix in plan.fixes:
        found = present & fix.triggers
        if found and (fix.replacements is None or not found.isdisjoint(fix.replacements)):
            return None
    if config.fix_encoding and some_line_looks_like_mojibake(fixed, present & BADNESS_TRIGGERS):
        return None
    if config.normalization is not None and not unicodedata.is_normalized(config.normalization, fixed):
        return None
    return fixed


def _entities_until(text: str, config: ftfy.TextFixerConfig) -> int:
    """Where `unescape_html` stops applying: `fix_text` turns "auto" off from the segment holding the first "<"."""
    if not config.unescape_html:
        return 0
    if config.unescape_html == "auto":
        first_angle = text.find("<")
        if first_angle >= 0:
            return segment_bounds(text, first_angle, config.max_decode_length)[0]
    return len(text)


SHORT_TEXT = 256
"""Below this many characters one regex scan for the ASCII triggers beats an `in` scan per trigger (~30 of them:
0.4 against 1.5 µs at 64 characters, even at 256, the regex 4.6 µs at 1,024 against 1.7)."""


def _has_ascii_trigger(text: str, plan: FixPlan) -> bool:
    if len(text) < SHORT_TEXT:
        return plan.ascii_trigger_search.search(text) is not None
    return any(char in text for char in plan.ascii_triggers)


def fix_text(text: str, config: ftfy.TextFixerConfig) -> str:
    """Exactly `ftfy.fix_text(text, config)`, skipping the segments no enabled fix could change."""
    if ftfy.__version__ != VERIFIED_FTFY_VERSION:
        return ftfy.fix_text(text, config)
    plan = fix_plan(config)
    entities_until = _entities_until(text, config)
    if text.isascii():  # ASCII is normalized in every form; `in` scans far faster than a regex class
        if not _has_ascii_trigger(text, plan) and not any(
            text.find(char, 0, entities_until) >= 0 for char in ENTITY_TRIGGERS
        ):
            return text
    normalized = config.normalization is None or unicodedata.is_normalized(config.normalization, text)
    if normalized and len(text) <= config.max_decode_length:
        fixed = fix_lines_at_once(text, plan, entities_until)
        if fixed is not None:
            return fixed
    return fix_by_segment(text, plan, entities_until, normalized)


def fix_by_segment(text: str, plan: FixPlan, entities_until: int, normalized: bool) -> str:
    """`fix_text`, running `fix_segment` on each segment that holds a trigger (or, when the text is not
    normalized, that is not normalized itself), and keeping the other segments as they are."""
    config = plan.config
    unnormalized = [] if normalized else unnormalized_segments(text, config.normalization, config.max_decode_length)
    unnormalized.append(len(text))
    later = 0

    def next_trigger(position: int) -> int | None:
        nonlocal later
        while unnormalized[later] < position:
            later += 1
        found = None
        if position < entities_until:
            found = plan.triggers.search(text, position, entities_until)
        if found is None:
            found = plan.triggers_without_entities.search(text, max(position, entities_until))
        first = min(found.start() if found is not None else len(text), unnormalized[later])
        return first if first < len(text) else None

    pieces = []
    done = 0
    found = next_trigger(0)
    while found is not None:
        start, end = segment_bounds(text, found, config.max_decode_length)
        pieces.append(text[done:start])
        pieces.append(fix_segment(text[start:end], plan, unescape=start < entities_until))
        done = end
        found = next_trigger(end)
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def unnormalized_segments(text: str, form: str, max_length: int) -> list[int]:
    """The starts of the `ftfy.fix_text` segments of `text` (lines, cut every `max_length` characters) that are
    not in normalization `form`, in order.

    Pieces of normalized text are normalized, so a run of whole lines that is normalized holds no such
    segment: halving the runs that are not finds them in a few checks per segment found, without a table of
    the characters normalization could change (~0.15 s to build per process)."""
    starts: list[int] = []
    runs = [(0, len(text))]
    while runs:
        low, high = runs.pop()
        if unicodedata.is_normalized(form, text[low:high]):
            continue
        middle = text.rfind("\n", low, (low + high) // 2) + 1 or text.find("\n", (low + high) // 2, high - 1) + 1
        if low < middle < high:
            runs += [(middle, high), (low, middle)]
            continue
        if high - low <= max_length:
            starts.append(low)
            continue
        for start in range(low, high, max_length):
            if not unicodedata.is_normalized(form, text[start : min(start + max_length, high)]):
                starts.append(start)
    return starts
