"""Hypothesis strategies that write spec text: random but well-formed surveys.

The specs exercise every construct the formatter prints (labels with hostile
characters and translations, options with flags, grids, conditions, recodes,
fieldwork, analyses, documents, rosters counted by a question or a number,
nested or over a fixed list, and aggregates over a roster) so that formatter
properties are tested on more than the KVP spec.
"""

from __future__ import annotations

from hypothesis import strategies as st

from kvpspec.syntax.formatter import quote

KEYWORDS = {
    "survey", "study", "scale", "interview", "fieldwork", "recode", "derive", "analysis",
    "document", "question", "grid", "say", "instruction", "heading", "if", "else", "section",
    "intro", "closing", "note", "range", "ask", "number", "recorded", "read", "none", "missing",
    "specify", "goto", "end", "exclusive", "sample", "field", "personal", "dispositions",
    "aapor", "rate", "eligibility", "from", "frequencies", "crosstab", "by", "test", "summary",
    "kind", "title", "paragraph", "list", "numbered", "signature", "blanks", "table", "tally",
    "pagebreak", "and", "or", "not", "in", "is", "true", "false", "single", "multiple",
    "integer", "decimal", "text", "roster", "for", "max", "over", "chart",
}

text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="{}"),
    min_size=1,
    max_size=30,
)
langs = st.sampled_from(["en", "se", "ar", "so"])


@st.composite
def labels(draw) -> str:
    out = quote(draw(text))
    for lang in draw(st.lists(langs, unique=True, max_size=2)):
        out += f" @{lang} {quote(draw(text))}"
    return out


@st.composite
def filled(draw, *names: str) -> str:
    """A label whose text and translations show the fills ``{name}`` (a roster's iteration)."""
    fills = "".join(f" {{{n}}}" for n in names)
    out = quote(draw(text) + fills)
    for lang in draw(st.lists(langs, unique=True, max_size=1)):
        out += f" @{lang} {quote(draw(text) + fills)}"
    return out


@st.composite
def roster_lines(draw) -> tuple[list[str], list[str]]:
    """Interview lines with a roster (counted by a question or a number, maybe
    with a nested roster) and maybe a roster over a fixed list; and the lines of
    derived variables and soft checks that aggregate over the rosters."""
    lines: list[str] = []
    after: list[str] = []
    size = draw(st.integers(1, 3))
    by_question = draw(st.booleans())
    if by_question:
        lines.append(f"  question hn integer {draw(labels())} {{")
        lines.append(f"    range 0..{size}")
        lines.append("  }")
        lines.append(f"  roster hh {draw(labels())} for 1..hn max {size} {{")
    else:
        lines.append(f"  roster hh {draw(labels())} for 1..{size} {{")
    lines.append(f"    question ha integer {draw(filled('hh'))} {{")
    lines.append("      range 0..9")
    lines.append("    }")
    lines.append(f"    question hb {draw(filled('hh', 'ha'))} {{")
    lines.append(f"      ask if ha <= {draw(st.integers(0, 9))}")
    lines.append(f"      1 {draw(labels())}")
    lines.append(f"      2 {draw(labels())}")
    lines.append("    }")
    nested = draw(st.sampled_from(["none", "question", "number"]))
    if nested == "question":
        lines.append(f"    question hc integer {draw(labels())} {{")
        lines.append("      range 0..2")
        lines.append("    }")
        lines.append(f"    roster jb {draw(labels())} for 1..hc max 2 {{")
    elif nested == "number":
        lines.append(f"    roster jb {draw(labels())} for 1..2 {{")
    if nested != "none":
        lines.append(f"      question ja text {draw(filled('jb', 'hh'))}")
        lines.append("    }")
    lines.append("  }")
    if draw(st.booleans()):
        lines.append(f"  roster pr {draw(labels())} over {{")
        for code in range(1, draw(st.integers(1, 3)) + 1):
            lines.append(f"    {code} {draw(labels())}")
        lines.append("  } {")
        lines.append(f"    question pa {draw(filled('pr'))} scale s1")
        lines.append("  }")
    lines.append(f"  question hd text {draw(labels())} {{")
    lines.append(f"    ask if count(ha > {draw(st.integers(0, 8))} over hh) >= 1")
    lines.append("  }")
    func = draw(st.sampled_from(["count", "any", "all", "sum", "min", "max"]))
    operand = f"ha <= {draw(st.integers(0, 9))}" if func in ("count", "any", "all") else "ha"
    after.append(f"derive hx {draw(labels())} = {func}({operand} over hh)")
    after.append(f"warn w3 {draw(labels())} if sum(ha over hh) > {draw(st.integers(0, 30))}")
    return lines, after


