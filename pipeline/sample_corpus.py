"""A seeded, synthetic corpus in the Pile's layout, for the demo, the end-to-end tests and the benchmarks.

`write_sample_corpus` writes `train/NN.jsonl.zst`, `val.jsonl.zst`, `ground_truth.jsonl` and
`README.txt`. The text is made from the word lists and templates below (no downloads, nothing read
from installed packages), shaped per `pile_set_name`: web pages, news, papers with pipe tables,
LaTeX, code, DM-Mathematics Q/A with correct answers, IRC logs, e-mails, court opinions, books,
parliament debates in several scripts. A minority of documents carry what a cleaner must repair
(mojibake, HTML entities, CRLF, control characters, terminal escapes, ligatures, full-width forms)
or drop (junk); exact, near, chained and train/holdout duplicates are recorded in the ground truth.
Every document has its own random stream keyed by (seed, index), so equal arguments give
byte-identical files.
"""

from __future__ import annotations

import collections
import math
import os
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import orjson
import zstandard

from pipeline.errors import UserError

ZSTD_LEVEL = 3
HOLDOUT_FRACTION = 0.02
"""Default holdout size as a fraction of `docs` (at least `MIN_HOLDOUT_DOCS`)."""
MIN_HOLDOUT_DOCS = 5
DUPLICATE_FRACTION = 0.12
"""Share of train documents that belong to a duplicate group (originals included)."""
JUNK_FRACTION = 0.03
PROBLEM_FRACTION = 0.08
"""Share of documents given one text problem that ftfy repairs (or, for HTML with tags, keeps)."""
EVERY_SET_FROM = 220
"""From this many documents on, each of the 22 sets appears at least once, however small its weight."""
NEAR_MIN_WORDS = 120
"""Near-duplicate originals need this many words so one edit keeps word-5-gram Jaccard high."""
GROUND_TRUTH = "ground_truth.jsonl"
VAL_FILE = "val.jsonl.zst"


# ---------------------------------------------------------------------------------------------
# Word lists. Multi-word entries use "|" as the separator.


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    """Distinct entries of `text`, split on whitespace or on `sep` (line breaks inside an entry become spaces)."""
    return tuple(dict.fromkeys(" ".join(w.split()) for w in text.split(sep) if w.strip()))


_NOUNS = _words("""time year way day thing world life hand part child eye place week case point number
group problem fact system program question government company night home water room area money
story month book job word business issue side kind head house service friend power hour game line
end member law car city community name team minute idea body information level office door health
person art history party result change morning reason research girl moment air teacher force
education foot age policy process music market sense nation plan college interest death experience
effect class control care field development role effort rate heart drug show leader light voice wife
police mind price report decision son view relationship town road arm difference value building
action model season society tax director position player record paper space ground form event
official matter center couple site project activity star table need court oil situation cost
industry figure street image phone data picture practice piece land product doctor wall worker news
test movie north love support technology step baby computer type attention film tree source
organization hair window evidence population island river bridge village garden kitchen bottle
letter message coffee café summer winter festival museum library bank journey neighborhood résumé
façade menu recipe weekend hotel beach mountain train flight ticket guitar camera bicycle""")
_ADJS = _words("""new good high old great big small large national young different important long little
political public bad real best free strong local sure clear full simple late hard major better
economic possible whole true federal international easy special low recent certain personal open
red difficult available likely short single medical current wrong private past foreign fine common
poor natural significant similar hot dead central happy serious ready physical final main green nice
huge popular traditional cultural wide particular beautiful quiet dark heavy dry bright warm cold
modern ancient rural urban digital careful narrow rapid stable unusual typical naïve quick global
annual visible remarkable expensive cheap famous strange familiar friendly busy rare fresh""")
_REGULAR_VERBS = _words("""ask work seem try call need want look use help talk turn start show move live play
believe happen include continue change watch follow create open walk offer remember consider appear
serve expect stay reach remain suggest raise pass report decide pull return explain hope develop
carry receive agree support produce cover listen realize place close involve increase describe
provide improve reduce visit measure protect design perform publish discuss identify require compare
prepare argue enjoy finish accept manage announce approve collect examine establish mention notice
observe record reveal treat""")
_IRREGULAR_VERBS = {
    base: (past, participle)
    for base, past, participle in (
        entry.split()
        for entry in """fall fell fallen|break broke broken|drive drove driven|draw drew drawn|choose chose
chosen|catch caught caught|send sent sent|bring brought brought|build built built|buy bought bought|
find found found|give gave given|grow grew grown|hold held held|keep kept kept|know knew known|lead
led led|leave left left|lose lost lost|meet met met|pay paid paid|see saw seen|sell sold sold|speak
spoke spoken|spend spent spent|take took taken|tell told told|think thought thought|write wrote
written|make made made|teach taught taught|feel felt felt|stand stood stood""".split("|")
    )
}
_ADVS = _words("""also often still already never always really usually finally recently quickly simply
clearly certainly probably nearly largely directly generally actually especially slowly carefully
rarely openly quietly eventually initially previously significantly""")
_PREPS = _words("in on at for with from by about under between after before during through against "
                "without within across toward near")
_FIRST = _words("""James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Susan
Richard Jessica Joseph Sarah Thomas Karen Daniel Nancy Matthew Lisa Anthony Emily Mark Michelle Paul
Laura Steven Rachel Andrew Hannah José María François Zoë Björn Søren Renée Chloé Jürgen Åsa Noël Inés
Łukasz Mónica Raúl Céline Günter Ana Priya Wei Hiroshi Aisha Omar Olga Dmitri Ngozi Kwame Mei Sven
Ingrid Pedro Lucía Mateo Amélie Élodie Nikolai Yuki Fatima Grace Henry Oliver Ruth Samuel Victor""")
_SURNAMES = _words("""Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez
Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Thompson White Harris Clark
Lewis Robinson Walker Young Allen King Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell
Roberts Carter Phillips Evans Turner Müller Schröder Núñez Peña Gómez Sánchez Ibáñez Dubois Lefèvre
Béranger Kowalski Nowak Novák Dvořák Østergaard Jäger Öztürk Çelik Yılmaz Tanaka Suzuki Nakamura Kim
Park Chen Wang Li Zhang Nguyen Singh Patel Kumar Okafor Mensah Ivanov Petrov Popescu Rossi Bianchi
Ferrari Silva Santos Costa Pereira Andersson Nilsson Hansen Larsen Virtanen O'Brien O'Connor""")
_SURNAME_HEADS = _words("Al Bar Cal Dal Ed Fen Gar Hal Ir Jan Kel Lor Mar Nor Os Pel Quin Ros Sel Tor "
                        "Ul Val Wes Yar Zel Bren Cor Dun Har Lind")
_SURNAME_TAILS = _words("ford ton berg ley wood stein mann son sen ov enko ini etti ez ard ier ski ová "
                        "ich ström haus ridge")
_PLACES = _words("""London|Paris|Berlin|Madrid|Rome|Vienna|Prague|Warsaw|Budapest|Lisbon|Dublin|Oslo|
Stockholm|Helsinki|Copenhagen|Brussels|Amsterdam|Zürich|Kraków|Montréal|Québec|Toronto|Chicago|Boston|
Seattle|Denver|Atlanta|Houston|Phoenix|Portland|Austin|Miami|Detroit|Ohio|Texas|California|Oregon|
Nevada|Georgia|Virginia|Michigan|Bavaria|Catalonia|Andalusia|São Paulo|Bogotá|Lima|Santiago|Mexico
City|Reykjavík|Tromsø|Malmö|Düsseldorf|Nürnberg|Sevilla|Córdoba|Málaga|Mumbai|Lagos|Nairobi|Osaka|
Sydney|Melbourne|Auckland|New Jersey|North Carolina|the Bay Area|Ontario|Manchester|Leeds""", "|")
_MONTHS = _words("January February March April May June July August September October November December")
_NATIVE_NAMES = tuple(tuple(part.strip() for part in pair.split("=")) for pair in _words("""Moscow=Russian: Москва|Saint
Petersburg=Russian: Санкт-Петербург|Novosibirsk=Russian: Новосибирск|Kyiv=Ukrainian: Київ|Sofia=
Bulgarian: София|Plovdiv=Bulgarian: Пловдив|Athens=Greek: Αθήνα|Thessaloniki=Greek: Θεσσαλονίκη|
Heraklion=Greek: Ηράκλειο|Beijing=Chinese: 北京|Shanghai=Chinese: 上海|Chengdu=Chinese: 成都|Tokyo=
Japanese: 東京|Kyoto=Japanese: 京都|Sapporo=Japanese: 札幌|Seoul=Korean: 서울|Busan=Korean: 부산|Cairo=
Arabic: القاهرة|Baghdad=Arabic: بغداد|Damascus=Arabic: دمشق|Alexandria=Arabic: الإسكندرية|Tehran=
Persian: تهران|Tel Aviv=Hebrew: תל אביב|Delhi=Hindi: दिल्ली|Bangkok=Thai: กรุงเทพมหานคร|Tbilisi=
Georgian: თბილისი|Yerevan=Armenian: Երևան|Pyotr Tchaikovsky=Russian: Пётр Ильич Чайковский|
Confucius=Chinese: 孔子|Ibn Sina=Arabic: ابن سينا|Sophocles=Greek: Σοφοκλής|Hokusai=Japanese: 葛飾北斎|
Naguib Mahfouz=Arabic: نجيب محفوظ|Anna Akhmatova=Russian: Анна Ахматова""", "|"))

