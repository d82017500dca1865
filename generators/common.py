"""What more than one target needs: fixed words per language, question numbers,
the study's facts as document fills, dates."""

from __future__ import annotations

import re

from kvpspec import model as m

#: The script's and documents' own words. Languages not listed use ``nb``.
WORDS: dict[str, dict[str, str]] = {
    "nb": {
        "read": "LES OPP",
        "not_read": "IKKE LES OPP",
        "read_none": "IKKE LES OPP SVARALTERNATIVENE",
        "goto": "GÅ TIL",
        "end": "AVSLUTT",
        "asked_if": "Spørres hvis",
        "if": "Hvis",
        "else": "Ellers",
        "not": "ikke",
        "recorded": "REGISTRERES AV INTERVJUER, LES IKKE OPP",
        "multiple": "FLERE SVAR MULIG",
        "exclusive": "kan ikke kombineres med andre svar",
        "note": "NOTÉR",
        "range": "Gyldige svar",
        "script": "Intervjuerskript",
        "version": "versjon",
        "specify": "NOTÉR",
        "item": "Påstand",
        "start": "Start",
        "done": "Fullført intervju",
        "otherwise": "ellers",
        "disposition": "disposisjon",
        "months": "januar februar mars april mai juni juli august september oktober november desember",
        "date": "{d}. {month} {y}",
    },
    "en": {
        "read": "READ OUT",
        "not_read": "DO NOT READ OUT",
        "read_none": "DO NOT READ OUT THE OPTIONS",
        "goto": "GO TO",
        "end": "END",
        "asked_if": "Asked if",
        "if": "If",
        "else": "Otherwise",
        "not": "not",
        "recorded": "RECORDED BY THE INTERVIEWER, DO NOT READ OUT",
        "multiple": "SEVERAL ANSWERS POSSIBLE",
        "exclusive": "cannot be combined with other answers",
        "note": "NOTE",
        "range": "Valid answers",
        "script": "Interviewer script",
        "version": "version",
        "specify": "NOTE",
        "item": "Statement",
        "start": "Start",
        "done": "Completed interview",
        "otherwise": "otherwise",
        "disposition": "disposition",
        "months": "January February March April May June July August September October November December",
        "date": "{d} {month} {y}",
    },
}


def for_language(table: dict[str, dict[str, str]], language: str, default: str = "nb") -> dict[str, str]:
    """A language's entry in a table of words: its own, its base language's, else ``default``'s."""
    return table.get(language) or table.get(language.split("-")[0]) or table[default]


def words(language: str) -> dict[str, str]:
    return for_language(WORDS, language)


def text_of(t: m.Text | None, language: str | None) -> str:
    """A label in a language, falling back to the main text."""
    if t is None:
        return ""
    return t.get(language)


def format_date(iso: str, language: str) -> str:
    """``2009-06-03`` as ``3. juni 2009`` (or ``3 June 2009``)."""
    w = words(language)
    try:
        y, mo, d = (int(x) for x in iso.split("-"))
        month = w["months"].split()[mo - 1]
    except (ValueError, IndexError):
        return iso
    return w["date"].format(d=d, month=month, y=y)


def format_period(period: m.Period, language: str) -> str:
    """``3. juni – 3. september 2009``; the year once when both dates share it."""
    start, end = format_date(period.start, language), format_date(period.end, language)
    if period.start[:4] == period.end[:4] and start.endswith(period.start[:4]):
        start = start[: -len(period.start[:4])].rstrip()
    return f"{start} – {end}"


def display_number(item: m.Question | m.Grid) -> str:
    """The number shown for a question: its ``number``, or the name without the
    leading ``q`` (``q4`` is 4); other names are shown as they are."""
    if item.number:
        return item.number
    if re.match(r"^q\d", item.name):
        return item.name[1:]
    return item.name


def heading_number(item: m.Question | m.Grid) -> str:
    """The number as a heading prefix: ``4:`` stays, ``1`` becomes ``1.``."""
    n = display_number(item)
    return n if n[-1:] in (".", ":", ")") else n + "."


def item_number(grid: m.Grid, gi: m.GridItem) -> str:
    """A grid item's number: ``8`` and ``a`` give ``8a``."""
    return display_number(grid).rstrip(".:) ") + gi.name


def study_fact(study: m.Study | None, name: str, language: str) -> str | None:
    """The value of a document fill (``{minutes}``, ``{institute.contact}``), or
    ``None`` when the study does not give it."""
    try:
        value = m.study_fact(study, name)
    except KeyError:
        return None
    if value is None:
        return None
    if isinstance(value, m.Text):
        return value.get(language)
    if isinstance(value, m.Period):
        return format_period(value, language)
    return str(value)


def document_text(study: m.Study | None, doc: m.Document, t: m.Text, language: str) -> str:
    """A document's text with its study fills resolved (``{minutes}`` → ``10``).

    Raises ``KeyError`` with the message when a fill names no fact the study
    gives (``check`` reports that first; a generator turns it into its error).
    """
    out = []
    for kind, value in m.split_fills(text_of(t, language)):
        if kind == "text":
            out.append(value)
            continue
        fact = study_fact(study, value, language)
        if fact is None:
            raise KeyError(f"document `{doc.name}`: the fill `{{{value}}}` names no fact the study gives")
        out.append(fact)
    return "".join(out)
