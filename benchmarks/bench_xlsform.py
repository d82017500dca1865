"""Time the XLSForm exchange on a 2,000-question form (issue 14's speed goal:
each direction faster than pyxform's own conversion of the same form).

    python benchmarks/bench_xlsform.py [--questions 2000]

One run, in this process, each step timed with ``time.perf_counter``:

- export: ``kvpspec export xlsform`` on ``make_spec.py``'s spec (compile, build
  the sheets, write the .xlsx);
- pyxform: ``xls2xform`` (``convert``, no ODK Validate) of the form just
  exported (xlsx -> XForm), the yardstick;
- import: ``kvpspec import xlsform`` of the same exported form (read, translate,
  write the spec, compile it to confirm it passes check, format it).

pyxform is imported before the timing (its import builds a lark parser; with
``interegular`` installed lark spends minutes checking that parser, so the
check is off for the import, as in tests/test_xlsform_export.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_spec  # noqa: E402


def pyxform_convert() -> Any:
    import lark.lexer

    old = lark.lexer.has_interegular
    lark.lexer.has_interegular = False
    try:
        from pyxform.xls2xform import convert
    finally:
        lark.lexer.has_interegular = old
    return convert


def timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=int, default=2000)
    args = ap.parse_args(argv)
    n = args.questions

    from generators.xlsform import write_xlsform
    from kvpspec import compile_text

    convert = pyxform_convert()
    tmp = Path(tempfile.mkdtemp(prefix="bench_xlsform_"))
    spec_text = make_spec.render(n)
    form = tmp / f"q{n}.xlsx"

    # ------------------------------------------------------------ export
    def export() -> list[Any]:
        return write_xlsform(compile_text(spec_text), form)

    t_export, unsupported = timed(export)
    t_pyxform, result = timed(lambda: convert(xlsform=str(form), validate=False, warnings=[]))

    print(f"XLSForm exchange, {n:,} questions (make_spec.py), one run")
    print(f"  export  (compile + sheets + .xlsx)       {t_export * 1000:8.0f} ms   "
          f"({len(unsupported)} unsupported)")
    print(f"  pyxform (xls2xform of it, no validate)  {t_pyxform * 1000:8.0f} ms   "
          f"({len(result.xform):,} bytes of XForm)")
    print(f"  export / pyxform: {t_export / t_pyxform:.2f} (goal: below 1)")

    # ------------------------------------------------------------ import
    # The same `form` back through `kvpspec import xlsform` (read the .xlsx,
    # translate every relevant and constraint, write the spec, compile it to
    # confirm it passes check, format it), against the same pyxform run.
    from kvpspec.interchange.emit import import_xlsform

    t_import, imported = timed(lambda: import_xlsform(form))
    print(f"  import  (.xlsx -> checked, formatted spec) {t_import * 1000:6.0f} ms   "
          f"({imported.spec.count(chr(10)):,} lines, {len(imported.notes)} notes)")
    print(f"  import / pyxform: {t_import / t_pyxform:.2f} (goal: below 1)")


if __name__ == "__main__":
    main()
