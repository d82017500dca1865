"""Submissions and what the database keeps about the spec.

A submission is ``{"id": UUID, "record": {...}, "paradata": {...}}``. It is
stored once per id: a repeat with the same content (the same ``digest``, the
SHA-256 of the canonical JSON of record and paradata) is answered 200, the
same id with other content 409. A record that breaks the spec is kept in the
``quarantine`` table and answered 422 with the findings in the shape of
``kvpspec validate``'s report (``Report.as_dict``).

Records are checked by the validator itself (``kvpspec.data.validate``) over
a batch of records at once: each record becomes one row of text cells read by
the reader's rules (numbers, codes separated by spaces), so a record is valid
here exactly when its row would be valid in a CSV file. A key of the record
that is no column of the response data is judged per record (personal data,
sample fields, unknown names); a key naming a screener question of the
intro (``rett_person``) is kept in the stored record but is not response data.

The :class:`Writer` is the one writer of interviews: a thread that takes the
submissions waiting, validates them together, stores them in one transaction
and answers each only after the commit (group commit: one ``fsync`` for many
interviews).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kvpspec.compile import Compiled
from kvpspec.diagnostics import InputError, KvpspecError
from kvpspec.fieldwork import db

#: the largest request body taken (bytes); a larger one is answered 413
MAX_BODY = 256 * 1024
#: the most characters of a body kept in the quarantine table
QUARANTINE_BODY_LIMIT = 64 * 1024
#: the most submissions validated and committed together
BATCH = 256
#: a batch smaller than this waits ``GATHER_SECONDS`` for others when nothing is being
#: committed (checking a batch costs about the same for 1 record as for 50)
GATHER = 32
GATHER_SECONDS = 0.004


class IncompatibleSpec(InputError):
    """The database holds data of a spec whose response columns differ from this one's."""


