"""Build every output target of a compiled spec into a folder.

The targets are found through the ``kvpspec.generators`` entry points
(``generators.base.registry``). Each returns its files; :func:`build` writes
them and ``DIR/manifest.json``: every file with its sha256, the spec's version
hash and the kvpspec version. The command line (``kvpspec.cli.build``) loads
this module only when ``build`` runs, so ``kvpspec check`` never imports
Jinja2, WeasyPrint or openpyxl.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import NamedTuple

from generators.base import Context, GeneratorError, registry
from kvpspec import __version__
from kvpspec.compile import Compiled
from kvpspec.diagnostics import InputError, did_you_mean


class Built(NamedTuple):
    """What :func:`run_targets` produced: the files, the target of each, the targets' warnings."""

    files: dict[str, bytes]
    owner: dict[str, str]
    warnings: list[tuple[str, str]]


def run_targets(compiled: Compiled, only: tuple[str, ...] = ()) -> Built:
    """Run the targets on a compiled spec, in memory.

    Raises ``InputError`` for an unknown target and ``GeneratorError`` naming
    the target that failed (``internal`` is true when it failed by a bug).
    """
    targets = registry()
    unknown = [t for t in only if t not in targets]
    if unknown:
        raise InputError(
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
            raise GeneratorError(f"{type(exc).__name__}: {exc}", name, internal=True) from exc
        for path, data in produced.items():
            if path in files:
                raise GeneratorError(f"writes {path}, which target `{owner[path]}` writes too", name)
            files[path] = data
            owner[path] = name
    return Built(files, owner, ctx.warnings)


def manifest(compiled: Compiled, built: Built) -> str:
    """``manifest.json``: every file with its target, size and sha256, and the targets' warnings."""
    doc = {
        "survey": compiled.spec.name,
        "version": compiled.version,
        "kvpspec": __version__,
        "files": [
            {
                "path": path,
                "target": built.owner[path],
                "bytes": len(built.files[path]),
                "sha256": hashlib.sha256(built.files[path]).hexdigest(),
            }
            for path in sorted(built.files)
        ],
        "warnings": [{"target": t, "message": msg} for t, msg in built.warnings],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def build(compiled: Compiled, outdir: str | Path, only: tuple[str, ...] = ()) -> Built:
    """Run the targets and write their files and ``manifest.json`` into ``outdir``.

    Raises ``InputError`` when a file cannot be written, besides what
    :func:`run_targets` raises.
    """
    built = run_targets(compiled, only)
    root = Path(outdir)
    try:
        for path in sorted(built.files):
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(built.files[path])
        (root / "manifest.json").write_text(manifest(compiled, built), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {exc.filename or outdir}: {exc.strerror or exc}") from exc
    return built
