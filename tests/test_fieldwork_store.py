"""The collection server's contract (issue 13, storage and API): healthz; a
submission answered 201/200/409/422 (quarantined)/401/413 (quarantined,
truncated); an incompatible spec refused, a compatible change recorded; the
sample loaded from the registration workbook ``build`` makes, with row and
column in every problem; export that ``kvpspec validate`` accepts with 0
errors; purge that leaves no name or number in any table; the CLI's exit
codes and messages; the schema the migration makes equals the tables'; the
same API on a real PostgreSQL.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import KVP
from pg import postgres_server, postgres_url  # noqa: F401
from starlette.testclient import TestClient

from kvpspec import compile_file, compile_text
from kvpspec.compile import Compiled
from kvpspec.data.reader import cell_value, open_data
from kvpspec.data.validate import validate, validate_sample
from kvpspec.fieldwork import auth, db, store
from kvpspec.fieldwork.app import create_app
from kvpspec.fieldwork.export import export
from kvpspec.fieldwork.sample import SampleInvalid, load_sample, read_sample
from kvpspec.synth.simulate import cells, simulate

PEOPLE = [
    ("Hansen", "Kari", "92680108", "Kommuniserer tilfredsstillende på norsk", None),
    ("Olsen", "Per", 41234567, "Tigrinja", None),
    ("X", None, None, None, "Har ikke lyst"),
    ("Berg", "Ola", "99887766", "6", "Sykemeldt"),
]


@cache
def kvp() -> Compiled:
    return compile_file(KVP)


@cache
def records(n: int = 40) -> list[dict[str, Any]]:
    sim = simulate(kvp(), n, seed=5)
    columns = {v.name: cells(v, sim.data[v.name]) for v in sim.columns}
    kinds = {v.name: v.type for v in sim.columns}
    return [{k: cell_value(columns[k][i], kinds[k]) for k in columns} for i in range(n)]


def body(record: dict[str, Any], sid: str | None = None, paradata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": sid or str(uuid.uuid4()), "record": record, "paradata": paradata or {}}


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fieldwork.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fieldwork.db'}"
    return str(request.getfixturevalue("postgres_url"))


class Api:
    def __init__(self, url: str, compiled: Compiled | None = None, **kw: Any):
        self.app = create_app(compiled or kvp(), url, pages=False, **kw)
        self.eng: sa.Engine = self.app.state.engine
        with self.eng.begin() as conn:
            self.token = auth.create_token(conn, "ida", "interviewer")
        self.client = TestClient(self.app).__enter__()  # one event loop for every request

    def post(self, payload: Any, token: str | None = None, raw: bytes | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        if raw is not None:
            return self.client.post("/api/interviews", content=raw, headers=headers)
        return self.client.post("/api/interviews", json=payload, headers=headers)

    def rows(self, table: sa.Table) -> list[Any]:
        with self.eng.connect() as conn:
            return list(conn.execute(sa.select(table)))

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self.app.state.server.stop()
        self.eng.dispose()


@pytest.fixture
def api(any_url: str) -> Iterator[Api]:
    a = Api(any_url)
    yield a
    a.close()


# ---------------------------------------------------------------- the API


def test_healthz(api: Api) -> None:
    r = api.client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "survey": "kvp2009", "version": kvp().version}


def test_submission_once_repeat_and_conflict(api: Api) -> None:
    sid = str(uuid.uuid4())
    first = api.post(body(records()[0], sid))
    assert first.status_code == 201, first.json()
    assert first.json()["id"] == sid
    again = api.post(body(records()[0], sid))
    assert again.status_code == 200
    other = api.post(body(records()[1], sid))
    assert other.status_code == 409
    changed_paradata = api.post(body(records()[0], sid, {"duration": 12}))
    assert changed_paradata.status_code == 409
    stored = api.rows(db.interviews)
    assert [r.id for r in stored] == [sid]
    assert stored[0].record == records()[0]
    assert stored[0].digest == store.digest(records()[0], {})
    assert api.rows(db.quarantine) == []


def test_without_a_valid_token_nothing_is_kept(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {api.token}"}):
        r = api.client.post("/api/interviews", json=body(records()[0]), headers=headers)
        assert r.status_code == 401
    assert api.rows(db.interviews) == [] and api.rows(db.quarantine) == []


def test_hostile_record_is_422_and_quarantined_without_personal_fields(api: Api) -> None:
    bad = dict(records()[2])
    bad.update({"q1": "ja", "q3": 7.5, "q2": 999, "hacker": "<script>", "etternavn": "Nordmann",
                "telefon": "40404040", "q10a": {"x": 1}})
    sid = str(uuid.uuid4())
    r = api.post(body(bad, sid))
    assert r.status_code == 422
    report = r.json()
    assert set(report) == {"summary", "errors", "warnings"}
    assert report["summary"]["rows_invalid"] == 1
    rules = {(e["column"], e["rule"]) for e in report["errors"]}
    assert {("q1", "type"), ("q2", "code"), ("q3", "type"), ("hacker", "unknown-column"),
            ("etternavn", "personal-data"), ("telefon", "personal-data"), ("q10a", "type")} <= rules, rules
    assert all(set(e) == {"row", "column", "rule", "value", "message"} for e in report["errors"])
    assert api.rows(db.interviews) == []
    (q,) = api.rows(db.quarantine)
    assert q.interview_id == sid and q.errors == report
    assert "Nordmann" not in q.body and "40404040" not in q.body and "etternavn" not in q.body
    assert json.loads(q.body)["record"]["hacker"] == "<script>"
    # the same id sent again, now valid: stored (the quarantine never holds an id back)
    assert api.post(body(records()[2], sid)).status_code == 201


def test_bad_bodies_are_422_and_quarantined(api: Api) -> None:
    cases = [b"{not json", b"[1, 2]", json.dumps({"id": "nope", "record": {}}).encode(),
             json.dumps({"id": str(uuid.uuid4()), "record": [1]}).encode(), b"\xff\xfe"]
    for raw in cases:
        r = api.post(None, raw=raw)
        assert r.status_code == 422, raw
        assert r.json()["errors"][0]["rule"] == "body"
    assert len(api.rows(db.quarantine)) == len(cases)


def test_oversized_is_413_and_quarantined_truncated(sqlite_url: str) -> None:
    a = Api(sqlite_url, max_body=4096)
    try:
        big = body({**records()[0], "q4_other": "x" * 10_000})
        r = a.post(big)
        assert r.status_code == 413
        assert r.json()["errors"][0]["rule"] == "size"
        (q,) = a.rows(db.quarantine)
        assert 0 < len(q.body) <= 4096 + 65536 and len(q.body) < len(json.dumps(big))
        assert a.rows(db.interviews) == []
        assert a.post(body(records()[0])).status_code == 201
    finally:
        a.close()


def test_records_missing_ids_are_numbered_at_export_and_validate(tmp_path: Path, sqlite_url: str) -> None:
    a = Api(sqlite_url)
    try:
        for i, rec in enumerate(records()[:20]):
            rec = dict(rec)
            if i % 2:
                del rec["lopenr"]
            else:
                rec["lopenr"] = 1000 + i
            assert a.post(body(rec)).status_code == 201
        assert a.post(body({"rett_person": 2})).status_code == 201  # "Nei, feil telefonnummer": end 3
        assert a.post(body({"lopenr": None}, paradata={"disposition": 5})).status_code == 201  # a call outcome
        assert a.post(body({"lopenr": None}, paradata={"complete": True})).status_code == 422  # asked, but empty
        assert a.post(body({"rett_person": 2, "q1": 77})).status_code == 422  # what it holds is still checked
        assert a.post(body({"q1": None}, paradata={"complete": False})).status_code == 201  # the form's way
        out = export(a.eng, tmp_path / "data.csv")
    finally:
        a.close()
    assert (out.interviews, out.numbered, out.left_out) == (20, 10, 3)
    report = validate(kvp(), open_data(tmp_path / "data.csv"))
    assert report.ok and report.rows_read == 20, report.text()


# ---------------------------------------------------------------- the spec and the database


def test_incompatible_spec_refused_compatible_recorded(sqlite_url: str) -> None:
    text = KVP.read_text(encoding="utf-8")
    a = Api(sqlite_url)
    assert a.post(body(records()[0])).status_code == 201
    a.close()
    relabelled = compile_text(text.replace('"Svært fornøyd"', '"Veldig fornøyd"'), str(KVP))
    assert relabelled.ok and relabelled.version != kvp().version
    eng, notes = store.open_database(sqlite_url, relabelled)
    with eng.connect() as conn:
        assert json.loads(db.get_meta(conn, "versions") or "[]") == [kvp().version, relabelled.version]
        assert db.get_meta(conn, "version") == relabelled.version
    eng.dispose()
    assert notes and "compatible" in notes[0]
    retyped = compile_text(text.replace('"Registrer kjønn" {\n    recorded\n    1 "Kvinne"\n',
                                        '"Registrer kjønn" {\n    recorded\n', 1), str(KVP))
    assert retyped.ok, retyped.errors
    with pytest.raises(store.IncompatibleSpec) as e:
        store.open_database(sqlite_url, retyped)
    assert "`q12` loses the code(s) 1 that stored answers may hold" in str(e.value)
    assert "cannot read them" in str(e.value)


def test_an_empty_database_takes_any_spec(sqlite_url: str) -> None:
    eng, _ = store.open_database(sqlite_url, kvp())
    eng.dispose()
    other = compile_text('survey other "O"\ninterview { question a "A" { 1 "Ja" 2 "Nei" } }')
    eng, _ = store.open_database(sqlite_url, other)
    with eng.connect() as conn:
        assert db.get_meta(conn, "survey") == "other"
    eng.dispose()


def test_incompatibilities() -> None:
    old = {"survey": "s", "columns": [["a", "single", [1, 2]], ["b", "integer", []]]}
    assert store.incompatibilities(old, old) == []
    grown = {"survey": "s", "columns": [["a", "single", [1, 2, 3]], ["b", "integer", []]]}
    assert store.incompatibilities(old, grown) == []
    assert store.incompatibilities(grown, old) == ["`a` loses the code(s) 3 that stored answers may hold"]
    assert store.incompatibilities(old, {"survey": "s", "columns": [["a", "single", [1, 2]]]}) == [
        "the column `b` is stored but is not in the spec"]


def test_migration_makes_exactly_the_tables(any_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    eng = db.engine(any_url)
    db.migrate(eng)
    assert db.current_revision(eng) == "0001"
    with eng.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
        assert set(sa.inspect(conn).get_table_names()) >= {t.name for t in db.TABLES}
    db.migrate(eng)  # again: nothing to do
    eng.dispose()


def test_sqlite_is_wal_and_durable(sqlite_url: str) -> None:
    eng = db.engine(sqlite_url)
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    eng.dispose()


def test_urls() -> None:
    assert db.normalise_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db.normalise_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db.normalise_url("fw.db") == "sqlite:///fw.db"
    from kvpspec.diagnostics import InputError

    with pytest.raises(InputError, match="only sqlite"):
        db.engine("mysql://x/y")
    with pytest.raises(InputError, match="does not exist"):
        db.engine("sqlite:////no/such/folder/x.db")


# ---------------------------------------------------------------- the sample


@pytest.fixture(scope="module")
def registration(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The registration workbook ``build`` makes, filled in as a caseworker would."""
    from openpyxl import load_workbook

    from kvpspec.build import build

    root = tmp_path_factory.mktemp("reg")
    build(kvp(), root / "build", only=("registration",))
    wb = load_workbook(root / "build" / "documents" / "vedlegg4.xlsx")
    ws = wb.worksheets[0]
    header = next(r for r in range(1, 40) if ws.cell(r, 1).value == "Etternavn")
    for i, person in enumerate(PEOPLE):
        for j, value in enumerate(person):
            ws.cell(header + 1 + i, 1 + j).value = value
    path = root / "vedlegg4.xlsx"
    wb.save(path)
    return path


