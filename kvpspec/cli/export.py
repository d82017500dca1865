"""``kvpspec export FORMAT SPEC [DATA] [-o FILE]``: the formats of ``kvpspec.data.exports``."""

from __future__ import annotations

import os
from pathlib import Path

import click

from kvpspec.cli.common import guard, load_clean, print_diagnostics, usage_error, warn, write_output
from kvpspec.compile import Compiled
from kvpspec.data.exports import FORMATS, ExportOptions
from kvpspec.diagnostics import did_you_mean


@click.command()
@click.argument("format", metavar="FORMAT")
@click.argument("spec", metavar="SPEC")
@click.argument("data", metavar="[DATA]", required=False)
@click.option("-o", "--output", metavar="FILE", help="Write here instead of standard output.")
@click.option("--language", metavar="LANG", help="Labels in this translation.")
@guard
def export(format: str, spec: str, data: str | None, output: str | None, language: str | None) -> None:
    """Export SPEC as FORMAT (ir, codebook, ...); some formats also read DATA.

    Formats: ir, codebook, jsonschema, tableschema, xlsform (from the spec
    alone); sav, dta, datapackage (the data, labelled).
    """
    refuse_overwriting_input(output, [spec, data], f"`export {format}`")
    if format == "xlsform":
        _xlsform(spec, data, output, language)
        return
    if format not in FORMATS:
        usage_error(
            f"unknown export format `{format}`{did_you_mean(format, [*FORMATS, 'xlsform'])} "
            f"(formats: {', '.join([*FORMATS, 'xlsform'])})"
        )
    chosen = FORMATS[format]
    if chosen.needs_data and data is None:
        usage_error(f"`export {format}` needs a data file: kvpspec export {format} SPEC DATA -o FILE")
    if not chosen.needs_data and data is not None:
        usage_error(f"`export {format}` takes no data file (got {data})")
    compiled = load_clean(spec)
    check_language(compiled, language)
    out = chosen.load()(compiled, data, ExportOptions(language=language, output=output, warn=warn))
    write_output(out, output, f"`export {format}`")


def check_language(compiled: Compiled, language: str | None) -> None:
    """Exit 2 when ``--language`` names no language of the study (it would fall back silently)."""
    if language is None:
        return
    study = compiled.spec.study
    languages = tuple(study.languages) if study and study.languages else ()
    if language not in languages:
        known = f"its languages: {', '.join(languages)}" if languages else "it declares no `languages`"
        usage_error(f"--language {language}: the study has no such language ({known})"
                    f"{did_you_mean(language, list(languages))}")


def refuse_overwriting_input(output: str | None, inputs: list[str | None], what: str) -> None:
    """Exit 2 when ``output`` names one of the inputs: writing it would destroy them."""
    if output is None or output == "-":
        return
    out = Path(output)
    for given in inputs:
        if given is None or given == "-":
            continue
        src = Path(given)
        try:
            same = os.path.samefile(src, out) if out.exists() and src.exists() else src.resolve() == out.resolve()
        except OSError:
            same = False
        if same:
            usage_error(f"{what} would overwrite its input {given}; give -o another file")


def _xlsform(spec: str, data: str | None, output: str | None, language: str | None) -> None:
    """The spec as an XLSForm (docs/xlsform.md): what it cannot carry is listed
    as ``unsupported`` warnings with their lines, and the form is still written."""
    if data is not None:
        usage_error(f"`export xlsform` takes no data file (got {data})")
    if output is None or output == "-":
        usage_error("`export xlsform` writes a binary file; give it one with -o FORM.xlsx")
    if Path(output).suffix.lower() != ".xlsx":
        usage_error(f"`export xlsform` writes an .xlsx workbook; give -o a name ending in .xlsx (got {output})")
    compiled = load_clean(spec)
    check_language(compiled, language)
    from generators.xlsform import workbook, workbook_bytes, xlsform

    form = xlsform(compiled)
    print_diagnostics(form.diagnostics, compiled.result.source)
    write_output(workbook_bytes(workbook(form)), output, "`export xlsform`")
