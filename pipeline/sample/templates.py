"""Sentence templates of the sample corpus; `{key}` slots are filled by the per-document writer."""

from __future__ import annotations

import re
from typing import NamedTuple


class Template(NamedTuple):
    literals: tuple[str, ...]
    keys: tuple[str, ...]
    articles: tuple[bool, ...]
    """Per slot: an article ("a" or "an", by the filler's first letter) goes before it."""


_ARTICLE_END = re.compile(r"(?:^|(?<= ))([Aa]n? )$")


def _templates(text: str) -> tuple[Template, ...]:
    out = []
    for line in text.strip().splitlines():
        parts = re.split(r"\{(\w+)\}", line.strip())
        literals, keys = parts[0::2], parts[1::2]
        cut = [len(m.group(1)) if (m := _ARTICLE_END.search(lit)) else 0 for lit in literals[:-1]]
        articles = [n > 0 for n in cut]
        literals = [lit[: len(lit) - n] for lit, n in zip(literals, cut)] + literals[-1:]
        out.append(Template(tuple(literals), tuple(keys), tuple(articles)))
    return tuple(out)


GENERAL = _templates("""
The {a} {n} {vd} {p} the {n}.
{N} {vd} that the {ns} would {v} the {n} {p} {pl}.
In {yr}, the {n} {vd} {num} {ns} {p} {pl}.
It is {a} to {v} the {n} when the {ns} are {a}.
Many {ns} {v} the {a} {n}, but few {adv} {v} it.
According to {N}, the {n} has {adv} {vn} the {ns}.
"We {adv} {v} the {n}," {N} said.
"It's not a {a} {n}," said {N}, a {n} at {org} {pl}. "We {v} {ns} every day."
There are {num} {ns} {p} the {n}, and each one {vs} a {a} {n}.
{F}'s {n} {vd} {adv} after the {n}.
The {n} — {a} and {a} — {vd} the {ns}.
Why do {ns} {v} the {n}? Because the {n} {vs} {a}.
About {pct} of {ns} {vd} the {n} last {period}.
If you {v} the {n}, you'll {v} a {a} {n}.
The {n}'s {ns} are {a}, {a} and {a}.
She {vd} the {n} and {vd} {p} the {a} {n}.
He didn't {v} the {n} until {yr}.
Some {ns} {vd} {p} {pl} while others {vd} the {n}.
This {n} {vs} the {a} {n} {p} {num} {ns}.
They {adv} {vd} a {a} {n} {p} the {n} of {pl}.
{N}, a {a} {n} from {pl}, {vd} the {n} in {yr}.
The {ns} {p} {pl} {vd} a {a} {n} ({num} {ns} in total).
Our {n} is {a}; the {n} is not.
What {vs} a {n} {a}?
For most {ns}, the {n} {vs} {adv} {a}.
Both the {n} and the {n} were {vn} by {N}.
The {a} {n} at the {n} {vd} {num} {ns} — {adv} more than last {period}.
I {adv} {vd} the {n}, and honestly it was {a}.
Prices start at ${dec} per {n}, and the {n} {vs} on {date}.
Officials said {big} {ns} had been {vn} since {yr}.
"I don't {v} the {n}," {F} told reporters on {date}.
The {n} was {vn} on {date}, {adv} {num} {ns} after the {n}.
You can {v} the {n} {p} the {n} or {v} it {p} the {a} {n}.
Everyone {vs} a {n}, and the {n} {vs} everyone.
""")
ACADEMIC = _templates("""
We {vd} the {n} of {a} {ns} in {num} {ns}.
These {ns} suggest that the {a} {n} {vs} the {n} of {ns}.
The {n} was {vn} using a {a} {n} ({S}, {yr}).
In this study, we {v} a {a} {n} for the {n} of {ns}.
{a} {ns} were {vn} {p} the {n} (n = {num}).
Moreover, the {n} of {ns} was {adv} {a} (p < 0.0{d}).
As shown in Figure {d}, the {n} {vd} with the {n}.
Table {d} {vs} the {a} {ns} of the {n}.
However, the {n} between the {n} and the {n} remains {a}.
To {v} this {n}, we {vd} a {a} {n} of {num} {ns}.
Previous studies have {vn} that {ns} {v} the {a} {n} [{d}].
The {a} {n} {vd} by {pct} ({dec} ± {dec}) compared with the {n}.
It has been {vn} that the {n} {vs} {a} {ns} [{d}, {num}].
Taken together, these {ns} {v} a {a} {n} for {ns}.
Further {n} is needed to {v} the {n} of {a} {ns}.
{ns} and {ns} were {vn} as {vn} previously [{num}].
The {n} was {a} in {ns} with {a} {n} (OR = {dec}, 95% CI {dec}–{dec}).
Note that the {n} is {a} whenever the {n} is {a}.
This {n} is {adv} {a}, since the {n} {vs} the {n}.
Our {ns} are {a} with those of {S} et al. [{num}].
The {n} of {a} {ns} was {dec} μg/mL after {num} h at 37 °C.
{a} {n} and {a} {n} were {vn} in {pct} of {ns}.
""")
LEGAL = _templates("""
The {n} {vd} that the {n} {vd} the {n}.
See {S} v. {S}, {num} F.{ord} {num}, {num} ({circuit} Cir. {yr}).
The {n} argues that the {a} {n} {vd} his right to a {a} {n}.
Under {statute}, a {n} may {v} the {n} only if the {n} is {a}.
We review the {n} of {a} {n} de novo. {S} v. {S}, {num} U.S. {num}, {num} ({yr}).
The {n} {vd} no {a} {n} as to any {a} {n}.
On {date}, {N} {vd} a {n} in the {a} {n}.
Because the {n} did not {v} the {n}, the {n} was {a}.
{S} contends that the {n} erred in {vg} the {n}.
It is undisputed that the {n} {vd} the {n} {p} the {n}.
The {n} {vd} the {n}'s {n} as {a}; we disagree.
Id. at {num}.
In {S}, the {n} {vd} that a {n} must {v} the {n} "{p} the {a} {n}."
The {n}, however, {vd} the {a} {n} {p} the {n}.
""")
NARRATIVE = _templates("""
{F} {vd} the {n} and {vd} {p} the {n}.
"{q}," {F} said.
"{q}" {F} asked, {vg} the {n}.
The {n} was {a}, and the {n} {vd} {p} the {n}.
She looked at the {n} for a long time — {a}, {a}, {a}.
He didn't know what to {v}.
Outside, the {n} {vd} {adv}.
It was the most {a} {n} she had ever seen…
{F} nodded.
I {vd} the {n} {p} my {n}.
There was a {a} {n} in the {n}, and {F} {vd} it.
"{q}," I said. "{q}."
{F} {vd} {p} the {n}, {vg} the {a} {n}.
We {vd} the {n} in silence.
His {n} was {a} and {a}, like a {n} {p} the {n}.
"{q}?"
Somewhere {p} the {n} a {n} {vd}.
""")
DIALOG = _templates("""
I don't {v} the {n}
Where's the {n}
You {vd} the {n}, didn't you
We have to {v} it now
It's {a}
Don't {v} me
What {n}
I'm not {a}, {F}
Let's {v} the {n} before it's too late
Why would you {v} a {n} like that
She's {adv} {a}
Tell me about the {n}
""")
TECH = _templates("""
I'm trying to {v} a {n} in {lang} but the {n} {vs} an {n}.
Is there a way to {v} the {n} without {vg} the {n}?
You can use `{ident}()` to {v} the {n}.
This happens because the {n} is {a} when the {n} is {vn}.
I've tried {vg} the {n}, but it still {vs} {a}.
The {n} {vs} {a} {ns}, so you need to {v} the {n} first.
Edit: the {n} was {a}; {vg} the {n} fixed it.
Thanks, that {vd} the {n}!
In my experience, {a} {ns} are {adv} {a}.
Have you checked the {n}? It {vs} the {n} by default.
Why would anyone {v} a {a} {n}?
The {a} {n} is {adv} better than {lang}'s {n}.
Set `{ident}` to `{num}` and {v} the {n} again.
I {vd} {lang} for {num} years and never {vd} a {n} like that.
""")
POLITICAL = _templates("""
Mr President, the {n} {vs} the {a} {n} of the {ns}.
The Commission {vs} that the {n} must {v} the {a} {ns}.
I {adv} {v} the {n} of the rapporteur, Mr {S}.
We cannot {v} the {n} without a {a} {n}.
The Council has {vn} the {n}, but the {ns} remain {a}.
Ladies and gentlemen, the {n} is {a} for all {ns}.
My group {vs} amendment {num}, which {vs} the {n}.
This {n} {vs} {big} {ns} in the Member States.
The {a} {n} must {v} the {ns} of our citizens.
I would like to thank the Commissioner for her {a} {n}.
""")
BUSINESS = _templates("""
Please {v} the {n} before the {n} tomorrow.
I {vd} the {n} with {F} and the {n} is {a}.
Can you {v} the attached {n} and let me know?
The {n} for {month} is {a} at ${dec}.
We need to {v} the {n} by {day}.
{F} — the {n} {vs} {num} {ns}; please {v}.
Let's {v} the {n} on the {n} call.
Thanks for the {n}. I'll {v} it with {F}.
""")
