"""``kvpspec build SPEC -o DIR [--only TARGET...]``: every output target into DIR.

The targets are found through the ``kvpspec.generators`` entry points
(``generators.base.registry``). Each returns its files; ``build`` writes them
and ``DIR/manifest.json``: every file with its sha256, the spec's version hash
and the kvpspec version. Registered lazily in ``cli.LAZY_COMMANDS`` so that
``kvpspec check`` never imports Jinja2, WeasyPrint or openpyxl.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from kvpspec import __version__
from kvpspec.cli import EXIT_INTERNAL, EXIT_OK, EXIT_SPEC, _guard, _load, _usage_error


def run_targets(compiled: Any, only: tuple[str, ...] = ()) -> tuple[dict[str, bytes], dict[str, str], list[tuple[str, str]]]:
    """Run the targets on a compiled spec: (files, the target of each file, warnings).

    Raises ``GeneratorError`` naming the target that failed.
    """
    from generators.base import Context, GeneratorError, registry

    targets = registry()
    unknown = [t for t in only if t not in targets]
    if unknown:
        from kvpspec.diagnostics import did_you_mean

        raise LookupError(
            f"unknown target `{unknown[0]}`{did_you_mean(unknown[0], targets)} "
            f"(targets: {', '.join(targets) or 'none installed'})"
        )
    ctx = Context(compiled)
    files: dict[str, bytes] = {}
    owner: dict[str, str] = {}
    for name, cls in targets.items():
        if only and name not in only:
            continue
        try:
            produced = cls(ctx).generate()
        except GeneratorError as exc:
            exc.target = exc.target or name
            raise
        except Exception as exc:
            if os.environ.get("KVPSPEC_DEBUG"):
                raise
            error = GeneratorError(f"{type(exc).__name__}: {exc}", name)
            error.internal = True
            raise error from exc
        for path, data in produced.items():
            if path in files:
                raise GeneratorError(f"writes {path}, which target `{owner[path]}` writes too", name)
            files[path] = data
            owner[path] = name
    return files, owner, ctx.warnings


def manifest(compiled: Any, files: dict[str, bytes], owner: dict[str, str], warnings: list[tuple[str, str]]) -> str:
    doc = {
        "survey": compiled.spec.name,
        "version": compiled.version,
        "kvpspec": __version__,
        "files": [
            {
                "path": path,
                "target": owner[path],
                "bytes": len(files[path]),
                "sha256": hashlib.sha256(files[path]).hexdigest(),
            }
            for path in sorted(files)
        ],
        "warnings": [{"target": t, "message": msg} for t, msg in warnings],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


@click.command()
@click.argument("spec", metavar="SPEC")
@click.option("-o", "--output", "outdir", metavar="DIR", required=True, help="Write the outputs into this folder.")
@click.option("--only", "only", metavar="TARGET", multiple=True, help="Build only this target (may be repeated).")
@_guard
def build(spec: str, outdir: str, only: tuple[str, ...]) -> None:
    """Build every output target of SPEC into DIR, with DIR/manifest.json.

    Targets: script (interviewer script: HTML, PDF, Markdown), documents
    (letters and forms: HTML, PDF), registration (the registration form as
    XLSX), flow (the routing as SVG and Mermaid), analysis (analysis.py).
    """
    from generators.base import GeneratorError

    compiled, code = _load(spec)
    if compiled is None or code != EXIT_OK:
        sys.exit(code if code != EXIT_OK else EXIT_SPEC)
    try:
        files, owner, warnings = run_targets(compiled, only)
    except LookupError as exc:
        _usage_error(str(exc.args[0]))
    except GeneratorError as exc:
        click.echo(f"kvpspec: error: target `{exc.target}` failed: {exc.message}", err=True)
        if getattr(exc, "internal", False):
            click.echo("This is a bug in kvpspec; run with KVPSPEC_DEBUG=1 for details and report it.", err=True)
            sys.exit(EXIT_INTERNAL)
        sys.exit(EXIT_SPEC)
    root = Path(outdir)
    try:
        for path in sorted(files):
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(files[path])
        (root / "manifest.json").write_text(manifest(compiled, files, owner, warnings), encoding="utf-8")
    except OSError as exc:
        where = exc.filename or outdir
        _usage_error(f"cannot write {where}: {exc.strerror or exc}")
    for target_name, message in warnings:
        click.echo(f"kvpspec: warning: target `{target_name}` cannot express this: {message}", err=True)
    click.echo(f"Wrote {len(files) + 1} files to {outdir}")
