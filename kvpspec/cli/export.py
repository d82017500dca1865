"""``kvpspec export FORMAT SPEC [DATA] [-o FILE]``: the formats of ``kvpspec.data.exports``."""

from __future__ import annotations

import click

from kvpspec.cli.common import guard, load_clean, print_diagnostics, usage_error, warn, write_output
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
    if format == "xlsform":
        _xlsform(spec, data, output)
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
    out = chosen.load()(compiled, data, ExportOptions(language=language, output=output, warn=warn))
    write_output(out, output, f"`export {format}`")


def _xlsform(spec: str, data: str | None, output: str | None) -> None:
    """The spec as an XLSForm (docs/xlsform.md): what it cannot carry is listed
    as ``unsupported`` warnings with their lines, and the form is still written."""
    if data is not None:
        usage_error(f"`export xlsform` takes no data file (got {data})")
    if output is None or output == "-":
        usage_error("`export xlsform` writes a binary file; give it one with -o FORM.xlsx")
    compiled = load_clean(spec)
    from generators.xlsform import workbook, workbook_bytes, xlsform

    form = xlsform(compiled)
    print_diagnostics(form.diagnostics, compiled.result.source)
    write_output(workbook_bytes(workbook(form)), output, "`export xlsform`")
