"""The gates of the code base: layer contracts, lint and types.

These run the real tools on the real tree (configured in pyproject.toml), so
that `.ci/run` (the README's test command) enforces them:

- import-linter: imports run downwards only, click and rich only in
  ``kvpspec.cli``, the core never imports numpy/pandas/pyarrow/scipy, no
  cycles (see docs/architecture.md);
- ruff: 0 findings in ``kvpspec/`` and ``generators/``, the analysis runtime included;
- mypy (``check_untyped_defs``): 0 errors in ``kvpspec/`` and ``generators/``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:  # the test extra installs every one of them
        pytest.fail(f"{name} is not installed; `pip install -e '.[test]'` installs it")
    return found


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_layer_contracts_hold() -> None:
    done = _run(_tool("lint-imports"), "--no-cache")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_finds_nothing() -> None:
    done = _run(_tool("ruff"), "check", "--no-cache", "kvpspec", "generators")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing() -> None:
    done = _run(sys.executable, "-m", "mypy", "--cache-dir", str(ROOT / ".mypy_cache"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_core_never_imports_the_command_line_at_run_time() -> None:
    """Besides the static contracts: using the library loads neither click nor rich."""
    code = (
        "import sys, kvpspec\n"
        "from kvpspec.data.validate import validate\n"
        "from kvpspec.synth.simulate import simulate\n"
        "from kvpspec.build import build\n"
        "from kvpspec.analyze import analyze\n"
        "bad = sorted(m for m in ('click', 'rich', 'kvpspec.cli') if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    done = _run(sys.executable, "-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
