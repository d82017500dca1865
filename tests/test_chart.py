"""`chart KIND` on an analysis statement: it parses, formats back, is checked, is
left out of the IR when not chosen, and `kvpspec analyze` draws the chosen chart."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CASES, KVP

from generators.analysis import analysis_source
from generators.analysis.runtime import AGREE, DISAGREE, GREY, MIDDLE
from kvpspec import compile_file, compile_text
from kvpspec import model as m
from kvpspec.authoring.diff import diff
from kvpspec.cli import cli
from kvpspec.syntax.formatter import format_spec
from kvpspec.syntax.parser import parse_text

CHARTS = CASES / "charts.survey"

SCALE = """survey s "S"
scale enig "Hvor enig" {
  1 "Helt enig"
  2 "Delvis enig"
  3 "Delvis uenig"
  4 "Helt uenig"
  9 "Ikke sikker" missing dont_know
}
interview {
  question q1 "Jeg er fornøyd" scale enig
  question q2 single "Bosted" {
    1 "By"
    2 "Land"
  }
}
"""


def diagnostics(text: str) -> list[tuple[str, str]]:
    """The errors and warnings of a spec that parses."""
    return [(d.code, d.message) for d in compile_text(text).diagnostics]


def test_chart_parses_on_each_statement_and_formats_back() -> None:
    text = SCALE + """