def test_sample_from_the_registration_workbook(sqlite_url: str, registration: Path) -> None:
    eng, _ = store.open_database(sqlite_url, kvp())
    loaded = load_sample(eng, kvp(), registration)
    assert (loaded.cases, loaded.ids) == (4, ["1", "2", "3", "4"])
    with eng.connect() as conn:
        cases = {r.id: r for r in conn.execute(sa.select(db.cases))}
        persons = {r.case_id: r.data for r in conn.execute(sa.select(db.persons))}
    eng.dispose()
    assert cases["1"].sample == {"sprak": 1}
    assert cases["2"].sample == {"sprak": 11, "sprak_annet": "Tigrinja"}  # free text: "Annet språk"
    assert cases["3"].sample == {"arsak": 11}
    assert cases["4"].sample == {"sprak": 6, "arsak": 8}
    assert persons["1"] == {"etternavn": "Hansen", "fornavn": "Kari", "telefon": "92680108", "navn": "Kari Hansen"}
    assert persons["2"]["telefon"] == "41234567"  # a number in Excel, text here
    assert all(c.status == "open" and c.disposition is None for c in cases.values())
    for c in cases.values():  # nothing personal beside the sample
        assert not set(c.sample) & {"etternavn", "fornavn", "telefon", "navn"}