_DOMAIN_NOUNS = {
    "med": _words("""patient cohort protein receptor tumor cell expression mutation gene pathway inhibitor
dose trial biopsy infection antibody serum plasma lesion therapy outcome symptom diagnosis mortality
enzyme kinase cytokine membrane tissue sample assay biomarker incidence prevalence risk placebo
intervention vaccine pathogen strain isolate transcript peptide ligand metabolite hormone insulin
glucose lipid artery neuron synapse cortex liver kidney lung fibroblast macrophage lymphocyte
apoptosis inflammation proliferation phenotype genotype allele variant microscopy regression"""),
    "law": _words("""court defendant plaintiff appellant appellee motion statute judgment jury trial evidence
testimony claim contract counsel district order petition verdict sentence warrant conviction
indictment complaint hearing record objection discovery affidavit injunction remedy liability
negligence breach jurisdiction appeal ruling precedent amendment officer prosecutor witness tenant
landlord employer employee insurer policy"""),
    "tech": _words("""server function variable database query request array thread memory cache compiler
library framework module package endpoint token client browser kernel driver partition script command
terminal repository branch commit container image process socket port buffer pointer string object
method class interface callback promise config file directory permission user password session cookie
header response error exception stack loop index schema table column row migration build deploy"""),
    "math": _words("""manifold operator lattice group algebra estimator bound theorem lemma kernel spectrum
eigenvalue distribution graph vertex edge norm measure sequence subspace functional module ring field
curvature metric boundary solution equation inequality transform coefficient parameter regime phase
symmetry invariant conjecture approximation convergence density entropy"""),
    "patent": _words("""apparatus assembly housing member substrate layer electrode circuit valve sensor shaft
actuator controller signal sheet roller nozzle chamber fluid device unit portion surface element frame
bracket spring coupling terminal display panel battery semiconductor wafer composition polymer coating
fiber"""),
    "narr": _words("""door window hand face voice room road light shadow table chair street wall floor stairs
garden car phone letter coat bag glass bottle kitchen bed fire rain wind snow sky sea river forest
field horse dog smile silence moment night morning breath heart hair shoulder mouth knife key"""),
    "pol": _words("""Commission|Council|Parliament|proposal|regulation|directive|report|amendment|citizen|
Member State|resolution|budget|treaty|agreement|presidency|rapporteur|committee|framework|programme|
policy|market|union|right|region|fisheries|agriculture|enlargement|cohesion|transparency""", "|"),
    "biz": _words("""deal contract meeting call schedule price gas power trade desk book position curve
counterparty invoice spreadsheet presentation memo forecast pipeline volume transmission capacity
settlement agreement draft"""),
    "phil": _words("""argument premise belief knowledge concept mind truth account theory intuition
justification content representation property objection thesis view claim reason experience
perception consciousness agent action value norm obligation"""),
}
_DOMAIN_ADJS = {
    "med": _words("""clinical randomized significant chronic acute systemic renal hepatic cardiac cellular
molecular prospective retrospective adverse independent primary secondary baseline elevated reduced
differential transgenic recombinant pulmonary neuronal inflammatory metabolic oral intravenous"""),
    "law": _words("""summary federal constitutional criminal civil material reasonable genuine procedural
substantive statutory contractual prior binding applicable relevant sufficient harmless plain"""),
    "tech": _words("""async static dynamic default global local remote virtual mutable immutable deprecated
stable experimental binary empty invalid recursive concurrent lightweight verbose"""),
    "math": _words("""compact bounded smooth finite infinite linear nonlinear convex symmetric orthogonal
asymptotic stochastic random discrete continuous unique stable invariant generic minimal maximal
optimal uniform"""),
    "patent": _words("""conventional elongated annular flexible rigid conductive transparent adjacent
upper lower inner outer predetermined"""),
    "narr": _words("""cold pale empty narrow soft bitter silent distant broken golden tired wet"""),
    "pol": _words("""European social economic regional democratic fundamental sustainable transparent
common internal external"""),
    "biz": _words("""final revised monthly daily firm physical financial"""),
    "phil": _words("""epistemic moral normative metaphysical phenomenal causal rational
necessary contingent"""),
}
_CODE_VERBS = _words("get set load save parse build read write update create delete find check init "
                     "handle render fetch send compute validate format convert merge reset start stop "
                     "open close")
_CODE_NOUNS = _words("config user item node data value key path file buffer request response session "
                     "token cache record entry list map count index offset size name type state event "
                     "handler client server message result error options params context queue task job "
                     "worker")
_PACKAGES = _words("""nvidia-driver-390 xserver-xorg grub2 network-manager pulseaudio alsa-base firefox
thunderbird apache2 mysql-server openssh-server samba gparted wine compiz gnome-shell xfce4 lightdm
ubuntu-desktop build-essential linux-headers-generic virtualbox docker.io python3-pip vim emacs git
curl ufw ntfs-3g""")
_LANGS = _words("Python JavaScript Java C++ Rust Go PHP Ruby Bash C# TypeScript")
_ORGS = _words("""the University of|the Institute for|Department of|the Ministry of|the Centre for""", "|")

_FOREIGN = {
    # language: (words; the first `n` are function words), label, applause, session header
    "fr": ("le la les des une un et est dans pour que qui sur par avec nous vous il pas plus mais comme "
           "cette ces Parlement Commission Conseil rapport proposition politique européenne États membres "
           "citoyens débat vote amendement règlement directive sécurité économie développement coopération "
           "groupe commissaire question aujourd'hui également très important nécessaire élargissement "
           "réforme budget marché emploi énergie environnement égalité droits accord années pays région",
           27, "Le Président", "(Applaudissements)", "Reprise de la session"),
    "de": ("der die das und ist nicht mit von zu den für auf dem sich des ein eine wir auch es als an "
           "werden Parlament Kommission Rat Bericht Vorschlag Politik europäischen Mitgliedstaaten Bürger "
           "Debatte Abstimmung Änderungsantrag Verordnung Richtlinie Sicherheit Wirtschaft Entwicklung "
           "Zusammenarbeit Fraktion Kommissar Frage heute außerdem sehr wichtig notwendig Erweiterung "
           "Reform Haushalt Binnenmarkt Beschäftigung Energie Umwelt Gleichstellung Rechte Abkommen Jahren "
           "Länder müssen können größer über Grundsätze", 25, "Der Präsident", "(Beifall)",
           "Wiederaufnahme der Sitzungsperiode"),
    "es": ("el la los las de y en que un una es por con para no se del al lo como más pero sus Parlamento "
           "Comisión Consejo informe propuesta política europea Estados miembros ciudadanos debate votación "
           "enmienda reglamento directiva seguridad economía desarrollo cooperación grupo señor señora "
           "comisario pregunta hoy también muy importante necesario ampliación reforma presupuesto mercado "
           "empleo energía igualdad derechos acuerdo años países región además según", 23,
           "El Presidente", "(Aplausos)", "Reanudación del período de sesiones"),
    "it": ("il la le di e che è in un una per non con del della sono si al dei Parlamento Commissione "
           "Consiglio relazione proposta politica europea Stati membri cittadini dibattito votazione "
           "emendamento regolamento direttiva sicurezza economia sviluppo cooperazione gruppo signor "
           "signora commissario domanda oggi anche molto importante necessario allargamento riforma "
           "bilancio mercato occupazione energia ambiente uguaglianza diritti accordo anni paesi regione "
           "perché così più già", 19, "Presidente", "(Applausi)", "Ripresa della sessione"),
    "el": ("και το η ο να σε την της των του για με που από είναι δεν θα στην στο οι Κοινοβούλιο Επιτροπή "
           "Συμβούλιο έκθεση πρόταση πολιτική ευρωπαϊκή κράτη μέλη πολίτες συζήτηση ψηφοφορία τροπολογία "
           "κανονισμός οδηγία ασφάλεια οικονομία ανάπτυξη συνεργασία ομάδα κύριε κυρία Επίτροπε ερώτηση "
           "σήμερα επίσης πολύ σημαντικό απαραίτητο διεύρυνση μεταρρύθμιση προϋπολογισμός αγορά απασχόληση "
           "ενέργεια περιβάλλον ισότητα δικαιώματα συμφωνία χρόνια χώρες περιοχή", 21, "Πρόεδρος",
           "(Χειροκροτήματα)", "Επανάληψη της συνόδου"),
    "bg": ("и на в за да се от с че по е не са както това към Парламентът Комисията Съветът доклад "
           "предложение политика европейската държави членки граждани разискване гласуване изменение "
           "регламент директива сигурност икономика развитие сътрудничество група господин госпожо комисар "
           "въпрос днес също много важно необходимо разширяване реформа бюджет пазар заетост енергия "
           "околна среда равенство права споразумение години страни регион", 16, "Председател",
           "(Ръкопляскания)", "Възобновяване на сесията"),
    "ru": ("и в не на что он с как это по но из у за от к был все так она же мы вы Москва город история "
           "университет правительство население река культура война наука год страна площадь улица "
           "музей театр", 24, "", "", ""),
    "ar": ("في من على إلى أن هذا التي الذي مع كان عن بين كل هذه المدينة الحكومة التاريخ الجامعة السكان "
           "النهر الثقافة الحرب العلم السنة البلد العربية المسجد السوق", 14, "", "", ""),
    "zh": ("的 是 在 和 了 有 我们 中国 历史 城市 政府 人口 文化 大学 经济 发展 社会 国家 世界 时间 问题 工作 "
           "研究 技术 学生 科学 河流 山区 铁路 公司 地区 传统 艺术 音乐", 6, "", "", ""),
    "ja": ("の は が を に で と も から まで 東京 日本 大学 研究 文化 歴史 政府 人口 経済 技術 都市 世界 時間 "
           "問題 会社 地域 伝統 芸術 音楽 鉄道", 10, "", "", ""),
}
_FOREIGN_WORDS = {lang: (tuple(spec[0].split()), spec[1]) for lang, spec in _FOREIGN.items()}


