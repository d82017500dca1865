"""The command line: one module per command, loaded only when it runs.

This package is the only place that imports click and rich, and nothing
outside it imports it. Each command loads a spec with ``common.load``, calls a
library function, and turns its result or typed error into a message and an
exit code (``common.EXIT_*``). ``kvpspec check`` imports neither pandas, scipy
nor numpy.
"""

from __future__ import annotations

import gc
import importlib

import click

from kvpspec import __version__

#: Every command: name -> ("module:attribute", short help). The module is
#: imported only when the command runs, so ``check`` never pays for pandas or
#: WeasyPrint.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("kvpspec.cli.check:check", "Check specs and report every problem found."),
    "fmt": ("kvpspec.cli.fmt:fmt", "Rewrite specs in the canonical layout, keeping every comment."),
    "export": ("kvpspec.cli.export:export", "Export SPEC as FORMAT (ir, codebook, ...); some formats also read DATA."),
    "build": ("kvpspec.cli.build:build", "Build every output target (script, documents, ...) into a folder."),
    "test": ("kvpspec.cli.test:test", "Property-test routing, recodes and expectations."),
    "simulate": ("kvpspec.cli.simulate:simulate", "Write synthetic interviews that follow the routing."),
    "validate": ("kvpspec.cli.validate:validate", "Check that every row of DATA obeys SPEC."),
    "analyze": ("kvpspec.cli.analyze:analyze", "Validate DATA, then run the generated analysis: tables, figures, report."),
    "diff": ("kvpspec.cli.diff:diff", "Compare two versions of a spec by meaning; flag breaking changes."),
    "import": ("kvpspec.cli.importer:import_", "Import a questionnaire from another format (xlsform) as a spec."),
    "lsp": ("kvpspec.cli.lsp:lsp", "Run the language server (LSP over standard input and output)."),
    "serve": ("kvpspec.cli.serve:serve", "Serve the form (CATI and web) and collect interviews into a database."),
    "fieldwork": ("kvpspec.cli.fieldwork:fieldwork", "Load the sample, make tokens, export the data, purge personal data."),
}


class LazyGroup(click.Group):
    """A command group whose commands live in their own modules (``COMMANDS``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in COMMANDS:
            module, attribute = COMMANDS[name][0].split(":")
            command = getattr(importlib.import_module(module), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx) if name in COMMANDS]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kvpspec")
def cli() -> None:
    """kvpspec: survey questionnaires as code.

    Write one .survey spec; check it, format it, and export it.
    """


def main() -> None:
    # A command is one short process: the objects it loads (the model, the
    # grammar tables, pydantic's schemas) live until it exits. Freezing them
    # after start-up keeps the collector from rescanning them on every
    # collection and at exit.
    gc.freeze()
    cli(prog_name="kvpspec")