def test_sample_problems_name_row_and_column(tmp_path: Path, registration: Path) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(registration)
    ws = wb.worksheets[0]
    header = next(r for r in range(1, 40) if ws.cell(r, 1).value == "Etternavn")
    ws.cell(header + 2, 5).value = 99  # arsak: no such code
    bad = tmp_path / "bad.xlsx"
    wb.save(bad)
    _, loaded = read_sample(kvp(), bad)
    assert [p.text() for p in loaded.problems] == [
        f"row {header + 2}, column E (arsak): `99` is neither a code nor an option of `arsak` "
        "(1 Tar ikke telefonen, 2 Sperret telefon, 3 Nummeret er ikke i bruk, 4 Har ikke telefon, 5 Soner, "
        "6 Har fått jobb, ...)"]
    csv = tmp_path / "sample.csv"
    csv.write_text("etternavn,fornavn,telefon,sprak,bogus,disposition\nA,B,1,2,,7\nC,D,2,abc1,,12\n", encoding="utf-8")
    eng, _ = store.open_database(f"sqlite:///{tmp_path / 'x.db'}", kvp())
    with pytest.raises(SampleInvalid) as e:
        load_sample(eng, kvp(), csv)
    texts = [p.text() for p in e.value.loaded.problems]
    assert "row 1, column bogus: `bogus` is not a sample field of the spec" in texts
    assert any(t.startswith("row 3, column disposition: `12` is neither a code nor an option of `disposition` "
                            "(1 Ubesvart i intervjuperioden") for t in texts), texts
    with eng.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.cases)).scalar() == 0  # all or nothing
    eng.dispose()


