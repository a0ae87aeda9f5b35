"""One text generator per `pile_set_name` family (web, papers, code, math, IRC, e-mail, law, books, ...)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

from pipeline.sample.templates import ACADEMIC, BUSINESS, DIALOG, GENERAL, LEGAL, NARRATIVE, POLITICAL, TECH
from pipeline.sample.vocabulary import (
    CODE_NOUNS,
    CODE_VERBS,
    DOMAIN_NOUNS,
    FIRST,
    FOREIGN,
    MONTHS,
    NATIVE_NAMES,
    PACKAGES,
    PLACES,
)
from pipeline.sample.writer import Writer, indefinite_article


def _pile_cc(w: Writer, size: int) -> str:
    head: list[str] = []
    if w.chance(0.6):
        head.append(w.title())
    if w.chance(0.25):
        head.append(" | ".join(("Home", "About", w.pick(("Blog", "Shop", "News")), "Contact")))
    if w.chance(0.35):
        head.append(f"Posted on {w.date()} by {w.person()}")
    tail: list[str] = []
    if w.chance(0.15):
        tail.append("\n".join(f"{w.pick(('•', '-', '*'))} {w.paragraph(GENERAL, 1, 1)}"
                              for _ in range(w.between(3, 7))))
    if w.chance(0.1):
        tail.append("\n".join(f"{w.noun().capitalize()}\t{w.value('dec')} cm\t{w.adj()}"
                              for _ in range(w.between(3, 8))))
    if w.chance(0.08):
        lang = w.pick(("fr", "de", "es", "it", "ru", "ar", "zh", "ja"))
        tail.append(" ".join(w.salad(lang) for _ in range(w.between(2, 5))))
    if w.chance(0.2):
        tail.append("\n".join(f"{w.person()} says:\n{w.date()} at {w.between(1, 12)}:{w.between(10, 59)} "
                              f"{w.pick(('am', 'pm'))}\n{w.paragraph(GENERAL, 1, 3)}" for _ in range(w.between(1, 4))))
    if w.chance(0.3):
        tail.append(f"© {w.year()} {w.surname()} & {w.surname()}. All rights reserved.")
    body = w.prose(GENERAL, size - sum(map(len, head + tail)), 1, 5, sep=w.pick(("\n", "\n\n")))
    return "\n".join(head + [body] + tail)


def _news(w: Writer, size: int) -> str:
    return f"{w.title()}\n\n{w.prose(GENERAL, size, 1, 3)}"


def _wikipedia(w: Writer, size: int) -> str:
    if w.chance(0.3):
        name, native = w.pick(NATIVE_NAMES)
    else:
        name, native = w.person() if w.chance(0.6) else f"{w.pick(PLACES)} {w.noun().title()}", ""
    adj = w.adj()
    lead = (
        f"{name}{f' ({native})' if native else ''} is {indefinite_article(adj)} {adj} {w.noun()} in {w.pick(PLACES)}. "
    )
    parts = [name, "", lead + w.paragraph(GENERAL, 1, 3)]
    if native and w.chance(0.5):
        lang = {
            "Russian": "ru",
            "Arabic": "ar",
            "Chinese": "zh",
            "Japanese": "ja",
            "Greek": "el",
            "Bulgarian": "bg",
        }.get(native.split(":")[0])
        if lang:
            parts.append(f"The motto reads: {w.salad(lang, 4, 9)}")
    sections = ["History", "Geography", "Career", "Economy", "Legacy", "Demographics", "Works"]
    while sum(map(len, parts)) < size:
        parts += ["", w.pick(sections), "", w.paragraph(GENERAL, 2, 5)]
    if w.chance(0.2):
        rows = [f"{w.year()}\t{w.value('big')}\t{w.adj()}" for _ in range(w.between(3, 8))]
        parts += ["", "Year\tPopulation\tNote", *sorted(rows)]
    parts += ["", "References", "", "External links"] if w.chance(0.5) else []
    return "\n".join(parts)


def _abstract(w: Writer, size: int) -> str:
    if w.chance(0.5):
        labels = ("BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS")
        body = " ".join(f"{label}: {w.paragraph(ACADEMIC, 1, 3)}" for label in labels)
        while len(body) < size - 100:
            body += " " + w.paragraph(ACADEMIC, 1, 2)
    else:
        body = w.prose(ACADEMIC, size, 3, 8, sep=" ")
    return f"{w.title()}.\n{body}"


def _nih(w: Writer, size: int) -> str:
    return (
        f"DESCRIPTION (provided by applicant): {w.prose(ACADEMIC, size - 200, 3, 7, sep=' ')}\n\n"
        f"PUBLIC HEALTH RELEVANCE: {w.paragraph(ACADEMIC, 1, 3)}"
    )


def _pipe_table(w: Writer) -> str:
    cols = w.between(3, 5)
    head = ["Variable"] + [f"{w.noun().capitalize()} (n = {w.num()})" for _ in range(cols - 2)] + ["p"]
    rows = [
        [w.noun().capitalize()]
        + [f"{w.value('dec')} ± {w.value('dec')}" for _ in range(cols - 2)]
        + [f"0.{w.between(1, 999):03d}"]
        for _ in range(w.between(3, 9))
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * cols] + ["| " + " | ".join(r) + " |" for r in rows]
    return f"Table {w.between(1, 6)}\n\n{w.sentence(ACADEMIC)}\n\n" + "\n".join(lines)


def _paper(w: Writer, size: int) -> str:
    """PubMed Central / PhilPapers style: markdown headings, citations, sometimes pipe tables."""
    sections = ("Introduction", "Materials and Methods", "Results", "Discussion", "Conclusions")
    parts = [w.title(), "", "Abstract", "", w.paragraph(ACADEMIC, 4, 8)]
    n = 0
    while sum(map(len, parts)) < size:
        name = sections[n % len(sections)] if n < len(sections) else w.title()
        parts += ["", f"{name} {{#s{n + 1}}}", "=" * (len(name) + 6), ""]
        for _ in range(w.between(2, 5)):
            parts += [w.paragraph(ACADEMIC, 3, 8), ""]
        if w.chance(0.35):
            parts += [_pipe_table(w), ""]
        n += 1
    return "\n".join(parts).rstrip()


def _usp(w: Writer, size: int) -> str:
    adj = w.adj()
    field = f"{indefinite_article(adj)} {adj} {w.noun()} for {w.nouns()}"
    return (
        f"BACKGROUND OF THE INVENTION\n\n1. Field of the Invention\n\nThe present invention relates to "
        f"{w.nouns()}, and more particularly to {field}.\n\n"
        f"2. Description of the Related Art\n\n{w.prose(ACADEMIC, size - 250, 3, 7)}"
    )


_LATEX = (
    r"@s_{i} = \sum_{j=1}^{@N} a_{ij} @t_j",
    r"\|@F\|_{L^{@k}(\Omega)} \le C \|@G\|_{H^{@k}(\Omega)}",
    r"\int_{0}^{\infty} e^{-@s @t} @F(@t)\, d@t",
    r"@F(@s) = \frac{@s^{@k}}{1 + @s^{2}}",
    r"\lim_{n \to \infty} \frac{1}{n} \sum_{i=1}^{n} X_i = \mathbb{E}[X]",
    r"H = \sum_{\langle i,j \rangle} J_{ij} \sigma_i^z \sigma_j^z + h \sum_i \sigma_i^x",
    r"\partial_t @F = \Delta @F + @F^{@k}",
    r"P(@s \mid @t) = \frac{P(@t \mid @s) P(@s)}{P(@t)}",
    r"\mathcal{O}(@N^{@k} \log @N)",
    r"@F \colon \mathbb{R}^{@k} \to \mathbb{R}",
)
_LATEX_FILL = {
    "s": ("x", "y", "u", r"\lambda", r"\xi", r"\alpha"),
    "t": ("t", "z", "v", r"\tau", r"\eta"),
    "F": ("f", "g", "u", r"\phi", r"\psi", "F"),
    "G": ("g", "h", r"\nabla u", "G"),
    "N": ("N", "n", "m", "d"),
    "k": ("2", "3", "p", "q", "1/2"),
}


def _latex_math(w: Writer) -> str:
    return re.sub(r"@(\w)", lambda m: w.pick(_LATEX_FILL[m.group(1)]), w.pick(_LATEX))


def _arxiv(w: Writer, size: int) -> str:
    parts = [r"\section{Introduction}", ""]
    sections = ("Preliminaries", "Main results", "Proof of Theorem 1", "Numerical experiments", "Discussion")
    n = 0
    while sum(map(len, parts)) < size:
        for _ in range(w.between(2, 4)):
            sentences = [w.sentence(ACADEMIC) for _ in range(w.between(3, 6))]
            cite = w.surname().lower().translate(_ASCII_FOLD) + w.year()
            sentences.insert(
                w.between(0, len(sentences)),
                f"Let ${_latex_math(w)}$ for every ${w.pick('xytn')} "
                f"\\in \\mathbb{{{w.pick('RNCZ')}}}$ \\cite{{{cite}}}.",
            )
            parts += [" ".join(sentences), ""]
            if w.chance(0.5):
                parts += [
                    "\\begin{equation}",
                    f"  \\label{{eq:{w.noun().replace(' ', '')}{w.num()}}}",
                    f"  {_latex_math(w)},",
                    "\\end{equation}",
                    "",
                ]
            if w.chance(0.25):
                env = w.pick(("theorem", "lemma", "proposition"))
                parts += [
                    f"\\begin{{{env}}}",
                    w.paragraph(ACADEMIC, 1, 2),
                    f"\\end{{{env}}}",
                    "\\begin{proof}",
                    w.paragraph(ACADEMIC, 2, 4) + r" \qed",
                    "\\end{proof}",
                    "",
                ]
            if w.chance(0.1):
                rows = [f"{w.noun()} & {w.value('dec')} & {w.value('dec')} \\\\" for _ in range(w.between(3, 6))]
                parts += [
                    "\\begin{table}[h]",
                    "\\centering",
                    "\\begin{tabular}{lcc}",
                    "\\hline",
                    "Method & Error & Time (s) \\\\",
                    "\\hline",
                    *rows,
                    "\\hline",
                    "\\end{tabular}",
                    f"\\caption{{{w.sentence(ACADEMIC)}}}",
                    "\\end{table}",
                    "",
                ]
        parts += [f"\\section{{{sections[n % len(sections)]}}}", ""]
        n += 1
    return "\n".join(parts).rstrip()


def _snake(w: Writer) -> str:
    return f"{w.pick(CODE_VERBS)}_{w.pick(CODE_NOUNS)}"


def _python_block(w: Writer, indent: str, depth: int) -> list[str]:
    lines: list[str] = []
    for _ in range(w.between(2, 5)):
        a, b = w.pick(CODE_NOUNS), w.pick(CODE_NOUNS)
        kind = w.between(0, 6 if depth < 2 else 3)
        if kind == 0:
            lines.append(f"{indent}{a} = {_snake(w)}({b}, {w.pick(CODE_NOUNS)}={w.num()})")
        elif kind == 1:
            lines.append(f'{indent}logger.{w.pick(("debug", "info", "warning"))}("{w.sentence(TECH)[:60]} %s", {a})')
        elif kind == 2:
            lines.append(f"{indent}{a}s.append({b}.{w.pick(CODE_NOUNS)})")
        elif kind == 3:
            lines.append(f"{indent}self.{a} = {{{b!r}: {w.num()}, {w.pick(CODE_NOUNS)!r}: None}}")
        elif kind == 4:
            lines += [f"{indent}if {a} is None or len({b}) > {w.num()}:", *_python_block(w, indent + "    ", depth + 1)]
        elif kind == 5:
            lines += [f"{indent}for {a} in {b}s:", *_python_block(w, indent + "    ", depth + 1)]
        else:
            lines += [
                f"{indent}try:",
                *_python_block(w, indent + "    ", depth + 1),
                f"{indent}except {w.pick(('KeyError', 'ValueError', 'OSError'))} as exc:",
                f'{indent}    raise RuntimeError(f"cannot {w.pick(CODE_VERBS)} {{{a}!r}}") from exc',
            ]
    return lines


def _python(w: Writer, size: int) -> str:
    imports = sorted(
        w.rng.sample(
            (
                "import os",
                "import sys",
                "import json",
                "import logging",
                "import re",
                "from collections import defaultdict",
                "from pathlib import Path",
                "import numpy as np",
                "from typing import Any, Optional",
            ),
            w.between(2, 5),
        )
    )
    lines = (["#!/usr/bin/env python3"] if w.chance(0.3) else []) + [f'"""{w.sentence(TECH)}"""', ""]
    lines += imports + ["", "logger = logging.getLogger(__name__)", f"MAX_{w.pick(CODE_NOUNS).upper()} = {w.num()}", ""]
    while sum(map(len, lines)) < size:
        if w.chance(0.3):
            name = w.pick(CODE_NOUNS).capitalize() + w.pick(("Manager", "Parser", "Client", "Store", "Handler"))
            lines += [
                "",
                f"class {name}(object):",
                f'    """{w.sentence(TECH)}"""',
                "",
                f"    def __init__(self, {w.pick(CODE_NOUNS)}, {w.pick(CODE_NOUNS)}=None):",
                *_python_block(w, "        ", 1),
                "",
                f"    def {_snake(w)}(self, {w.pick(CODE_NOUNS)}):",
                *_python_block(w, "        ", 1),
                f"        return self.{w.pick(CODE_NOUNS)}",
                "",
            ]
        else:
            lines += [
                "",
                f"def {_snake(w)}({w.pick(CODE_NOUNS)}, {w.pick(CODE_NOUNS)}=None):",
                f'    """{w.sentence(TECH)}"""',
                *_python_block(w, "    ", 0),
                f"    return {w.pick(CODE_NOUNS)}",
                "",
            ]
    return "\n".join(lines).strip() + "\n"


def _c_block(w: Writer, indent: str, depth: int) -> list[str]:
    lines: list[str] = []
    for _ in range(w.between(2, 5)):
        a, b = w.pick(CODE_NOUNS), w.pick(CODE_NOUNS)
        kind = w.between(0, 5 if depth < 2 else 2)
        if kind == 0:
            lines.append(f"{indent}{a}->{b} = {_snake(w)}({a}, {w.num()});")
        elif kind == 1:
            lines.append(f'{indent}printf("{w.pick(CODE_VERBS)} {b}: %d\\n", {a}_{b});')
        elif kind == 2:
            lines.append(f"{indent}ret |= {a}[i] & 0x{w.between(1, 255):02x};")
        elif kind == 3:
            lines += [
                f"{indent}if ({a} == NULL) {{",
                f"{indent}\treturn -{w.pick(('EINVAL', 'ENOMEM', 'EIO'))};",
                f"{indent}}}",
            ]
        elif kind == 4:
            lines += [
                f"{indent}for (i = 0; i < {a}->{b}_count; i++) {{",
                *_c_block(w, indent + "\t", depth + 1),
                f"{indent}}}",
            ]
        else:
            lines += [f"{indent}while ({a}_{b}--) {{", *_c_block(w, indent + "\t", depth + 1), f"{indent}}}"]
    return lines


def _c(w: Writer, size: int) -> str:
    header = f"{w.pick(CODE_NOUNS)}.h"
    lines = [
        "/*",
        f" * {w.sentence(TECH)}",
        " *",
        f" * Copyright (C) {w.year()} {w.person()}",
        " */",
        "",
        "#include <stdio.h>",
        "#include <stdlib.h>",
        f'#include "{header}"',
        "",
        f"#define MAX_{w.pick(CODE_NOUNS).upper()} {w.num()}",
        "",
    ]
    while sum(map(len, lines)) < size:
        name = _snake(w)
        lines += [
            f"/* {w.sentence(TECH)} */",
            f"static int {name}(struct {w.pick(CODE_NOUNS)} *{w.pick(CODE_NOUNS)}, int n)",
            "{",
            "\tint i, ret = 0;",
            "",
            *_c_block(w, "\t", 0),
            "\treturn ret;",
            "}",
            "",
        ]
    return "\n".join(lines)


def _js(w: Writer, size: int) -> str:
    module = w.pick(("express", "fs", "path", "lodash", "axios"))
    lines = ["'use strict';", "", f"const {w.pick(CODE_NOUNS)} = require('{module}');", ""]
    while sum(map(len, lines)) < size:
        a, b, c = w.pick(CODE_NOUNS), w.pick(CODE_NOUNS), w.pick(CODE_NOUNS)
        name = w.ident()
        lines += [
            "/**",
            f" * {w.sentence(TECH)}",
            " */",
            f"function {name}({a}, {b}) {{",
            f"  const {c} = {a}.{b} || {{}};",
            f"  if (!{c}.{w.pick(CODE_NOUNS)}) {{",
            f"    return {{ error: '{w.pick(CODE_VERBS)} {c} failed', code: {w.num()} }};",
            "  }",
            f"  return {w.ident()}({c}).then(({w.pick(CODE_NOUNS)}) => {{",
            f"    console.log(`{w.pick(CODE_VERBS)} ${{{c}.id}}`);",
            f"    return {c}.{w.pick(CODE_NOUNS)}.map((x) => x * {w.num()});",
            "  });",
            "}",
            "",
        ]
    lines.append(f"module.exports = {{ {w.ident()} }};")
    return "\n".join(lines) + "\n"


def _github(w: Writer, size: int) -> str:
    return w.pick((_python, _python, _c, _js))(w, size)


def _stackexchange(w: Writer, size: int) -> str:
    def code() -> str:
        lines = [f"def {_snake(w)}({w.pick(CODE_NOUNS)}):", *_python_block(w, "    ", 1)]
        return "\n".join("    " + line for line in lines)

    question = [w.title() + "?", w.paragraph(TECH, 2, 4), code(), w.paragraph(TECH, 1, 3)]
    parts = ["Q:", "", "\n\n".join(question)]
    while sum(map(len, parts)) < size:
        answer = [w.paragraph(TECH, 1, 4)] + ([code()] if w.chance(0.5) else []) + [w.paragraph(TECH, 1, 2)]
        parts += ["", "A:", "", "\n\n".join(answer)]
    return "\n".join(parts)


def _hackernews(w: Writer, size: int) -> str:
    parts = [w.pick(("", "Show HN: ", "Ask HN: ")) + w.title(), ""]
    while sum(map(len, parts)) < size:
        user = (w.pick(CODE_NOUNS) + w.pick(CODE_NOUNS) + (w.num() if w.chance(0.4) else "")).lower()
        quote = f"> {w.sentence(TECH)}\n\n" if w.chance(0.3) else ""
        parts += [user, quote + w.paragraph(TECH, 1, 5), ""]
    return "\n".join(parts).strip()


def _freelaw(w: Writer, size: int) -> str:
    head = [
        f"UNITED STATES COURT OF APPEALS\nFOR THE {w.pick(('FIRST', 'THIRD', 'FIFTH', 'NINTH', 'TENTH'))} CIRCUIT",
        f"No. {w.between(90, 99)}-{w.between(1000, 9999)}",
        f"{w.person().upper()}, Plaintiff-Appellant,\nv.\n{w.surname().upper()} CORPORATION, Defendant-Appellee.",
        f"Appeal from the United States District Court for the District of {w.pick(PLACES)}.",
        f"Filed {w.date()}",
        "OPINION",
        f"{w.surname().upper()}, Circuit Judge:",
    ]
    body = w.prose(LEGAL, size - sum(map(len, head)), 3, 8)
    return "\n\n".join(head + [body, w.pick(("AFFIRMED.", "REVERSED and REMANDED.", "AFFIRMED in part."))])


def _dm_question(w: Writer, kind: int) -> tuple[str, str]:
    a, b, c = w.between(-999, 999), w.between(2, 99), w.between(-9999, 9999)
    x = w.pick("xyzkbtqnjdw")
    if kind == 0:
        return f"What is {a} - {c}?", str(a - c)
    if kind == 1:
        return f"Calculate {a} + {b} + {c}.", str(a + b + c)
    if kind == 2:
        return f"Solve {b}*{x} + {a} = {b * (c // 100) + a} for {x}.", str(c // 100)
    if kind == 3:
        g = w.between(2, 40)
        p, q = g * w.between(2, 999), g * w.between(2, 999)
        return f"Calculate the greatest common divisor of {p} and {q}.", str(math.gcd(p, q))
    if kind == 4:
        return f"What is {a * b} divided by {b}?", str(a)
    if kind == 5:
        coeffs = [w.between(-9, 9) for _ in range(w.between(2, 4))]
        poly = _dm_poly(coeffs, x)
        deriv = _dm_poly([k * (len(coeffs) - 1 - i) for i, k in enumerate(coeffs[:-1])], x)
        return f"Differentiate {poly} with respect to {x}.", deriv
    if kind == 6:
        coeffs = [w.between(-9, 9) for _ in range(3)]
        at = w.between(-6, 6)
        value = sum(k * at ** (2 - i) for i, k in enumerate(coeffs))
        return f"Let f({x}) = {_dm_poly(coeffs, x)}. What is f({at})?", str(value)
    if kind == 7:
        n = w.between(2, 99999)
        return f"Is {n} a prime number?", str(n > 1 and all(n % d for d in range(2, int(n**0.5) + 1)))
    if kind == 8:
        value = w.r() * 1000 - 500
        places = w.between(1, 3)
        return f"Round {value:.6f} to {places} decimal places.", f"{value:.{places}f}"
    if kind == 9:
        return f"What is the remainder when {abs(c) + b} is divided by {b}?", str((abs(c) + b) % b)
    items = [w.between(-50, 50) for _ in range(w.between(3, 6))]
    return (f"Sort {', '.join(map(str, items))} in decreasing order.", ", ".join(map(str, sorted(items, reverse=True))))


def _dm_poly(coeffs: Sequence[int], x: str) -> str:
    """DeepMind-Mathematics style polynomial, highest power first: `-3*x**2 + x - 7`."""
    terms = []
    for i, k in enumerate(coeffs):
        power = len(coeffs) - 1 - i
        if k == 0:
            continue
        mono = "" if power == 0 else x if power == 1 else f"{x}**{power}"
        body = str(abs(k)) if not mono else mono if abs(k) == 1 else f"{abs(k)}*{mono}"
        terms.append(("-" if k < 0 else "") + body if not terms else (" - " if k < 0 else " + ") + body)
    return "".join(terms) or "0"


def _dm_mathematics(w: Writer, size: int) -> str:
    kinds = (w.between(0, 10), w.between(0, 10))
    lines: list[str] = []
    total = 0
    while total < size:
        question, answer = _dm_question(w, w.pick(kinds))
        lines += [question, answer]
        total += len(question) + len(answer) + 2
    return "\n".join(lines) + "\n"


def _irc(w: Writer, size: int) -> str:
    nicks = [(w.pick(FIRST).lower() + w.pick(("", "_", "42", "-", "`", "1"))).replace("é", "e") for _ in range(8)]
    nicks += ["ubottu"]
    minute = w.between(0, 600)
    lines: list[str] = []
    total = 0
    while total < size:
        minute += w.between(0, 3)
        stamp = f"[{minute // 60 % 24:02d}:{minute % 60:02d}]"
        nick = w.pick(nicks)
        x = w.r()
        if x < 0.08:
            line = f"{stamp} * {nick} has {w.pick(('joined', 'quit (Ping timeout: 240 seconds)'))} #ubuntu"
        elif x < 0.3:
            pkg = w.pick(PACKAGES)
            cmd = w.pick(
                (
                    f"sudo apt-get install {pkg}",
                    f"sudo apt-get remove --purge {pkg}",
                    "dmesg | tail",
                    f"sudo dpkg-reconfigure {pkg}",
                    "lspci | grep -i vga",
                    "uname -r",
                    "sudo update-grub",
                    f"sudo service {pkg} restart",
                    "tail -f /var/log/syslog",
                    "lsb_release -a",
                )
            )
            line = f"{stamp} <{nick}> {w.pick(nicks)}: try {cmd}"
        else:
            line = f"{stamp} <{nick}> {w.sentence(TECH).lower().rstrip('.')}"
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines)


_ASCII_FOLD = str.maketrans("áàâäãåçéèêëíìîïñóòôöõøúùûüýÿłşıčřž", "aaaaaaceeeeiiiinoooooouuuuyylsicrz")


def _enron(w: Writer, size: int) -> str:
    sender, receiver = w.person(), w.person()

    def address(name: str) -> str:
        parts = name.lower().translate(_ASCII_FOLD).split()
        return f"{parts[0]}.{parts[-1]}@enron.com".replace("'", "")

    day = w.pick(("Mon", "Tue", "Wed", "Thu", "Fri"))
    header = [
        f"Message-ID: <{w.between(10**7, 10**8)}.{w.between(10**12, 10**13)}.JavaMail.evans@thyme>",
        f"Date: {day}, {w.between(1, 28)} {w.pick(MONTHS)[:3]} {w.between(1999, 2002)} "
        f"{w.between(0, 23):02d}:{w.between(0, 59):02d}:00 -0800 (PST)",
        f"From: {address(sender)}",
        f"To: {address(receiver)}",
        f"Subject: {w.pick(('', 'Re: ', 'FW: '))}{w.noun()} {w.pick(DOMAIN_NOUNS['biz'])}",
        "Mime-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "Content-Transfer-Encoding: 7bit",
        f"X-From: {sender}",
        f"X-To: {receiver}",
        "X-cc: ",
        "X-bcc: ",
        f"X-Folder: \\{sender.split()[-1]}_{w.pick(('Jun2001', 'Dec2000'))}\\Notes Folders\\Sent",
        f"X-Origin: {sender.split()[-1]}-{sender[0]}",
        f"X-FileName: {sender.split()[-1].lower()}.nsf",
        "",
    ]
    body = [
        w.pick((receiver.split()[0] + ",", "Hi,", "All,")),
        "",
        w.prose(BUSINESS, max(size - 600, 150), 1, 4),
        "",
        w.pick(("Thanks,", "Regards,", "")),
        sender.split()[0],
    ]
    if w.chance(0.25):
        body += [
            "",
            " -----Original Message-----",
            f"From: \t{receiver}",
            f"Sent:\t{w.date()}",
            w.paragraph(BUSINESS, 1, 3),
        ]
    return "\n".join(header + body)


def _europarl(w: Writer, size: int) -> str:
    lang = w.pick(("en", "en", "en", "fr", "de", "es", "it", "el", "bg"))
    if lang == "en":
        label, applause, header = "President", "(Applause)", "Resumption of the session"
    else:
        _, _, label, applause, header = FOREIGN[lang]
    parts = [header, ""]
    while sum(map(len, parts)) < size:
        group = w.pick(("PPE-DE", "PSE", "ALDE", "Verts/ALE", "GUE/NGL", "UEN"))
        speaker = label if w.chance(0.3) else f"{w.person()} ({group})"
        if lang == "en":
            text = w.paragraph(POLITICAL, 2, 6)
        else:
            text = " ".join(w.salad(lang) for _ in range(w.between(2, 6)))
        parts += [f"{speaker}. – {text}", ""]
        if w.chance(0.1):
            parts += [applause, ""]
    return "\n".join(parts).rstrip()


def _book(w: Writer, size: int) -> str:
    chapter = w.between(1, 30)
    parts: list[str] = []
    while sum(map(len, parts)) < size:
        parts += [w.pick((f"Chapter {chapter}", f"CHAPTER {chapter}", f"{chapter}")), ""]
        for _ in range(w.between(10, 40)):
            parts += [w.paragraph(NARRATIVE, 1, 5), ""]
        chapter += 1
    return "\n".join(parts).rstrip()


def _gutenberg(w: Writer, size: int) -> str:
    """Old-style prose wrapped at 70 columns, with _emphasis_ and roman chapter numbers."""
    parts: list[str] = []
    chapter = w.between(1, 20)
    while sum(map(len, parts)) < size:
        parts += [f"CHAPTER {_roman(chapter)}.", ""]
        for _ in range(w.between(8, 25)):
            words = w.paragraph(NARRATIVE, 2, 6).split()
            if len(words) > 6 and w.chance(0.3):
                i = w.between(0, len(words) - 1)
                words[i] = f"_{words[i]}_"
            parts += [_wrap(words, 70), ""]
        chapter += 1
    return "\n".join(parts).rstrip()


def _roman(n: int) -> str:
    out = ""
    for value, numeral in ((40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out += numeral
            n -= value
    return out


def _wrap(words: Sequence[str], width: int) -> str:
    lines, line = [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join(lines + [line])


def _subtitles(w: Writer, size: int) -> str:
    lines: list[str] = []
    total = 0
    while total < size:
        line = w.sentence(DIALOG) + w.pick((".", "?", "!", "...", "."))
        if w.chance(0.15):
            line = f"- {line}\n- {w.sentence(DIALOG)}."
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines)


def _youtube(w: Writer, size: int) -> str:
    lines: list[str] = []
    total = 0
    while total < size:
        words = re.sub(r"[^\w\s']", "", w.sentence(w.pick((GENERAL, TECH, DIALOG))).lower()).split()
        line = " ".join([w.pick(("so", "um", "and", "like", "okay so"))] + words)
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines)


def _philpapers(w: Writer, size: int) -> str:
    text = _paper(w, size)
    return text.replace("Materials and Methods", "The Argument").replace("Results", "Objections")


class _SetSpec(NamedTuple):
    name: str
    weight: float
    """Documents per 100, near the Pile's mixture (small sets raised so a few-thousand-doc sample has them)."""
    median: int
    """Median size in characters; sizes are log-normal with `sigma`, clipped to [lo, hi]."""
    sigma: float
    lo: int
    hi: int
    curly: float
    """Probability that the document uses curly quotes (which ftfy's default `uncurl_quotes` changes)."""
    domain: str
    make: Callable[[Writer, int], str]


