"""The command line: ``kvpspec check | export | fmt``.

Exit codes: 0 clean, 1 errors in the spec (or, for ``fmt --check``, a file
that would change), 2 usage or I/O errors. Diagnostics go to stderr as
``path:line:col: error: message [code]`` with the source line and a caret.
Nothing here imports pandas or scipy: ``check`` must start fast.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, NoReturn

import click

from kvpspec import __version__
from kvpspec.diagnostics import Diagnostic, SpecError, render

EXIT_OK, EXIT_SPEC, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


def _print_diagnostics(diags: list[Diagnostic], source: str | None) -> None:
    for d in diags:
        click.echo(render(d, source), err=True)


def _load(path: str):
    """Compile a spec, printing its diagnostics. Returns (compiled | None, exit code)."""
    from kvpspec.compile import compile_file

    try:
        compiled = compile_file(path)
    except SpecError as exc:
        source = _source_of(path)
        _print_diagnostics(exc.diagnostics, source)
        io = any(d.code == "io" for d in exc.diagnostics)
        return None, EXIT_USAGE if io else EXIT_SPEC
    except RecursionError:
        click.echo(f"{path}: error: the spec nests too deeply to check [too-deep]", err=True)
        return None, EXIT_SPEC
    _print_diagnostics(compiled.diagnostics, compiled.result.source)
    return compiled, EXIT_OK if compiled.ok else EXIT_SPEC


def _source_of(path: str) -> str | None:
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    return data.decode("utf-8", errors="replace").removeprefix("\ufeff")


def _write(text: str, output: str | None) -> None:
    if output is None or output == "-":
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        _usage_error(f"cannot write {output}: {exc.strerror or exc}")


def _usage_error(message: str) -> NoReturn:
    click.echo(f"kvpspec: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn an unexpected exception into one line instead of a traceback."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (SystemExit, KeyboardInterrupt, click.exceptions.Exit, click.ClickException):
            raise
        except RecursionError:
            click.echo("kvpspec: error: the input nests too deeply [too-deep]", err=True)
            sys.exit(EXIT_SPEC)
        except Exception as exc:  # pragma: no cover - a bug in kvpspec
            if os.environ.get("KVPSPEC_DEBUG"):
                raise
            click.echo(
                f"kvpspec: internal error: {type(exc).__name__}: {exc}\n"
                "This is a bug in kvpspec; run with KVPSPEC_DEBUG=1 for details and report it.",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


class LazyGroup(click.Group):
    """A command group whose heavier commands live in their own modules.

    ``LAZY_COMMANDS`` maps a command name to ``"module:attribute"`` and a short
    help; the module is imported only when the command runs, so ``kvpspec
    check`` never pays for pandas or WeasyPrint.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in LAZY_COMMANDS:
            import importlib

            target, _ = LAZY_COMMANDS[name]
            module, attribute = target.split(":")
            command = getattr(importlib.import_module(module), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in LAZY_COMMANDS:
                rows.append((name, LAZY_COMMANDS[name][1]))
            else:
                command = super().get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.get_short_help_str(limit=60)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


#: Commands defined in other modules: name -> ("module:attribute", short help).
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("kvpspec.synth.simulate:simulate_command", "Write synthetic interviews that follow the routing."),
    "test": ("kvpspec.synth.proptest:test_command", "Property-test routing, recodes and expectations."),
    "validate": ("kvpspec.data.validate:validate_command", "Check that every row of DATA obeys SPEC."),
    "build": ("kvpspec.build:build", "Build every output target (script, documents, ...) into a folder."),
    "analyze": ("kvpspec.analyze:analyze_command", "Validate DATA, then run the generated analysis: tables, figures, report."),
}

#: Export formats: name -> ("module:function", needs a data file, short help).
#: The function takes (compiled, data_path or None, options dict) and returns
#: the output as str or bytes.
EXPORT_FORMATS: dict[str, tuple[str, bool, str]] = {
    "ir": ("kvpspec.cli:export_ir", False, "the model as canonical JSON"),
    "codebook": ("kvpspec.cli:export_codebook", False, "every variable with codes, labels, missing codes"),
    "jsonschema": ("kvpspec.cli:export_jsonschema", False, "JSON Schema of one interview record"),
    "tableschema": ("kvpspec.cli:export_tableschema", False, "Frictionless Table Schema of the data"),
    "sav": ("kvpspec.data.labelled:export_sav", True, "the data as SPSS .sav with labels and user-missing codes"),
    "dta": ("kvpspec.data.labelled:export_dta", True, "the data as Stata .dta with labels, missing codes as .a, .b, ..."),
    "datapackage": ("kvpspec.data.labelled:export_datapackage", True, "the data as a zipped Data Package: CSV + datapackage.json"),
}


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kvpspec")
def cli() -> None:
    """kvpspec: survey questionnaires as code.

    Write one .survey spec; check it, format it, and export it.
    """