# ---------------------------------------------------------------- export and purge


def test_export_validates_with_0_errors_and_purge_leaves_nothing_personal(
        tmp_path: Path, any_url: str, registration: Path) -> None:
    a = Api(any_url)
    try:
        load_sample(a.eng, kvp(), registration)
        with a.eng.begin() as conn:
            conn.execute(sa.update(db.cases).where(db.cases.c.id.in_(["1", "4"])).values(status="final", disposition=7))
            conn.execute(sa.update(db.cases).where(db.cases.c.id == "3").values(status="final", disposition=6))
        for rec in records()[:12]:
            assert a.post(body(rec)).status_code == 201
        # a hostile client sends the names in the paradata and a body that is no JSON
        hostile = body({**records()[0], "q1": 99}, paradata={"who": "Kari Hansen", "tlf": "92680108"})
        assert a.post(hostile).status_code == 422
        assert a.post(None, raw=b'{"id": "x", "telefon": "99887766", ').status_code == 422
        out = export(a.eng, tmp_path / "data.csv", tmp_path / "sample.csv", unresolved=1)
        assert (out.interviews, out.cases, out.unresolved) == (12, 4, 1)
        assert validate(kvp(), open_data(tmp_path / "data.csv")).ok
        sample_report = validate_sample(kvp(), open_data(tmp_path / "sample.csv"))
        assert sample_report.ok and sample_report.error_count == 0, sample_report.text()
        header = (tmp_path / "sample.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
        assert header == ["sprak", "sprak_annet", "arsak", "arsak_annet", "disposition"]
        personal = ["Hansen", "Kari", "92680108", "Olsen", "41234567", "Berg", "99887766"]
        assert any(p in dump(a.eng) for p in personal)
        counts = store.purge(a.eng)
        assert counts == {"persons": 4, "quarantine_bodies": 2, "partials": 0}
        everything = dump(a.eng)
        assert [p for p in personal if p in everything] == []
        assert store.PURGED in everything
    finally:
        a.close()


def dump(eng: sa.Engine) -> str:
    """Every cell of every table of the database, as text."""
    out = []
    with eng.connect() as conn:
        for name in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')):
                out.append(" ".join(json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else str(v)
                                    for v in row))
    return "\n".join(out)


# ---------------------------------------------------------------- the command line


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


def kvpspec(*args: str) -> Done:
    """The command line, in this process (click's runner): exit code, output, errors."""
    from click.testing import CliRunner

    from kvpspec.cli import cli

    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return Done(result.exit_code, result.stdout, result.stderr)


def test_cli_fieldwork(tmp_path: Path, registration: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    done = kvpspec("fieldwork", "token", "--db", url, "--name", "sup", "--role", "supervisor")
    assert done.returncode == 0 and len(done.stdout.strip()) > 30, done.stderr
    token = done.stdout.strip()
    eng = db.engine(url)
    with eng.connect() as conn:
        (row,) = conn.execute(sa.select(db.accounts)).all()
    assert row.name == "sup" and row.role == "supervisor" and row.token_hash == auth.token_hash(token)
    assert token not in dump(eng)
    eng.dispose()
    done = kvpspec("fieldwork", "load", str(KVP), str(registration), "--db", url)
    assert done.returncode == 0 and "4 case(s) loaded" in done.stdout, done.stderr
    done = kvpspec("fieldwork", "load", str(KVP), str(registration), "--db", url)
    assert done.returncode == 2 and "--append" in done.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("etternavn,sprak\nA,77\n", encoding="utf-8")
    done = kvpspec("fieldwork", "load", str(KVP), str(bad), "--db", url, "--append")
    assert done.returncode == 1 and "row 2, column sprak: `77` is neither a code" in done.stderr
    done = kvpspec("fieldwork", "load", str(KVP), str(tmp_path / "none.csv"), "--db", url)
    assert done.returncode == 2 and "no such file" in done.stderr
    done = kvpspec("fieldwork", "export", "--db", url, "-o", str(tmp_path / "d.csv"), "--sample", str(tmp_path / "s.csv"))
    assert done.returncode == 0 and "0 interview(s)" in done.stdout and "4 case(s) have no final disposition" in done.stderr
    done = kvpspec("fieldwork", "purge", "--db", url, "--yes")
    assert done.returncode == 0 and "4 person(s)' personal data deleted" in done.stdout
    done = kvpspec("fieldwork", "token", "--db", "mysql://nope/x", "--name", "a", "--role", "interviewer")
    assert done.returncode == 2 and "only sqlite" in done.stderr
    for d in (done,):
        assert "Traceback" not in d.stderr


def test_cli_serve_refuses_an_incompatible_spec(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    a = Api(url)
    assert a.post(body(records()[0])).status_code == 201
    a.close()
    other = tmp_path / "other.survey"
    other.write_text(KVP.read_text(encoding="utf-8").replace('"Registrer kjønn" {\n    recorded\n    1 "Kvinne"\n',
                                                             '"Registrer kjønn" {\n    recorded\n', 1), encoding="utf-8")
    done = kvpspec("serve", str(other), "--db", url, "--port", "1")
    assert done.returncode == 2, done.stderr
    assert "cannot read them" in done.stderr and "`q12` loses the code(s) 1" in done.stderr
    assert "Traceback" not in done.stderr


# ---------------------------------------------------------------- fresh-eyes findings (FX1)


def test_serve_refuses_a_database_with_cases_of_another_survey(tmp_path: Path, registration: Path) -> None:
    """M1: cases (links, resume state) of one survey are not taken over by another spec."""
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    assert kvpspec("fieldwork", "load", str(KVP), str(registration), "--db", url).returncode == 0
    renamed = tmp_path / "other.survey"
    text = KVP.read_text(encoding="utf-8")
    name = kvp().spec.name
    renamed.write_text(text.replace(name, "annen", 1), encoding="utf-8")
    assert compile_file(renamed).spec.name == "annen"
    done = kvpspec("serve", str(renamed), "--db", url, "--port", "1")
    assert done.returncode == 2 and "the survey is `kvp2009` there, `annen` here" in done.stderr, done.stderr
    fields = store._sample_fields(kvp())
    other = kvp().lowered.variables[fields[0][0]]
    eng = db.engine(url)
    with eng.begin() as conn:  # as if loaded by a spec with other sample fields
        db.set_meta(conn, "sample_fields", store.canonical([[other.name + "x", other.type, False]]))
    eng.dispose()
    done = kvpspec("serve", str(KVP), "--db", url, "--port", "1")
    assert done.returncode == 2 and "the sample fields differ" in done.stderr, done.stderr
    # no cases: any spec
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    store.open_database(empty, kvp())[0].dispose()
    store.open_database(empty, compile_file(renamed))[0].dispose()


def test_db_that_is_not_a_database_or_in_memory_is_refused(tmp_path: Path) -> None:
    """M5, M6: a file that is no SQLite database, and an in-memory URL (keeps nothing)."""
    notdb = tmp_path / "notdb.db"
    notdb.write_bytes(b"this is not a database, just text\n" * 100)
    done = kvpspec("fieldwork", "token", "--db", str(notdb), "--name", "a", "--role", "interviewer")
    assert done.returncode == 2 and f"--db {notdb}: not an SQLite database" in done.stderr, done.stderr
    for url in ("sqlite:///", "sqlite://", "sqlite:///:memory:", ""):
        done = kvpspec("fieldwork", "token", "--db", url, "--name", "a", "--role", "interviewer")
        assert done.returncode == 2 and "in-memory database keeps nothing" in done.stderr, (url, done.stderr)
        assert done.stdout == ""


def test_purge_needs_yes_when_it_cannot_ask(tmp_path: Path, registration: Path) -> None:
    """M8: stdin not a terminal (CliRunner) and no --yes: refused, nothing deleted."""
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    assert kvpspec("fieldwork", "load", str(KVP), str(registration), "--db", url).returncode == 0
    done = kvpspec("fieldwork", "purge", "--db", url)
    assert done.returncode == 2 and "give --yes" in done.stderr, done.stderr
    eng = db.engine(url)
    with eng.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.persons)).scalar_one() == 4
    eng.dispose()


def test_export_unresolved_must_be_a_disposition_code(tmp_path: Path, registration: Path) -> None:
    """LOW: --unresolved 99 (no disposition of the spec) is refused; a code is taken."""
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    assert kvpspec("fieldwork", "load", str(KVP), str(registration), "--db", url).returncode == 0
    out = ["-o", str(tmp_path / "d.csv"), "--sample", str(tmp_path / "s.csv")]
    done = kvpspec("fieldwork", "export", "--db", url, *out, "--unresolved", "99")
    assert done.returncode == 2 and "--unresolved 99: not a disposition code of the spec (1, 2, 3" in done.stderr
    done = kvpspec("fieldwork", "export", "--db", url, *out, "--unresolved", "1")
    assert done.returncode == 0, done.stderr


def test_serve_on_a_port_in_use_says_so_without_serving(tmp_path: Path) -> None:
    """LOW: the port is taken: exit 2 with the reason, no "serving ..." line first."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = kvpspec("serve", str(KVP), "--db", str(tmp_path / "fw.db"), "--port", str(port))
    assert done.returncode == 2 and "cannot listen there" in done.stderr, done.stderr
    assert "serving" not in done.stderr
