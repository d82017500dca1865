"""An XLSForm as a spec: ``import_xlsform(path) -> Imported`` (the formatted spec and its notes).

The form is read (``xlsform.read_workbook``), its rows become a tree of
questions, groups and repeats, and the tree is written as spec text: one
line at a time, each line tagged with the construct it comes from. The text
is then compiled; an error at a tagged line *degrades* that construct (a
guard becomes a comment, a check or a derived variable becomes a comment,
a question becomes a comment) and the text is written again, until the spec
compiles without errors. So the result always passes ``kvpspec check``, and
what could not be carried is a comment in the spec and a ``Note`` with the
form's sheet, row and column. Finally the text is run through the formatter.

The mapping (docs/xlsform.md, "Import"):

* ``select_one L`` / ``select_multiple L`` -> ``single`` / ``multiple``; a list
  used by two or more questions becomes a ``scale``. Choice names that are all
  whole numbers >= 0 are the codes; otherwise the choices are numbered 1, 2, ...
  in order and a comment above the options records ``code = name``.
  ``or_other`` adds an option ``Other`` with ``specify NAME_other``.
* ``integer`` / ``decimal`` / ``range`` -> ``integer`` / ``decimal``; a
  constraint that only bounds ``.`` from both sides (``. >= 0 and . <= 120``)
  -> ``range``; any other constraint -> ``error NAME_constraint ... if NAME is
  answered and not (C)`` with the ``constraint_message``.
* ``text`` -> ``text``; ``date``, ``time``, ``datetime``, ``barcode`` -> ``text``
  with a note; ``note`` -> ``say``; ``hint`` -> ``instruction``,
  ``guidance_hint`` -> ``note``.
* ``relevant`` -> ``ask if`` (on a group: an ``if`` block); a group with a label
  -> ``section``; ``begin repeat`` -> ``roster`` (``repeat_count`` a number ->
  ``for 1..N``; an integer question -> ``for 1..Q max M``; otherwise a count
  question ``NAME_count`` is added).
* ``calculate`` -> ``derive``; a calculate read by ``relevant`` is rendered in
  place (derived variables cannot steer routing).
* ``label::Lang (xx)`` columns -> ``@xx`` translations; ``default_language``
  (settings) is the main language.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kvpspec.compile import Compiled, compile_text
from kvpspec.diagnostics import InputError, SpecError
from kvpspec.interchange import xpath as xp
from kvpspec.interchange.xlsform import Position, Row, Sheet, Workbook, column_letter, read_workbook
from kvpspec.syntax.formatter import format_spec, quote
from kvpspec.syntax.parser import parse_expr


@dataclass(frozen=True)
class Note:
    """Something of the form the spec does not carry (or carries differently), at its cell."""

    position: Position
    message: str

    def __str__(self) -> str:
        p = self.position
        return f"{p.sheet} sheet, row {p.row}, column {p.column}: {self.message}"


@dataclass(frozen=True)
class Imported:
    """The spec text (formatted; it passes ``check``) and the notes, in form order."""

    spec: str
    notes: tuple[Note, ...]


class ImportError_(InputError):
    """An XLSForm that cannot be imported at all (no survey sheet, no type column, a bad expression)."""


# ---------------------------------------------------------------- names and texts

KEYWORDS = set(["survey", "study", "scale", "read", "none", "missing", "specify", "goto", "end", "exclusive", "interview", "intro", "closing", "section", "if", "else", "say", "instruction", "heading", "question", "note", "range", "ask", "number", "recorded", "grid", "roster", "for", "max", "over", "single", "multiple", "integer", "decimal", "text", "fieldwork", "sample", "field", "personal", "dispositions", "aapor", "rate", "eligibility", "recode", "from", "derive", "analysis", "frequencies", "crosstab", "by", "test", "summary", "chart", "respondent", "expect", "then", "only", "exactly", "when", "warn", "error", "document", "kind", "title", "paragraph", "list", "numbered", "signature", "blanks", "table", "tally", "pagebreak", "and", "or", "not", "in", "is", "true", "false", "answered", "dont_know", "refused", "not_applicable"])
# `count`, `sum`, `min`, `max`, `any` and `all` name functions, and may name a variable too

_NAME_BAD = re.compile(r"[^A-Za-z0-9_]")

LANGUAGE_CODES = {
    "english": "en", "french": "fr", "francais": "fr", "français": "fr", "spanish": "es", "español": "es",
    "espanol": "es", "portuguese": "pt", "português": "pt", "swahili": "sw", "kiswahili": "sw", "arabic": "ar",
    "hindi": "hi", "norsk": "nb", "norwegian": "nb", "bokmål": "nb", "nynorsk": "nn", "german": "de",
    "deutsch": "de", "indonesia": "id", "indonesian": "id", "bahasa": "id", "chinese": "zh", "russian": "ru",
    "italian": "it", "dutch": "nl", "amharic": "am", "bengali": "bn", "bangla": "bn", "nepali": "ne",
    "somali": "so", "hausa": "ha", "yoruba": "yo", "igbo": "ig", "zulu": "zu", "kinyarwanda": "rw",
    "luganda": "lg", "urdu": "ur", "turkish": "tr", "persian": "fa", "farsi": "fa", "dari": "prs",
    "pashto": "ps", "vietnamese": "vi", "thai": "th", "burmese": "my", "khmer": "km", "tigrinya": "ti",
    "oromo": "om", "chichewa": "ny", "malagasy": "mg", "lingala": "ln", "sango": "sg", "wolof": "wo",
    "bambara": "bm", "fulfulde": "ff", "tetum": "tet", "tagalog": "tl", "filipino": "fil", "sinhala": "si",
    "tamil": "ta", "telugu": "te", "marathi": "mr", "gujarati": "gu", "punjabi": "pa", "polish": "pl",
    "ukrainian": "uk", "greek": "el", "hebrew": "he", "japanese": "ja", "korean": "ko", "swedish": "sv",
    "danish": "da", "finnish": "fi", "romanian": "ro", "hungarian": "hu", "czech": "cs",
}
_TAG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def language_code(name: str) -> str | None:
    """The spec's ``@`` tag for an XLSForm language name (``English (en)``, ``French``), or None."""
    mt = re.search(r"\(([^()]*)\)\s*$", name)
    if mt:
        code = mt.group(1).strip()
        lowered = code.lower()
        if "-" in code:
            head, _, region = code.partition("-")
            code = f"{head.lower()}-{region}"
        else:
            code = lowered
        if _TAG_RE.match(code):
            return code
    base = re.sub(r"\(.*\)\s*$", "", name).strip().lower()
    if _TAG_RE.match(base):
        return base
    return LANGUAGE_CODES.get(base)


class Names:
    """Spec names for XLSForm names: valid, not keywords, unique across everything declared."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self.of: dict[str, str] = {}

    def new(self, wanted: str, key: str | None = None) -> str:
        name = _NAME_BAD.sub("_", wanted.strip()) or "x"
        if not re.match(r"[A-Za-z_]", name):
            name = f"x{name}" if name[0].isdigit() else f"x_{name}"
        if name in KEYWORDS:
            name += "_"
        base, n = name, 2
        while name in self.used:
            name = f"{base}_{n}"
            n += 1
        self.used.add(name)
        if key is not None:
            self.of[key] = name
        return name


_FILL_RE = re.compile(r"\$\{\s*([^}\s]+)\s*\}")


MISSING_KINDS = ("dont_know", "refused", "not_applicable")


def kvpspec_facts(cell: str) -> dict[str, list[str]]:
    """The export's `kvpspec` column: ``field single L; personal`` as ``{"field": ["single", "L"], "personal": []}``."""
    out: dict[str, list[str]] = {}
    for part in (cell or "").split(";"):
        words = part.split()
        if words:
            out.setdefault(words[0], words[1:])
    return out


def _refs(node: object) -> set[str]:
    """The names an XPath tree reads (``${name}``)."""
    if isinstance(node, xp.Ref):
        return {node.name}
    out: set[str] = set()
    if dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            for v in value if isinstance(value, tuple) else (value,):
                out |= _refs(v)
    return out


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------- the form as a tree


@dataclass
class Choice:
    name: str
    labels: dict[str | None, str]
    row: Row
    #: the kind of a missing code, from the export's `kvpspec` column (``missing dont_know``)
    missing: str = ""


@dataclass
class ChoiceList:
    name: str
    choices: list[Choice]
    codes: dict[str, int] = field(default_factory=dict)
    numbered: bool = False  # codes are 1..n, not the choice names
    spec_name: str = ""
    uses: int = 0


