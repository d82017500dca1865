"""kvpspec: a compiler for survey questionnaires.

One plain-text spec is parsed (``kvpspec.syntax``), checked and lowered into
variables with one meaning of routing and expressions (``kvpspec.semantics``),
compiled once (``compile_file``, ``compile_text``), and then rendered: data
checks and exports (``kvpspec.data``), synthetic interviews and property tests
(``kvpspec.synth``), and the targets of ``kvpspec build`` (``generators``).

The public API is importable from here. The heavy parts (numpy, pyarrow,
WeasyPrint) load only when first used, so ``import kvpspec`` stays fast::

    >>> import kvpspec
    >>> compiled = kvpspec.compile_text('survey s "S" { question q1 "Q?" { 1 "Ja"  2 "Nei" } }')
    >>> compiled.ok
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from kvpspec.compile import Compiled, compile_file, compile_text
from kvpspec.diagnostics import Diagnostic, InputError, KvpspecError, SpecError

if TYPE_CHECKING:
    from kvpspec.analyze import analyze
    from kvpspec.build import build
    from kvpspec.data.reader import DataError, open_data
    from kvpspec.data.validate import validate
    from kvpspec.synth.proptest import run as property_test
    from kvpspec.synth.simulate import simulate

#: Loaded on first use: name -> "module:attribute".
_LAZY = {
    "analyze": "kvpspec.analyze:analyze",
    "build": "kvpspec.build:build",
    "DataError": "kvpspec.data.reader:DataError",
    "open_data": "kvpspec.data.reader:open_data",
    "validate": "kvpspec.data.validate:validate",
    "property_test": "kvpspec.synth.proptest:run",
    "simulate": "kvpspec.synth.simulate:simulate",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attribute = _LAZY[name].split(":")
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'kvpspec' has no attribute {name!r}")


__all__ = [
    "Compiled",
    "DataError",
    "Diagnostic",
    "InputError",
    "KvpspecError",
    "SpecError",
    "__version__",
    "analyze",
    "build",
    "compile_file",
    "compile_text",
    "open_data",
    "property_test",
    "simulate",
    "validate",
]
