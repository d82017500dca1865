"""Generated Python as ``ast`` nodes, and a printer that lays them out in lines.

The analysis generator builds each statement of the survey's part of
``analysis.py`` as ``ast`` nodes with the small builders here and prints them
with ``Printer``; nothing is pasted together or edited as text. Values enter
the output only through ``kvpspec.codewriter.literal`` and names only through
``identifier``. Lines are kept within the writer's width as black keeps them:
a call's arguments one per line, a chain of operators one operand per line
inside parentheses, a literal as ``CodeWriter.wrap`` wraps it.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

from kvpspec.codewriter import CodeWriter, UnsafeValue, identifier, literal

# ---------------------------------------------------------------- building nodes

_BINARY: dict[str, type[ast.operator]] = {
    "+": ast.Add, "-": ast.Sub, "*": ast.Mult, "/": ast.Div, "&": ast.BitAnd, "|": ast.BitOr,
}
_COMPARE: dict[str, type[ast.cmpop]] = {
    "==": ast.Eq, "!=": ast.NotEq, "<": ast.Lt, "<=": ast.LtE, ">": ast.Gt, ">=": ast.GtE,
    "is": ast.Is,
}
_UNARY: dict[str, type[ast.unaryop]] = {"not": ast.Not, "~": ast.Invert, "-": ast.USub}


def name(text: str) -> ast.Name:
    """A name, checked as an identifier."""
    return ast.Name(identifier(text), ast.Load())


def dotted(text: str) -> ast.expr:
    """``np.isin``: names joined by dots, each checked."""
    first, *rest = text.split(".")
    node: ast.expr = name(first)
    for part in rest:
        node = ast.Attribute(node, identifier(part), ast.Load())
    return node


def value(x: Any) -> ast.expr:
    """A value of a type ``literal`` takes (None, bool, int, finite float, str, and
    tuples, lists and dicts of them) as a node."""
    if isinstance(x, list):
        return ast.List([value(v) for v in x], ast.Load())
    if isinstance(x, tuple):
        return ast.Tuple([value(v) for v in x], ast.Load())
    if isinstance(x, dict):
        return ast.Dict([value(k) for k in x], [value(v) for v in x.values()])
    literal(x)  # refuses any other type, and infinite floats
    return ast.Constant(x)


def call(func: str | ast.expr, *args: ast.expr, **keywords: ast.expr) -> ast.Call:
    """``func(args, key=value)``; a ``func`` given as text is a dotted name."""
    node = dotted(func) if isinstance(func, str) else func
    return ast.Call(node, list(args), [ast.keyword(identifier(k), v) for k, v in keywords.items()])


def item(container: ast.expr, key: ast.expr) -> ast.Subscript:
    """``container[key]``."""
    return ast.Subscript(container, key, ast.Load())


def column(frame: str, column_name: str) -> ast.Subscript:
    """``data["q3"]``: a column of a frame."""
    return item(name(frame), value(column_name))


def binary(left: ast.expr, op: str, right: ast.expr) -> ast.BinOp:
    return ast.BinOp(left, _BINARY[op](), right)


def chain(op: str, operands: Sequence[ast.expr]) -> ast.expr:
    """``a & b & c``: the operands joined left to right (one operand is itself)."""
    node = operands[0]
    for operand in operands[1:]:
        node = binary(node, op, operand)
    return node


def compare(left: ast.expr, op: str, right: ast.expr) -> ast.Compare:
    return ast.Compare(left, [_COMPARE[op]()], [right])


def unary(op: str, operand: ast.expr) -> ast.UnaryOp:
    return ast.UnaryOp(_UNARY[op](), operand)


def assign(target: ast.expr, node: ast.expr) -> ast.Assign:
    return ast.Assign([target], node)


def returns(*nodes: ast.expr) -> ast.Return:
    """``return a`` or ``return a, b``."""
    return ast.Return(nodes[0] if len(nodes) == 1 else ast.Tuple(list(nodes), ast.Load()))


# ---------------------------------------------------------------- printing

#: Operator precedence, lowest first (as in the Python grammar).
_NOT, _CMP, _BOR, _BAND, _ARITH, _TERM, _FACTOR, _ATOM = 4, 5, 7, 9, 11, 12, 13, 16
_BINARY_PRECEDENCE: dict[type[ast.operator], int] = {
    ast.BitOr: _BOR, ast.BitAnd: _BAND, ast.Add: _ARITH, ast.Sub: _ARITH, ast.Mult: _TERM,
    ast.Div: _TERM,
}
_BITWISE = (ast.BitOr, ast.BitAnd)


def _precedence(node: ast.expr) -> int:
    if isinstance(node, ast.BinOp):
        return _BINARY_PRECEDENCE[type(node.op)]
    if isinstance(node, ast.UnaryOp):
        return _NOT if isinstance(node.op, ast.Not) else _FACTOR
    if isinstance(node, ast.Compare):
        return _CMP
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and node.value < 0:
        return _FACTOR  # -1 is written as it reads
    return _ATOM


def _symbol(node: ast.BinOp | ast.UnaryOp | ast.Compare) -> str:
    if isinstance(node, ast.BinOp):
        return {v: k for k, v in _BINARY.items()}[type(node.op)]
    if isinstance(node, ast.UnaryOp):
        return {v: k for k, v in _UNARY.items()}[type(node.op)]
    return {v: k for k, v in _COMPARE.items()}[type(node.ops[0])]


def _is_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.List, ast.Tuple)):
        return all(_is_literal(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _is_literal(k) for k in node.keys) and all(
            _is_literal(v) for v in node.values
        )
    return False


class Printer:
    """Prints nodes built here as source lines within the writer's width."""

    def __init__(self, writer: CodeWriter):
        self.writer = writer
        self.width = writer.width
        self.step = writer.step

    # ------------------------------------------------------------ on one line

    def source(self, node: ast.expr) -> str:
        """The expression on one line, with the parentheses precedence needs."""
        if isinstance(node, ast.Constant):
            return literal(node.value)
        if isinstance(node, ast.Name):
            return identifier(node.id)
        if isinstance(node, ast.Attribute):
            return f"{self._operand(node.value, _ATOM)}.{identifier(node.attr)}"
        if isinstance(node, ast.Call):
            return f"{self._operand(node.func, _ATOM)}({', '.join(self._arguments(node))})"
        if isinstance(node, ast.Subscript):
            return f"{self._operand(node.value, _ATOM)}[{self._slice(node.slice)}]"
        if isinstance(node, ast.List):
            return "[" + ", ".join(self.source(e) for e in node.elts) + "]"
        if isinstance(node, ast.Tuple):
            inner = ", ".join(self.source(e) for e in node.elts)
            return f"({inner},)" if len(node.elts) == 1 else f"({inner})"
        if isinstance(node, ast.Dict):
            pairs = []
            for k, v in zip(node.keys, node.values, strict=True):
                if k is None:
                    raise UnsafeValue("a dict display without a key cannot be printed")
                pairs.append(f"{self.source(k)}: {self.source(v)}")
            return "{" + ", ".join(pairs) + "}"
        if isinstance(node, ast.BinOp):
            return " ".join(self._chain_parts(node))
        if isinstance(node, ast.UnaryOp):
            space = " " if isinstance(node.op, ast.Not) else ""
            return f"{_symbol(node)}{space}{self._unary_operand(node)}"
        if isinstance(node, ast.Compare):
            left = self._operand(node.left, _CMP + 1)
            return f"{left} {_symbol(node)} {self._operand(node.comparators[0], _CMP + 1)}"
        raise UnsafeValue(f"cannot print a {type(node).__name__} node")

    def _slice(self, node: ast.expr) -> str:
        if isinstance(node, ast.Slice):
            lower = self.source(node.lower) if node.lower is not None else ""
            upper = self.source(node.upper) if node.upper is not None else ""
            return f"{lower}:{upper}"
        return self.source(node)

    def _arguments(self, node: ast.Call) -> list[str]:
        return [self.source(a) for a in node.args] + [
            f"{k.arg}={self.source(k.value)}" for k in node.keywords
        ]

    def _needs_parentheses(self, node: ast.expr, least: int, parent: ast.expr | None = None) -> bool:
        """Below ``least`` in precedence; and, for clarity, any other operator inside
        ``&`` and ``|`` (``(a == 1) | (b + 1 > 2)``) and any sign on a sign (``-(-1)``)."""
        if _precedence(node) < least:
            return True
        if isinstance(parent, ast.BinOp) and isinstance(parent.op, _BITWISE):
            return isinstance(node, ast.BinOp) and type(node.op) is not type(parent.op)
        if isinstance(parent, ast.UnaryOp):
            return _precedence(node) == _FACTOR
        return False

    def _operand(self, node: ast.expr, least: int, parent: ast.expr | None = None) -> str:
        text = self.source(node)
        return f"({text})" if self._needs_parentheses(node, least, parent) else text

    def _unary_operand(self, node: ast.UnaryOp) -> str:
        least = _NOT if isinstance(node.op, ast.Not) else _FACTOR
        return self._operand(node.operand, least, node)

    def _chain(self, node: ast.BinOp) -> list[tuple[str, ast.expr]]:
        """A left-leaning chain of one precedence, ``a + b - c``: ("", a), ("+", b), ("-", c)."""
        level = _precedence(node)
        left = node.left
        if isinstance(left, ast.BinOp) and _precedence(left) == level and not (
            isinstance(node.op, _BITWISE) and type(left.op) is not type(node.op)
        ):
            head = self._chain(left)
        else:
            head = [("", left)]
        return [*head, (_symbol(node), node.right)]

    def _chain_operand(self, node: ast.BinOp, index: int, operand: ast.expr) -> str:
        least = _precedence(node) + (1 if index else 0)  # left-associative
        return self._operand(operand, least, node)

    def _chain_parts(self, node: ast.BinOp) -> list[str]:
        parts = []
        for i, (op, operand) in enumerate(self._chain(node)):
            text = self._chain_operand(node, i, operand)
            parts.append(f"{op} {text}" if op else text)
        return parts

    # ------------------------------------------------------------ over lines

    def lines(self, node: ast.expr, column: int, head: str = "", tail: str = "") -> list[str]:
        """``head + node + tail`` as lines relative to the current line's start; ``column``
        is where the node starts on the page. Nested lines are indented one step more."""
        flat = self.source(node)
        if column + len(flat) + len(tail) <= self.width:
            return [head + flat + tail]
        if _is_literal(node):
            return self.writer.wrap(ast.literal_eval(node), column, head, tail)
        start = column - len(head)
        if isinstance(node, ast.Call):
            items: list[tuple[str, ast.expr]] = [("", a) for a in node.args]
            items += [(f"{k.arg}=", k.value) for k in node.keywords]
            opener = f"{head}{self._operand(node.func, _ATOM)}("
            return [opener, *self._items(items, start), ")" + tail]
        if isinstance(node, ast.List):
            return [head + "[", *self._items([("", e) for e in node.elts], start), "]" + tail]
        if isinstance(node, ast.BinOp):
            return self._wrapped_chain(node, start, head, tail)
        return [head + flat + tail]

    def _items(self, items: list[tuple[str, ast.expr]], start: int) -> list[str]:
        """Arguments or elements one per line, each with a trailing comma; a chain of
        operators that does not fit is put in parentheses."""
        out = []
        column = start + len(self.step)
        for key, node in items:
            if isinstance(node, ast.BinOp) and column + len(key) + len(self.source(node)) + 1 > self.width:
                lines = self._wrapped_chain(node, column, key, ",")
            else:
                lines = self.lines(node, column + len(key), key, ",")
            out += [self.step + line for line in lines]
        return out

    def _wrapped_chain(self, node: ast.BinOp, start: int, head: str, tail: str) -> list[str]:
        """``(`` the operands of a chain, one per line, the operator first, ``)``."""
        column = start + len(self.step)
        body = []
        for i, (op, operand) in enumerate(self._chain(node)):
            prefix = f"{op} " if op else ""
            least = _precedence(node) + (1 if i else 0)
            if self._needs_parentheses(operand, least, node):
                if isinstance(operand, ast.BinOp):
                    lines = self._wrapped_chain(operand, column, prefix, "")
                else:
                    lines = [prefix + "(" + self.source(operand) + ")"]
            else:
                lines = self.lines(operand, column + len(prefix), prefix)
            body += [self.step + line for line in lines]
        return [head + "(", *body, ")" + tail]

    def statement(self, node: ast.stmt, start: int) -> list[str]:
        """An assignment, a return or an expression as lines; ``start`` is the column of the line."""
        if isinstance(node, ast.Assign):
            head = " = ".join(self.source(t) for t in node.targets) + " = "
            return self._value(node.value, start, head)
        if isinstance(node, ast.Return) and node.value is not None:
            return self._value(node.value, start, "return ")
        if isinstance(node, ast.Expr):
            return self._value(node.value, start, "")
        raise UnsafeValue(f"cannot print a {type(node).__name__} statement")

    def _value(self, node: ast.expr, start: int, head: str) -> list[str]:
        """The right side of a statement: a tuple without parentheses, its last element
        wrapped; a chain of operators in parentheses when it does not fit."""
        if isinstance(node, ast.Tuple) and len(node.elts) > 1:
            head += "".join(self.source(e) + ", " for e in node.elts[:-1])
            node = node.elts[-1]
        if isinstance(node, ast.BinOp) and start + len(head) + len(self.source(node)) > self.width:
            return self._wrapped_chain(node, start, head, "")
        return self.lines(node, start + len(head), head)