analysis a1 "A" {
  frequencies q1 chart diverging
  crosstab q2 by q1 test chisq chart stacked
  summary q1 chart none
}
"""
    spec = parse_text(text).spec
    freq, cross, summ = spec.analyses[0].statements
    assert isinstance(freq, m.Frequencies) and freq.chart is not None and freq.chart.kind == "diverging"
    assert isinstance(cross, m.Crosstab) and cross.test == "chisq"
    assert cross.chart is not None and cross.chart.kind == "stacked"
    assert isinstance(summ, m.Summary) and summ.chart is not None and summ.chart.kind == "none"
    formatted = format_spec(parse_text(text))
    assert "  frequencies q1 chart diverging\n" in formatted
    assert "  crosstab q2 by q1 test chisq chart stacked\n" in formatted
    assert "  summary q1 chart none\n" in formatted
    again = parse_text(formatted).spec
    assert again.model_dump() == spec.model_dump()
    assert format_spec(parse_text(formatted)) == formatted


def test_a_chart_is_in_the_ir_only_when_chosen() -> None:
    plain = parse_text(SCALE + 'analysis a1 "A" {\n  frequencies q1\n}\n').spec
    chosen = parse_text(SCALE + 'analysis a1 "A" {\n  frequencies q1 chart bar\n}\n').spec
    assert "chart" not in plain.model_dump(mode="json")["analyses"][0]["statements"][0]
    assert chosen.model_dump(mode="json")["analyses"][0]["statements"][0]["chart"] == {"kind": "bar"}


def test_the_kvp_spec_chooses_no_chart_and_its_figures_are_as_before() -> None:
    source = analysis_source(compile_file(KVP))
    assert "stacked_bars(survey, [" not in source
    assert re.search(r"return tables, diverging_bars\(survey, tables\[0:6\]", source)


@pytest.mark.parametrize(
    ("statement", "code", "words"),
    [
        ("frequencies q1 chart diverging", None, None),
        ("frequencies q2 chart diverging", "chart-kind", "needs an ordered scale"),
        ("frequencies q1, q2 chart stacked", "chart-kind", "the same categories"),
        ("frequencies q1, q1 chart bar", "chart-kind", "draws one variable"),
        ("crosstab q2 by q1 chart bar", "chart-kind", "does not draw a crosstab"),
        ("frequencies q1 chart pie", "bad-value", "unknown chart `pie`"),
    ],
)
def test_checks_say_when_a_kind_does_not_fit(statement: str, code: str | None, words: str | None) -> None:
    found = diagnostics(SCALE + f'analysis a1 "A" {{\n  {statement}\n}}\n')
    if code is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0][0] == code and words in found[0][1]


# ---------------------------------------------------------------- kvpspec analyze


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Simulated data for charts.survey, analysed once for the module."""
    folder = tmp_path_factory.mktemp("charts")
    data, out = folder / "data.csv", folder / "out"
    runner = CliRunner()
    result = runner.invoke(cli, ["simulate", str(CHARTS), "-n", "200", "--seed", "3", "-o", str(data)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["analyze", str(CHARTS), str(data), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out / "figures"


def texts(svg: Path) -> list[str]:
    """The text elements of an SVG (matplotlib writes text as text with ``svg.fonttype: none``)."""
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg.read_text(encoding="utf-8"))


def fills(svg: Path) -> Counter[str]:
    return Counter(re.findall(r"fill: (#[0-9a-f]{6})", svg.read_text(encoding="utf-8")))


def test_diverging_draws_one_likert_item_around_zero(figures: Path) -> None:
    svg = figures / "figur1.svg"
    words = texts(svg)
    # the axis runs 100 .. 0 .. 100: agree to the right, disagree to the left
    assert words[:5] == ["100", "50", "0", "50", "100"]
    assert "Jeg vil anbefale tiltaket" in words
    legend = words[words.index("Figur 1 Anbefaling") + 1 :]
    assert legend == ["Helt enig", "Delvis enig", "Verken enig eller uenig", "Delvis uenig", "Helt uenig"]
    # "Ikke sikker" is a missing code: the title of its own panel, not part of the bar
    assert "Ikke sikker" in words
    colours = fills(svg)
    # five codes, 2 | 1 | 2: two agree shades, the middle across zero, two disagree shades;
    # each once in the bar and once in the legend
    for colour in (AGREE[0], AGREE[1], MIDDLE, DISAGREE[1], DISAGREE[0]):
        assert colours[colour] == 2, colour
    assert colours[GREY] == 1  # the missing codes' panel


def test_stacked_draws_a_battery_as_bars_of_a_hundred_percent(figures: Path) -> None:
    svg = figures / "figur2.svg"
    words = texts(svg)
    for item in ("Tiltaket virker positivt for meg", "Tiltaket øker muligheten for jobb", "Jeg ble godt mottatt"):
        assert item in words
    assert words[words.index("0") : words.index("0") + 6] == ["0", "20", "40", "60", "80", "100"]
    assert words[-6:] == [
        "Helt enig", "Delvis enig", "Verken enig eller uenig", "Delvis uenig", "Helt uenig", "Ikke sikker"
    ]
    colours = fills(svg)
    # six categories (the missing code last, in grey), each once per item and once in the legend
    for colour in (*AGREE, DISAGREE[-1], GREY):
        assert colours[colour] == 3 + 1, colour


def test_bar_and_none(figures: Path) -> None:
    words = texts(figures / "figur3.svg")
    assert {"Grunnskole", "Videregående skole", "Høyere utdanning"} <= set(words)
    assert sum(w.endswith(" %") for w in words) == 3
    # `chart none` on the frequencies: the summary's histogram is the figure
    assert "Hva er din alder?" in texts(figures / "figur4.svg")
    # only `chart none`: no figure at all
    assert not (figures / "tabell1.svg").exists()
    assert not (figures / "tabell1.png").exists()


def test_diff_reports_a_changed_chart() -> None:
    old = compile_text(SCALE + 'analysis a1 "A" {\n  frequencies q1\n}\n')
    new = compile_text(SCALE + 'analysis a1 "A" {\n  frequencies q1 chart diverging\n}\n')
    changes = [c for c in diff(old, new).changes if c.kind == "analysis-changed"]
    assert [c.message for c in changes] == [
        "analysis a1 changed: - frequencies q1; + frequencies q1 chart diverging"
    ]