_IRREGULAR_PLURALS = {"man": "men", "woman": "women", "child": "children", "person": "people", "foot": "feet",
                      "data": "data", "evidence": "evidence",
                      "information": "information", "research": "research", "education": "education"}


def _plural(noun: str) -> str:
    head, _, last = noun.rpartition(" ")
    if last in _IRREGULAR_PLURALS:
        last = _IRREGULAR_PLURALS[last]
    elif last.endswith("sis"):
        last = last[:-2] + "es"
    elif last[-1:] in "sxz" or last.endswith(("ch", "sh")):
        last += "es"
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        last = last[:-1] + "ies"
    else:
        last += "s"
    return f"{head} {last}" if head else last


def _verb_forms(base: str) -> tuple[str, str, str, str, str]:
    """(base, 3rd person, past, participle, -ing) with the regular English spelling rules."""
    if base[-1:] in "sxzo" or base.endswith(("ch", "sh")):
        third = base + "es"
    elif base.endswith("y") and base[-2] not in "aeiou":
        third = base[:-1] + "ies"
    else:
        third = base + "s"
    if base in _IRREGULAR_VERBS:
        past, participle = _IRREGULAR_VERBS[base]
    elif base.endswith("e"):
        past = participle = base + "d"
    elif base.endswith("y") and base[-2] not in "aeiou":
        past = participle = base[:-1] + "ied"
    else:
        past = participle = base + "ed"
    ing = base[:-1] + "ing" if base.endswith("e") and not base.endswith("ee") else base + "ing"
    return base, third, past, participle, ing


_VERBS = tuple(_verb_forms(v) for v in _REGULAR_VERBS + tuple(_IRREGULAR_VERBS))
_PLURALS = {n: _plural(n) for pool in (_NOUNS, _CODE_NOUNS, *_DOMAIN_NOUNS.values()) for n in pool}
_EDIT_WORDS = _NOUNS + _ADJS + tuple(v[2] for v in _VERBS)


# ---------------------------------------------------------------------------------------------
# Sentence templates. `{key}` is filled from `_Writer.slots[key]`; straight quotes are curled later.

class _Template(NamedTuple):
    literals: tuple[str, ...]
    keys: tuple[str, ...]
    articles: tuple[bool, ...]
    """Per slot: an article ("a" or "an", by the filler's first letter) goes before it."""


_ARTICLE_END = re.compile(r"(?:^|(?<= ))([Aa]n? )$")


def _templates(text: str) -> tuple[_Template, ...]:
    out = []
    for line in text.strip().splitlines():
        parts = re.split(r"\{(\w+)\}", line.strip())
        literals, keys = parts[0::2], parts[1::2]
        cut = [len(m.group(1)) if (m := _ARTICLE_END.search(lit)) else 0 for lit in literals[:-1]]
        articles = [n > 0 for n in cut]
        literals = [lit[: len(lit) - n] for lit, n in zip(literals, cut)] + literals[-1:]
        out.append(_Template(tuple(literals), tuple(keys), tuple(articles)))
    return tuple(out)