SETS = (
    _SetSpec("Pile-CC", 24.0, 1700, 0.85, 250, 60_000, 0.3, "web", _pile_cc),
    _SetSpec("OpenWebText2", 15.0, 2000, 0.7, 300, 40_000, 0.45, "web", _news),
    _SetSpec("StackExchange", 13.0, 1200, 0.75, 250, 30_000, 0.0, "tech", _stackexchange),
    _SetSpec("PubMed Abstracts", 12.0, 1200, 0.35, 300, 4_000, 0.05, "med", _abstract),
    _SetSpec("Github", 8.5, 1700, 0.95, 150, 60_000, 0.0, "tech", _github),
    _SetSpec("Wikipedia (en)", 8.0, 800, 0.9, 200, 40_000, 0.05, "web", _wikipedia),
    _SetSpec("USPTO Backgrounds", 5.0, 3000, 0.5, 600, 20_000, 0.02, "patent", _usp),
    _SetSpec("PubMed Central", 2.8, 13_000, 0.6, 3_000, 100_000, 0.2, "med", _paper),
    _SetSpec("FreeLaw", 2.4, 6_000, 0.8, 1_000, 100_000, 0.1, "law", _freelaw),
    _SetSpec("ArXiv", 1.1, 18_000, 0.6, 4_000, 100_000, 0.0, "math", _arxiv),
    _SetSpec("DM Mathematics", 0.9, 7_000, 0.3, 2_000, 20_000, 0.0, "math", _dm_mathematics),
    _SetSpec("NIH ExPorter", 0.8, 2_000, 0.3, 800, 5_000, 0.05, "med", _nih),
    _SetSpec("HackerNews", 0.8, 3_000, 0.9, 300, 40_000, 0.15, "tech", _hackernews),
    _SetSpec("Enron Emails", 0.5, 1_300, 0.7, 500, 10_000, 0.1, "biz", _enron),
    _SetSpec("OpenSubtitles", 0.3, 18_000, 0.5, 3_000, 80_000, 0.0, "narr", _subtitles),
    _SetSpec("YoutubeSubtitles", 0.25, 12_000, 0.6, 2_000, 60_000, 0.0, "web", _youtube),
    _SetSpec("Books3", 0.2, 50_000, 0.4, 20_000, 120_000, 0.9, "narr", _book),
    _SetSpec("EuroParl", 0.2, 25_000, 0.6, 4_000, 100_000, 0.3, "pol", _europarl),
    _SetSpec("Gutenberg (PG-19)", 0.1, 45_000, 0.3, 20_000, 120_000, 0.0, "narr", _gutenberg),
    _SetSpec("PhilPapers", 0.1, 35_000, 0.5, 8_000, 100_000, 0.6, "phil", _philpapers),
    _SetSpec("BookCorpus2", 0.1, 45_000, 0.4, 20_000, 120_000, 0.5, "narr", _book),
    _SetSpec("Ubuntu IRC", 0.1, 40_000, 0.5, 8_000, 120_000, 0.0, "tech", _irc),
)
SET_BY_NAME = {spec.name: spec for spec in SETS}
PILE_SET_NAMES = tuple(spec.name for spec in SETS)
"""The 22 `pile_set_name` values this generator writes."""
PROSE_SETS = frozenset(
    {
        "Pile-CC",
        "OpenWebText2",
        "Wikipedia (en)",
        "HackerNews",
        "Enron Emails",
        "Books3",
        "BookCorpus2",
        "PhilPapers",
        "FreeLaw",
        "PubMed Central",
        "EuroParl",
    }
)
