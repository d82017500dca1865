"""``kvpspec import xlsform FORM -o SPEC``: an existing XLSForm as a formatted spec that passes ``check``."""

from __future__ import annotations

import click

from kvpspec.cli.common import guard, write_output


@click.group(name="import")
def import_() -> None:
    """Import a questionnaire written in another format as a spec."""


@import_.command()
@click.argument("form", metavar="FORM")
@click.option("-o", "--output", default=None, metavar="SPEC", help="Write the spec here (default: standard output).")
@click.option("-q", "--quiet", is_flag=True, help="Do not list what the spec could not carry.")
@guard
def xlsform(form: str, output: str | None, quiet: bool) -> None:
    """Import the XLSForm FORM (.xlsx, .xls, .csv or pyxform's .md) as a spec.

    What the spec cannot carry is written into it as a comment and listed here
    with its sheet, row and column. Exit 0 with a spec that passes `check`;
    2 when FORM is not an XLSForm or holds an expression that is not XPath.
    """
    from kvpspec.cli.export import refuse_overwriting_input
    from kvpspec.interchange.emit import import_xlsform

    refuse_overwriting_input(output, [form], "`import xlsform`")

    result = import_xlsform(form)
    write_output(result.spec, output, "import xlsform")
    if not quiet:
        for note in result.notes:
            click.echo(f"{form}: {note}", err=True)
        if result.notes:
            click.echo(f"{len(result.notes)} note(s): not carried, or carried differently (comments in the spec)", err=True)