@dataclass
class Item:
    row: Row
    kind: str  # question kinds, "note", "calculate", "group", "repeat", "unsupported"
    xname: str
    name: str = ""
    list_name: str | None = None
    or_other: bool = False
    children: list[Item] = field(default_factory=list)
    rosters: tuple[str, ...] = ()
    range: tuple[float, float] | None = None
    note: str = ""  # for "unsupported": why

    def cell(self, column: str) -> str:
        return self.row.get(column)


_QUESTION_TYPES = {
    "text": "text", "string": "text", "integer": "integer", "int": "integer", "decimal": "decimal",
    "phone number": "text", "phonenumber": "meta", "date": "text*", "time": "text*", "datetime": "text*",
    "datetime ": "text*", "barcode": "text*", "email": "meta",
}
_META = {"start", "end", "today", "deviceid", "subscriberid", "simserial", "phonenumber", "username", "email",
         "audit", "start-geopoint", "imei", "uri:deviceid", "uri:email", "uri:phonenumber", "uri:username",
         "uri:subscriberid", "uri:simserial", "instanceid"}
_NO_COUNTERPART = {
    "geopoint": "a location", "geotrace": "a line on a map", "geoshape": "an area on a map",
    "image": "a photo", "photo": "a photo", "audio": "a sound recording", "video": "a video", "file": "a file",
    "background-audio": "a background recording", "background-geopoint": "a background location",
    "acknowledge": "an acknowledgement", "trigger": "an acknowledgement",
    "xml-external": "an external data file", "csv-external": "an external data file",
    "signature": "a signature", "osm": "an OpenStreetMap feature",
}


def _type_parts(raw: str) -> tuple[str, str | None, bool]:
    """(base type, list name, or_other) of a type cell."""
    text = _one_line(raw).strip()
    low = text.lower()
    or_other = False
    for suffix in (" or_other", " or specify other"):
        if low.endswith(suffix):
            or_other = True
            text, low = text[: -len(suffix)].strip(), low[: -len(suffix)].strip()
    for prefix, base in (("select one from ", "select_one"), ("select all that apply from ", "select_multiple"),
                         ("select_one_from_file ", "select_one_from_file"),
                         ("select_multiple_from_file ", "select_multiple_from_file"),
                         ("select_one ", "select_one"), ("select1 ", "select_one"),
                         ("select_multiple ", "select_multiple"), ("select all that apply ", "select_multiple"),
                         ("rank ", "rank"), ("begin loop over ", "loop")):
        if low.startswith(prefix):
            return base, text[len(prefix):].strip(), or_other
    low = low.replace("_", " ")
    aliases = {"begin group": "begin group", "end group": "end group", "begin repeat": "begin repeat",
               "end repeat": "end repeat", "begin loop": "loop", "end loop": "end loop", "select all that apply": "select_multiple"}
    if low in aliases:
        return aliases[low], None, or_other
    return low.replace(" ", "-") if low in ("background audio", "background geopoint", "start geopoint") else low, None, or_other


# ---------------------------------------------------------------- the importer


class _Importer:
    def __init__(self, wb: Workbook, stem: str):
        self.wb = wb
        self.stem = stem
        #: what reading changed (repeated headers, formulas without a value, dropped choices)
        self.notes: list[Note] = [Note(pos, msg) for sheet in wb.sheets.values() for pos, msg in sheet.notes]
        survey = wb.sheet("survey")
        if survey is None:
            found = ", ".join(sorted(s.name for s in wb.sheets.values())) or "none"
            raise ImportError_(f"{wb.path}: no `survey` sheet (sheets found: {found}); is this an XLSForm?")
        self.survey = survey
        for column in ("type", "name"):
            if column not in survey.headers:
                raise ImportError_(f"{wb.path}: survey sheet, row 1: no `{column}` column (headers: {', '.join(h for h in survey.headers if h) or 'none'})")
        self.settings: dict[str, str] = {}
        settings = wb.sheet("settings")
        if settings is not None and settings.rows:
            self.settings = {k: v for k, v in settings.rows[0].cells.items() if v}
        self._languages()
        self.lists = self._read_choices()
        #: the export's recodes over a scale: recode name -> (its codes' list, the scale's list, rules)
        self.scale_recodes: dict[str, tuple[str, str, list[str]]] = {}
        for lst in self.lists.values():
            facts = [kvpspec_facts(c.row.get("kvpspec")) for c in lst.choices]
            head = facts[0].get("recode", []) if facts else []
            if (len(head) == 2 and head[1] in self.lists and all(f.get("recode") == head for f in facts)
                    and facts[0].get("rules")):
                self.scale_recodes.setdefault(head[0], (lst.name, head[1], facts[0]["rules"]))
        self.recode_scales = {scale for _, scale, _ in self.scale_recodes.values()}
        self.root = self._tree()

    # -- languages

    def _languages(self) -> None:
        langs: list[str] = []
        for sheet in (self.survey, self.wb.sheet("choices")):
            if sheet is None:
                continue
            for h in sheet.headers:
                if "::" in h:
                    base, lang = h.split("::", 1)
                    if base in ("label", "hint", "guidance_hint", "constraint_message", "required_message") and lang not in langs:
                        langs.append(lang)
        bare = "label" in self.survey.headers
        default = self.settings.get("default_language", "")
        if bare:
            self.main: str | None = None
        elif default and default in langs:
            self.main = default
        else:
            self.main = langs[0] if langs else None
        self.main_code = language_code(default) if bare and default else (language_code(self.main) if self.main else None)
        self.translations: dict[str, str] = {}
        self.dropped_languages: list[str] = []
        for lang in langs:
            if lang == self.main:
                continue
            code = language_code(lang)
            if code is None or code == self.main_code or code in self.translations.values():
                self.dropped_languages.append(lang)
            else:
                self.translations[lang] = code

    def texts(self, row: Row, column: str) -> dict[str | None, str]:
        """The texts of a column in every language: None for the main language."""
        out: dict[str | None, str] = {}
        main = row.get(column) if self.main is None else row.get(f"{column}::{self.main}")
        if not main and self.main is None:
            pass
        out[None] = main
        for lang in self.translations:
            value = row.get(f"{column}::{lang}")
            if value:
                out[lang] = value
        if not out[None]:
            # a column given only in other languages, or only bare
            alt = row.get(column) or next((v for k, v in out.items() if k and v), "")
            out[None] = alt
        return out

    # -- choices

    def _read_choices(self) -> dict[str, ChoiceList]:
        lists: dict[str, ChoiceList] = {}
        sheet = self.wb.sheet("choices")
        if sheet is None:
            return lists
        if sheet.rows and "list_name" not in sheet.headers:
            raise ImportError_(f"{self.wb.path}: choices sheet, row 1: no `list_name` column")
        for row in sheet.rows:
            lname, name = row.get("list_name"), row.get("name")
            if not lname:
                continue
            lst = lists.setdefault(lname, ChoiceList(lname, []))
            if not name:
                if "name" not in row.formulas:  # a formula without a value has its own note
                    self.notes.append(Note(row.at("name"), f"a choice of `{lname}` without a name ({_one_line(row.get('label')) or 'no label'}); left out"))
                continue
            if any(c.name == name for c in lst.choices):
                self.notes.append(Note(row.at("name"), f"the choice name `{name}` repeats an earlier choice of `{lname}`; this row is left out"))
                continue
            facts = kvpspec_facts(row.get("kvpspec"))
            kind = facts.get("missing", [""])[0]
            lst.choices.append(Choice(name, self.texts(row, "label"), row, kind if kind in MISSING_KINDS else ""))
        for lst in lists.values():
            names = [c.name for c in lst.choices]
            if names and all(re.fullmatch(r"\d+", n) for n in names) and len({int(n) for n in names}) == len(names):
                lst.codes = {n: int(n) for n in names}
            else:
                lst.codes = {n: i + 1 for i, n in enumerate(names)}
                lst.numbered = True
        return lists

    # -- the survey tree

    def _tree(self) -> Item:
        root = Item(self.survey.rows[0] if self.survey.rows else Row("survey", 1, {}, {}), "group", "")
        stack = [root]
        for row in self.survey.rows:
            raw = row.get("type")
            if not raw:
                continue
            base, lst, or_other = _type_parts(raw)
            xname = row.get("name")
            if base in ("begin group", "begin repeat", "loop"):
                kind = "group" if base == "begin group" else "repeat"
                over = kvpspec_facts(row.get("kvpspec")).get("over", [])
                if base == "begin repeat" and over and over[0] in self.lists:
                    lst = over[0]  # the export's roster over a list: read as a loop over it
                item = Item(row, kind, xname, list_name=lst)
                if base == "loop" and lst not in self.lists:
                    item.note = f"the loop's choice list `{lst}` is not on the choices sheet"
                stack[-1].children.append(item)
                stack.append(item)
                continue
            if base in ("end group", "end repeat", "end loop"):
                if len(stack) == 1:
                    raise ImportError_(f"{self.wb.path}: survey sheet, row {row.number}, column {row.letters.get('type', 'A')}: `{raw}` without a matching begin")
                stack.pop()
                continue
            if base in ("select_one", "select_multiple"):
                kind = "single" if base == "select_one" else "multiple"
                if lst not in self.lists:
                    item = Item(row, "unsupported", xname, note=f"the choice list `{lst}` is not on the choices sheet")
                else:
                    item = Item(row, kind, xname, list_name=lst, or_other=or_other)
                    self.lists[lst].uses += 1
            elif base in _QUESTION_TYPES and _QUESTION_TYPES[base] != "meta":
                kind = _QUESTION_TYPES[base].rstrip("*")
                item = Item(row, kind, xname)
            elif base == "range":
                item = self._range(row, xname)
            elif base == "note":
                item = Item(row, "note", xname)
            elif base == "hidden":
                item = Item(row, "sample", xname)
            elif base == "calculate":
                item = Item(row, "calculate", xname)
            elif base in _META or base in _QUESTION_TYPES:
                item = Item(row, "unsupported", xname, note="form metadata (collected by the device, not asked)")
            elif base in _NO_COUNTERPART:
                item = Item(row, "unsupported", xname, note=f"`{base}` asks for {_NO_COUNTERPART[base]}, which a spec question cannot hold")
            elif base in ("select_one_from_file", "select_multiple_from_file"):
                item = Item(row, "unsupported", xname, note="its choices live in an external file")
            elif base == "rank":
                item = Item(row, "unsupported", xname, note="a ranking (the spec has no ordered answers)")
            else:
                item = Item(row, "unsupported", xname, note=f"the type `{raw}` is not known to the import")
            if item.kind not in ("unsupported", "note") and not xname:
                what = ("its name is a formula with no value saved (open and save the workbook in a spreadsheet program)"
                        if "name" in row.formulas else f"a `{raw}` without a name")
                raise ImportError_(f"{self.wb.path}: survey sheet, row {row.number}, column {row.letters.get('name', 'B')}: {what}")
            stack[-1].children.append(item)
        if len(stack) > 1:
            open_ = stack[-1]
            raise ImportError_(f"{self.wb.path}: survey sheet, row {open_.row.number}: `{open_.row.get('type')}` is never closed")
        return root

    def _range(self, row: Row, xname: str) -> Item:
        params = dict(re.findall(r"(\w+)\s*=\s*([-\d.]+)", row.get("parameters").lower()))
        try:
            lo, hi, step = float(params.get("start", 0)), float(params.get("end", 10)), float(params.get("step", 1))
        except ValueError:
            lo, hi, step = 0.0, 10.0, 1.0
        whole = all(v.is_integer() for v in (lo, hi, step))
        item = Item(row, "integer" if whole else "decimal", xname, range=(min(lo, hi), max(lo, hi)))
        return item