_GENERAL = _templates("""
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
_ACADEMIC = _templates("""
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
_LEGAL = _templates("""
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
_NARRATIVE = _templates("""
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
_DIALOG = _templates("""
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
_TECH = _templates("""
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
_POLITICAL = _templates("""
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
_BUSINESS = _templates("""
Please {v} the {n} before the {n} tomorrow.
I {vd} the {n} with {F} and the {n} is {a}.
Can you {v} the attached {n} and let me know?
The {n} for {month} is {a} at ${dec}.
We need to {v} the {n} by {day}.
{F} — the {n} {vs} {num} {ns}; please {v}.
Let's {v} the {n} on the {n} call.
Thanks for the {n}. I'll {v} it with {F}.
""")


# ---------------------------------------------------------------------------------------------
# The per-document writer.


_TOPIC_WEIGHT = 43
"""A document's 14 topic nouns weigh this much against a general noun: ~50% of its nouns are topic nouns."""
_DOMAIN_WEIGHT = 6
_WEB_DOMAINS = ("general", "general", "general", "tech", "med", "biz", "narr", "pol")
_NOUN_POOLS = {d: nouns * _DOMAIN_WEIGHT + _NOUNS for d, nouns in _DOMAIN_NOUNS.items()} | {"general": _NOUNS}
_PLURAL_POOLS = {d: tuple(_PLURALS[n] for n in pool) for d, pool in _NOUN_POOLS.items()}
_ADJ_POOLS = {d: adjs * 3 + _ADJS for d, adjs in _DOMAIN_ADJS.items()} | {"general": _ADJS}
_STATIC_SLOTS: dict[str, tuple[str, ...]] = {
    "adv": _ADVS, "p": _PREPS, "F": _FIRST, "pl": _PLACES, "month": _MONTHS, "org": _ORGS, "lang": _LANGS,
    **{key: tuple(forms[i] for forms in _VERBS) for i, key in enumerate(("v", "vs", "vd", "vn", "vg"))},
    "day": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"),
    "period": ("year", "month", "week", "spring", "season", "quarter"), "ord": ("2d", "3d", "4th"),
    "circuit": ("1st", "2d", "3d", "4th", "5th", "6th", "7th", "8th", "9th", "10th", "11th", "D.C."),
}


class _Writer:
    """Text for one document: its own random stream, a topical vocabulary, and template filling.

    A slot is filled from a tuple of words (uniform pick; repeats weight it) or by a method."""

    def __init__(self, rng: random.Random, domain: str) -> None:
        self.rng = rng
        self.r = rng.random
        if domain == "web":
            domain = rng.choice(_WEB_DOMAINS)
        nouns = _DOMAIN_NOUNS.get(domain, _NOUNS)
        topic = tuple(rng.sample(nouns, min(14, len(nouns))))
        self.slots: dict[str, tuple[str, ...] | Callable[[], str]] = {
            **_STATIC_SLOTS,
            "n": topic * _TOPIC_WEIGHT + _NOUN_POOLS[domain],
            "ns": tuple(_PLURALS[n] for n in topic) * _TOPIC_WEIGHT + _PLURAL_POOLS[domain],
            "a": _ADJ_POOLS[domain], "N": self.person, "S": self.surname, "num": self.num, "yr": self.year,
            "big": lambda: f"{int(math.exp(7 + self.r() * 8)):,}", "pct": lambda: f"{self.r() * 100:.1f}%",
            "dec": lambda: f"{self.r() * 20:.2f}", "d": lambda: str(1 + int(self.r() * 9)), "date": self.date,
            "q": lambda: self.sentence(_DIALOG), "ident": self.ident, "statute": self.statute,
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
            return self.pick(_SURNAME_HEADS) + self.pick(_SURNAME_TAILS)
        return self.pick(_SURNAMES)

    def person(self) -> str:
        middle = f" {chr(65 + int(self.r() * 26))}." if self.r() < 0.15 else ""
        return f"{self.pick(_FIRST)}{middle} {self.surname()}"

    def num(self) -> str:
        return str(int(math.exp(self.r() * 6.9)) + 2)

    def year(self) -> str:
        return str(1900 + int(self.r() ** 0.5 * 124))

    def date(self) -> str:
        return f"{self.pick(_MONTHS)} {self.between(1, 28)}, {self.year()}"

    def ident(self) -> str:
        verb, noun = self.pick(_CODE_VERBS), self.pick(_CODE_NOUNS)
        return f"{verb}_{noun}" if self.r() < 0.5 else verb + noun.capitalize()

    def statute(self) -> str:
        return self.pick((f"{self.between(5, 50)} U.S.C. § {self.between(100, 2500)}", "§ 1983",
                          f"Rule {self.between(1, 60)}({self.pick('abcde')})", "28 U.S.C. § 2254(d)"))

    def sentence(self, templates: Sequence[_Template]) -> str:
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

    def paragraph(self, templates: Sequence[_Template], lo: int = 2, hi: int = 6) -> str:
        return " ".join([self.sentence(templates) for _ in range(self.between(lo, hi))])

    def prose(self, templates: Sequence[_Template], size: int, lo: int = 2, hi: int = 6, sep: str = "\n\n") -> str:
        parts: list[str] = []
        total = 0
        while total < size:
            parts.append(self.paragraph(templates, lo, hi))
            total += len(parts[-1]) + len(sep)
        return sep.join(parts)

    def title(self) -> str:
        words = self.sentence(self.pick((_GENERAL, _ACADEMIC, _TECH))).rstrip(".?!").split()[: self.between(3, 9)]
        while len(words) > 1 and (words[-1] in _SMALL_WORDS or not words[-1][-1:].isalnum()):
            words.pop()
        return " ".join(w if w in _SMALL_WORDS else w[:1].upper() + w[1:] for w in words)

    def salad(self, lang: str, lo: int = 8, hi: int = 22) -> str:
        """A sentence of random words in `lang`: function words about as often as in real text."""
        words, function_count = _FOREIGN_WORDS[lang]
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


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiouAEIOU" else "a"


# ---------------------------------------------------------------------------------------------
# One generator per pile_set_name family: (writer, target size in characters) -> text.


def _pile_cc(w: _Writer, size: int) -> str:
    head: list[str] = []
    if w.chance(0.6):
        head.append(w.title())
    if w.chance(0.25):
        head.append(" | ".join(("Home", "About", w.pick(("Blog", "Shop", "News")), "Contact")))
    if w.chance(0.35):
        head.append(f"Posted on {w.date()} by {w.person()}")
    tail: list[str] = []
    if w.chance(0.15):
        tail.append("\n".join(f"{w.pick(('•', '-', '*'))} {w.paragraph(_GENERAL, 1, 1)}"
                              for _ in range(w.between(3, 7))))
    if w.chance(0.1):
        tail.append("\n".join(f"{w.noun().capitalize()}\t{w.value('dec')} cm\t{w.adj()}"
                              for _ in range(w.between(3, 8))))
    if w.chance(0.08):
        lang = w.pick(("fr", "de", "es", "it", "ru", "ar", "zh", "ja"))
        tail.append(" ".join(w.salad(lang) for _ in range(w.between(2, 5))))
    if w.chance(0.2):
        tail.append("\n".join(f"{w.person()} says:\n{w.date()} at {w.between(1, 12)}:{w.between(10, 59)} "
                              f"{w.pick(('am', 'pm'))}\n{w.paragraph(_GENERAL, 1, 3)}" for _ in range(w.between(1, 4))))
    if w.chance(0.3):
        tail.append(f"© {w.year()} {w.surname()} & {w.surname()}. All rights reserved.")
    body = w.prose(_GENERAL, size - sum(map(len, head + tail)), 1, 5, sep=w.pick(("\n", "\n\n")))
    return "\n".join(head + [body] + tail)


def _news(w: _Writer, size: int) -> str:
    return f"{w.title()}\n\n{w.prose(_GENERAL, size, 1, 3)}"


def _wikipedia(w: _Writer, size: int) -> str:
    if w.chance(0.3):
        name, native = w.pick(_NATIVE_NAMES)
    else:
        name, native = w.person() if w.chance(0.6) else f"{w.pick(_PLACES)} {w.noun().title()}", ""
    adj = w.adj()
    lead = f"{name}{f' ({native})' if native else ''} is {_article(adj)} {adj} {w.noun()} in {w.pick(_PLACES)}. "
    parts = [name, "", lead + w.paragraph(_GENERAL, 1, 3)]
    if native and w.chance(0.5):
        lang = {"Russian": "ru", "Arabic": "ar", "Chinese": "zh", "Japanese": "ja", "Greek": "el",
                "Bulgarian": "bg"}.get(native.split(":")[0])
        if lang:
            parts.append(f"The motto reads: {w.salad(lang, 4, 9)}")
    sections = ["History", "Geography", "Career", "Economy", "Legacy", "Demographics", "Works"]
    while sum(map(len, parts)) < size:
        parts += ["", w.pick(sections), "", w.paragraph(_GENERAL, 2, 5)]
    if w.chance(0.2):
        rows = [f"{w.year()}\t{w.value('big')}\t{w.adj()}" for _ in range(w.between(3, 8))]
        parts += ["", "Year\tPopulation\tNote", *sorted(rows)]
    parts += ["", "References", "", "External links"] if w.chance(0.5) else []
    return "\n".join(parts)


def _abstract(w: _Writer, size: int) -> str:
    if w.chance(0.5):
        labels = ("BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS")
        body = " ".join(f"{label}: {w.paragraph(_ACADEMIC, 1, 3)}" for label in labels)
        while len(body) < size - 100:
            body += " " + w.paragraph(_ACADEMIC, 1, 2)
    else:
        body = w.prose(_ACADEMIC, size, 3, 8, sep=" ")
    return f"{w.title()}.\n{body}"


def _nih(w: _Writer, size: int) -> str:
    return (f"DESCRIPTION (provided by applicant): {w.prose(_ACADEMIC, size - 200, 3, 7, sep=' ')}\n\n"
            f"PUBLIC HEALTH RELEVANCE: {w.paragraph(_ACADEMIC, 1, 3)}")


def _pipe_table(w: _Writer) -> str:
    cols = w.between(3, 5)
    head = ["Variable"] + [f"{w.noun().capitalize()} (n = {w.num()})" for _ in range(cols - 2)] + ["p"]
    rows = [[w.noun().capitalize()] + [f"{w.value('dec')} ± {w.value('dec')}" for _ in range(cols - 2)]
            + [f"0.{w.between(1, 999):03d}"] for _ in range(w.between(3, 9))]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * cols] + ["| " + " | ".join(r) + " |" for r in rows]
    return f"Table {w.between(1, 6)}\n\n{w.sentence(_ACADEMIC)}\n\n" + "\n".join(lines)


def _paper(w: _Writer, size: int) -> str:
    """PubMed Central / PhilPapers style: markdown headings, citations, sometimes pipe tables."""
    sections = ("Introduction", "Materials and Methods", "Results", "Discussion", "Conclusions")
    parts = [w.title(), "", "Abstract", "", w.paragraph(_ACADEMIC, 4, 8)]
    n = 0
    while sum(map(len, parts)) < size:
        name = sections[n % len(sections)] if n < len(sections) else w.title()
        parts += ["", f"{name} {{#s{n + 1}}}", "=" * (len(name) + 6), ""]
        for _ in range(w.between(2, 5)):
            parts += [w.paragraph(_ACADEMIC, 3, 8), ""]
        if w.chance(0.35):
            parts += [_pipe_table(w), ""]
        n += 1
    return "\n".join(parts).rstrip()


def _usp(w: _Writer, size: int) -> str:
    adj = w.adj()
    field = f"{_article(adj)} {adj} {w.noun()} for {w.nouns()}"
    return (f"BACKGROUND OF THE INVENTION\n\n1. Field of the Invention\n\nThe present invention relates to "
            f"{w.nouns()}, and more particularly to {field}.\n\n"
            f"2. Description of the Related Art\n\n{w.prose(_ACADEMIC, size - 250, 3, 7)}")


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
_LATEX_FILL = {"s": ("x", "y", "u", r"\lambda", r"\xi", r"\alpha"), "t": ("t", "z", "v", r"\tau", r"\eta"),
               "F": ("f", "g", "u", r"\phi", r"\psi", "F"), "G": ("g", "h", r"\nabla u", "G"),
               "N": ("N", "n", "m", "d"), "k": ("2", "3", "p", "q", "1/2")}


def _latex_math(w: _Writer) -> str:
    return re.sub(r"@(\w)", lambda m: w.pick(_LATEX_FILL[m.group(1)]), w.pick(_LATEX))


def _arxiv(w: _Writer, size: int) -> str:
    parts = [r"\section{Introduction}", ""]
    sections = ("Preliminaries", "Main results", "Proof of Theorem 1", "Numerical experiments", "Discussion")
    n = 0
    while sum(map(len, parts)) < size:
        for _ in range(w.between(2, 4)):
            sentences = [w.sentence(_ACADEMIC) for _ in range(w.between(3, 6))]
            cite = w.surname().lower().translate(_ASCII_FOLD) + w.year()
            sentences.insert(w.between(0, len(sentences)), f"Let ${_latex_math(w)}$ for every ${w.pick('xytn')} "
                             f"\\in \\mathbb{{{w.pick('RNCZ')}}}$ \\cite{{{cite}}}.")
            parts += [" ".join(sentences), ""]
            if w.chance(0.5):
                parts += ["\\begin{equation}", f"  \\label{{eq:{w.noun().replace(' ', '')}{w.num()}}}",
                          f"  {_latex_math(w)},", "\\end{equation}", ""]
            if w.chance(0.25):
                env = w.pick(("theorem", "lemma", "proposition"))
                parts += [f"\\begin{{{env}}}", w.paragraph(_ACADEMIC, 1, 2), f"\\end{{{env}}}",
                          "\\begin{proof}", w.paragraph(_ACADEMIC, 2, 4) + r" \qed", "\\end{proof}", ""]
            if w.chance(0.1):
                rows = [f"{w.noun()} & {w.value('dec')} & {w.value('dec')} \\\\" for _ in range(w.between(3, 6))]
                parts += ["\\begin{table}[h]", "\\centering", "\\begin{tabular}{lcc}", "\\hline",
                          "Method & Error & Time (s) \\\\", "\\hline", *rows, "\\hline", "\\end{tabular}",
                          f"\\caption{{{w.sentence(_ACADEMIC)}}}", "\\end{table}", ""]
        parts += [f"\\section{{{sections[n % len(sections)]}}}", ""]
        n += 1
    return "\n".join(parts).rstrip()


def _snake(w: _Writer) -> str:
    return f"{w.pick(_CODE_VERBS)}_{w.pick(_CODE_NOUNS)}"


def _python_block(w: _Writer, indent: str, depth: int) -> list[str]:
    lines: list[str] = []
    for _ in range(w.between(2, 5)):
        a, b = w.pick(_CODE_NOUNS), w.pick(_CODE_NOUNS)
        kind = w.between(0, 6 if depth < 2 else 3)
        if kind == 0:
            lines.append(f"{indent}{a} = {_snake(w)}({b}, {w.pick(_CODE_NOUNS)}={w.num()})")
        elif kind == 1:
            lines.append(f'{indent}logger.{w.pick(("debug", "info", "warning"))}("{w.sentence(_TECH)[:60]} %s", {a})')
        elif kind == 2:
            lines.append(f"{indent}{a}s.append({b}.{w.pick(_CODE_NOUNS)})")
        elif kind == 3:
            lines.append(f"{indent}self.{a} = {{{b!r}: {w.num()}, {w.pick(_CODE_NOUNS)!r}: None}}")
        elif kind == 4:
            lines += [f"{indent}if {a} is None or len({b}) > {w.num()}:",
                      *_python_block(w, indent + "    ", depth + 1)]
        elif kind == 5:
            lines += [f"{indent}for {a} in {b}s:", *_python_block(w, indent + "    ", depth + 1)]
        else:
            lines += [f"{indent}try:", *_python_block(w, indent + "    ", depth + 1),
                      f"{indent}except {w.pick(('KeyError', 'ValueError', 'OSError'))} as exc:",
                      f'{indent}    raise RuntimeError(f"cannot {w.pick(_CODE_VERBS)} {{{a}!r}}") from exc']
    return lines


def _python(w: _Writer, size: int) -> str:
    imports = sorted(w.rng.sample(("import os", "import sys", "import json", "import logging", "import re",
                                   "from collections import defaultdict", "from pathlib import Path",
                                   "import numpy as np", "from typing import Any, Optional"), w.between(2, 5)))
    lines = (["#!/usr/bin/env python3"] if w.chance(0.3) else []) + [f'"""{w.sentence(_TECH)}"""', ""]
    lines += imports + ["", "logger = logging.getLogger(__name__)",
                        f"MAX_{w.pick(_CODE_NOUNS).upper()} = {w.num()}", ""]
    while sum(map(len, lines)) < size:
        if w.chance(0.3):
            name = w.pick(_CODE_NOUNS).capitalize() + w.pick(("Manager", "Parser", "Client", "Store", "Handler"))
            lines += ["", f"class {name}(object):", f'    """{w.sentence(_TECH)}"""', "",
                      f"    def __init__(self, {w.pick(_CODE_NOUNS)}, {w.pick(_CODE_NOUNS)}=None):",
                      *_python_block(w, "        ", 1), "",
                      f"    def {_snake(w)}(self, {w.pick(_CODE_NOUNS)}):", *_python_block(w, "        ", 1),
                      f"        return self.{w.pick(_CODE_NOUNS)}", ""]
        else:
            lines += ["", f"def {_snake(w)}({w.pick(_CODE_NOUNS)}, {w.pick(_CODE_NOUNS)}=None):",
                      f'    """{w.sentence(_TECH)}"""', *_python_block(w, "    ", 0),
                      f"    return {w.pick(_CODE_NOUNS)}", ""]
    return "\n".join(lines).strip() + "\n"


def _c_block(w: _Writer, indent: str, depth: int) -> list[str]:
    lines: list[str] = []
    for _ in range(w.between(2, 5)):
        a, b = w.pick(_CODE_NOUNS), w.pick(_CODE_NOUNS)
        kind = w.between(0, 5 if depth < 2 else 2)
        if kind == 0:
            lines.append(f"{indent}{a}->{b} = {_snake(w)}({a}, {w.num()});")
        elif kind == 1:
            lines.append(f'{indent}printf("{w.pick(_CODE_VERBS)} {b}: %d\\n", {a}_{b});')
        elif kind == 2:
            lines.append(f"{indent}ret |= {a}[i] & 0x{w.between(1, 255):02x};")
        elif kind == 3:
            lines += [f"{indent}if ({a} == NULL) {{", f"{indent}\treturn -{w.pick(('EINVAL', 'ENOMEM', 'EIO'))};",
                      f"{indent}}}"]
        elif kind == 4:
            lines += [f"{indent}for (i = 0; i < {a}->{b}_count; i++) {{", *_c_block(w, indent + "\t", depth + 1),
                      f"{indent}}}"]
        else:
            lines += [f"{indent}while ({a}_{b}--) {{", *_c_block(w, indent + "\t", depth + 1), f"{indent}}}"]
    return lines


def _c(w: _Writer, size: int) -> str:
    header = f"{w.pick(_CODE_NOUNS)}.h"
    lines = ["/*", f" * {w.sentence(_TECH)}", " *", f" * Copyright (C) {w.year()} {w.person()}", " */", "",
             "#include <stdio.h>", "#include <stdlib.h>", f'#include "{header}"', "",
             f"#define MAX_{w.pick(_CODE_NOUNS).upper()} {w.num()}", ""]
    while sum(map(len, lines)) < size:
        name = _snake(w)
        lines += [f"/* {w.sentence(_TECH)} */",
                  f"static int {name}(struct {w.pick(_CODE_NOUNS)} *{w.pick(_CODE_NOUNS)}, int n)",
                  "{", "\tint i, ret = 0;", "", *_c_block(w, "\t", 0), "\treturn ret;", "}", ""]
    return "\n".join(lines)


def _js(w: _Writer, size: int) -> str:
    module = w.pick(("express", "fs", "path", "lodash", "axios"))
    lines = ["'use strict';", "", f"const {w.pick(_CODE_NOUNS)} = require('{module}');", ""]
    while sum(map(len, lines)) < size:
        a, b, c = w.pick(_CODE_NOUNS), w.pick(_CODE_NOUNS), w.pick(_CODE_NOUNS)
        name = w.ident()
        lines += ["/**", f" * {w.sentence(_TECH)}", " */", f"function {name}({a}, {b}) {{",
                  f"  const {c} = {a}.{b} || {{}};", f"  if (!{c}.{w.pick(_CODE_NOUNS)}) {{",
                  f"    return {{ error: '{w.pick(_CODE_VERBS)} {c} failed', code: {w.num()} }};", "  }",
                  f"  return {w.ident()}({c}).then(({w.pick(_CODE_NOUNS)}) => {{",
                  f"    console.log(`{w.pick(_CODE_VERBS)} ${{{c}.id}}`);",
                  f"    return {c}.{w.pick(_CODE_NOUNS)}.map((x) => x * {w.num()});", "  });", "}", ""]
    lines.append(f"module.exports = {{ {w.ident()} }};")
    return "\n".join(lines) + "\n"


def _github(w: _Writer, size: int) -> str:
    return w.pick((_python, _python, _c, _js))(w, size)


def _stackexchange(w: _Writer, size: int) -> str:
    def code() -> str:
        lines = [f"def {_snake(w)}({w.pick(_CODE_NOUNS)}):", *_python_block(w, "    ", 1)]
        return "\n".join("    " + line for line in lines)
    question = [w.title() + "?", w.paragraph(_TECH, 2, 4), code(), w.paragraph(_TECH, 1, 3)]
    parts = ["Q:", "", "\n\n".join(question)]
    while sum(map(len, parts)) < size:
        answer = [w.paragraph(_TECH, 1, 4)] + ([code()] if w.chance(0.5) else []) + [w.paragraph(_TECH, 1, 2)]
        parts += ["", "A:", "", "\n\n".join(answer)]
    return "\n".join(parts)


def _hackernews(w: _Writer, size: int) -> str:
    parts = [w.pick(("", "Show HN: ", "Ask HN: ")) + w.title(), ""]
    while sum(map(len, parts)) < size:
        user = (w.pick(_CODE_NOUNS) + w.pick(_CODE_NOUNS) + (w.num() if w.chance(0.4) else "")).lower()
        quote = f"> {w.sentence(_TECH)}\n\n" if w.chance(0.3) else ""
        parts += [user, quote + w.paragraph(_TECH, 1, 5), ""]
    return "\n".join(parts).strip()


def _freelaw(w: _Writer, size: int) -> str:
    head = [f"UNITED STATES COURT OF APPEALS\nFOR THE {w.pick(('FIRST', 'THIRD', 'FIFTH', 'NINTH', 'TENTH'))} CIRCUIT",
            f"No. {w.between(90, 99)}-{w.between(1000, 9999)}",
            f"{w.person().upper()}, Plaintiff-Appellant,\nv.\n{w.surname().upper()} CORPORATION, Defendant-Appellee.",
            f"Appeal from the United States District Court for the District of {w.pick(_PLACES)}.",
            f"Filed {w.date()}", "OPINION", f"{w.surname().upper()}, Circuit Judge:"]
    body = w.prose(_LEGAL, size - sum(map(len, head)), 3, 8)
    return "\n\n".join(head + [body, w.pick(("AFFIRMED.", "REVERSED and REMANDED.", "AFFIRMED in part."))])


def _dm_question(w: _Writer, kind: int) -> tuple[str, str]:
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
        return f"Is {n} a prime number?", str(n > 1 and all(n % d for d in range(2, int(n ** 0.5) + 1)))
    if kind == 8:
        value = w.r() * 1000 - 500
        places = w.between(1, 3)
        return f"Round {value:.6f} to {places} decimal places.", f"{value:.{places}f}"
    if kind == 9:
        return f"What is the remainder when {abs(c) + b} is divided by {b}?", str((abs(c) + b) % b)
    items = [w.between(-50, 50) for _ in range(w.between(3, 6))]
    return (f"Sort {', '.join(map(str, items))} in decreasing order.",
            ", ".join(map(str, sorted(items, reverse=True))))


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


def _dm_mathematics(w: _Writer, size: int) -> str:
    kinds = (w.between(0, 10), w.between(0, 10))
    lines: list[str] = []
    total = 0
    while total < size:
        question, answer = _dm_question(w, w.pick(kinds))
        lines += [question, answer]
        total += len(question) + len(answer) + 2
    return "\n".join(lines) + "\n"


def _irc(w: _Writer, size: int) -> str:
    nicks = [(w.pick(_FIRST).lower() + w.pick(("", "_", "42", "-", "`", "1"))).replace("é", "e") for _ in range(8)]
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
            pkg = w.pick(_PACKAGES)
            cmd = w.pick((f"sudo apt-get install {pkg}", f"sudo apt-get remove --purge {pkg}", "dmesg | tail",
                          f"sudo dpkg-reconfigure {pkg}", "lspci | grep -i vga", "uname -r", "sudo update-grub",
                          f"sudo service {pkg} restart", "tail -f /var/log/syslog", "lsb_release -a"))
            line = f"{stamp} <{nick}> {w.pick(nicks)}: try {cmd}"
        else:
            line = f"{stamp} <{nick}> {w.sentence(_TECH).lower().rstrip('.')}"
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines)


_ASCII_FOLD = str.maketrans("áàâäãåçéèêëíìîïñóòôöõøúùûüýÿłşıčřž", "aaaaaaceeeeiiiinoooooouuuuyylsicrz")


def _enron(w: _Writer, size: int) -> str:
    sender, receiver = w.person(), w.person()

    def address(name: str) -> str:
        parts = name.lower().translate(_ASCII_FOLD).split()
        return f"{parts[0]}.{parts[-1]}@enron.com".replace("'", "")

    day = w.pick(("Mon", "Tue", "Wed", "Thu", "Fri"))
    header = [f"Message-ID: <{w.between(10**7, 10**8)}.{w.between(10**12, 10**13)}.JavaMail.evans@thyme>",
              f"Date: {day}, {w.between(1, 28)} {w.pick(_MONTHS)[:3]} {w.between(1999, 2002)} "
              f"{w.between(0, 23):02d}:{w.between(0, 59):02d}:00 -0800 (PST)",
              f"From: {address(sender)}", f"To: {address(receiver)}",
              f"Subject: {w.pick(('', 'Re: ', 'FW: '))}{w.noun()} {w.pick(_DOMAIN_NOUNS['biz'])}",
              "Mime-Version: 1.0", "Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: 7bit",
              f"X-From: {sender}", f"X-To: {receiver}", "X-cc: ", "X-bcc: ",
              f"X-Folder: \\{sender.split()[-1]}_{w.pick(('Jun2001', 'Dec2000'))}\\Notes Folders\\Sent",
              f"X-Origin: {sender.split()[-1]}-{sender[0]}", f"X-FileName: {sender.split()[-1].lower()}.nsf", ""]
    body = [w.pick((receiver.split()[0] + ",", "Hi,", "All,")), "", w.prose(_BUSINESS, max(size - 600, 150), 1, 4), "",
            w.pick(("Thanks,", "Regards,", "")), sender.split()[0]]
    if w.chance(0.25):
        body += ["", " -----Original Message-----", f"From: \t{receiver}", f"Sent:\t{w.date()}",
                 w.paragraph(_BUSINESS, 1, 3)]
    return "\n".join(header + body)


def _europarl(w: _Writer, size: int) -> str:
    lang = w.pick(("en", "en", "en", "fr", "de", "es", "it", "el", "bg"))
    if lang == "en":
        label, applause, header = "President", "(Applause)", "Resumption of the session"
    else:
        _, _, label, applause, header = _FOREIGN[lang]
    parts = [header, ""]
    while sum(map(len, parts)) < size:
        group = w.pick(("PPE-DE", "PSE", "ALDE", "Verts/ALE", "GUE/NGL", "UEN"))
        speaker = label if w.chance(0.3) else f"{w.person()} ({group})"
        if lang == "en":
            text = w.paragraph(_POLITICAL, 2, 6)
        else:
            text = " ".join(w.salad(lang) for _ in range(w.between(2, 6)))
        parts += [f"{speaker}. – {text}", ""]
        if w.chance(0.1):
            parts += [applause, ""]
    return "\n".join(parts).rstrip()


def _book(w: _Writer, size: int) -> str:
    chapter = w.between(1, 30)
    parts: list[str] = []
    while sum(map(len, parts)) < size:
        parts += [w.pick((f"Chapter {chapter}", f"CHAPTER {chapter}", f"{chapter}")), ""]
        for _ in range(w.between(10, 40)):
            parts += [w.paragraph(_NARRATIVE, 1, 5), ""]
        chapter += 1
    return "\n".join(parts).rstrip()


def _gutenberg(w: _Writer, size: int) -> str:
    """Old-style prose wrapped at 70 columns, with _emphasis_ and roman chapter numbers."""
    parts: list[str] = []
    chapter = w.between(1, 20)
    while sum(map(len, parts)) < size:
        parts += [f"CHAPTER {_roman(chapter)}.", ""]
        for _ in range(w.between(8, 25)):
            words = w.paragraph(_NARRATIVE, 2, 6).split()
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


def _subtitles(w: _Writer, size: int) -> str:
    lines: list[str] = []
    total = 0
    while total < size:
        line = w.sentence(_DIALOG) + w.pick((".", "?", "!", "...", "."))
        if w.chance(0.15):
            line = f"- {line}\n- {w.sentence(_DIALOG)}."
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines)


def _youtube(w: _Writer, size: int) -> str:
    lines: list[str] = []
    total = 0
    while total < size:
        words = re.sub(r"[^\w\s']", "", w.sentence(w.pick((_GENERAL, _TECH, _DIALOG))).lower()).split()
        line = " ".join([w.pick(("so", "um", "and", "like", "okay so"))] + words)
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines)


def _philpapers(w: _Writer, size: int) -> str:
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
    make: Callable[[_Writer, int], str]


_SETS = (
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
_SET_BY_NAME = {spec.name: spec for spec in _SETS}
PILE_SET_NAMES = tuple(spec.name for spec in _SETS)
"""The 22 `pile_set_name` values this generator writes."""
_PROSE_SETS = frozenset({"Pile-CC", "OpenWebText2", "Wikipedia (en)", "HackerNews", "Enron Emails", "Books3",
                         "BookCorpus2", "PhilPapers", "FreeLaw", "PubMed Central", "EuroParl"})


# ---------------------------------------------------------------------------------------------
# Text problems and junk.

_OPEN_DOUBLE = re.compile(r'(^|[\s(\[—-])"', re.M)
_OPEN_SINGLE = re.compile(r"(^|[\s(\[—])'", re.M)


def _smarten(text: str) -> str:
    """Straight quotes to curly ones, the way word processors do."""
    text = _OPEN_DOUBLE.sub("\\1“", text).replace('"', "”")
    return _OPEN_SINGLE.sub("\\1‘", text).replace("'", "’")


_CP1252_C1 = str.maketrans({chr(b): bytes([b]).decode("cp1252") for b in range(0x80, 0xA0)
                            if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)})


def _mojibake_of(text: str, windows: bool) -> str:
    """UTF-8 bytes read as Windows-1252 (undefined bytes kept as Latin-1, as browsers do) or as Latin-1."""
    wrong = text.encode("utf-8").decode("latin-1")
    return wrong.translate(_CP1252_C1) if windows else wrong


def _mojibake(w: _Writer, text: str) -> str:
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


def _html_entities(w: _Writer, text: str) -> str:
    for char, names in _ENTITIES:
        text = text.replace(char, w.pick(names))
    return text if "&" in text else text + f" {w.surname()} &amp; {w.surname()}"


def _html_markup(w: _Writer, text: str) -> str:
    """Entities inside tags: text that looks like HTML, which ftfy's unescape_html="auto" leaves alone."""
    return "\n".join(f"<p>{p}</p>" for p in _html_entities(w, text).split("\n\n")) + "\n<br />"


def _crlf(w: _Writer, text: str) -> str:
    return text.replace("\n", "\r\n") if "\n" in text else text + "\r\n"


_C0 = "\x00\x01\x02\x07\x08\x0b\x0e\x1a\x1f\x7f"


def _control_chars(w: _Writer, text: str) -> str:
    """Windows-1252 punctuation left as C1 controls, plus a few stray C0 characters."""
    text = text.translate(str.maketrans({"’": "\x92", "‘": "\x91", "“": "\x93", "”": "\x94", "—": "\x97"}))
    spaces = [m.start() for m in re.finditer(" ", text)] or [len(text)]
    for pos in sorted(w.rng.sample(spaces, min(len(spaces), w.between(1, 4))), reverse=True):
        text = text[:pos] + w.pick(_C0) + text[pos:]
    return text


def _terminal_escapes(w: _Writer, text: str) -> str:
    words = text.split(" ")
    for _ in range(w.between(1, 6)):
        i = w.between(0, len(words) - 1)
        words[i] = f"\x1b[{w.pick(('1', '31', '32', '1;33', '0;36', '4'))}m{words[i]}\x1b[0m"
    return " ".join(words)


def _ligatures(w: _Writer, text: str) -> str:
    """As text extracted from PDFs: fi, fl, ff, ffi as single ligature characters."""
    for plain, ligature in (("ffi", "ﬃ"), ("ffl", "ﬄ"), ("ff", "ﬀ"), ("fi", "ﬁ"), ("fl", "ﬂ")):
        text = text.replace(plain, ligature)
    return text if any(c in text for c in "ﬃﬄﬀﬁﬂ") else text + " Conﬁdential."


_FULLWIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)} | {" ": "\u3000"})


