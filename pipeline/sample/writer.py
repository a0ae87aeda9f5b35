"""The per-document writer: one seeded random stream that fills template slots from topic-weighted word pools."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

from pipeline.sample.templates import ACADEMIC, DIALOG, GENERAL, TECH, Template
from pipeline.sample.vocabulary import (
    ADJS,
    ADVS,
    CODE_NOUNS,
    CODE_VERBS,
    DOMAIN_ADJS,
    DOMAIN_NOUNS,
    FIRST,
    FOREIGN_WORDS,
    LANGS,
    MONTHS,
    NOUNS,
    ORGS,
    PLACES,
    PLURALS,
    PREPS,
    SURNAME_HEADS,
    SURNAME_TAILS,
    SURNAMES,
    VERBS,
)

_TOPIC_WEIGHT = 43
"""A document's 14 topic nouns weigh this much against a general noun: ~50% of its nouns are topic nouns."""
_DOMAIN_WEIGHT = 6
_WEB_DOMAINS = ("general", "general", "general", "tech", "med", "biz", "narr", "pol")
_NOUN_POOLS = {d: nouns * _DOMAIN_WEIGHT + NOUNS for d, nouns in DOMAIN_NOUNS.items()} | {"general": NOUNS}
_PLURAL_POOLS = {d: tuple(PLURALS[n] for n in pool) for d, pool in _NOUN_POOLS.items()}
_ADJ_POOLS = {d: adjs * 3 + ADJS for d, adjs in DOMAIN_ADJS.items()} | {"general": ADJS}
_STATIC_SLOTS: dict[str, tuple[str, ...]] = {
    "adv": ADVS, "p": PREPS, "F": FIRST, "pl": PLACES, "month": MONTHS, "org": ORGS, "lang": LANGS,
    **{key: tuple(forms[i] for forms in VERBS) for i, key in enumerate(("v", "vs", "vd", "vn", "vg"))},
    "day": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"),
    "period": ("year", "month", "week", "spring", "season", "quarter"), "ord": ("2d", "3d", "4th"),
    "circuit": ("1st", "2d", "3d", "4th", "5th", "6th", "7th", "8th", "9th", "10th", "11th", "D.C."),
}


