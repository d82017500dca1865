"""kvpspec: a compiler for survey questionnaires.

One plain-text spec is parsed (``parse``), checked (``checks``), lowered into
variables (``lower``) and given one meaning of routing (``flow``) and of
expressions (``expr``); generators render it into scripts, schemas, documents
and analysis.
"""

from __future__ import annotations

__version__ = "0.1.0"

from kvpspec.compile import Compiled, compile_file, compile_text

__all__ = ["Compiled", "compile_file", "compile_text", "__version__"]