def _full_width(w: _Writer, text: str) -> str:
    words = text.split(" ")
    for _ in range(w.between(1, 4)):
        i = w.between(0, len(words) - 1)
        words[i] = words[i].translate(_FULLWIDTH)
    return " ".join(words) + f" ＳＡＬＥ {w.between(10, 70)}％ ＯＦＦ"


_PROBLEMS: dict[str, tuple[float, tuple[str, ...], Callable[[_Writer, str], str]]] = {
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


def _junk(w: _Writer, kind: str, serial: int) -> str:
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
        return "\n".join([w.sentence(_GENERAL)] * w.between(20, 200))
    if kind == "bullets":
        return w.title() + "\n" + "\n".join(f"{w.pick(('•', '-', '*', '·'))} {w.noun()} {w.adj()} {w.noun()}"
                                            for _ in range(w.between(10, 40)))
    return "\n".join(w.sentence(_GENERAL).rsplit(" ", 2)[0] + "…" for _ in range(w.between(10, 40)))


_JUNK_KINDS = ("empty", "whitespace", "short", "symbols", "repeated_line", "bullets", "ellipsis")
_JUNK_SETS = ("Pile-CC", "Pile-CC", "Pile-CC", "OpenWebText2", "HackerNews", "StackExchange")


# ---------------------------------------------------------------------------------------------
# Duplicates.


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = text.split()
    return set(zip(words, words[1:], words[2:], words[3:], words[4:]))


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


_WORD = re.compile(r"\S+")


def _edit_words(rng: random.Random, text: str, edits: int) -> str:
    """`text` with `edits` words substituted, inserted before, or deleted, at random places."""
    spans = [m.span() for m in _WORD.finditer(text)]
    out, prev = [], 0
    for i in sorted(rng.sample(range(len(spans)), min(edits, len(spans)))):
        start, end = spans[i]
        word = _EDIT_WORDS[int(rng.random() * len(_EDIT_WORDS))]
        op = rng.random()
        out.append(text[prev:start])
        if op < 0.6:
            out.append(word if word != text[start:end] else word + "s")
            prev = end
        elif op < 0.8:
            out.append(word + " ")
            prev = start
        else:
            prev = spans[i + 1][0] if i + 1 < len(spans) else end
    out.append(text[prev:])
    return "".join(out)


def _near_copy(rng: random.Random, text: str, target: float) -> str:
    """An edited copy whose word-5-gram Jaccard with `text` is near `target`, always in [0.5, 1)."""
    base = _shingles(text)
    edits = max(1, round(len(base) * (1 - target) / (5 * (1 + target))))
    for _ in range(8):
        copy = _edit_words(rng, text, edits)
        similarity = _jaccard(base, _shingles(copy))
        if 0.5 <= similarity < 1:
            return copy
        edits = max(1, edits // 2) if similarity < 0.5 else edits + 1
    raise AssertionError("no near copy in range")  # unreachable for texts of NEAR_MIN_WORDS words


# ---------------------------------------------------------------------------------------------
# Planning, generation and writing.


@dataclass(frozen=True)
class SampleSummary:
    """What `write_sample_corpus` wrote; `describe()` is the line a CLI prints."""

    out_dir: Path
    seed: int
    files: tuple[str, ...]
    """Relative paths: the train files, then `val.jsonl.zst`."""
    docs_per_file: tuple[int, ...]
    text_bytes: int
    """UTF-8 bytes of all document texts (train and val)."""
    groups: int
    grouped_docs: int
    """Documents in some duplicate group, originals included."""
    duplicate_docs: int
    """Documents a perfect deduplication removes: every group member but its original."""
    docs_per_set: dict[str, int]
    bytes_per_set: dict[str, int]

    def describe(self) -> str:
        train = sum(self.docs_per_file[:-1])
        return (f"{train} train docs in {len(self.files) - 1} files + {self.docs_per_file[-1]} val docs, "
                f"{self.text_bytes / 1e6:.1f} MB of text, {len(self.docs_per_set)} sets; {self.groups} duplicate "
                f"groups ({self.grouped_docs} docs, {self.duplicate_docs} removable) -> {self.out_dir}")


class _Doc(NamedTuple):
    set_name: str
    text: str


class _Group(NamedTuple):
    kind: str
    members: list[int]
    """Indices into the document list, original first."""


def _default_holdout(docs: int) -> int:
    return max(MIN_HOLDOUT_DOCS, round(docs * HOLDOUT_FRACTION))


def _group_sizes(plan: random.Random, docs: int, holdout: int) -> list[tuple[str, int]]:
    """(kind, members) for every group; holdout groups count train copies only (their original is in val)."""
    if docs < 20:
        return []
    groups = [("chain", plan.randint(4, 6)) for _ in range(max(1, docs // 8000) if docs >= 100 else 0)]
    groups += [("holdout", plan.randint(1, 2)) for _ in range(max(1, holdout // 8) if holdout else 0)]
    sizes, weights = (2, 3, 4, 5, 6, 7, 8, 9, 10), (45, 20, 12, 8, 5, 4, 3, 2, 1)
    members = sum(size for _, size in groups)
    while members < DUPLICATE_FRACTION * docs:
        kind = ("exact", "near")[len(groups) % 2] if len(groups) < 4 else plan.choice(("exact", "near", "near"))
        size = plan.choices(sizes, weights)[0]
        groups.append((kind, size))
        members += size
    return groups


def _generate(seed: int, index: int, set_name: str, curly: bool, problem: str | None) -> str:
    spec = _SET_BY_NAME[set_name]
    w = _Writer(random.Random(f"{seed}/doc/{index}"), spec.domain)
    size = int(min(spec.hi, max(spec.lo, w.rng.lognormvariate(math.log(spec.median), spec.sigma))))
    text = spec.make(w, size)
    if curly:
        text = _smarten(text)
    elif set_name in _PROSE_SETS and w.chance(0.3):
        text = text.replace(" — ", " -- ").replace("—", "--")
    return _PROBLEMS[problem][2](w, text) if problem else text


def _assign_sets(plan: random.Random, docs: int, base: int, total: int) -> tuple[list[str], dict[int, str]]:
    """A pile_set_name for each of the `total` documents before copies (`base` train, then val), and the junk
    kind of the junk ones (train only, at least one of each kind from 50 documents on)."""
    names = plan.choices(PILE_SET_NAMES, [spec.weight for spec in _SETS], k=total)
    junk: dict[int, str] = {}
    if base >= 50:
        for n, i in enumerate(plan.sample(range(base), max(len(_JUNK_KINDS), round(JUNK_FRACTION * base)))):
            junk[i] = _JUNK_KINDS[n % len(_JUNK_KINDS)]
            names[i] = plan.choice(_JUNK_SETS)
    if docs >= EVERY_SET_FROM:
        counts = collections.Counter(name for i, name in enumerate(names) if i not in junk)
        for name in PILE_SET_NAMES:
            if not counts[name]:
                i = plan.choice([i for i, other in enumerate(names) if counts[other] > 1 and i not in junk])
                counts[names[i]] -= 1
                names[i] = name
                counts[name] = 1
    return names, junk


def _assign_problems(plan: random.Random, names: list[str], junk: dict[int, str]) -> dict[int, str]:
    """The text problem of each problem document: every kind once first, then by share, each in its own sets."""
    problems: dict[int, str] = {}
    if len(names) < 50:
        return problems
    kinds = list(_PROBLEMS)
    shares = [share for share, _, _ in _PROBLEMS.values()]
    candidates = {kind: [i for i, name in enumerate(names) if i not in junk and name in sets]
                  for kind, (_, sets, _) in _PROBLEMS.items()}
    for pool in candidates.values():
        plan.shuffle(pool)
    for n in range(round(PROBLEM_FRACTION * len(names))):
        kind = kinds[n] if n < len(kinds) else plan.choices(kinds, shares)[0]
        pool = candidates[kind]
        while pool and pool[-1] in problems:
            pool.pop()
        if pool:
            problems[pool.pop()] = kind
    return problems


def _add_copies(seed: int, plan: random.Random, documents: list[_Doc], base: int, junk: dict[int, str],
                group_sizes: list[tuple[str, int]]) -> list[_Group]:
    """Choose an original for each planned group and append its copies to `documents`."""
    def shuffled(indices: range, min_words: int) -> list[int]:
        pool = [i for i in indices if i not in junk and len(documents[i].text.split()) >= min_words]
        plan.shuffle(pool)
        return pool

    long_train, any_train = shuffled(range(base), NEAR_MIN_WORDS), shuffled(range(base), 1)
    long_val, any_val = shuffled(range(base, len(documents)), NEAR_MIN_WORDS), shuffled(range(base, len(documents)), 1)
    used: set[int] = set()

    def take(*pools: list[int]) -> int:
        for pool in pools:
            while pool:
                i = pool.pop()
                if i not in used:
                    used.add(i)
                    return i
        raise UserError("sample corpus: too few documents for the duplicate groups; ask for more docs")

    groups: list[_Group] = []
    copy_rng = random.Random(f"{seed}/copies")
    for kind, size in group_sizes:
        if kind == "holdout":
            original, count = take(long_val, any_val), size
        else:
            original, count = take(*([any_train] if kind == "exact" else [long_train])), size - 1
        exact = kind == "exact" or (kind == "holdout" and (copy_rng.random() < 0.6 or original not in long_val))
        members = [original]
        for _ in range(count):
            source = documents[members[-1] if kind == "chain" else original]
            if exact:
                text = source.text
            else:
                lo, hi = {"chain": (0.72, 0.85), "holdout": (0.8, 0.95)}.get(
                    kind, (0.87, 0.96) if copy_rng.random() < 0.8 else (0.5, 0.87))
                text = _near_copy(copy_rng, source.text, copy_rng.uniform(lo, hi))
            members.append(len(documents))
            documents.append(_Doc(source.set_name, text))
        groups.append(_Group(kind, members))
    return groups


def _make_documents(seed: int, docs: int, holdout: int) -> tuple[list[_Doc], int, list[_Group]]:
    """All documents (train originals, val, then train copies), the index where val starts, and the groups."""
    plan = random.Random(f"{seed}/plan")
    group_sizes = _group_sizes(plan, docs, holdout)
    base = docs - sum(size if kind == "holdout" else size - 1 for kind, size in group_sizes)
    names, junk = _assign_sets(plan, docs, base, base + holdout)
    problems = _assign_problems(plan, names, junk)
    junk_serial = {i: n for n, i in enumerate(sorted(junk))}
    documents: list[_Doc] = []
    seen: set[str] = set()
    for i, name in enumerate(names):
        if i in junk:
            text = _junk(_Writer(random.Random(f"{seed}/junk/{i}"), "web"), junk[i], junk_serial[i])
        else:
            curly = problems.get(i) in ("mojibake", "control_chars") or plan.random() < _SET_BY_NAME[name].curly
            text = _generate(seed, i, name, curly, problems.get(i))
        while text in seen:  # an accidental exact duplicate of an earlier document (e.g. two short junk pages)
            text += f" {len(seen)}"
        seen.add(text)
        documents.append(_Doc(name, text))
    return documents, base, _add_copies(seed, plan, documents, base, junk, group_sizes)


def _place(plan: random.Random, train: list[int], groups: list[_Group], files: int) -> list[list[int]]:
    """Shuffle train documents into `files` even files, then swap so the placement exercises dedup: chains,
    the first near and the second exact group span as many files as they can; the first exact and the
    second near group sit in one file."""
    order = list(train)
    plan.shuffle(order)
    bounds = [len(order) * f // files for f in range(files + 1)]
    position = {doc: p for p, doc in enumerate(order)}
    grouped = {m for g in groups for m in g.members}

    def file_of(doc: int) -> int:
        p = position[doc]
        return next(f for f in range(files) if bounds[f] <= p < bounds[f + 1])

    def move(doc: int, target: int) -> None:
        free = [p for p in range(bounds[target], bounds[target + 1]) if order[p] not in grouped]
        if free:
            p = plan.choice(free)
            q = position[doc]
            order[p], order[q] = order[q], order[p]
            position[order[p]], position[order[q]] = p, q

    def spread(members: list[int]) -> None:
        for n, doc in enumerate(members):
            used = {file_of(m) for m in members[:n]}
            if file_of(doc) in used and len(used) < files:
                move(doc, plan.choice([f for f in range(files) if f not in used]))

    def gather(members: list[int]) -> None:
        for doc in members[1:]:
            if file_of(doc) != file_of(members[0]):
                move(doc, file_of(members[0]))

    by_kind = {kind: [g.members for g in groups if g.kind == kind] for kind in ("chain", "near", "exact")}
    for members in by_kind["chain"] + by_kind["near"][:1] + by_kind["exact"][1:2]:
        spread(members)
    for members in by_kind["exact"][:1] + by_kind["near"][1:2]:
        gather(members)
    return [order[bounds[f]:bounds[f + 1]] for f in range(files)]


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _jsonl_zst(documents: list[_Doc], indices: list[int]) -> bytes:
    lines = [orjson.dumps({"text": documents[i].text, "meta": {"pile_set_name": documents[i].set_name}})
             for i in indices]
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(b"\n".join(lines) + b"\n" if lines else b"")


def write_sample_corpus(out_dir: str | Path, docs: int = 3000, seed: int = 0, files: int = 3,
                        holdout_docs: int | None = None) -> SampleSummary:
    """Write a seeded synthetic Pile-layout corpus of `docs` train documents (duplicates included) in
    `files` train files plus `holdout_docs` val documents (default 2%, at least 5); same arguments,
    same bytes. About 28,000 docs make 100 MB of text."""
    if docs < 1 or files < 1 or seed < 0 or (holdout_docs is not None and holdout_docs < 0):
        raise UserError(f"sample corpus: need docs >= 1, files >= 1, seed >= 0, holdout_docs >= 0 "
                        f"(got docs={docs}, files={files}, seed={seed}, holdout_docs={holdout_docs})")
    if files > docs:
        raise UserError(f"sample corpus: {files} files for {docs} documents; ask for at most one file per document")
    holdout = _default_holdout(docs) if holdout_docs is None else holdout_docs
    out = Path(out_dir)
    width = max(2, len(str(files - 1)))
    train_names = [f"train/{f:0{width}d}.jsonl.zst" for f in range(files)]
    present = sorted((out / "train").glob("*.jsonl.zst")) if (out / "train").is_dir() else []
    stale = [str(p.relative_to(out)) for p in present if str(p.relative_to(out)) not in train_names]
    if stale:
        raise UserError(f"sample corpus: {out} already holds other train files ({', '.join(stale[:3])}); "
                        f"use an empty directory")

    documents, base, groups = _make_documents(seed, docs, holdout)
    val = list(range(base, base + holdout))
    train = list(range(base)) + list(range(base + holdout, len(documents)))
    layout = _place(random.Random(f"{seed}/place"), train, groups, files)

    (out / "train").mkdir(parents=True, exist_ok=True)
    where: dict[int, dict[str, object]] = {}
    for name, indices in zip(train_names, layout):
        _write_atomic(out / name, _jsonl_zst(documents, indices))
        where.update({doc: {"file": name, "line": line} for line, doc in enumerate(indices, 1)})
    _write_atomic(out / VAL_FILE, _jsonl_zst(documents, val))
    where.update({doc: {"file": VAL_FILE, "line": line} for line, doc in enumerate(val, 1)})
    truth = [orjson.dumps({"group": n, "kind": g.kind, "members": [where[m] for m in g.members]})
             for n, g in enumerate(groups)]
    _write_atomic(out / GROUND_TRUTH, b"".join(line + b"\n" for line in truth))

    docs_per_set: dict[str, int] = {}
    bytes_per_set: dict[str, int] = {}
    for doc in documents:
        docs_per_set[doc.set_name] = docs_per_set.get(doc.set_name, 0) + 1
        bytes_per_set[doc.set_name] = bytes_per_set.get(doc.set_name, 0) + len(doc.text.encode("utf-8"))
    summary = SampleSummary(
        out_dir=out, seed=seed, files=tuple(train_names) + (VAL_FILE,),
        docs_per_file=tuple(len(x) for x in layout) + (len(val),), text_bytes=sum(bytes_per_set.values()),
        groups=len(groups), grouped_docs=sum(len(g.members) for g in groups),
        duplicate_docs=sum(len(g.members) - 1 for g in groups),
        docs_per_set=dict(sorted(docs_per_set.items(), key=lambda kv: -kv[1])),
        bytes_per_set=dict(sorted(bytes_per_set.items(), key=lambda kv: -kv[1])))
    readme = (f"A synthetic sample of the Pile's layout written by pileline (seed {seed}); "
              f"{summary.describe().split(' -> ')[0]}. Each line of train/*.jsonl.zst and {VAL_FILE} is "
              '{"text": ..., "meta": {"pile_set_name": ...}}; the text is generated from word lists and '
              "templates, shaped like 22 Pile subsets, and a minority of documents carry mojibake, HTML entities, "
              "CRLF line ends, control characters, terminal escapes, ligatures, full-width forms or are junk. "
              f"{GROUND_TRUTH} lists every planted duplicate group as "
              '{"group", "kind" (exact, near, chain or holdout), "members": [{"file", "line"}]} with 1-based line '
              "numbers and the original first; near copies have word-5-gram Jaccard 0.5 to 1 with their original "
              "(chain links with the previous member), and holdout groups are train copies, exact or near, of a "
              f"{VAL_FILE} document. The same arguments write byte-identical files.\n")
    _write_atomic(out / "README.txt", readme.encode("utf-8"))
    return summary