class Writer:
    """Text for one document: its own random stream, a topical vocabulary, and template filling.

    A slot is filled from a tuple of words (uniform pick; repeats weight it) or by a method."""

    def __init__(self, rng: random.Random, domain: str) -> None:
        self.rng = rng
        self.r = rng.random
        if domain == "web":
            domain = rng.choice(_WEB_DOMAINS)
        nouns = DOMAIN_NOUNS.get(domain, NOUNS)
        topic = tuple(rng.sample(nouns, min(14, len(nouns))))
        self.slots: dict[str, tuple[str, ...] | Callable[[], str]] = {
            **_STATIC_SLOTS,
            "n": topic * _TOPIC_WEIGHT + _NOUN_POOLS[domain],
            "ns": tuple(PLURALS[n] for n in topic) * _TOPIC_WEIGHT + _PLURAL_POOLS[domain],
            "a": _ADJ_POOLS[domain], "N": self.person, "S": self.surname, "num": self.num, "yr": self.year,
            "big": lambda: f"{int(math.exp(7 + self.r() * 8)):,}", "pct": lambda: f"{self.r() * 100:.1f}%",
            "dec": lambda: f"{self.r() * 20:.2f}", "d": lambda: str(1 + int(self.r() * 9)), "date": self.date,
            "q": lambda: self.sentence(DIALOG), "ident": self.ident, "statute": self.statute,
        }

    def value(self, key: str) -> str:
        slot = self.slots[key]
        return slot[int(self.r() * len(slot))] if type(slot) is tuple else slot()

    def pick(self, seq: Sequence):
        return seq[int(self.r() * len(seq))]

    def chance(self, p: float) -> bool:
        return self.r() < p

    def between(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi]."""
        return lo + int(self.r() * (hi - lo + 1))

    def noun(self) -> str:
        return self.value("n")

    def nouns(self) -> str:
        return self.value("ns")

    def adj(self) -> str:
        return self.value("a")

    def surname(self) -> str:
        if self.r() < 0.25:
            return self.pick(SURNAME_HEADS) + self.pick(SURNAME_TAILS)
        return self.pick(SURNAMES)

    def person(self) -> str:
        middle = f" {chr(65 + int(self.r() * 26))}." if self.r() < 0.15 else ""
        return f"{self.pick(FIRST)}{middle} {self.surname()}"

    def num(self) -> str:
        return str(int(math.exp(self.r() * 6.9)) + 2)

    def year(self) -> str:
        return str(1900 + int(self.r() ** 0.5 * 124))

    def date(self) -> str:
        return f"{self.pick(MONTHS)} {self.between(1, 28)}, {self.year()}"

    def ident(self) -> str:
        verb, noun = self.pick(CODE_VERBS), self.pick(CODE_NOUNS)
        return f"{verb}_{noun}" if self.r() < 0.5 else verb + noun.capitalize()

    def statute(self) -> str:
        return self.pick((f"{self.between(5, 50)} U.S.C. § {self.between(100, 2500)}", "§ 1983",
                          f"Rule {self.between(1, 60)}({self.pick('abcde')})", "28 U.S.C. § 2254(d)"))

    def sentence(self, templates: Sequence[Template]) -> str:
        r = self.r
        literals, keys, articles = templates[int(r() * len(templates))]
        slots = self.slots
        out = [literals[0]]
        for key, literal, article in zip(keys, literals[1:], articles):
            slot = slots[key]
            value = slot[int(r() * len(slot))] if type(slot) is tuple else slot()
            if article:
                out.append("an " if value[:1] in "aeiouAEIOU" else "a ")
            out.append(value)
            out.append(literal)
        text = "".join(out)
        return text[0].upper() + text[1:] if text[:1].islower() else text

    def paragraph(self, templates: Sequence[Template], lo: int = 2, hi: int = 6) -> str:
        return " ".join([self.sentence(templates) for _ in range(self.between(lo, hi))])

    def prose(self, templates: Sequence[Template], size: int, lo: int = 2, hi: int = 6, sep: str = "\n\n") -> str:
        parts: list[str] = []
        total = 0
        while total < size:
            parts.append(self.paragraph(templates, lo, hi))
            total += len(parts[-1]) + len(sep)
        return sep.join(parts)

    def title(self) -> str:
        words = self.sentence(self.pick((GENERAL, ACADEMIC, TECH))).rstrip(".?!").split()[: self.between(3, 9)]
        while len(words) > 1 and (words[-1] in _SMALL_WORDS or not words[-1][-1:].isalnum()):
            words.pop()
        return " ".join(w if w in _SMALL_WORDS else w[:1].upper() + w[1:] for w in words)

    def salad(self, lang: str, lo: int = 8, hi: int = 22) -> str:
        """A sentence of random words in `lang`: function words about as often as in real text."""
        words, function_count = FOREIGN_WORDS[lang]
        out: list[str] = []
        for _ in range(self.between(lo, hi)):
            word = (words[int(self.r() * function_count)] if self.r() < 0.45
                    else words[function_count + int(self.r() * (len(words) - function_count))])
            if not out or word != out[-1]:
                out.append(word)
        if lang in ("zh", "ja"):
            return "".join(out) + "。"
        if len(out) > 8 and self.r() < 0.6:
            out[self.between(3, len(out) - 3)] += ","
        text = " ".join(out)
        return text[0].upper() + text[1:] + ("?" if self.r() < 0.08 else ".")


_SMALL_WORDS = frozenset("a an the of in on at for with from by and or to".split())


def indefinite_article(word: str) -> str:
    return "an" if word[:1] in "aeiouAEIOU" else "a"
