"""The survey model: one frozen pydantic class per construct of the language.

The model is faithful to what the author wrote (a grid is a grid, a recode keeps
its rules); lowering into variables and lookup tables lives in ``lower.py``.
Every node carries a ``span`` (file, line, column, end) that is left out of the
exported IR, so two specs that say the same thing export the same JSON.

Nodes are built by the parser with ``Node.build`` (no validation: the parser
has already enforced their shape); ``tests/test_model.py`` validates every node of the KVP
spec against its declared schema so the two cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal, NamedTuple, Self

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer


class Span(NamedTuple):
    """Where a node stands in its source file (1-based lines and columns).

    A named tuple rather than a model: the parser makes one per node, and it is
    never exported.
    """

    file: str = "<spec>"
    line: int = 1
    column: int = 1
    end_line: int = 1
    end_column: int = 1


class Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    span: Span | None = Field(default=None, exclude=True, repr=False)

    @classmethod
    def build(cls, **values: Any) -> Self:
        """Make a node from values the parser has already checked, without validation.

        ``model_construct`` does the same generically; this is its fast path
        for the one case the parser needs (all values given or defaulted, no
        aliases, no private attributes), measured about 3x faster.
        """
        fields = cls.__dict__.get("_kvp_fields")
        if fields is None:
            fields = tuple(
                (name, f.is_required(), f.default) for name, f in cls.model_fields.items()
            )
            type.__setattr__(cls, "_kvp_fields", fields)
        obj = cls.__new__(cls)
        data = {}
        for name, required, default in fields:
            if name in values:
                data[name] = values[name]
            elif not required:
                data[name] = type(default)(default) if isinstance(default, (dict, list, set)) else default
        _setattr(obj, "__dict__", data)
        _setattr(obj, "__pydantic_fields_set__", set(values))
        _setattr(obj, "__pydantic_extra__", None)
        _setattr(obj, "__pydantic_private__", None)
        return obj


_setattr = object.__setattr__


# ---------------------------------------------------------------- text


class Text(Node):
    """User text with optional translations: ``"Norge" @en "Norway"``.

    ``{name}`` inside the text is a fill: a sample field, an earlier answer or,
    in documents, a study fact such as ``{institute.contact}``.
    """

    text: str
    translations: dict[str, str] = {}

    def get(self, language: str | None = None) -> str:
        if language and language in self.translations:
            return self.translations[language]
        return self.text


_FILL_RE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def split_fills(text: str) -> list[tuple[str, str]]:
    """A label as ``("text", ...)`` and ``("fill", name)`` parts; ``{{``/``}}`` are braces."""
    parts: list[tuple[str, str]] = []
    pos = 0
    for mo in _FILL_RE.finditer(text):
        if mo.start() > pos:
            parts.append(("text", text[pos:mo.start()]))
        token = mo.group(0)
        if token == "{{":
            parts.append(("text", "{"))
        elif token == "}}":
            parts.append(("text", "}"))
        else:
            parts.append(("fill", (mo.group(1) or "").strip()))
        pos = mo.end()
    if pos < len(text):
        parts.append(("text", text[pos:]))
    merged: list[tuple[str, str]] = []
    for kind, value in parts:
        if merged and kind == "text" and merged[-1][0] == "text":
            merged[-1] = ("text", merged[-1][1] + value)
        else:
            merged.append((kind, value))
    return merged


# ---------------------------------------------------------------- expressions


class Literal_(Node):
    node: Literal["literal"] = "literal"
    value: int | float | str | bool


class Ref(Node):
    node: Literal["ref"] = "ref"
    name: str


class Call(Node):
    node: Literal["call"] = "call"
    func: str
    args: tuple[Expr, ...] = ()


class Unary(Node):
    node: Literal["unary"] = "unary"
    op: Literal["not", "-"]
    operand: Expr
    #: routing's "does not hold" (an `else` block, a goto's skip): true when the operand
    #: is false or UNKNOWN, where an author's `not` keeps UNKNOWN; never written, not exported
    holds: bool = Field(default=False, exclude=True, repr=False)


class Binary(Node):
    node: Literal["binary"] = "binary"
    op: Literal["+", "-", "*", "/"]
    left: Expr
    right: Expr


class Compare(Node):
    node: Literal["compare"] = "compare"
    op: Literal["==", "!=", "<", "<=", ">", ">="]
    left: Expr
    right: Expr


class ValueSpec(Node):
    """One item of a value set: ``3``, ``2..5``, ``..24``, ``56..``, ``"x"``, ``else``."""

    kind: Literal["single", "range", "upto", "from", "string", "else"]
    low: int | float | None = None
    high: int | float | None = None
    text: str | None = None

    def contains(self, value: float) -> bool:
        """Does this value item take ``value`` (bounds included)?"""
        if self.kind == "else":
            return True
        if self.kind == "string":
            return False
        # written as "not outside" so that NaN, which compares false, stays inside as before
        below = self.low is not None and value < self.low
        above = self.high is not None and value > self.high
        return not (below or above)


class In(Node):
    node: Literal["in"] = "in"
    operand: Expr
    values: tuple[ValueSpec, ...]
    negated: bool = False


class BoolOp(Node):
    node: Literal["boolop"] = "boolop"
    op: Literal["and", "or"]
    operands: tuple[Expr, ...]


class Test(Node):
    """``q4_other is answered``, ``q3 is not missing``, ``q1 is dont_know``."""

    node: Literal["test"] = "test"
    operand: Expr
    test: str
    negated: bool = False


class Missing_(Node):
    """The value literal ``missing``: an expression with no value (a derived value left missing)."""

    node: Literal["missing"] = "missing"


AggregateFunc = Literal["count", "sum", "min", "max", "any", "all"]
#: The aggregate functions, callable over a list (``count(a, b)``) or a roster (``sum(c2 over child)``).
AGGREGATES: tuple[str, ...] = ("count", "sum", "min", "max", "any", "all")


class Aggregate(Node):
    """An aggregate over a roster's iterations: ``count(c2 <= 6 over child)``.

    Lowering rewrites it to the list form ``m.Call(func, (e_1, ..., e_max))``.
    """

    node: Literal["aggregate"] = "aggregate"
    func: AggregateFunc
    operand: Expr
    roster: str


class Conditional(Node):
    """``if condition then then else otherwise``; an UNKNOWN condition gives missing."""

    node: Literal["conditional"] = "conditional"
    condition: Expr
    then: Expr
    otherwise: Expr


Expr = Annotated[
    Literal_
    | Ref
    | Call
    | Unary
    | Binary
    | Compare
    | In
    | BoolOp
    | Test
    | Missing_
    | Aggregate
    | Conditional,
    Field(discriminator="node"),
]

# ---------------------------------------------------------------- study metadata


class Period(Node):
    start: str
    end: str


class Organisation(Node):
    name: Text | None = None
    short: str | None = None
    department: Text | None = None
    address: Text | None = None
    contact: Text | None = None
    email: str | None = None
    phone: str | None = None
    web: str | None = None


class Study(Node):
    title: Text | None = None
    subtitle: Text | None = None
    sponsor: Organisation | None = None
    client: Organisation | None = None
    institute: Organisation | None = None
    agency: Organisation | None = None
    period: Period | None = None
    minutes: int | None = None
    mode: str | None = None
    population: Text | None = None
    privacy: Text | None = None
    languages: tuple[str, ...] = ()
    report: Text | None = None
    version: str | None = None


#: Study fields that hold an organisation, whose own fields a fill can name.
ORGANISATIONS: tuple[str, ...] = ("sponsor", "client", "institute", "agency")
#: Every study fact a document fill can name: ``{minutes}``, ``{institute.contact}``.
STUDY_FACTS: tuple[str, ...] = tuple(
    [name for name in Study.model_fields if name not in ORGANISATIONS + ("span", "languages")]
    + [f"{o}.{f}" for o in ORGANISATIONS for f in Organisation.model_fields if f != "span"]
)


def study_fact(study: Study | None, name: str) -> object:
    """The value of the study fact ``name`` (``None`` when the spec does not give
    it); a ``KeyError`` when no such fact exists."""
    if name not in STUDY_FACTS:
        raise KeyError(name)
    value: object = study
    for part in name.split("."):
        value = getattr(value, part, None) if value is not None else None
    return value


# ---------------------------------------------------------------- scales, options

MissingKind = Literal["dont_know", "refused", "not_applicable"]
MISSING_KINDS: tuple[str, ...] = ("dont_know", "refused", "not_applicable")


class Specify(Node):
    """The follow-up text of an 'other, specify' option: ``specify q4_other "NOTÉR"``."""

    name: str
    label: Text | None = None


class Option(Node):
    code: int
    label: Text
    missing: MissingKind | None = None
    specify: Specify | None = None
    goto: str | None = None
    end: int | None = None
    exclusive: bool = False
    #: where the goto's target is written, for diagnostics about it (not exported)
    goto_span: Span | None = Field(default=None, exclude=True, repr=False)


class CodeRange(Node):
    low: int
    high: int


class ReadAloud(Node):
    """Which options the interviewer reads out (``read 1..4``); ``none`` reads none."""

    ranges: tuple[CodeRange, ...] = ()
    none: bool = False

    def codes(self) -> set[int]:
        out: set[int] = set()
        for r in self.ranges:
            out.update(range(r.low, r.high + 1))
        return out


class Scale(Node):
    name: str
    label: Text | None = None
    options: tuple[Option, ...] = ()
    read: ReadAloud | None = None


# ---------------------------------------------------------------- interview items

QuestionKind = Literal["single", "multiple", "integer", "decimal", "text"]


class NumRange(Node):
    low: int | float
    high: int | float


class Question(Node):
    node: Literal["question"] = "question"
    name: str
    kind: QuestionKind | None = None
    label: Text
    scale: str | None = None
    options: tuple[Option, ...] = ()
    read: ReadAloud | None = None
    notes: tuple[Text, ...] = ()
    instructions: tuple[Text, ...] = ()
    range: NumRange | None = None
    condition: Expr | None = None
    number: str | None = None
    recorded: bool = False


class GridItem(Node):
    name: str
    label: Text


class Grid(Node):
    node: Literal["grid"] = "grid"
    name: str
    label: Text | None = None
    scale: str
    items: tuple[GridItem, ...] = ()
    read: ReadAloud | None = None
    notes: tuple[Text, ...] = ()
    instructions: tuple[Text, ...] = ()
    condition: Expr | None = None
    number: str | None = None


class Say(Node):
    node: Literal["say"] = "say"
    text: Text


class Instruction(Node):
    node: Literal["instruction"] = "instruction"
    text: Text


class Heading(Node):
    node: Literal["heading"] = "heading"
    text: Text


class IfBlock(Node):
    node: Literal["if"] = "if"
    condition: Expr
    then: tuple[Item, ...] = ()
    otherwise: tuple[Item, ...] | None = None


class Section(Node):
    node: Literal["section"] = "section"
    title: Text
    items: tuple[Item, ...] = ()


class Intro(Node):
    """The introduction and screener: its questions route the call, not the data."""

    node: Literal["intro"] = "intro"
    items: tuple[Item, ...] = ()


class Closing(Node):
    node: Literal["closing"] = "closing"
    items: tuple[Item, ...] = ()


class Roster(Node):
    """A loop over the items of its body: ``roster child "Barn" for 1..c1 max 10 { ... }``.

    ``for 1..COUNT``: COUNT is an integer question asked before the roster
    (``count`` holds its name) or a number; ``max`` bounds the iterations. ``over
    { 1 "Mor" 2 "Far" }``: one iteration per option (``options``). Inside, the
    fill ``{name}`` is the iteration number (the option's label for a list).
    Lowering unrolls it into one column per iteration (``c2_1``, ``c2_2``, ...).
    """

    node: Literal["roster"] = "roster"
    name: str
    label: Text
    count: str | int | None = None
    max: int | None = None
    options: tuple[Option, ...] = ()
    items: tuple[Item, ...] = ()
    #: where COUNT is written, for diagnostics about it (not exported)
    count_span: Span | None = Field(default=None, exclude=True, repr=False)

    @property
    def size(self) -> int:
        """How many iterations the data hold: the list's length, the number, else ``max``."""
        if self.options:
            return len(self.options)
        if isinstance(self.count, int):
            return self.count
        return self.max or 0


Item = Annotated[
    Question | Grid | Say | Instruction | Heading | IfBlock | Section | Intro | Closing | Roster,
    Field(discriminator="node"),
]


class Interview(Node):
    items: tuple[Item, ...] = ()


def walk_items(items: tuple[Item, ...] | None, *, rosters: bool = True) -> Iterator[Item]:
    """Every interview item in document order, blocks entered (roster bodies
    too unless ``rosters`` is false: the roster itself is still yielded)."""
    for item in items or ():
        yield item
        if isinstance(item, (Section, Intro, Closing)) or (rosters and isinstance(item, Roster)):
            yield from walk_items(item.items, rosters=rosters)
        elif isinstance(item, IfBlock):
            yield from walk_items(item.then, rosters=rosters)
            yield from walk_items(item.otherwise, rosters=rosters)


# ---------------------------------------------------------------- fieldwork

SampleKind = Literal["single", "multiple", "integer", "decimal", "text"]


class SampleField(Node):
    name: str
    kind: SampleKind | None = None
    label: Text
    personal: bool = False
    formula: Expr | None = None
    options: tuple[Option, ...] = ()


class Disposition(Node):
    code: int
    label: Text
    aapor: str


AAPOR_CATEGORIES: dict[str, str] = {
    "I": "complete interview",
    "P": "partial interview",
    "R": "refusal or break-off",
    "NC": "non-contact",
    "O": "other eligible non-interview",
    "UH": "unknown if eligible (no answer, not reached)",
    "UO": "unknown eligibility, other",
    "NE": "not eligible",
}
AAPOR_RATES: tuple[str, ...] = ("RR1", "RR2", "RR3", "RR4", "RR5", "RR6")


class Rate(Node):
    name: str
    label: Text
    aapor: str | None = None
    eligibility: float | None = None
    formula: Expr | None = None


class Fieldwork(Node):
    sample: tuple[SampleField, ...] = ()
    dispositions: tuple[Disposition, ...] = ()
    rates: tuple[Rate, ...] = ()


# ---------------------------------------------------------------- recodes, derived


class RecodeRule(Node):
    values: tuple[ValueSpec, ...]
    code: int
    label: Text
    missing: MissingKind | None = None


class Recode(Node):
    """A recode of one variable (``from q11``) or a reusable one over a scale
    (``from scale enig``), applied as ``enig2(q10a)``."""

    name: str
    label: Text | None = None
    source: str
    source_is_scale: bool = False
    rules: tuple[RecodeRule, ...] = ()


class Derive(Node):
    name: str
    label: Text | None = None
    expr: Expr


# ---------------------------------------------------------------- data rules


class Respondent(Node):
    """The column that identifies an interview in the response data."""

    name: str
    kind: Literal["integer", "text"] = "integer"
    label: Text


class ExpectRule(Node):
    """One rule of an expectation.

    ``holds``: ``left`` is true; ``if``: if ``left`` then ``right``;
    ``only_when``: ``left`` only when ``right`` (left implies right);
    ``exactly_when``: ``left`` exactly when ``right``.
    """

    kind: Literal["holds", "if", "only_when", "exactly_when"]
    left: Expr
    right: Expr | None = None


class Expectation(Node):
    """A property every interview must have; ``kvpspec test`` checks it."""

    name: str
    label: Text
    rule: ExpectRule


class Warning_(Node):
    """An interview-time check: ``warn`` (soft: the interviewer confirms or goes
    back; ``validate`` warns) or, with ``hard``, ``error`` (the interview cannot
    go on; ``validate`` reports an error). It fires where ``condition`` holds;
    ``label`` may fill earlier answers (``"Du sa {b2} timer"``)."""

    name: str
    label: Text
    condition: Expr
    hard: bool = False

    @property
    def keyword(self) -> str:
        return "error" if self.hard else "warn"

    @model_serializer(mode="wrap")
    def _without_soft(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """The IR leaves ``hard`` out of a soft check: its content hash is as before hard checks."""
        data = handler(self)
        if not self.hard:
            data.pop("hard", None)
        return data


# ---------------------------------------------------------------- analyses


class Term(Node):
    """A variable in an analysis, possibly through a scale recode: ``enig2(q10a)``, or a
    roster's variable over its roster, every answered iteration stacked: ``c2 over child``.
    The IR leaves ``roster`` out when there is none, so older specs keep their content hash."""

    name: str
    recode: str | None = None
    roster: str | None = None

    @property
    def display(self) -> str:
        if self.roster:
            return f"{self.name} over {self.roster}"
        return f"{self.recode}({self.name})" if self.recode else self.name

    @model_serializer(mode="wrap")
    def _without_default_roster(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        if self.roster is None:
            data.pop("roster", None)
        return data


#: The chart kinds an analysis statement may ask for (``frequencies q10a chart diverging``).
CHART_KINDS = ("bar", "diverging", "stacked", "histogram", "none")


class Chart(Node):
    """The figure a statement asks for: ``chart KIND``, one of ``CHART_KINDS``."""

    kind: str


class _Charted(Node):
    """A statement that may choose its chart; the IR leaves ``chart`` out when none
    is chosen, so a spec without charts has the content hash it had before them."""

    chart: Chart | None = None

    @model_serializer(mode="wrap")
    def _without_default_chart(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        if self.chart is None:
            data.pop("chart", None)
        return data


class Frequencies(_Charted):
    node: Literal["frequencies"] = "frequencies"
    terms: tuple[Term, ...]


class Crosstab(_Charted):
    node: Literal["crosstab"] = "crosstab"
    row: Term
    column: Term
    test: str | None = None


class Summary(_Charted):
    node: Literal["summary"] = "summary"
    terms: tuple[Term, ...]


class Rates(Node):
    node: Literal["rates"] = "rates"
    names: tuple[str, ...]


class AnalysisNote(Node):
    node: Literal["note"] = "note"
    text: Text


AnalysisStatement = Annotated[
    Frequencies | Crosstab | Summary | Rates | AnalysisNote, Field(discriminator="node")
]


class Analysis(Node):
    name: str
    label: Text
    statements: tuple[AnalysisStatement, ...] = ()


# ---------------------------------------------------------------- documents

DocBlockKind = Literal[
    "title",
    "heading",
    "paragraph",
    "list",
    "numbered",
    "signature",
    "blanks",
    "table",
    "tally",
    "pagebreak",
]


class DocBlock(Node):
    """One block of a document; ``table`` lists sample fields as columns."""

    kind: DocBlockKind
    texts: tuple[Text, ...] = ()
    names: tuple[str, ...] = ()


class Document(Node):
    name: str
    title: Text
    kind: str | None = None
    blocks: tuple[DocBlock, ...] = ()


# ---------------------------------------------------------------- the spec


class Spec(Node):
    name: str
    title: Text
    study: Study | None = None
    scales: tuple[Scale, ...] = ()
    interview: Interview | None = None
    fieldwork: Fieldwork | None = None
    respondent: Respondent | None = None
    recodes: tuple[Recode, ...] = ()
    derives: tuple[Derive, ...] = ()
    expectations: tuple[Expectation, ...] = ()
    warnings: tuple[Warning_, ...] = ()
    analyses: tuple[Analysis, ...] = ()
    documents: tuple[Document, ...] = ()