@cli.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing when a spec is clean.")
@_guard
def check(specs: tuple[str, ...], quiet: bool) -> None:
    """Check specs and report every problem found.

    Exit 0 when clean (warnings allowed), 1 when a spec has errors, 2 when a
    file cannot be read.
    """
    worst = EXIT_OK
    errors = warnings = 0
    for path in specs:
        compiled, code = _load(path)
        if compiled is not None:
            errors += len(compiled.errors)
            warnings += len(compiled.diagnostics) - len(compiled.errors)
        elif code == EXIT_SPEC:
            errors += 1
        worst = max(worst, code)
    if worst == EXIT_OK:
        if not quiet:
            note = f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else ""
            click.echo(f"Success: no errors in {len(specs)} spec{'s' if len(specs) != 1 else ''}{note}")
    elif worst == EXIT_SPEC:
        click.echo(
            f"Found {errors} error{'s' if errors != 1 else ''} in {len(specs)} spec{'s' if len(specs) != 1 else ''}",
            err=True,
        )
    sys.exit(worst)


def export_ir(compiled: Any, data: str | None, options: dict[str, Any]) -> str:
    doc = {"survey": compiled.spec.name, "version": compiled.version, "spec": compiled.ir()}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def export_codebook(compiled: Any, data: str | None, options: dict[str, Any]) -> str:
    from kvpspec.data.codebook import codebook

    return json.dumps(codebook(compiled, options.get("language")), ensure_ascii=False, indent=2) + "\n"


def export_jsonschema(compiled: Any, data: str | None, options: dict[str, Any]) -> str:
    from kvpspec.data.schemas import json_schema

    result = json_schema(compiled, options.get("language"))
    for note in result.unsupported:
        click.echo(f"kvpspec: warning: routing not expressible in JSON Schema: {note}", err=True)
    return json.dumps(result.schema, ensure_ascii=False, indent=2) + "\n"


def export_tableschema(compiled: Any, data: str | None, options: dict[str, Any]) -> str:
    from kvpspec.data.schemas import table_schema

    return json.dumps(table_schema(compiled, options.get("language")), ensure_ascii=False, indent=2) + "\n"


class ExportError(Exception):
    """An exporter's message for the user (exit 2), e.g. an unreadable data file."""


@cli.command()
@click.argument("format", metavar="FORMAT")
@click.argument("spec", metavar="SPEC")
@click.argument("data", metavar="[DATA]", required=False)
@click.option("-o", "--output", metavar="FILE", help="Write here instead of standard output.")
@click.option("--language", metavar="LANG", help="Labels in this translation.")
@_guard
def export(format: str, spec: str, data: str | None, output: str | None, language: str | None) -> None:
    """Export SPEC as FORMAT (ir, codebook, ...); some formats also read DATA."""
    if format not in EXPORT_FORMATS:
        from kvpspec.diagnostics import did_you_mean

        _usage_error(
            f"unknown export format `{format}`{did_you_mean(format, EXPORT_FORMATS)} "
            f"(formats: {', '.join(EXPORT_FORMATS)})"
        )
    target, needs_data, _ = EXPORT_FORMATS[format]
    if needs_data and data is None:
        _usage_error(f"`export {format}` needs a data file: kvpspec export {format} SPEC DATA -o FILE")
    if not needs_data and data is not None:
        _usage_error(f"`export {format}` takes no data file (got {data})")
    compiled, code = _load(spec)
    if compiled is None or code != EXIT_OK:
        sys.exit(code)
    import importlib

    module, function = target.split(":")
    exporter = getattr(importlib.import_module(module), function)
    try:
        out = exporter(compiled, data, {"language": language, "output": output})
    except ExportError as exc:
        _usage_error(str(exc))
    if isinstance(out, bytes):
        if output is None or output == "-":
            _usage_error(f"`export {format}` writes a binary file; give it one with -o FILE")
        try:
            Path(output).write_bytes(out)
        except OSError as exc:
            _usage_error(f"cannot write {output}: {exc.strerror or exc}")
    else:
        _write(out, output)


@cli.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@click.option("--check", "check_only", is_flag=True, help="Change nothing; exit 1 if a file would change.")
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the formatted spec instead of rewriting it.")
@_guard
def fmt(specs: tuple[str, ...], check_only: bool, to_stdout: bool) -> None:
    """Rewrite specs in the canonical layout, keeping every comment."""
    from kvpspec.syntax.formatter import format_spec
    from kvpspec.syntax.parser import parse_file

    worst = EXIT_OK
    for path in specs:
        try:
            result = parse_file(path)
        except SpecError as exc:
            _print_diagnostics(exc.diagnostics, _source_of(path))
            worst = max(worst, EXIT_USAGE if any(d.code == "io" for d in exc.diagnostics) else EXIT_SPEC)
            continue
        text = format_spec(result)
        if to_stdout:
            sys.stdout.write(text)
        elif text != result.source:
            if check_only:
                click.echo(f"would reformat {path}", err=True)
                worst = max(worst, EXIT_SPEC)
            else:
                try:
                    Path(path).write_text(text, encoding="utf-8")
                except OSError as exc:
                    click.echo(f"kvpspec: error: cannot write {path}: {exc.strerror or exc}", err=True)
                    worst = max(worst, EXIT_USAGE)
                    continue
                click.echo(f"reformatted {path}", err=True)
    sys.exit(worst)


def main() -> None:
    cli(prog_name="kvpspec")


if __name__ == "__main__":  # pragma: no cover
    main()