# ---------------------------------------------------------------- writing


@dataclass
class _Var:
    item: Item
    var: xp.Var


class _Writer:
    """One writing of the spec text with the constructs in ``degraded`` written as comments."""

    def __init__(self, imp: _Importer, degraded: dict[tuple[str, str], str]):
        self.imp = imp
        self.degraded = degraded
        self.lines: list[tuple[str, tuple[str, str] | None]] = []
        self.notes: list[Note] = []
        self.names = Names()
        self.vars: dict[str, _Var] = {}
        self.calcs: dict[str, xp.Node | None] = {}
        self.calc_items: dict[str, Item] = {}
        self.seen: set[str] = set()
        self.checks: list[tuple[list[str], tuple[str, str]]] = []
        self.samples: list[Item] = []
        self.positions: dict[str, str] = {}  # a calculate `position(..)` -> its roster (a fill of the iteration)
        self.derives: list[tuple[list[str], tuple[str, str]]] = []
        #: the export's specify texts (`kvpspec`: `specify Q CODE`), by question and choice name
        self.specifies: dict[str, dict[str, Item]] = {}
        #: the questions of the export's intro group (`kvpspec`: `intro`)
        self.intro: set[str] = set()

    # -- helpers

    def note(self, pos: Position, message: str) -> None:
        self.notes.append(Note(pos, message))

    def rename(self, wanted: str, pos: Position, key: str | None = None, what: str = "the name") -> str:
        """``names.new``, with a note when the spec name differs (a data column's name changes)."""
        name = self.names.new(wanted, key)
        if name != wanted:
            where = "in the spec" if what == "the form id" else "in the spec and in its data's column names"
            self.note(pos, f"{what} `{wanted}` becomes `{name}` {where} "
                      "(a spec name has letters, digits and _, is no keyword and is unique)")
        return name

    def emit(self, indent: int, text: str, tag: tuple[str, str] | None = None) -> None:
        self.lines.append(("  " * indent + text, tag))

    def comment(self, indent: int, text: str) -> None:
        for part in text.splitlines() or [""]:
            self.emit(indent, f"# {part}".rstrip())

    def label(self, item: Item | None, texts: dict[str | None, str], fills: bool, rosters: tuple[str, ...],
              pos: Position | None = None) -> str:
        parts = [quote(self.fill_text(texts[None], fills, rosters, pos))]
        for lang, code in self.imp.translations.items():
            if texts.get(lang):
                parts.append(f"@{code} {quote(self.fill_text(texts[lang], fills, rosters, pos))}")
        return " ".join(parts)

    def fill_text(self, text: str, fills: bool, rosters: tuple[str, ...], pos: Position | None) -> str:
        text = text.replace("{", "{{").replace("}", "}}")
        if rosters:  # a loop's `%(label)s` and `%(name)s`: the iteration's label
            text = text.replace("%(label)s", "{" + rosters[-1] + "}").replace("%(name)s", "{" + rosters[-1] + "}")

        def repl(mt: re.Match[str]) -> str:
            xname = mt.group(1).replace("{{", "").replace("}}", "")
            if fills and self.positions.get(xname) in rosters:
                return "{" + self.positions[xname] + "}"
            v = self.vars.get(xname)
            if v is None and fills and xname in self.calcs:
                v = self.column_calc(xname)
            ok = (fills and v is not None and (v.var.spec_name in self.seen or xname in self.calcs)
                  and (v.var.roster is None or v.var.roster in rosters))
            if ok and v is not None:
                return "{" + v.var.spec_name + "}"
            if pos is not None:
                self.note(pos, f"`${{{xname}}}` in a text is kept as written: it names no answer asked before this point")
            return "${{" + xname + "}}"

        return re.sub(r"\$\{\{\s*([^}\s]+)\s*\}\}", repl, text)

    def column_calc(self, xname: str) -> _Var | None:
        """A calculate that is one column (``indexed-repeat(${alder}, ${person}, 1)``), as that column."""
        tree = self.calcs.get(xname)
        if isinstance(tree, xp.Call) and tree.name == "indexed-repeat":
            try:
                var = self.translator(())._indexed(tree)
            except xp.Unsupported:
                return None
            if var.spec_name.rsplit("_", 1)[0] in self.seen or any(var.spec_name.startswith(n + "_") for n in self.seen):
                return _Var(self.calc_items[xname], var)
        return None

    def translator(self, rosters: tuple[str, ...], current: xp.Var | None = None) -> xp.Translator:
        def lookup(name: str) -> xp.Var | None:
            v = self.vars.get(name)
            return v.var if v is not None else None

        def inline(name: str) -> xp.Node | None:
            if name in self.calcs:
                tree = self.calcs[name]
                if tree is None:
                    raise xp.Unsupported(f"the calculate `{name}` could not be read")
                return tree
            return None

        return xp.Translator(lookup, inline, current, rosters)

    def parse(self, item: Item, column: str) -> xp.Node:
        text = item.cell(column)
        try:
            return xp.parse(text)
        except xp.XPathError as exc:
            pos = item.row.at(column)
            raise ImportError_(f"{self.imp.wb.path}: {pos.sheet} sheet, row {pos.row}, column {pos.column}: "
                               f"not an XPath expression: {exc} at character {exc.offset + 1} of `{_one_line(text)}`") from exc

    def _after_intro(self, item: Item, tree: xp.Node) -> xp.Node | None:
        """The export adds "the intro did not end the call" to every later `relevant`; the spec's
        walker stops at the intro's `end` itself (and cannot read the intro later): those conjuncts go.
        None when nothing is left."""
        if not self.intro or item.xname in self.intro:
            return tree
        terms: list[xp.Node] = []

        def split(node: xp.Node) -> None:
            if isinstance(node, xp.Bin) and node.op == "and":
                split(node.left)
                split(node.right)
            else:
                terms.append(node)

        split(tree)
        kept = [t for t in terms if not (_refs(t) and _refs(t) <= self.intro)]
        if not kept:
            return None
        out = kept[0]
        for t in kept[1:]:
            out = xp.Bin("and", out, t)
        return out

    def expr(self, item: Item, column: str, rosters: tuple[str, ...], kind: str = "guard",
             current: xp.Var | None = None) -> str | None:
        """The spec expression of a cell, or None (and a note) when it cannot be said."""
        tree = self.parse(item, column)
        if column == "relevant" and kind == "guard":
            tree = self._after_intro(item, tree) or tree
        tr = self.translator(rosters, current)
        try:
            if kind == "guard":
                return tr.condition(tree)
            if kind == "exact":
                return tr.condition(tree, exact=True)
            return tr.value(tree)
        except xp.Unsupported as exc:
            self.note(item.row.at(column), f"`{_one_line(item.cell(column))}` is not carried: {exc}")
            return None

    # -- the spec

    def write(self) -> None:
        imp = self.imp
        self.prepare(imp.root, ())
        form_id = imp.settings.get("form_id") or imp.stem
        title = imp.settings.get("form_title") or form_id
        self.emit(0, f"# Imported from the XLSForm {Path(imp.wb.path).name} by `kvpspec import xlsform`.")
        settings = imp.wb.sheet("settings")
        id_pos = (settings.rows[0].at("form_id") if settings is not None and settings.rows and imp.settings.get("form_id")
                  else Position("settings" if settings is not None else "survey", 1, "(form_id)"))
        self.emit(0, f"survey {self.rename(form_id, id_pos, what='the form id')} {quote(title)}")
        study = []
        if imp.main_code and imp.translations:
            study.append("languages " + ", ".join([imp.main_code, *imp.translations.values()]))
        if imp.settings.get("version"):
            study.append(f"version {quote(imp.settings['version'])}")
        if study:
            self.emit(0, "study {")
            for s in study:
                self.emit(1, s)
            self.emit(0, "}")
        for lang in imp.dropped_languages:
            code = language_code(lang)
            if code is None:
                why = "has no language code the spec knows (write it as `Name (xx)`)"
            elif code == imp.main_code:
                why = f"is the main language ({code}), whose texts the plain `label` column gives"
            else:
                why = f"repeats the language code {code} of another column"
            self.note(_header(imp.survey, f"label::{lang}"), f"the language `{lang}` {why}; its texts are left out")
            self.emit(0, f"# not carried: the texts in `{lang}`")
        for sheet in (imp.survey, imp.wb.sheet("choices")):
            if sheet is None:
                continue
            for header in sheet.headers:
                base = header.split("::", 1)[0]
                if header and base not in _READ_COLUMNS and any(r.get(header) for r in sheet.rows):
                    self.note(_header(sheet, header), f"the column `{header}` has no counterpart in a spec; left out")
                    self.emit(0, f"# not carried: the column `{header}` of the {sheet.name} sheet")
        # the export's respondent id: a hidden row with `respondent KIND` in `kvpspec`
        respondent = [it for it in self.samples if "respondent" in kvpspec_facts(it.cell("kvpspec"))][:1]
        self.samples = [it for it in self.samples if it not in respondent]
        for it in respondent:
            kind = (kvpspec_facts(it.cell("kvpspec"))["respondent"] or ["text"])[0]
            kind = kind if kind in ("integer", "decimal", "text") else "text"
            label = self.imp.texts(it.row, "label")
            self.emit(0, f"respondent {it.name} {kind} {self.label(None, label if label[None] else {None: it.xname}, False, (), None)}",
                      ("sample", it.xname))
        # the export's dispositions: a choice list whose every choice has its AAPOR class (`aapor I`)
        dispositions = next((lst for lst in imp.lists.values() if lst.choices and not lst.numbered and all(
            re.fullmatch(r"[A-Za-z_]\w*", (kvpspec_facts(c.row.get("kvpspec")).get("aapor") or [""])[0])
            for c in lst.choices)), None)
        if self.samples or dispositions is not None:
            self.emit(0, "fieldwork {")
        # a sample field's specify text (`specify FIELD CODE`): on that field's option
        field_specifies: dict[str, dict[str, Item]] = {}
        by_name = {it.xname: it for it in self.samples}
        for it in list(self.samples):
            words = kvpspec_facts(it.cell("kvpspec")).get("specify", [])
            parent = by_name.get(words[0]) if len(words) == 2 else None
            plist = (kvpspec_facts(parent.cell("kvpspec")).get("field", []) + ["", ""])[1] if parent else ""
            if (parent is not None and plist in imp.lists and words[1] in imp.lists[plist].codes
                    and words[1] not in field_specifies.setdefault(parent.xname, {})):
                field_specifies[parent.xname][words[1]] = it
                self.samples.remove(it)
        if self.samples:
            self.emit(1, "sample {")
            for it in self.samples:
                label = self.imp.texts(it.row, "label")
                facts = kvpspec_facts(it.cell("kvpspec"))
                kind, *values = facts.get("field", ["text"]) or ["text"]
                kind = kind if kind in ("single", "multiple", "integer", "decimal", "text") else "text"
                lst = self.imp.lists.get(values[0]) if values else None
                personal = " personal" if "personal" in facts else ""
                head = f"field {it.name} {kind} {self.label(None, label if label[None] else {None: it.xname}, False, (), None)}{personal}"
                if lst is not None and kind in ("single", "multiple"):
                    self.emit(2, head + " {", ("sample", it.xname))
                    self.options(lst, 3, ("sample", it.xname), field_specifies.get(it.xname))
                    self.emit(2, "}", ("sample", it.xname))
                else:
                    self.emit(2, head, ("sample", it.xname))
                self.note(it.row.at("type"), f"`hidden` {it.xname}: a sample field ({kind}), filled before the interview")
            self.emit(1, "}")
        if dispositions is not None:
            self.emit(1, "dispositions {")
            for c in dispositions.choices:
                aapor = kvpspec_facts(c.row.get("kvpspec"))["aapor"][0]
                texts: dict[str | None, str] = c.labels if c.labels.get(None) else {None: c.name}
                self.emit(2, f"{dispositions.codes[c.name]} {self.label(None, texts, False, (), None)} aapor {aapor}",
                          ("scale", dispositions.name))
            self.emit(1, "}")
        if self.samples or dispositions is not None:
            self.emit(0, "}")
        self.scales()
        for name, (codes, scale, rules) in self.imp.scale_recodes.items():
            key = ("scale-recode", name)
            lines = self._recode_lines(name, f"scale {self.imp.lists[scale].spec_name}", codes, rules)
            if key in self.degraded or lines is None or not self.imp.lists[scale].spec_name or name in self.names.used:
                self.emit(0, f"# not carried: the recode `{name}` over the scale `{scale}`", key)
                continue
            self.names.used.add(name)
            for line in lines:
                self.emit(0, line, key)
        self.emit(0, "interview {")
        self.items(imp.root.children, 1, ())
        self.emit(0, "}")
        for lines, tag in self.derives + self.checks:
            for text in lines:
                self.emit(0, text, tag)
        optional = [it for it in self.all_items(imp.root) if it.kind in ("single", "multiple", "integer", "decimal", "text")
                    and not _yes(it.cell("required"))]
        if optional:
            names = ", ".join(it.name for it in optional[:8]) + (", ..." if len(optional) > 8 else "")
            self.note(optional[0].row.at("required"), f"{len(optional)} question(s) are not `required` ({names}): a spec has no optional answers, so `validate` reports an asked question left empty (asked-empty)")

    def all_items(self, item: Item) -> Iterator[Item]:
        for child in item.children:
            yield child
            yield from self.all_items(child)

    def prepare(self, item: Item, rosters: tuple[str, ...]) -> None:
        """Give every item its spec name and register what expressions may read."""
        for child in item.children:
            child.rosters = rosters
            if child.kind == "repeat":
                child.name = (self.rename(child.xname, child.row.at("name"), None, "the repeat's name") if child.xname
                              else self.names.new("roster", None))
                if ("roster", child.xname) in self.degraded:
                    self.prepare(child, rosters)
                else:
                    self.prepare(child, (*rosters, child.name))
                continue
            if child.kind == "group":
                self.prepare(child, rosters)
                if not rosters and item.xname == "" and "intro" in kvpspec_facts(child.cell("kvpspec")):
                    self.intro |= {it.xname for it in self.all_items(child) if it.xname in self.vars}
                continue
            if child.kind == "unsupported" or ("item", child.xname) in self.degraded:
                continue
            if child.kind == "note":
                continue
            if child.xname in self.vars or child.xname in self.calcs or child.xname in self.positions:
                child.kind = "unsupported"
                child.note = f"the name `{child.xname}` is taken by an earlier row (XLSForm names are unique)"
                continue
            child.name = self.rename(child.xname, child.row.at("name"), child.xname)
            if child.kind == "sample":
                self.samples.append(child)
                self.vars[child.xname] = _Var(child, xp.Var(child.name, "text"))
                self.seen.add(child.name)
                continue
            if child.kind == "calculate" and rosters and _one_line(child.cell("calculation")).replace(" ", "") == "position(..)":
                self.positions[child.xname] = rosters[-1]
                continue
            if child.kind == "calculate" and rosters and kvpspec_facts(child.cell("kvpspec")).get("label") == [item.xname]:
                self.positions[child.xname] = rosters[-1]  # the export's iteration label of a roster `over` a list
                continue
            if child.kind == "calculate":
                self.calc_items[child.xname] = child
                try:
                    self.calcs[child.xname] = xp.parse(child.cell("calculation")) if child.cell("calculation") else None
                except xp.XPathError:
                    self.calcs[child.xname] = None
                continue
            if child.kind == "text" and self._specify_of(child):
                self.vars[child.xname] = _Var(child, xp.Var(child.name, "text", {}, rosters[-1] if rosters else None))
                continue
            codes: dict[str, int] = {}
            if child.list_name:
                lst = self.imp.lists[child.list_name]
                codes = dict(lst.codes)
                if child.or_other:
                    codes["other"] = max(codes.values(), default=0) + 1
            self.vars[child.xname] = _Var(child, xp.Var(child.name, child.kind, codes, rosters[-1] if rosters else None))

    def _specify_of(self, child: Item) -> bool:
        """A text row the export wrote for an option's specify text: attach it to that option."""
        words = kvpspec_facts(child.cell("kvpspec")).get("specify", [])
        if len(words) != 2 or words[0] not in self.vars:
            return False
        parent = self.vars[words[0]].item
        lst = self.imp.lists.get(parent.list_name or "")
        if (parent.kind not in ("single", "multiple") or lst is None or lst.uses >= 2 or parent.or_other
                or lst.name in self.imp.recode_scales
                or words[1] not in lst.codes or words[1] in self.specifies.get(parent.xname, {})):
            return False
        child.kind = "specify"
        self.specifies.setdefault(parent.xname, {})[words[1]] = child
        return True

    def scales(self) -> None:
        for lst in self.imp.lists.values():
            if (lst.uses >= 2 or lst.name in self.imp.recode_scales) and lst.choices:
                lst.spec_name = self.names.new(lst.name)
                self.emit(0, f"scale {lst.spec_name} {quote(lst.name)} {{", ("scale", lst.name))
                self.options(lst, 1)
                self.emit(0, "}")

    def options(self, lst: ChoiceList, indent: int, tag: tuple[str, str] | None = None,
                specifies: dict[str, Item] | None = None, ends: dict[str, str] | None = None) -> None:
        if lst.numbered:
            pairs = ", ".join(f"{lst.codes[c.name]} = {c.name}" for c in lst.choices)
            self.comment(indent, f"choice names of `{lst.name}` as codes: {pairs}")
            self.note(lst.choices[0].row.at("name"), f"the choice names of `{lst.name}` are not all whole numbers: "
                      f"they become the codes {pairs}")
        for c in lst.choices:
            texts = dict(c.labels)
            if not texts.get(None):
                texts[None] = c.name
            missing = f" missing {c.missing}" if c.missing else ""
            if (ends or {}).get(c.name, "").isdigit():
                missing += f" end {int((ends or {})[c.name])}"
            spec = (specifies or {}).get(c.name)
            if spec is not None:
                stexts = self.imp.texts(spec.row, "label")
                missing += f" specify {spec.name} {self.label(None, stexts, False, (), None)}" if stexts[None] else f" specify {spec.name}"
                self.seen.add(spec.name)
            self.emit(indent, f"{lst.codes[c.name]} {self.label(None, texts, False, (), None)}{missing}", tag or ("scale", lst.name))

    def items(self, items: list[Item], indent: int, rosters: tuple[str, ...]) -> None:
        for item in items:
            self.item(item, indent, rosters)

    def item(self, item: Item, indent: int, rosters: tuple[str, ...]) -> None:
        row = item.row
        if item.kind == "unsupported":
            self.comment(indent, f"not carried (survey row {row.number}): {item.cell('type')} {item.xname}: {item.note}")
            self.note(row.at("type"), f"`{item.cell('type')}` {item.xname}: {item.note}; left out (a comment in the spec)")
            return
        if ("item", item.xname) in self.degraded and item.kind not in ("group", "repeat"):
            self.comment(indent, f"not carried (survey row {row.number}): {item.cell('type')} {item.xname}: {self.degraded[('item', item.xname)]}")
            self.note(row.at("type"), f"{item.xname}: left out, the spec could not hold it: {self.degraded[('item', item.xname)]}")
            return
        guard = None
        if item.cell("relevant"):
            guard_key = ("guard", item.xname or f"row{row.number}")
            if guard_key in self.degraded:
                self.comment(indent, f"relevant of {item.xname} not carried: {_one_line(item.cell('relevant'))}")
                self.note(row.at("relevant"), f"`{_one_line(item.cell('relevant'))}` is not carried: {self.degraded[guard_key]}")
            elif self.intro and self._after_intro(item, self.parse(item, "relevant")) is None:
                guard = None  # only "the intro did not end the call": the walker's own rule
            else:
                guard = self.expr(item, "relevant", rosters)
                if guard is None:
                    self.comment(indent, f"relevant of {item.xname} not carried: {_one_line(item.cell('relevant'))}")
        if item.kind in ("sample", "specify") or item.xname in self.positions:
            return
        if item.kind in ("group", "repeat"):
            self.block(item, indent, rosters, guard)
        elif item.kind == "note":
            self.say(item, indent, rosters, guard)
        elif item.kind == "calculate":
            self.calculate(item, rosters)
        else:
            self.question(item, indent, rosters, guard)

    def block(self, item: Item, indent: int, rosters: tuple[str, ...], guard: str | None) -> None:
        key = ("guard", item.xname or f"row{item.row.number}")
        if guard is not None:
            self.emit(indent, f"if {guard} {{", key)
            indent += 1
        facts = kvpspec_facts(item.cell("kvpspec"))
        if item.kind == "repeat":
            self.roster(item, indent, rosters)
        elif "grid" in facts and self._grid(item, indent, rosters):
            pass
        elif indent == 1 and guard is None and ("intro" in facts or "closing" in facts):
            # the export's intro and closing groups
            kind = "intro" if "intro" in facts else "closing"
            self.emit(indent, f"{kind} {{", ("block", item.xname))
            self.items(item.children, indent + 1, rosters)
            self.emit(indent, "}", ("block", item.xname))
        else:
            label = self.imp.texts(item.row, "label")
            if label[None]:
                self.emit(indent, f"section {self.label(item, label, False, rosters, item.row.at('label'))} {{")
                self.items(item.children, indent + 1, rosters)
                self.emit(indent, "}")
            else:
                self.items(item.children, indent, rosters)
        if guard is not None:
            self.emit(indent - 1, "}")

    def _grid(self, item: Item, indent: int, rosters: tuple[str, ...]) -> bool:
        """The export's grid (`kvpspec`: `grid`): a group of select_one rows of one scale, each named
        the grid's name and the item's. False (and nothing written) when the group is not that shape."""
        kids = item.children
        lst = self.imp.lists.get(kids[0].list_name or "") if kids else None
        if (lst is None or not lst.spec_name or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", item.xname)
                or item.xname in self.names.used):
            return False
        for kid in kids:
            suffix = kid.xname[len(item.xname):]
            if (kid.kind != "single" or kid.list_name != kids[0].list_name or kid.or_other or kid.name != kid.xname
                    or not kid.xname.startswith(item.xname) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", suffix)
                    or suffix in KEYWORDS or ("item", kid.xname) in self.degraded
                    or any(kid.cell(c) for c in ("relevant", "constraint", "hint", "guidance_hint", "calculation"))):
                return False
        name = self.rename(item.xname, item.row.at("name"))
        tag = ("block", item.xname)
        label = self.imp.texts(item.row, "label")
        head = f" {self.label(item, label, True, rosters, item.row.at('label'))}" if label[None] else ""
        self.emit(indent, f"grid {name}{head} scale {lst.spec_name} {{", tag)
        for column, stmt in (("hint", "instruction"), ("guidance_hint", "note")):
            texts = self.imp.texts(item.row, column)
            if texts[None]:
                self.emit(indent + 1, f"{stmt} {self.label(item, texts, True, rosters, item.row.at(column))}", tag)
        for kid in kids:
            texts = self.imp.texts(kid.row, "label")
            if not texts[None]:
                texts[None] = kid.xname
            self.emit(indent + 1, f"{kid.xname[len(item.xname):]} {self.label(kid, texts, True, rosters, kid.row.at('label'))}",
                      ("fills", kid.xname))
        self.emit(indent, "}", tag)
        for kid in kids:
            self.seen.add(kid.name)
        return True

    def roster(self, item: Item, indent: int, rosters: tuple[str, ...]) -> None:
        row = item.row
        if ("roster", item.xname) in self.degraded:
            self.comment(indent, f"repeat {item.xname} not carried as a roster: {self.degraded[('roster', item.xname)]}")
            self.note(row.at("type"), f"the repeat `{item.xname}` is asked once, not as a roster: {self.degraded[('roster', item.xname)]}")
            self.items(item.children, indent, rosters)
            return
        tag = ("roster", item.xname)
        count = item.cell("repeat_count")
        source = None
        lst = self.imp.lists.get(item.list_name or "")
        if item.list_name:
            label = self.imp.texts(row, "label")
            if not label[None]:
                label[None] = item.xname
            if item.note or lst is None:
                self.note(row.at("type"), f"{item.note}; the loop's questions are asked once")
                self.items(item.children, indent, rosters)
                return
            self.emit(indent, f"roster {item.name} {self.label(item, label, False, rosters, None)} over {{", tag)
            self.options(lst, indent + 1, tag)
            self.emit(indent, "} {", tag)
            self.items(item.children, indent + 1, (*rosters, item.name))
            self.emit(indent, "}", tag)
            return
        if re.fullmatch(r"\d+", count) and int(count) >= 1:
            n = int(count)
            if n > REPEAT_LIMIT:
                self.note(row.at("repeat_count"), f"the repeat count {n} is cut to {REPEAT_LIMIT} (a roster unrolls "
                          "to one column per question and iteration; see `roster-size`)")
                n = REPEAT_LIMIT
            source = f"for 1..{n}"
        elif count:
            ref, capped = _count_ref(count)
            v = self.vars.get(ref) if ref else None
            if v is not None and v.var.kind == "integer" and v.var.spec_name in self.seen and (v.var.roster is None or v.var.roster in rosters):
                hi = v.item.range[1] if v.item.range else None
                if capped is not None:
                    hi = capped if hi is None else min(hi, capped)
                if hi is None:
                    self.note(row.at("repeat_count"), f"the count `{count}` has no upper bound in the form; the roster is `max 20`")
                if hi is not None and hi > REPEAT_LIMIT:
                    self.note(row.at("repeat_count"), f"`{_one_line(count)}` can be up to {_num(hi, 'integer')}; the roster "
                              f"is cut to `max {REPEAT_LIMIT}` (see `roster-size`)")
                    hi = REPEAT_LIMIT
                source = f"for 1..{v.var.spec_name} max {int(hi) if hi is not None and hi >= 1 else 20}"
            else:
                self.note(row.at("repeat_count"), f"the repeat count `{_one_line(count)}` is not an integer question asked before; a question `{item.name}_count` asks it (0..20)")
        else:
            self.note(row.at("type"), f"the repeat `{item.xname}` has no repeat_count (the respondent adds entries); a question `{item.name}_count` asks how many (0..20)")
        if source is None:
            cname = self.names.new(f"{item.name}_count")
            label = self.imp.texts(row, "label")
            what = label[None] or item.xname
            self.emit(indent, f"question {cname} integer {quote('How many: ' + self.fill_text(what, False, rosters, None))} {{", tag)
            self.emit(indent + 1, "range 0..20", tag)
            self.emit(indent, "}", tag)
            self.seen.add(cname)
            source = f"for 1..{cname} max 20"
        label = self.imp.texts(row, "label")
        if not label[None]:
            label[None] = item.xname
        self.emit(indent, f"roster {item.name} {self.label(item, label, False, rosters, None)} {source} {{", tag)
        self.items(item.children, indent + 1, (*rosters, item.name))
        self.emit(indent, "}", tag)

    def say(self, item: Item, indent: int, rosters: tuple[str, ...], guard: str | None) -> None:
        label = self.imp.texts(item.row, "label")
        if not label[None]:
            return
        key = ("guard", item.xname or f"row{item.row.number}")
        fills = ("fills", item.xname or f"row{item.row.number}") not in self.degraded
        if guard is not None:
            self.emit(indent, f"if {guard} {{", key)
            indent += 1
        self.emit(indent, f"say {self.label(item, label, fills, rosters, item.row.at('label'))}", ("fills", item.xname or f"row{item.row.number}"))
        if guard is not None:
            self.emit(indent - 1, "}", key)

    def calculate(self, item: Item, rosters: tuple[str, ...]) -> None:
        row = item.row
        key = ("derive", item.xname)
        text = _one_line(item.cell("calculation"))
        if not text:
            self.note(row.at("calculation"), f"the calculate `{item.xname}` has no calculation; left out")
            return
        if rosters:
            self.derives.append(([f"# calculate {item.xname} in a repeat, not carried: {text}"], key))
            self.note(row.at("calculation"), f"`{item.xname}` is calculated per repeat entry; a derived variable is one value per interview, so it is left out (still used where `relevant` reads it)")
            return
        if key in self.degraded:
            self.derives.append(([f"# calculate {item.xname} not carried: {text}"], key))
            self.note(row.at("calculation"), f"the calculate `{item.xname}` is not carried: {self.degraded[key]}")
            return
        recode = self._recode(item)
        if recode is not None:
            self.derives.append((recode, key))
            return
        facts = kvpspec_facts(item.cell("kvpspec"))
        last = self.calc_items.get((facts.get("step") or [""])[0])
        if last is not None and "derive" in kvpspec_facts(last.cell("kvpspec")):
            return  # a step of the export's min/max chain: the last row carries the expression
        if facts.get("fill") and text.startswith("indexed-repeat("):
            return  # the export's holder of one iteration's answer for a fill: the fill reads the column
        text = next((p.strip()[len("derive"):].strip() for p in item.cell("kvpspec").split(";")
                     if p.split()[:1] == ["derive"]), "")
        if text and "\n" not in text:
            try:
                parse_expr(text)
            except SpecError:
                text = ""
        if text and "\n" not in text:
            label = self.imp.texts(row, "label")
            lab = f" {self.label(item, label, False, (), None)}" if label[None] else ""
            self.derives.append(([f"derive {item.name}{lab} = {text}"], key))
            return
        expr = self.expr(item, "calculation", (), kind="value")
        if expr is None:
            self.derives.append(([f"# calculate {item.xname} not carried: {text}"], key))
            return
        label = self.imp.texts(row, "label")
        lab = f" {self.label(item, label, False, (), None)}" if label[None] else ""
        self.derives.append(([f"derive {item.name}{lab} = {expr}"], key))

    def _recode(self, item: Item) -> list[str] | None:
        """The export's recode table (`kvpspec`: `recode SOURCE LIST; rules ..24=1 25..=2`) as a
        `recode`, or None when the row has none (or it cannot be read)."""
        facts = kvpspec_facts(item.cell("kvpspec"))
        head, rules = facts.get("recode", []), facts.get("rules", [])
        if len(head) != 2 or head[1] not in self.imp.lists or not rules:
            return None
        source = self.vars[head[0]].var.spec_name if head[0] in self.vars else head[0]
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", source):
            return None
        label = self.imp.texts(item.row, "label")
        lab = f" {self.label(item, label, False, (), None)}" if label[None] else ""
        return self._recode_lines(f"{item.name}{lab}", source, head[1], rules)

    def _recode_lines(self, head: str, source: str, codes: str, rules: list[str]) -> list[str] | None:
        """``recode HEAD from SOURCE { rules }`` from the `kvpspec` column's rules, the codes' labels from
        the list ``codes``; None when a rule cannot be read."""
        lst = self.imp.lists[codes]
        value = r"(-?\d+(\.\d+)?|\.\.-?\d+(\.\d+)?|-?\d+(\.\d+)?\.\.(-?\d+(\.\d+)?)?|else)"
        lines = [f"recode {head} from {source} {{"]
        for rule in rules:
            values, _, code = rule.rpartition("=")
            choice = next((c for c in lst.choices if c.name == code), None)
            if choice is None or not all(re.fullmatch(value, v) for v in values.split(",")):
                return None
            texts: dict[str | None, str] = choice.labels if choice.labels.get(None) else {None: code}
            missing = f" missing {choice.missing}" if choice.missing else ""
            lines.append(f"  {', '.join(values.split(','))} -> {lst.codes[code]} {self.label(None, texts, False, (), None)}{missing}")
        lines.append("}")
        return lines

    def question(self, item: Item, indent: int, rosters: tuple[str, ...], guard: str | None) -> None:
        row = item.row
        v = self.vars[item.xname].var
        tag = ("item", item.xname)
        fill_key = ("fills", item.xname)
        fills = fill_key not in self.degraded
        label = self.imp.texts(row, "label")
        has_label = bool(label[None])
        if not has_label:
            hint = self.imp.texts(row, "hint")
            label = hint if hint[None] else {None: item.xname}
        base = item.cell("type").split()[0].lower() if item.cell("type") else ""
        if item.kind == "text" and base not in ("text", "string", "phone"):
            self.note(row.at("type"), f"`{base}` {item.xname} is a text question in the spec (the spec has no {base} answers)")
        lst = self.imp.lists.get(item.list_name or "")
        scale = f" scale {lst.spec_name}" if lst is not None and lst.spec_name and not item.or_other else ""
        self.emit(indent, f"question {item.name} {item.kind} {self.label(item, label, fills, rosters, row.at('label'))}{scale} {{", fill_key if fills else tag)
        for column, stmt in (("hint", "instruction"), ("guidance_hint", "note")):
            texts = self.imp.texts(row, column)
            if texts[None] and has_label:
                self.emit(indent + 1, f"{stmt} {self.label(item, texts, fills, rosters, row.at(column))}", fill_key if fills else tag)
        constraint = item.cell("constraint")
        rng = item.range
        missing_codes: list[int] = []
        rest: xp.Node | None = None
        # the export names a numeric question's missing codes (labels, kinds) as a choice list in `kvpspec`
        missing_list = kvpspec_facts(item.cell("kvpspec")).get("missing", [""])
        own_missing = self.imp.lists.get(missing_list[0]) if missing_list else None
        if constraint and item.kind in ("integer", "decimal") and _too_big(constraint):
            self.note(row.at("constraint"), f"the constraint `{_one_line(constraint)}` has a number beyond 2^53 "
                      f"({2**53}), which a form cannot hold exactly; left out")
            self.checks.append(([f"# constraint of {item.xname} not carried: {_one_line(constraint)}"], ("check", item.xname)))
            constraint = ""
        if constraint and item.kind in ("integer", "decimal"):
            whole = item.kind == "integer"
            bounds = _bounds(constraint, whole)
            with_codes = _bounds_and_codes(constraint, whole) if bounds is None else None
            if bounds is None and with_codes is None:
                # `RANGE and OTHER` (the export's range beside a hard check): the range, and OTHER as a check
                try:
                    tree = xp.parse(constraint)
                except xp.XPathError:
                    tree = None
                if isinstance(tree, xp.Bin) and tree.op == "and":
                    bounds = _bounds_tree(tree.left, whole)
                    with_codes = _bounds_and_codes_tree(tree.left, whole) if bounds is None else None
                    if bounds is not None or with_codes is not None:
                        rest = tree.right
            if with_codes is not None:
                bounds, missing_codes = with_codes
                if own_missing is None or not set(missing_codes) <= set(own_missing.codes.values()):
                    self.note(row.at("constraint"), f"{', '.join(map(str, missing_codes))} beside the range of {item.xname}: missing codes of kind dont_know (the form does not say which kind)")
            if bounds is not None:
                rng = bounds if rng is None else (max(rng[0], bounds[0]), min(rng[1], bounds[1]))
                constraint = "" if rest is None else constraint
        if rng is not None and rng[0] <= rng[1]:
            lo, hi = (_num(rng[0], item.kind), _num(rng[1], item.kind))
            self.emit(indent + 1, f"range {lo}..{hi}", tag)
            item.range = rng
        if guard is not None:
            self.emit(indent + 1, f"ask if {guard}", ("guard", item.xname))
        if own_missing is not None and set(missing_codes) <= set(own_missing.codes.values()):
            self.options(own_missing, indent + 1, tag)
            missing_codes = []
        for code in missing_codes:
            self.emit(indent + 1, f'{code} "{code}" missing dont_know', tag)
        ends = dict(w.split("=", 1) for w in kvpspec_facts(item.cell("kvpspec")).get("end", []) if "=" in w)
        if lst is not None and (item.or_other or not lst.spec_name):
            self.options(lst, indent + 1, tag, self.specifies.get(item.xname), ends)
            if item.or_other:
                other = self.names.new(f"{item.name}_other")
                self.emit(indent + 1, f'{v.codes["other"]} "Other" specify {other} "Specify"', tag)
        self.emit(indent, "}", tag)
        self.seen.add(item.name)
        if item.or_other:
            self.note(row.at("type"), f"`or_other` on {item.xname}: an option `Other` (code {v.codes['other']}) with the text `{item.name}_other`")
        if constraint:
            self.constraint(item, constraint, rosters, rest)
        for column in ("default", "choice_filter", "read_only", "trigger"):
            if item.cell(column) and not (column == "read_only" and not _yes(item.cell(column))):
                self.note(row.at(column), f"`{column}` ({_one_line(item.cell(column))}) has no counterpart in a spec; left out")

    def constraint(self, item: Item, text: str, rosters: tuple[str, ...], tree: xp.Node | None = None) -> None:
        key = ("check", item.xname)
        pos = item.row.at("constraint")
        if rosters:
            self.checks.append(([f"# constraint of {item.xname} (in a repeat) not carried: {_one_line(text)}"], key))
            self.note(pos, f"the constraint `{_one_line(text)}` of {item.xname} is asked per repeat entry; a spec check reads whole interviews, so it is left out")
            return
        if key in self.degraded:
            self.checks.append(([f"# constraint of {item.xname} not carried: {_one_line(text)}"], key))
            self.note(pos, f"the constraint `{_one_line(text)}` is not carried: {self.degraded[key]}")
            return
        if tree is None:
            cond = self.expr(item, "constraint", (), kind="exact", current=self.vars[item.xname].var)
        else:
            try:
                cond = self.translator((), self.vars[item.xname].var).condition(tree, exact=True)
            except xp.Unsupported as exc:
                self.note(pos, f"`{_one_line(text)}` is not carried beyond its range: {exc}")
                cond = None
        if cond is None:
            self.checks.append(([f"# constraint of {item.xname} not carried: {_one_line(text)}"], key))
            return
        msg = self.imp.texts(item.row, "constraint_message")
        if not msg[None]:
            msg = {None: f"The answer to {item.xname} breaks the form's constraint: {_one_line(text)}"}
        name = self.names.new(f"{item.name}_constraint")
        label = self.label(item, msg, False, (), None)
        self.checks.append(([f"error {name} {label} if {item.name} is answered and not ({cond})"], key))