@st.composite
def specs(draw) -> str:
    """A valid spec: a scale, questions (some routed), a grid, recodes, fieldwork, analyses."""
    lines = [f"survey gen {draw(labels())}", ""]
    lines += ["study {", f"  title {draw(labels())}", "  minutes 10", "}", ""]
    n_opts = draw(st.integers(2, 6))
    lines.append(f"scale s1 {draw(labels())} {{")
    if draw(st.booleans()):
        lines.append(f"  read 1..{n_opts - 1}")
    for code in range(1, n_opts + 1):
        flag = " missing dont_know" if code == n_opts else ""
        lines.append(f"  {code} {draw(labels())}{flag}")
    lines += ["}", ""]
    lines.append("fieldwork {")
    lines.append("  sample {")
    lines.append(f"    field fornavn text {draw(labels())} personal")
    lines.append(f"    field disposition single {draw(labels())}")
    lines.append("  }")
    lines.append("  dispositions {")
    lines.append(f"    1 {draw(labels())} aapor I")
    lines.append(f"    2 {draw(labels())} aapor R")
    lines.append("  }")
    lines.append(f"  rate r1 {draw(labels())} = count(1) / count()")
    lines.append("}")
    lines.append("")
    lines.append("interview {")
    n = draw(st.integers(1, 8))
    asked: list[tuple[str, str]] = []
    for i in range(1, n + 1):
        kind = draw(st.sampled_from(["scale", "integer", "text", "own", "say", "instruction"]))
        name = f"q{i}"
        cond = ""
        if asked and draw(st.booleans()):
            prev, pkind = draw(st.sampled_from(asked))
            if pkind == "scale":
                cond = f"ask if {prev} == {draw(st.integers(1, n_opts))}"
            elif pkind == "integer":
                cond = f"ask if {prev} > {draw(st.integers(0, 50))} or {prev} is missing"
            elif pkind == "own":
                cond = f"ask if {prev} in [1, 2] and not {prev} == 3"
            else:
                cond = f"ask if {prev} is answered"
        if kind == "say":
            lines.append(f"  say {draw(labels())}")
            continue
        if kind == "instruction":
            lines.append(f"  instruction {draw(labels())}")
            continue
        if kind == "scale":
            body = [cond] if cond else []
            lines.append(f"  question {name} {draw(labels())} scale s1" + (" {" if body else ""))
            if body:
                lines += [f"    {b}" for b in body] + ["  }"]
        elif kind == "integer":
            lines.append(f"  question {name} integer {draw(labels())} {{")
            if cond:
                lines.append(f"    {cond}")
            lines.append(f"    note {draw(labels())}")
            lines.append("    range 0..90")
            lines.append(f"    99 {draw(labels())} missing dont_know")
            lines.append("  }")
        elif kind == "text":
            lines.append(f"  question {name} text {draw(labels())}" + (f" {{ {cond} }}" if cond else ""))
        else:
            lines.append(f"  question {name} single {draw(labels())} {{")
            if cond:
                lines.append(f"    {cond}")
            lines.append(f"    1 {draw(labels())}")
            lines.append(f"    2 {draw(labels())} specify {name}_other {draw(labels())}")
            lines.append(f"    3 {draw(labels())} missing refused")
            lines.append("  }")
        asked.append((name, kind))
    roster_after: list[str] = []
    if draw(st.booleans()):
        more, roster_after = draw(roster_lines())
        lines += more
    lines.append(f"  grid g1 {draw(labels())} scale s1 {{")
    for letter in "abc"[: draw(st.integers(1, 3))]:
        lines.append(f"    {letter} {draw(labels())}")
    lines.append("  }")
    lines.append("}")
    lines.append("")
    ints = [name for name, kind in asked if kind == "integer"]
    if ints:
        lines.append(f"recode r_{ints[0]} {draw(labels())} from {ints[0]} {{")
        lines.append(f"  ..40 -> 1 {draw(labels())}")
        lines.append(f"  41.. -> 2 {draw(labels())}")
        lines.append(f"  99 -> 9 {draw(labels())} missing dont_know")
        lines.append("}")
        lines.append("")
    lines.append(f"recode s1b {draw(labels())} from scale s1 {{")
    lines.append(f"  1..{n_opts - 1} -> 1 {draw(labels())}")
    lines.append(f"  {n_opts} -> 9 {draw(labels())} missing dont_know")
    lines.append("}")
    lines.append("")
    lines.append(f"respondent id {draw(st.sampled_from(['integer', 'text']))} {draw(labels())}")
    lines.append("")
    if roster_after:
        lines += [*roster_after, ""]
    if ints:
        lines.append(f"expect e1 {draw(labels())} {{")
        lines.append(f"  r_{ints[0]} is missing only when {ints[0]} is missing")
        lines.append("}")
        lines.append(f"warn w1 {draw(labels())} if {ints[0]} > {draw(st.integers(0, 90))} and not {ints[0]} == 99")
        lines.append(f"{draw(st.sampled_from(['warn', 'error']))} w2 {draw(labels())} if {ints[0]} < 0")
        lines.append("")
    lines.append(f"expect e2 {draw(labels())} {{")
    lines.append("  if g1a == 1 then s1b(g1a) == 1")
    lines.append("}")
    lines.append("")
    # issue 11: conditionals (nested, in either branch), `missing`, aggregates, three-valued conditions
    num = ints[0] if ints else "g1a"
    then = draw(st.sampled_from(["1", "missing", f"{num} * 2", "if g1a == 2 then 3 else missing"]))
    otherwise = draw(st.sampled_from(["0", "missing", "if g1a == 2 then 1 else 2", f"-{num}"]))
    lines.append(f"derive x1 {draw(labels())} = if g1a == 1 or {num} > 3 then {then} else {otherwise}")
    agg = draw(st.sampled_from(["count", "any", "all"]))
    lines.append(f"derive x2 = {agg}(g1a == 1, not ({num} in 1..5), {num} is missing)")
    lines.append(f"derive x3 = {draw(st.sampled_from(['sum', 'min', 'max']))}(g1a, {num}, missing) + 1")
    lines.append("derive x4 = (if x2 then 1 else 0) + count(x2)" if agg != "count" else "derive x4 = x2 * 2")
    lines.append("")
    lines.append(f"analysis a1 {draw(labels())} {{")
    lines.append("  frequencies s1b(g1a)" + draw(st.sampled_from(["", " chart bar", " chart stacked", " chart none"])))
    lines.append("  rate r1")
    lines.append("}")
    lines.append("")
    lines.append(f"document d1 {draw(labels())} {{")
    lines.append(f"  paragraph {draw(labels())}")
    lines.append(f"  blanks {draw(labels())}, {draw(labels())}")
    lines.append("}")
    return "\n".join(lines) + "\n"
