"""A small writer of Python source, for generated code that people read and edit.

User text never enters the output as code: values go through ``literal`` (the
``repr`` of an allowed type, checked by reading it back with
``ast.literal_eval``), names through ``identifier`` (checked against a
pattern and the keyword list). Long literals are wrapped the way black and
ruff format them, so the output stays within ``width`` columns wherever it can.

>>> w = CodeWriter()
>>> w.writeline("def f():")
>>> with w.indent():
...     w.assign("LABELS", {1: "Helt enig", 2: 'Delvis "enig"'})
>>> print(w.text(), end="")
def f():
    LABELS = {1: "Helt enig", 2: 'Delvis "enig"'}
"""

from __future__ import annotations

import ast
import keyword
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class UnsafeValue(ValueError):
    """A value that cannot be written as a Python literal, or a name that is not an identifier."""


def identifier(name: str) -> str:
    """``name`` if it is a plain Python identifier (ASCII, not a keyword); otherwise an error."""
    if not isinstance(name, str) or not IDENTIFIER.match(name) or keyword.iskeyword(name):
        raise UnsafeValue(f"`{name}` cannot be used as a Python name")
    return name


def string(value: str) -> str:
    """A string literal: double-quoted, unless the text holds a double quote (then as repr gives it)."""
    text = repr(value)
    if text.startswith("'") and '"' not in value:
        text = '"' + text[1:-1] + '"'
    if ast.literal_eval(text) != value:  # pragma: no cover - repr is exact; this guards the quote swap
        raise UnsafeValue(f"cannot write {value!r} as a literal")
    return text


def literal(value: Any) -> str:
    """A value of an allowed type (None, bool, int, finite float, str, and tuples,
    lists and dicts of them) as Python source on one line."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnsafeValue(f"cannot write {value!r} as a literal")
        return repr(float(value))
    if isinstance(value, str):
        return string(value)
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise UnsafeValue(f"a {type(value).__name__} cannot be written as a literal")


class CodeWriter:
    """Lines of Python with an indentation level: ``writeline``, ``indent``, ``assign``."""

    def __init__(self, width: int = 99, step: str = "    "):
        self.lines: list[str] = []
        self.level = 0
        self.width = width
        self.step = step

    @property
    def prefix(self) -> str:
        return self.step * self.level

    def writeline(self, line: str = "") -> None:
        self.lines.append(self.prefix + line if line else "")

    def blank(self, count: int = 1) -> None:
        for _ in range(count):
            self.lines.append("")

    def block(self, text: str) -> None:
        """Several lines of fixed code (no user values in them) at the current indentation."""
        for line in text.strip("\n").split("\n"):
            self.writeline(line)

    @contextmanager
    def indent(self) -> Iterator[None]:
        self.level += 1
        try:
            yield
        finally:
            self.level -= 1

    def assign(self, name: str, value: Any, comment: str | None = None) -> None:
        """``NAME = value``, wrapped over several lines when it does not fit."""
        if comment:
            self.writeline("#: " + comment)
        head = f"{identifier(name)} = "
        for line in self.wrap(value, len(self.prefix) + len(head), head):
            self.lines.append(self.prefix + line if line else line)

    def wrap(self, value: Any, column: int, head: str = "", tail: str = "") -> list[str]:
        """``head + value + tail`` as lines relative to the current indentation;
        nested lines are indented one step more than the first."""
        flat = literal(value)
        if column + len(flat) + len(tail) <= self.width:
            return [head + flat + tail]
        step = self.step
        if isinstance(value, dict) and value:
            lines = [head + "{"]
            for k, v in value.items():
                key = literal(k) + ": "
                for line in self.wrap(v, column - len(head) + len(step) + len(key), key, ","):
                    lines.append(step + line)
            lines.append("}" + tail)
            return lines
        if isinstance(value, (list, tuple)) and value:
            opener, closer = ("[", "]") if isinstance(value, list) else ("(", ")")
            lines = [head + opener]
            for v in value:
                for line in self.wrap(v, column - len(head) + len(step), "", ","):
                    lines.append(step + line)
            lines.append(closer + tail)
            return lines
        if isinstance(value, str) and len(value) > 20:
            room = max(self.width - (column - len(head)) - len(step) - 3, 20)
            lines = [head + "("]
            for piece in _chunks(value, room):
                lines.append(step + string(piece))
            lines.append(")" + tail)
            return lines
        return [head + flat + tail]

    def text(self) -> str:
        out = "\n".join(line.rstrip() for line in self.lines)
        return out.rstrip("\n") + "\n"


def _chunks(text: str, width: int) -> list[str]:
    """``text`` cut after spaces into pieces whose literals fit in ``width``;
    joined they give ``text`` back exactly."""
    pieces: list[str] = []
    current = ""
    for word in re.findall(r"\S*\s*", text):
        if not word:
            continue
        if current and len(string(current + word)) > width:
            pieces.append(current)
            current = ""
        while len(string(word)) > width:  # a word longer than a line is cut
            cut = max(width - 2, 1)
            while cut > 1 and len(string(word[:cut])) > width:
                cut -= 1
            pieces.append(word[:cut])
            word = word[cut:]
        current += word
    if current or not pieces:
        pieces.append(current)
    return pieces