def canonical(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same content, the same text."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def digest(record: Any, paradata: Any) -> str:
    return hashlib.sha256(canonical({"record": record, "paradata": paradata}).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- the spec and the database


def signature(compiled: Compiled) -> dict[str, Any]:
    """What stored data depend on: the response columns, their types and codes."""
    columns = []
    for v in compiled.lowered.response_variables():
        columns.append([v.name, v.type, sorted(v.codes) if v.type in ("single", "multiple") else []])
    return {"survey": compiled.spec.name, "columns": columns}


def incompatibilities(stored: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Why data stored under ``stored`` cannot be read under ``new`` (empty: compatible).

    Compatible: the same response columns with the same types, each coded
    column keeping its codes (new codes may be added); labels, texts, routing
    and checks may change. Anything else would leave stored interviews that
    the new spec cannot read."""
    out: list[str] = []
    if stored.get("survey") != new.get("survey"):
        out.append(f"the database holds the survey `{stored.get('survey')}`, the spec is `{new.get('survey')}`")
    old = {c[0]: c for c in stored.get("columns", [])}
    now = {c[0]: c for c in new.get("columns", [])}
    for name, (_, kind, codes) in old.items():
        if name not in now:
            out.append(f"the column `{name}` is stored but is not in the spec")
            continue
        _, new_kind, new_codes = now[name]
        if new_kind != kind:
            out.append(f"`{name}` is stored as {kind}; the spec makes it {new_kind}")
        elif set(codes) - set(new_codes):
            lost = ", ".join(str(c) for c in sorted(set(codes) - set(new_codes)))
            out.append(f"`{name}` loses the code(s) {lost} that stored answers may hold")
    for name in now:
        if name not in old:
            out.append(f"the spec adds the column `{name}`, which stored interviews do not have")
    return out


def bind_spec(eng: Engine, compiled: Compiled, *, source: str = "spec") -> list[str]:
    """Record the spec in a migrated database, or refuse one whose data it cannot read.

    An empty database (no interviews) takes any spec. Otherwise the stored
    signature must be compatible (:func:`incompatibilities`); a compatible
    change of version is recorded (``versions`` keeps every hash used).
    Gives notes for the user (empty when nothing changed)."""
    new = signature(compiled)
    notes: list[str] = []
    with eng.begin() as conn:
        stored_text = db.get_meta(conn, "signature")
        version = db.get_meta(conn, "version")
        held = conn.execute(sa.select(sa.func.count()).select_from(db.interviews)).scalar_one()
        n_cases = conn.execute(sa.select(sa.func.count()).select_from(db.cases)).scalar_one()
        sample_fields = _sample_fields(compiled)
        if n_cases:  # cases (links, resume state) belong to one survey and its sample fields
            differs = []
            survey = db.get_meta(conn, "survey")
            if survey is not None and survey != compiled.spec.name:
                differs.append(f"the survey is `{survey}` there, `{compiled.spec.name}` here")
            stored_sample = db.get_meta(conn, "sample_fields")
            if stored_sample is not None and json.loads(stored_sample) != sample_fields:
                old_names = [f[0] for f in json.loads(stored_sample)]
                new_names = [f[0] for f in sample_fields]
                differs.append(f"the sample fields differ (there: {', '.join(old_names) or 'none'}; "
                               f"here: {', '.join(new_names) or 'none'}; names, types or `personal`)")
            if differs:
                raise IncompatibleSpec(
                    f"{source}: the database holds {n_cases} case(s) of another survey:\n  - "
                    + "\n  - ".join(differs) + "\nServe the spec the cases were loaded with, or a new database (--db).")
        if stored_text is not None and version != compiled.version:
            problems = incompatibilities(json.loads(stored_text), new)
            if problems and held:
                raise IncompatibleSpec(
                    f"{source}: the database holds {held} interview(s) of version {version}, and this spec "
                    f"(version {compiled.version}) cannot read them:\n  - " + "\n  - ".join(problems)
                    + "\nServe the spec the data were collected with, or a new database (--db)."
                )
            notes.append(f"the spec changed from version {version} to {compiled.version}"
                         + ("" if problems else " (compatible: the same response columns)"))
        versions = json.loads(db.get_meta(conn, "versions") or "[]")
        if compiled.version not in versions:
            versions.append(compiled.version)
        db.set_meta(conn, "survey", compiled.spec.name)
        db.set_meta(conn, "version", compiled.version)
        db.set_meta(conn, "versions", canonical(versions))
        db.set_meta(conn, "signature", canonical(new))
        db.set_meta(conn, "fields", canonical(export_fields(compiled)))
        db.set_meta(conn, "sample_fields", canonical(sample_fields))
    return notes


def _sample_fields(compiled: Compiled) -> list[list[Any]]:
    """Every sample field of the spec: [name, type, personal], in the spec's order."""
    return [[v.name, v.type, bool(v.personal)] for v in compiled.lowered.variables.values() if v.role == "sample"]


def export_fields(compiled: Compiled) -> dict[str, Any]:
    """What ``fieldwork export`` needs of the spec, kept in ``meta``: the respondent id,
    the non-personal sample fields (in the spec's order) and the complete disposition."""
    low = compiled.lowered
    fw = compiled.spec.fieldwork
    sample = [[v.name, v.type] for v in low.variables.values() if v.role == "sample" and not v.personal]
    ends = intro_ends(compiled)
    respondent = compiled.spec.respondent
    return {"id": respondent.name if respondent is not None else None, "sample": sample,
            "complete": complete_code(compiled),
            "ends": {name: {str(code): end for code, end in codes.items()} for name, codes in ends.items()},
            "dispositions": sorted(d.code for d in fw.dispositions) if fw else []}


def complete_code(compiled: Compiled) -> int | None:
    """The spec's disposition code of a complete interview (AAPOR ``I``), or None."""
    fw = compiled.spec.fieldwork
    return next((d.code for d in fw.dispositions if d.aapor == "I"), None) if fw else None


def intro_ends(compiled: Compiled) -> dict[str, dict[int, int]]:
    """The screener questions of the intro whose answers end the interview: name → {code: disposition}."""
    from kvpspec.model import Question, walk_items

    low = compiled.lowered
    out: dict[str, dict[int, int]] = {}
    interview = compiled.spec.interview
    for item in walk_items(interview.items if interview is not None else ()):
        if isinstance(item, Question):
            var = low.variables.get(item.name)
            ends = {o.code: o.end for o in item.options if o.end is not None}
            if var is not None and var.role == "screener" and ends:
                out[item.name] = ends
    return out


def call_outcome(record: Mapping[str, Any], paradata: Mapping[str, Any] | None,
                 ends: Mapping[str, Mapping[Any, int]], complete: int | None) -> bool:
    """Whether an interview is a call outcome rather than response data: the form says
    it did not complete (``paradata.complete`` false: ended in the intro or by a
    disposition button), its paradata carry a disposition other than the complete one,
    or an intro answer of the record ended it."""
    paradata = paradata or {}
    if paradata.get("complete") is False:
        return True
    d = paradata.get("disposition")
    if isinstance(d, int) and not isinstance(d, bool):
        return d != complete
    return ended_in_intro(record, ends) is not None


def ended_in_intro(record: Mapping[str, Any], ends: Mapping[str, Mapping[Any, int]]) -> int | None:
    """The disposition an intro answer of ``record`` ended the interview with, or None."""
    for name, codes in ends.items():
        value = record.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            end = codes.get(value, codes.get(str(value)))
            if end is not None:
                return end
    return None


def open_database(url: str, compiled: Compiled | None = None, *, source: str = "spec") -> tuple[Engine, list[str]]:
    """An engine on ``url`` with the schema migrated and (given a spec) the spec bound."""
    eng = db.engine(url)
    try:
        db.migrate(eng)
    except sa.exc.DatabaseError as e:
        eng.dispose()
        if "file is not a database" in _short(e):
            raise InputError(f"--db {url}: not an SQLite database") from None
        raise InputError(f"--db {url}: cannot open the database: {_short(e)}") from None
    notes: list[str] = []
    if compiled is not None:
        try:
            notes = bind_spec(eng, compiled, source=source)
        except BaseException:
            eng.dispose()
            raise
    return eng, notes


def _short(e: BaseException) -> str:
    text = str(getattr(e, "orig", e)).strip().splitlines()
    return text[0] if text else type(e).__name__


def stored_survey(conn: sa.Connection) -> tuple[str | None, str | None]:
    return db.get_meta(conn, "survey"), db.get_meta(conn, "version")


# ---------------------------------------------------------------- checking records


def finding(rule: str, message: str, column: str = "", value: str = "") -> dict[str, Any]:
    return {"row": 1, "column": column, "rule": rule, "value": value, "message": message}


def report(name: str, errors: list[dict[str, Any]], warnings: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One record's findings in the shape of ``kvpspec validate --report``."""
    warnings = warnings or []

    def by_rule(fs: list[dict[str, Any]]) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in fs:
            out[f["rule"]] = out.get(f["rule"], 0) + 1
        return dict(sorted(out.items()))

    return {
        "summary": {
            "file": name, "rows_read": 1, "rows_valid": 0 if errors else 1, "rows_invalid": 1 if errors else 0,
            "errors": len(errors), "warnings": len(warnings),
            "errors_by_rule": by_rule(errors), "warnings_by_rule": by_rule(warnings),
        },
        "errors": errors,
        "warnings": warnings,
    }


def _cell(value: Any, kind: str) -> str | None:
    """A JSON value as the text of a data cell (None: empty); ValueError when no cell can hold it."""
    if value is None:
        return None
    if isinstance(value, (bool, dict)):
        raise ValueError
    if isinstance(value, list):
        if kind != "multiple" or not all(isinstance(x, int) and not isinstance(x, bool) for x in value):
            raise ValueError
        return " ".join(str(x) for x in value) if value else None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return value
    raise ValueError


class RecordChecker:
    """Checks records against the spec with the validator, many at once."""

    def __init__(self, compiled: Compiled):
        self.compiled = compiled
        low = compiled.lowered
        self.columns = low.response_variables()
        self.kinds = {v.name: v.type for v in self.columns}
        self.variables = low.variables
        self.personal = {v.name for v in low.variables.values() if v.role == "sample" and v.personal}
        self.screeners = {v.name for v in low.variables.values() if v.role == "screener"}
        respondent = compiled.spec.respondent
        self.id_name = respondent.name if respondent is not None else None
        self.ends = intro_ends(compiled)
        fw = compiled.spec.fieldwork
        self.complete = complete_code(compiled)
        self.dispositions = {d.code for d in fw.dispositions} if fw else set()

    def check_paradata(self, record: Mapping[str, Any], paradata: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        """Findings on the paradata fields the server acts on: ``complete`` (a boolean),
        ``disposition`` (a disposition code of the spec), and never the complete code
        for an interview that did not complete or that the intro ended."""
        paradata = paradata or {}
        errors = []
        complete = paradata.get("complete")
        if complete is not None and not isinstance(complete, bool):
            errors.append(finding("paradata", "`paradata.complete` must be true or false",
                                  "paradata.complete", canonical(complete)[:40]))
        d = paradata.get("disposition")
        if d is not None:
            if not (isinstance(d, int) and not isinstance(d, bool)) or d not in self.dispositions:
                codes = ", ".join(str(c) for c in sorted(self.dispositions)) or "none"
                errors.append(finding("paradata", f"`paradata.disposition` must be a disposition code of the spec "
                                      f"({codes})", "paradata.disposition", canonical(d)[:40]))
            elif d == self.complete and (complete is False or ended_in_intro(record, self.ends) is not None):
                errors.append(finding("paradata", f"`paradata.disposition` {d} is the complete disposition, but the "
                                      f"interview did not complete (paradata.complete false or ended in the intro)",
                                      "paradata.disposition", str(d)))
        return errors

    def strip_personal(self, record: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The record without personal sample fields, and the names removed."""
        removed = sorted(k for k in record if k in self.personal)
        return {k: v for k, v in record.items() if k not in self.personal}, removed

    def _keys(self, record: Mapping[str, Any]) -> list[dict[str, Any]]:
        errors = []
        for name in record:
            if name in self.kinds or name in self.screeners:
                continue
            var = self.variables.get(name)
            if name in self.personal:
                errors.append(finding("personal-data", f"`{name}` is personal data (a sample field marked "
                                      f"`personal`); it must not be in the response data: the consent promises "
                                      f"anonymity; the field was removed before the record was quarantined", name))
            elif var is not None and var.role == "sample":
                errors.append(finding("unknown-column", f"`{name}` is a sample field; it belongs in the sample file",
                                      name))
            elif var is not None and var.role in ("recode", "derive"):
                errors.append(finding("unknown-column", f"`{name}` is computed from the spec; leave it out of the data",
                                      name))
            else:
                from kvpspec.diagnostics import did_you_mean

                hint = did_you_mean(name, set(self.kinds))
                errors.append(finding("unknown-column", f"`{name}` is not a variable of the spec{hint}", name[:200]))
        return errors

    def check(self, records: list[Mapping[str, Any]], names: list[str],
              paradata: list[Mapping[str, Any] | None] | None = None) -> list[dict[str, Any]]:
        """One report per record (``report``'s shape). A call outcome (``call_outcome``)
        is checked for what it holds; its empty questions are no error."""
        import numpy as np
        import pyarrow as pa

        from kvpspec.data.reader import Batch, DataSource
        from kvpspec.data.validate import Validator

        n = len(records)
        errors: list[list[dict[str, Any]]] = [[] for _ in range(n)]
        warnings: list[list[dict[str, Any]]] = [[] for _ in range(n)]
        cells: dict[str, list[str | None]] = {name: [None] * n for name in self.kinds}
        paras = paradata if paradata is not None else [None] * n
        for i, record in enumerate(records):
            errors[i].extend(self._keys(record))
            if paradata is not None:
                errors[i].extend(self.check_paradata(record, paras[i]))
            for name, kind in self.kinds.items():
                if name not in record:
                    continue
                try:
                    cells[name][i] = _cell(record[name], kind)
                except ValueError:
                    shown = canonical(record[name])
                    shown = shown if len(shown) <= 40 else shown[:37] + "..."
                    errors[i].append(finding("type", f"`{name}` cannot hold the JSON value `{shown}` ({kind})",
                                             name, shown))
            if self.id_name is not None and cells[self.id_name][i] is None:
                # the server numbers interviews without an id at export; meanwhile a unique stand-in
                cells[self.id_name][i] = str(-1 - i) if self.kinds[self.id_name] != "text" else f"~{i}"
        rows = np.arange(2, n + 2)

        class _Records(DataSource):
            def batches(self_inner) -> Iterator[Batch]:
                self_inner.rows_kept = n
                yield Batch(rows, {k: pa.array(v, pa.string()) for k, v in cells.items()})

        source = _Records("record", list(self.kinds), "records")
        result = Validator(self.compiled, source).run()
        ended = [call_outcome(r, pd, self.ends, self.complete) for r, pd in zip(records, paras)]
        for f in result.errors + result.warnings:
            i = f.row - 2
            if not 0 <= i < n:
                continue
            if ended[i] and f.rule == "asked-empty":
                continue  # the interview ended in the intro: a call outcome, not response data
            item = finding(f.rule, f.message, f.column, f.value)
            (errors if f.severity == "error" else warnings)[i].append(item)
        return [report(f"interview {names[i]}", errors[i], warnings[i]) for i in range(n)]


# ---------------------------------------------------------------- submissions


@dataclass
class Submission:
    id: str
    record: dict[str, Any]
    paradata: dict[str, Any]
    body: str
    account_id: int | None = None
    case_id: str | None = None
    #: who sent it (``auth.Principal``), for the hook that follows a stored interview
    principal: Any = None
    digest: str = ""
    future: asyncio.Future[Answer] | None = None

    def __post_init__(self) -> None:
        self.digest = digest(self.record, self.paradata)


#: called in the storing transaction after a NEW interview is inserted (a web link's
#: case becomes final); a ``KvpspecError`` it raises undoes that interview: answered 409
Hook = Callable[[sa.Connection, Submission], None]


@dataclass
class Answer:
    status: int
    body: dict[str, Any]


def parse_body(body: bytes) -> tuple[str | None, dict[str, Any] | None, dict[str, Any] | None, list[dict[str, Any]]]:
    """The id, record and paradata of a request body, or the findings that refuse it."""
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        return None, None, None, [finding("body", "the body is not UTF-8 text")]
    except json.JSONDecodeError as e:
        return None, None, None, [finding("body", f"the body is not JSON: {e.msg} at line {e.lineno}, column {e.colno}")]
    except RecursionError:
        return None, None, None, [finding("body", "the body is nested too deeply to be read")]
    if not isinstance(data, dict):
        return None, None, None, [finding("body", 'the body must be a JSON object {"id", "record", "paradata"}')]
    errors = []
    raw_id = data.get("id")
    sid: str | None = None
    try:
        if not isinstance(raw_id, str):
            raise ValueError
        sid = str(uuid.UUID(raw_id))
    except ValueError:
        errors.append(finding("body", "`id` must be a UUID, as text", "id", str(raw_id)[:40]))
    record, paradata = data.get("record"), data.get("paradata", {})
    if not isinstance(record, dict):
        errors.append(finding("body", "`record` must be a JSON object of answers", "record"))
        record = None
    if paradata is None:
        paradata = {}
    if not isinstance(paradata, dict):
        errors.append(finding("body", "`paradata` must be a JSON object", "paradata"))
        paradata = None
    extra = sorted(set(data) - {"id", "record", "paradata"})
    if extra:
        errors.append(finding("body", f"unknown key(s) in the body: {', '.join(extra)[:200]}"))
    return sid, record, paradata, errors


def quarantine_row(checker: RecordChecker | None, body: str, interview_id: str | None, account_id: int | None,
                   errors: list[dict[str, Any]] | dict[str, Any]) -> dict[str, Any]:
    """A quarantine row: the body without personal fields (when it can be read), at most
    ``QUARANTINE_BODY_LIMIT`` characters."""
    if checker is not None:
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, RecursionError):
            data = None
        if isinstance(data, dict) and isinstance(data.get("record"), dict):
            data["record"], removed = checker.strip_personal(data["record"])
            if removed:
                body = canonical(data)
                data = {"removed_personal_fields": removed}
    if len(body) > QUARANTINE_BODY_LIMIT:
        body = body[:QUARANTINE_BODY_LIMIT]
    return {"interview_id": interview_id, "account_id": account_id, "body": body,
            "errors": errors, "received": db.now()}


def quarantine(eng: Engine, rows: list[dict[str, Any]]) -> None:
    with eng.begin() as conn:
        conn.execute(sa.insert(db.quarantine), rows)


def store_batch(conn: sa.Connection, checker: RecordChecker, subs: list[Submission],
                hook: Hook | None = None, reports: list[dict[str, Any]] | None = None) -> list[Answer]:
    """Store submissions of distinct ids in the open transaction; the answer for each.
    ``reports``: the records' reports when they were checked already (one per submission)."""
    ids = [s.id for s in subs]
    known = {r.id: r.digest for r in conn.execute(
        sa.select(db.interviews.c.id, db.interviews.c.digest).where(db.interviews.c.id.in_(ids)))}
    answers: list[Answer | None] = [None] * len(subs)
    fresh = []
    for i, s in enumerate(subs):
        if s.id in known:
            same = known[s.id] == s.digest
            answers[i] = (Answer(200, {"id": s.id, "status": "already stored"}) if same else
                          Answer(409, {"id": s.id, "error": "an interview with this id is stored with other content"}))
        else:
            fresh.append(i)
    if reports is None:
        checked = checker.check([subs[i].record for i in fresh], [subs[i].id for i in fresh],
                                [subs[i].paradata for i in fresh]) if fresh else []
    else:
        checked = [reports[i] for i in fresh]
    new_rows, bad_rows = [], []
    for i, rep in zip(fresh, checked):
        s = subs[i]
        if rep["errors"]:
            bad_rows.append(quarantine_row(checker, s.body, s.id, s.account_id, rep))
            answers[i] = Answer(422, rep)
            continue
        case = s.case_id if s.case_id is not None else s.paradata.get("case")
        row = {"id": s.id, "case_id": str(case)[:100] if isinstance(case, (str, int)) else None,
               "account_id": s.account_id, "record": s.record, "paradata": s.paradata,
               "digest": s.digest, "received": db.now()}
        answers[i] = Answer(201, {"id": s.id, "status": "stored", "warnings": rep["warnings"]})
        if hook is None or s.principal is None or getattr(s.principal, "role", None) != "web":
            new_rows.append(row)
            continue
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(db.interviews), [row])
                hook(conn, s)
        except KvpspecError as e:
            answers[i] = Answer(409, {"id": s.id, "error": str(e)})
    if new_rows:
        conn.execute(sa.insert(db.interviews), new_rows)
    if bad_rows:
        conn.execute(sa.insert(db.quarantine), bad_rows)
    return [a for a in answers if a is not None]


class Writer:
    """The one writer of interviews. In the server's event loop it gathers the
    submissions waiting (up to ``BATCH``), checks their records together, and
    hands them to one database thread that stores them in one transaction;
    each is answered after the commit. While a batch is being committed the
    next one gathers; it is checked when the commit is done (with nothing to
    wait for, a small batch waits ``GATHER_SECONDS`` for others). The checking
    runs in the event loop's own thread: the validator's many short
    numpy/pyarrow calls would otherwise wait for the interpreter lock at each
    of them."""

    def __init__(self, eng: Engine, checker: RecordChecker, hook: Hook | None = None):
        self.eng = eng
        self.checker = checker
        self.hook = hook
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="kvpspec-writer")
        self.loop: asyncio.AbstractEventLoop | None = None
        self.queue: asyncio.Queue[Submission] | None = None
        self.task: asyncio.Task[None] | None = None

    async def submit(self, s: Submission) -> Answer:
        loop = asyncio.get_running_loop()
        if self.loop is not loop or self.task is None or self.task.done():
            self.loop, self.queue = loop, asyncio.Queue()
            self.task = loop.create_task(self._run())
        assert self.queue is not None
        s.future = loop.create_future()
        self.queue.put_nowait(s)
        return await s.future

    def close(self) -> None:
        task, loop = self.task, self.loop
        if task is not None and loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
                loop.call_soon_threadsafe(task.cancel)
        self.executor.shutdown(wait=True)

    async def _run(self) -> None:
        assert self.queue is not None and self.loop is not None
        carry: list[Submission] = []
        committing: asyncio.Future[None] | None = None
        while True:
            waiting = carry or [await self.queue.get()]
            if committing is not None and not committing.done():
                await committing  # meanwhile more arrive: they join this batch
            elif len(waiting) < GATHER and self.queue.empty():
                await asyncio.sleep(GATHER_SECONDS)  # a moment for others to join: checking is per batch
            while len(waiting) < BATCH and not self.queue.empty():
                waiting.append(self.queue.get_nowait())
            batch: list[Submission] = []
            carry = []
            seen: set[str] = set()
            for s in waiting:  # one id once per batch; a repeat goes in the next one
                (carry if s.id in seen else batch).append(s)
                seen.add(s.id)
            try:
                reports = self.checker.check([s.record for s in batch], [s.id for s in batch],
                                             [s.paradata for s in batch])
            except Exception as e:  # noqa: BLE001 (every submission is answered)
                self._fail(batch, e)
                committing = None
                continue
            committing = asyncio.ensure_future(self._commit(batch, reports))

    async def _commit(self, batch: list[Submission], reports: list[dict[str, Any]]) -> None:
        assert self.loop is not None
        try:
            answers = await self.loop.run_in_executor(self.executor, self._store, batch, reports)
        except Exception as e:  # noqa: BLE001 (every submission is answered; none is lost silently)
            self._fail(batch, e)
            return
        for s, a in zip(batch, answers):
            if s.future is not None and not s.future.done():
                s.future.set_result(a)

    def _store(self, batch: list[Submission], reports: list[dict[str, Any]]) -> list[Answer]:
        with self.eng.begin() as conn:
            return store_batch(conn, self.checker, batch, self.hook, reports)

    @staticmethod
    def _fail(batch: list[Submission], e: BaseException) -> None:
        for s in batch:
            if s.future is not None and not s.future.done():
                s.future.set_result(Answer(503, {"error": f"the database could not store the interview: "
                                                          f"{_short(e)}; send it again"}))


# ---------------------------------------------------------------- purge


PURGED = "[slettet]"


def purge(eng: Engine) -> dict[str, int]:
    """Delete the personal data: every ``persons`` row, and each personal value
    wherever else it was written (a quarantined body). Gives the counts."""
    with eng.begin() as conn:
        values: set[str] = set()
        for (data,) in conn.execute(sa.select(db.persons.c.data)):
            for v in (data or {}).values():
                if isinstance(v, str) and len(v.strip()) >= 3:
                    values.add(v.strip())
        persons = conn.execute(sa.delete(db.persons)).rowcount
        scrubbed = 0
        ordered = sorted(values, key=len, reverse=True)
        for row in conn.execute(sa.select(db.quarantine.c.id, db.quarantine.c.body)).all():
            body = row.body
            for v in ordered:
                if v in body:
                    body = body.replace(v, PURGED)
                    for variant in (json.dumps(v)[1:-1],):
                        body = body.replace(variant, PURGED)
            if body != row.body:
                conn.execute(sa.update(db.quarantine).where(db.quarantine.c.id == row.id).values(body=body))
                scrubbed += 1
        partials = 0
        for row in conn.execute(sa.select(db.partials.c.case_id, db.partials.c.answers)).all():
            text = canonical(row.answers)
            if any(v in text for v in ordered):
                conn.execute(sa.delete(db.partials).where(db.partials.c.case_id == row.case_id))
                partials += 1
        db.set_meta(conn, "purged", db.now())
    return {"persons": persons, "quarantine_bodies": scrubbed, "partials": partials}


def iter_chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    for x in items:
        chunk.append(x)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
