"""``kvpspec export FORMAT SPEC [DATA] [-o FILE]``: the formats of ``kvpspec.data.exports``."""

from __future__ import annotations

import click

from kvpspec.cli.common import guard, load_clean, usage_error, warn, write_output
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

    Formats: ir, codebook, jsonschema, tableschema (from the spec alone); sav,
    dta, datapackage (the data, labelled).
    """
    if format not in FORMATS:
        usage_error(
            f"unknown export format `{format}`{did_you_mean(format, FORMATS)} "
            f"(formats: {', '.join(FORMATS)})"
        )
    chosen = FORMATS[format]
    if chosen.needs_data and data is None:
        usage_error(f"`export {format}` needs a data file: kvpspec export {format} SPEC DATA -o FILE")
    if not chosen.needs_data and data is not None:
        usage_error(f"`export {format}` takes no data file (got {data})")
    compiled = load_clean(spec)
    out = chosen.load()(compiled, data, ExportOptions(language=language, output=output, warn=warn))
    write_output(out, output, f"`export {format}`")