_READ_COLUMNS = {"type", "name", "label", "hint", "guidance_hint", "relevant", "constraint", "constraint_message",
                 "required", "calculation", "repeat_count", "parameters", "list_name", "kvpspec",
                 # read and noted per cell where they matter
                 "default", "choice_filter", "read_only", "trigger"}


def _header(sheet: Sheet, header: str) -> Position:
    letter = column_letter(sheet.headers.index(header)) if header in sheet.headers else ""
    return Position(sheet.name, 1, f"{letter} ({header})" if letter else f"({header})")


def _yes(text: str) -> bool:
    return text.strip().lower() in ("yes", "true", "true()", "1", "y")


def _num(x: float, kind: str) -> str:
    if kind == "integer" or float(x).is_integer():
        return str(int(x)) if kind == "integer" else f"{x:.1f}" if float(x).is_integer() else repr(x)
    return repr(x)


def _bounds(text: str, whole: bool) -> tuple[float, float] | None:
    """``. >= a and . <= b`` (in any order, with > and <) as (a, b); None for anything else."""
    try:
        tree = xp.parse(text)
    except xp.XPathError:
        return None
    return _bounds_tree(tree, whole)


def _bounds_tree(tree: xp.Node, whole: bool) -> tuple[float, float] | None:
    parts: list[xp.Node] = []

    def flat(n: xp.Node) -> bool:
        if isinstance(n, xp.Bin) and n.op == "and":
            return flat(n.left) and flat(n.right)
        parts.append(n)
        return True

    flat(tree)
    lo: float | None = None
    hi: float | None = None
    for p in parts:
        if not isinstance(p, xp.Bin) or p.op not in ("<", "<=", ">", ">="):
            return None
        op = p.op
        if isinstance(p.left, xp.Dot) and isinstance(p.right, xp.Num | xp.Neg):
            value = _const(p.right)
        elif isinstance(p.right, xp.Dot) and isinstance(p.left, xp.Num | xp.Neg):
            value = _const(p.left)
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
        else:
            return None
        if value is None:
            return None
        if op in (">", ">="):
            if op == ">" and not (whole and float(value).is_integer()):
                return None
            lo = value + 1 if op == ">" else value
        else:
            if op == "<" and not (whole and float(value).is_integer()):
                return None
            hi = value - 1 if op == "<" else value
    if lo is None or hi is None or lo > hi:
        return None
    if whole and not (float(lo).is_integer() and float(hi).is_integer()):
        return None
    return (lo, hi)


