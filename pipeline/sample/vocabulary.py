"""Word lists of the sample corpus: nouns, verbs, names, places, domain terms, foreign words and their forms."""

from __future__ import annotations


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    """Distinct entries of `text`, split on whitespace or on `sep` (line breaks inside an entry become spaces)."""
    return tuple(dict.fromkeys(" ".join(w.split()) for w in text.split(sep) if w.strip()))


NOUNS = _words("""time year way day thing world life hand part child eye place week case point number
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
ADJS = _words("""new good high old great big small large national young different important long little
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
ADVS = _words("""also often still already never always really usually finally recently quickly simply
clearly certainly probably nearly largely directly generally actually especially slowly carefully
rarely openly quietly eventually initially previously significantly""")
PREPS = _words("in on at for with from by about under between after before during through against "
                "without within across toward near")
FIRST = _words("""James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Susan
Richard Jessica Joseph Sarah Thomas Karen Daniel Nancy Matthew Lisa Anthony Emily Mark Michelle Paul
Laura Steven Rachel Andrew Hannah José María François Zoë Björn Søren Renée Chloé Jürgen Åsa Noël Inés
Łukasz Mónica Raúl Céline Günter Ana Priya Wei Hiroshi Aisha Omar Olga Dmitri Ngozi Kwame Mei Sven
Ingrid Pedro Lucía Mateo Amélie Élodie Nikolai Yuki Fatima Grace Henry Oliver Ruth Samuel Victor""")
SURNAMES = _words("""Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez
Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Thompson White Harris Clark
Lewis Robinson Walker Young Allen King Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell
Roberts Carter Phillips Evans Turner Müller Schröder Núñez Peña Gómez Sánchez Ibáñez Dubois Lefèvre
Béranger Kowalski Nowak Novák Dvořák Østergaard Jäger Öztürk Çelik Yılmaz Tanaka Suzuki Nakamura Kim
Park Chen Wang Li Zhang Nguyen Singh Patel Kumar Okafor Mensah Ivanov Petrov Popescu Rossi Bianchi
Ferrari Silva Santos Costa Pereira Andersson Nilsson Hansen Larsen Virtanen O'Brien O'Connor""")
SURNAME_HEADS = _words("Al Bar Cal Dal Ed Fen Gar Hal Ir Jan Kel Lor Mar Nor Os Pel Quin Ros Sel Tor "
                        "Ul Val Wes Yar Zel Bren Cor Dun Har Lind")
SURNAME_TAILS = _words("ford ton berg ley wood stein mann son sen ov enko ini etti ez ard ier ski ová "
                        "ich ström haus ridge")
PLACES = _words("""London|Paris|Berlin|Madrid|Rome|Vienna|Prague|Warsaw|Budapest|Lisbon|Dublin|Oslo|
Stockholm|Helsinki|Copenhagen|Brussels|Amsterdam|Zürich|Kraków|Montréal|Québec|Toronto|Chicago|Boston|
Seattle|Denver|Atlanta|Houston|Phoenix|Portland|Austin|Miami|Detroit|Ohio|Texas|California|Oregon|
Nevada|Georgia|Virginia|Michigan|Bavaria|Catalonia|Andalusia|São Paulo|Bogotá|Lima|Santiago|Mexico
City|Reykjavík|Tromsø|Malmö|Düsseldorf|Nürnberg|Sevilla|Córdoba|Málaga|Mumbai|Lagos|Nairobi|Osaka|
Sydney|Melbourne|Auckland|New Jersey|North Carolina|the Bay Area|Ontario|Manchester|Leeds""", "|")
MONTHS = _words("January February March April May June July August September October November December")
NATIVE_NAMES = tuple(tuple(part.strip() for part in pair.split("=")) for pair in _words("""Moscow=Russian: Москва|Saint
Petersburg=Russian: Санкт-Петербург|Novosibirsk=Russian: Новосибирск|Kyiv=Ukrainian: Київ|Sofia=
Bulgarian: София|Plovdiv=Bulgarian: Пловдив|Athens=Greek: Αθήνα|Thessaloniki=Greek: Θεσσαλονίκη|
Heraklion=Greek: Ηράκλειο|Beijing=Chinese: 北京|Shanghai=Chinese: 上海|Chengdu=Chinese: 成都|Tokyo=
Japanese: 東京|Kyoto=Japanese: 京都|Sapporo=Japanese: 札幌|Seoul=Korean: 서울|Busan=Korean: 부산|Cairo=
Arabic: القاهرة|Baghdad=Arabic: بغداد|Damascus=Arabic: دمشق|Alexandria=Arabic: الإسكندرية|Tehran=
Persian: تهران|Tel Aviv=Hebrew: תל אביב|Delhi=Hindi: दिल्ली|Bangkok=Thai: กรุงเทพมหานคร|Tbilisi=
Georgian: თბილისი|Yerevan=Armenian: Երևան|Pyotr Tchaikovsky=Russian: Пётр Ильич Чайковский|
Confucius=Chinese: 孔子|Ibn Sina=Arabic: ابن سينا|Sophocles=Greek: Σοφοκλής|Hokusai=Japanese: 葛飾北斎|
Naguib Mahfouz=Arabic: نجيب محفوظ|Anna Akhmatova=Russian: Анна Ахматова""", "|"))

DOMAIN_NOUNS = {
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
DOMAIN_ADJS = {
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
CODE_VERBS = _words("get set load save parse build read write update create delete find check init "
                     "handle render fetch send compute validate format convert merge reset start stop "
                     "open close")
CODE_NOUNS = _words("config user item node data value key path file buffer request response session "
                     "token cache record entry list map count index offset size name type state event "
                     "handler client server message result error options params context queue task job "
                     "worker")
PACKAGES = _words("""nvidia-driver-390 xserver-xorg grub2 network-manager pulseaudio alsa-base firefox
thunderbird apache2 mysql-server openssh-server samba gparted wine compiz gnome-shell xfce4 lightdm
ubuntu-desktop build-essential linux-headers-generic virtualbox docker.io python3-pip vim emacs git
curl ufw ntfs-3g""")
LANGS = _words("Python JavaScript Java C++ Rust Go PHP Ruby Bash C# TypeScript")
ORGS = _words("""the University of|the Institute for|Department of|the Ministry of|the Centre for""", "|")

FOREIGN = {
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
FOREIGN_WORDS = {lang: (tuple(spec[0].split()), spec[1]) for lang, spec in FOREIGN.items()}


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


VERBS = tuple(_verb_forms(v) for v in _REGULAR_VERBS + tuple(_IRREGULAR_VERBS))
PLURALS = {n: _plural(n) for pool in (NOUNS, CODE_NOUNS, *DOMAIN_NOUNS.values()) for n in pool}
EDIT_WORDS = NOUNS + ADJS + tuple(v[2] for v in VERBS)
