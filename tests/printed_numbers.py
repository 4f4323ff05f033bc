"""Every number a Markdown board paper prints, accounted for against its figures file.

`unaccounted(markdown, figures)` reads the paper a line at a time (a paragraph, a list item,
a table row, a caption, an alt text) and takes every number out of it. Each must be one of:

- a figure the figures file records (`figures`, `quoted` or `parts`, and the cases and base
  beside a proportion) of a KPI, or of a part of a KPI, named in that same line, as printed:
  the same value at the places printed;
- a change between two figures recorded of one KPI or one part named in the line (a
  percentage, points or the absolute change): a revision of either figure revises it;
- a number of a class that is no figure of the data (`NON_FIGURES`, each with why);
- a number of a class the file does not record yet (`NOT_YET_RECORDED`, each with why), which
  the test of it requires to be still printed, so that its entry goes once it is recorded.

Anything else is returned, with its line: a figure of the data the paper prints that no
`--previous` would compare.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Numbers that are not figures of the data, each class with why. Each pattern is taken out
# of the line before its numbers are read.
NON_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("links", "a figure's file, not a number printed",
     r"\]\([^)]*\)"),
    ("dates", "a month, a day or a year names a window or when the paper was written",
     r"\b\d{1,2} (?:January|February|March|April|May|June|July|August|September|October|"
     r"November|December) \d{4}\b|\b(?:January|February|March|April|May|June|July|August|"
     r"September|October|November|December)(?: \d{4})?\b|\b\d{4}-\d{2}(?:-\d{2})?\b|"
     r"\b(?:19|20)\d{2}(?:[-/](?:19|20)?\d{2})?\b"),
    ("paper's own numbers", "paragraph, section, table, figure and appendix numbers, and "
     "'see' references to them",
     r"^#* ?\d+(?:\.\d+)*\.|\b(?:[Ss]ee|[Tt]ables?|[Ff]igures?|[Aa]ppendix|[Aa]ppendices|"
     r"paragraphs?|[Ss]ection) (?:\d+(?:\.\d+)?(?:, | and | to |–|-)?)+|\(\d+\.\d+\)|"
     r"\b\d+\.\d+(?=[,.;]? (?:and|to) \d+\.\d+)|(?:, |and )\d+\.\d+\b"),
    ("figures split in pages", "a figure drawn over several pages numbers each ('Process "
     "charts of the exceptions (1 of 4)')", r"of the exceptions \(\d+ of \d+\)"),
    ("ordinals", "a rank or place ('joint 6th'), not a figure",
     r"\b\d+(?:st|nd|rd|th)\b"),
    ("tallies and counts of KPIs, parts and months", "how many KPIs, parts, months or "
     "figures a sentence counts (the paper's own arithmetic on what it reports)",
     r"\b\d[\d,]* (?:KPIs?|KPI\(s\)|parts?|of the last \d+ months|months?|figures?|checks?|"
     r"charts?|pages?|LPAs?|forces?|members?|others?|of \d+ (?:stand|parts?)|"
     r"significantly|with no significant|not tested|in development|special cause|"
     r"without data|without a figure|have no figure|"
     r"of them)\b|\band \d[\d,]* more\b|"
     r"\b(?:the other|last|Of the|of the|all|All|first|these|[Hh]ighest|[Ll]owest|"
     r"largest|top) \d[\d,]*\b|"
     r"\(\d+\)\*\*|, \d+:|\b\d+ of \d+ (?:stand|differ)|"
     r"^\| (?:[▲■◆▼] |Normal variation \(latest month\)|No process chart|All \|).*$|"
     r"\b\d+ (?:plan )?priorities\b|across \d+ priority|"
     r"\branked\s+(?:joint\s+)?(?:\(with [^)]*\)\s+)?of \d+ in\b"),
    ("process rules and methods", "rule counts of a process chart and the statistics' "
     "thresholds and p-values, fixed by the method, not by the data's figures",
     r"\b(?:seven|eight|two of three|six|fifteen)\b|\b\d+-(?:month|second|minute|hour)\b|"
     r"p [=<] ?[\d.]+|"
     r"\b0\.0\d+\b|\b\d+(?:\.\d+)? percentage points? (?:or more|of each other)|"
     r"\bbelow \d+\b|\bbase below \d+|\bper 1,000\b|within \d+ (?:minutes|seconds|hour)|"
     r"(?:after|within) \d+ (?:seconds|minutes|hour)|answered within \d+|"
     r"\b(?:999|101)\b|Module \d|Outcome \d+|Schedule \d|Fatal \d|\bOC\d+\b|"
     r"\b\d+ pt\b|by less than \d+(?:\.\d+)? percentage points?|\b\d+ ?%? of the (?:group|others)"),
)

# Appendices whose numbers are none of the data's figures, each with why.
NON_FIGURE_SECTIONS: tuple[tuple[str, str], ...] = (
    ("How to read this paper", "the method: significance levels, rule counts and thresholds"),
    ("glossary", "the glossary's words, codes named by their numbers"),
    ("KPI definitions", "kpi.toml's declarations: thresholds, multipliers, windows"),
    ("Data sources", "where the data came from: files, versions and loads, not figures"),
)

# Numbers the paper prints as figures of the data that the figures file does not record yet,
# each class with why it is printed; `unaccounted` names which were found, so a test can
# require each still to be printed (and drop its entry once it is recorded).
NOT_YET_RECORDED: tuple[tuple[str, str, str], ...] = (
    ("pooled proportion", "the proportion of the parts a sentence of parts that stand out "
     "pools ('the other 6 (76.2% together)'), of their cases: each part's proportion is "
     "recorded, not its cases", r"\(\d+(?:\.\d+)?% together\)"),
    ("settled windows", "a KPI's figures over the months that are final, which its test "
     "of the change compares where the last months are not final yet ('which compares 48.1% "
     "in January to September 2025 with 50.9% in January to September 2024'): the file "
     "records the figures of the whole windows",
     r"which compares [^ ]+ in [^;]*? with [^ ]+ in "),
    ("checks", "a failed check's total and the parts that should add up to it, each an "
     "other KPI's figure or their sum: the checks are recomputed, not compared",
     r"^- .*(?:parts sum to| = ).*$"),
    ("targets", "a KPI's target, a declaration of kpi.toml, not a figure of the data",
     r"target of [^ ,;]+|target [\d.,£%]+\w*"),
)

NUMBER = re.compile(r"(?<![\w.£])([+−-])?(£)?(\d[\d,]*(?:\.\d+)?)(m\b|bn\b|k\b|%|pp\b)?")
DURATION = re.compile(r"(?:(\d+) (?:hours?|h),? ?(?:and )?)?(?:(\d+) (?:minutes?|min)(?: and | )?)?"
                      r"(?:(\d+) (?:seconds?|s)\b)?")


@dataclass(frozen=True)
class Recorded:
    names: tuple[str, ...]  # what the line must name for the figure to be its (title, part)
    value: float
    unit: str
    pair: float | None = None  # the other window's figure, for a change


def recorded(figures: dict) -> list[Recorded]:
    """Every figure the file records, with the names a line printing it holds."""
    out = []
    own = {}
    for item in figures["figures"] + figures.get("quoted", []):
        own.setdefault((item["kpi"],), {})[item["role"]] = item
        out.append(Recorded((item["title"],), item["value"], item["unit"]))
        # the cases and base printed beside a proportion ("72.0% (15,604 of 21,672)")
        out += [Recorded((item["title"],), v, "count") for v in item.get("cases", [])]
    parts = {}
    for item in figures.get("parts", []):
        parts.setdefault((item["kpi"], item["by"], item["part"]), {})[item["role"]] = item
        out.append(Recorded((item["title"], item["name"]), item["value"], item["unit"]))
    for pairs in (*own.values(), *parts.values()):
        if "current" in pairs and "comparison" in pairs:
            now, then = pairs["current"], pairs["comparison"]
            names = (now["title"],) if "name" not in now else (now["title"], now["name"])
            out.append(Recorded(names, now["value"], now["unit"], then["value"]))
    return out


def _scale(suffix: str | None) -> float:
    return {"m": 1e6, "bn": 1e9, "k": 1e3}.get(suffix or "", 1.0)


def _matches(shown: float, places: int, figure: Recorded) -> bool:
    def same(value: float) -> bool:
        return round(abs(value), places) == round(shown, places) or (
            abs(abs(value) - shown) <= 0.5 * 10 ** -places + 1e-9)

    if figure.pair is None:
        return same(figure.value)
    change = figure.value - figure.pair
    return same(change) or (figure.pair != 0 and same(100 * change / figure.pair))


POOLED = re.compile(r"stands? out from the other (\d[\d,]*) \(([+−-]?)([\d.]+)%( together)?\)")


def _pooled(line: str, text: str, figures: dict) -> str:
    """Takes out of `text` the pooled change of the parts a sentence of parts that stand out
    sets against them ("stand out from the other 5 (−20.8%)") where it is the change of the
    sum of the parts recorded of that KPI's breakdown that the sentence does not name (the
    rows with no value in the column, never tested, apart), each recorded in both windows;
    a proportion pooled ("(76.2% together)") is of the parts' cases, which the file does not
    record (NOT_YET_RECORDED's 'pooled proportion')."""
    for match in POOLED.finditer(line):
        if match.group(4):
            continue  # NOT_YET_RECORDED's 'pooled proportion'
        start = line.rfind("By ", 0, match.start())
        end = line.find(". ", match.end())
        sentence = line[start:len(line) if end < 0 else end]
        groups: dict[tuple, dict] = {}
        for item in figures.get("parts", []):
            # the rows with no value in the column are never among the parts tested
            if item["title"] in line and item["part"] is not None:
                groups.setdefault((item["kpi"], item["by"]), {}).setdefault(
                    item["name"], {})[item["role"]] = item["value"]
        count = int(match.group(1).replace(",", ""))
        shown = float(match.group(3)) * (-1 if match.group(2) in "−-" and match.group(2)
                                         else 1)
        for parts in groups.values():
            rest = [v for name, v in parts.items() if name not in sentence]
            if len(rest) != count or any(len(v) != 2 for v in rest):
                continue
            now = sum(v["current"] for v in rest)
            then = sum(v["comparison"] for v in rest)
            if then and round(100 * (now - then) / then, 1) == shown:
                text = text.replace(match.group(0)[len("stand out from the other "):], " ",
                                    1)
                break
    return text


def unaccounted(markdown: str, figures: dict, *, found: set[str] | None = None,
                commentary: str = "", titles: Iterable[str] = ()) -> list[tuple[str, str]]:
    """The numbers of the paper accounted for by none of the classes above, as (number,
    line); `found` collects the names of the classes in NOT_YET_RECORDED that were met.
    `commentary` is the people's words the paper prints, its commentary file and kpi.toml
    (the paper's `data_note`): a sentence of them is typed, no figure of the data kpi
    computed. `titles` are the KPIs' titles, and with the parts' names the file records they
    are names, whose digits ('aged 10-17', 'City of London 001F') are no figures."""
    figures_list = recorded(figures)
    written = " ".join(commentary.split())
    names = sorted({*titles, *(f["name"] for f in figures.get("parts", [])),
                    *(f["title"] for f in figures["figures"])}, key=len, reverse=True)
    left = []
    section = ""
    for line in markdown.splitlines():
        if line.startswith("## "):
            section = line
            continue
        if any(title in section for title, _ in NON_FIGURE_SECTIONS):
            continue
        body = re.sub(r"^\d+(?:\.\d+)*\. ", "", line)
        if written and len(body) > 40 and " ".join(body.split())[:60] in written:
            continue
        text = _pooled(line, line, figures)
        if written:
            for sentence in re.split(r"(?<=[.;:]) ", text):
                if len(sentence) > 30 and " ".join(sentence.split()) in written:
                    text = text.replace(sentence, " ", 1)
        for name, _, pattern in NOT_YET_RECORDED:
            text, n = re.subn(pattern, " ", text)
            if n and found is not None:
                found.add(name)
        for _, _, pattern in NON_FIGURES:
            text = re.sub(pattern, " ", text)
        # A figure's caption and alt text are of the KPI the figure draws, under the
        # figure's own title: a part is named there without its KPI's title.
        caption = re.match(r"^(?:!\[|\*)Figure \d+ ", line) is not None
        named = [f for f in figures_list
                 if all(n in line for n in (f.names[1:] if caption and len(f.names) > 1
                                            else f.names))]
        for name in names:
            text = text.replace(name, " ")
        # durations in words: '1 minute and 51 seconds' is one figure, of seconds
        for match in list(DURATION.finditer(text)):
            if not match.group(0).strip() or not any(match.groups()):
                continue
            hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
            total = 3600 * hours + 60 * minutes + seconds
            if any(f.unit == "seconds" and _matches(total, 0, f) for f in named):
                text = text.replace(match.group(0), " ", 1)
        for match in NUMBER.finditer(text):
            _, pound, digits, suffix = match.groups()
            shown = float(digits.replace(",", "")) * _scale(suffix)
            places = len(digits.partition(".")[2]) - (6 if suffix == "m" else 0)
            if not any(_matches(shown, max(places, 0) if suffix != "m" else places, f)
                       for f in named):
                left.append((match.group(0), line))
    return left


def classes(names: Iterable[str]) -> list[str]:
    return sorted(set(names))