def _count_ref(text: str) -> tuple[str | None, float | None]:
    """The question a repeat_count reads: ``${n}``, or ``if(${n} != '', if(${n} > 12, 12, ${n}), 0)`` (max 12)."""
    try:
        tree = xp.parse(text)
    except xp.XPathError:
        return None, None
    if isinstance(tree, xp.Ref):
        return tree.name, None
    if (isinstance(tree, xp.Call) and tree.name == "if" and len(tree.args) == 3
            and isinstance(tree.args[0], xp.Bin) and isinstance(tree.args[0].left, xp.Ref)
            and tree.args[0].op == "!=" and tree.args[0].right == xp.Str("") and tree.args[2] == xp.Num(0)):
        name = tree.args[0].left.name
        inner = tree.args[1]
        if inner == xp.Ref(name):
            return name, None
        if (isinstance(inner, xp.Call) and inner.name == "if" and len(inner.args) == 3
                and isinstance(inner.args[0], xp.Bin) and inner.args[0].op == ">" and inner.args[0].left == xp.Ref(name)
                and isinstance(inner.args[0].right, xp.Num) and inner.args[1] == inner.args[0].right
                and inner.args[2] == xp.Ref(name)):
            return name, float(inner.args[0].right.value)
    return None, None


def _bounds_and_codes(text: str, whole: bool) -> tuple[tuple[float, float], list[int]] | None:
    """``(. >= 0 and . <= 110) or . = 998``: the range and the codes allowed beside it."""
    try:
        tree = xp.parse(text)
    except xp.XPathError:
        return None
    return _bounds_and_codes_tree(tree, whole)


