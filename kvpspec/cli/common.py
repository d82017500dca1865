"""What every command shares: exit codes, loading a spec, messages, the guard.

Exit codes: 0 clean, 1 errors in the spec (or invalid data, a failed
property), 2 usage or I/O errors, 3 a bug in kvpspec. Diagnostics go to
stderr as ``path:line:col: error: message [code]`` with the source line and a
caret. Nothing here imports pandas or scipy: ``check`` must start fast.
"""

from __future__ import annotations

import functools
import gc
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, ParamSpec, TypeVar

import click

from kvpspec.compile import Compiled, compile_file
from kvpspec.diagnostics import Diagnostic, InputError, SpecError, render

EXIT_OK, EXIT_SPEC, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

P = ParamSpec("P")
R = TypeVar("R")


def print_diagnostics(diags: list[Diagnostic], source: str | None) -> None:
    for d in diags:
        click.echo(render(d, source), err=True)


def load(path: str) -> tuple[Compiled | None, int]:
    """Compile a spec, printing its diagnostics: (the compiled spec or None, an exit code)."""
    try:
        compiled = compile_file(path)
    except SpecError as exc:
        print_diagnostics(exc.diagnostics, source_of(path))
        io = any(d.code == "io" for d in exc.diagnostics)
        return None, EXIT_USAGE if io else EXIT_SPEC
    except RecursionError:
        click.echo(f"{path}: error: the spec nests too deeply to check [too-deep]", err=True)
        return None, EXIT_SPEC
    print_diagnostics(list(compiled.diagnostics), compiled.result.source)
    gc.freeze()  # the compiled spec lives until the command exits: never rescan it
    return compiled, EXIT_OK if compiled.ok else EXIT_SPEC


def load_clean(path: str, what: str | None = None) -> Compiled:
    """A spec without errors, or the process ends: with its own exit code, or 2 when the
    spec is only the input of ``what`` ("validating data")."""
    compiled, code = load(path)
    if compiled is None or code != EXIT_OK:
        if what is not None and code == EXIT_SPEC:
            click.echo(f"kvpspec: error: the spec has errors; fix them before {what}", err=True)
            sys.exit(EXIT_USAGE)
        sys.exit(code if code != EXIT_OK else EXIT_SPEC)
    return compiled


def source_of(path: str) -> str | None:
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    return data.decode("utf-8", errors="replace").removeprefix("\ufeff")


def write_output(data: str | bytes, output: str | None, what: str = "this command") -> None:
    """Write text or bytes to ``output``, or text to standard output when there is none."""
    if output is None or output == "-":
        if isinstance(data, bytes):
            usage_error(f"{what} writes a binary file; give it one with -o FILE")
        sys.stdout.write(data)
        return
    try:
        if isinstance(data, bytes):
            Path(output).write_bytes(data)
        else:
            Path(output).write_text(data, encoding="utf-8")
    except OSError as exc:
        usage_error(f"cannot write {output}: {exc.strerror or exc}")


def usage_error(message: str) -> NoReturn:
    click.echo(f"kvpspec: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def warn(message: str) -> None:
    click.echo(f"kvpspec: warning: {message}", err=True)


def guard(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn the library's typed errors into messages and exit codes, and an
    unexpected exception into one line instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (SystemExit, KeyboardInterrupt, click.exceptions.Exit, click.ClickException):
            raise
        except InputError as exc:
            usage_error(str(exc))
        except SpecError as exc:
            print_diagnostics(exc.diagnostics, None)
            sys.exit(EXIT_SPEC)
        except RecursionError:
            click.echo("kvpspec: error: the input nests too deeply [too-deep]", err=True)
            sys.exit(EXIT_SPEC)
        except Exception as exc:  # a bug in kvpspec
            if os.environ.get("KVPSPEC_DEBUG"):
                raise
            click.echo(
                f"kvpspec: internal error: {type(exc).__name__}: {exc}\n"
                "This is a bug in kvpspec; run with KVPSPEC_DEBUG=1 for details and report it.",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)

    return wrapper