def _bounds_and_codes_tree(tree: xp.Node, whole: bool) -> tuple[tuple[float, float], list[int]] | None:
    codes: list[int] = []
    while isinstance(tree, xp.Bin) and tree.op == "or":
        right = tree.right
        if not (isinstance(right, xp.Bin) and right.op == "=" and isinstance(right.left, xp.Dot)
                and isinstance(right.right, xp.Num) and float(right.right.value).is_integer() and right.right.value >= 0):
            return None
        codes.insert(0, int(right.right.value))
        tree = tree.left
    if not codes:
        return None
    bounds = _bounds_tree(tree, whole)
    if bounds is None or any(bounds[0] <= c <= bounds[1] for c in codes):
        return None
    return bounds, codes


#: the most iterations an imported roster gets (a larger repeat_count is cut, with a note)
REPEAT_LIMIT = 1000


def _const(n: xp.Node) -> float | None:
    """A number as written: whole numbers stay exact ints (a float would round beyond 2^53)."""
    if isinstance(n, xp.Num):
        return n.value
    if isinstance(n, xp.Neg) and isinstance(n.operand, xp.Num):
        return -n.operand.value
    return None


#: the largest whole number a form (a double in XPath, JavaScript) holds exactly
EXACT_LIMIT = 2**53


def _too_big(text: str) -> bool:
    """Whether an expression has a number a form cannot hold exactly (beyond 2^53)."""
    try:
        tree = xp.parse(text)
    except xp.XPathError:
        return False
    stack: list[object] = [tree]
    while stack:
        n = stack.pop()
        if isinstance(n, xp.Num):
            if abs(n.value) > EXACT_LIMIT:
                return True
        elif hasattr(n, "__dataclass_fields__"):
            for f in n.__dataclass_fields__:
                v = getattr(n, f)
                stack.extend(v if isinstance(v, (list, tuple)) else [v])
    return False


# ---------------------------------------------------------------- the loop


def _diagnose(text: str) -> tuple[Compiled, list[tuple[int, str, str]]]:
    """The compiled text and (line, code, message) of every error ``check`` finds in it."""
    compiled = compile_text(text, "<import>")
    return compiled, [(d.line, d.code, d.message) for d in compiled.diagnostics if d.severity == "error"]


def import_workbook(wb: Workbook, stem: str = "form") -> Imported:
    """The spec of an XLSForm already read; see ``import_xlsform``."""
    imp = _Importer(wb, stem)
    degraded: dict[tuple[str, str], str] = {}
    for _ in range(60):
        writer = _Writer(imp, degraded)
        writer.write()
        text = "\n".join(line for line, _ in writer.lines) + "\n"
        compiled, errors = _diagnose(text)
        if not errors:
            break
        changed = False
        for line, code, message in errors:
            tag = writer.lines[line - 1][1] if 0 < line <= len(writer.lines) else None
            key = _degrade_key(tag, code)
            if key is not None and key not in degraded:
                degraded[key] = message
                changed = True
        if not changed:
            shown = "; ".join(f"line {line}: {message} [{code}]" for line, code, message in errors[:3])
            raise ImportError_(f"{wb.path}: the imported spec does not pass check and the import cannot tell which row causes it ({shown}); please report this")
    else:  # pragma: no cover - each round degrades at least one construct
        raise ImportError_(f"{wb.path}: the import did not settle")
    formatted = format_spec(compiled.result)
    if not formatted.endswith("\n"):  # the formatter leaves a comment after the last block without one
        formatted += "\n"
    notes = sorted(set(writer.notes) | set(imp.notes), key=lambda n: (n.position.sheet != "survey", n.position.sheet, n.position.row, n.position.column, n.message))
    return Imported(formatted, tuple(notes))


def _degrade_key(tag: tuple[str, str] | None, code: str) -> tuple[str, str] | None:
    if tag is None:
        return None
    kind, key = tag
    if kind in ("fills", "item") and code in ("unreachable", "always-false", "always-true"):
        return ("guard", key)
    if kind == "fills":
        return ("fills", key) if code == "fill" else ("item", key)
    if kind == "item" and code in ("unreachable", "always-false"):
        return ("guard", key)
    if kind == "scale":
        return None
    return (kind, key)


def import_xlsform(path: str | Path) -> Imported:
    """The spec of the XLSForm at ``path`` (.xlsx, .xls, .csv or pyxform's .md).

    Raises ``InputError`` (``ImportError_``) for a file that is not an XLSForm
    or has an expression that is not XPath, with its sheet, row and column.
    """
    wb = read_workbook(path)
    return import_workbook(wb, Path(path).stem)


__all__ = ["ImportError_", "Imported", "Note", "import_workbook", "import_xlsform"]
