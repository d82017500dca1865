"""CATI case management (kvpspec/fieldwork/cases.py) and the live response
rates (rates.py): next case atomic under 20 concurrent interviewers on SQLite
and a real PostgreSQL, attempts and outcomes, appointments, the maximum of
attempts, web links and their one interview, and the rates equal to the
analysis runtime's on the same dispositions."""

from __future__ import annotations

import datetime as dt
import importlib.util
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import KVP
from hypothesis import given
from hypothesis import strategies as st
from pg import postgres_server, postgres_url  # noqa: F401

from generators.analysis import analysis_source
from kvpspec import compile_file
from kvpspec.diagnostics import InputError
from kvpspec.fieldwork import auth, cases, db, rates

COMPILED = compile_file(KVP)
SPEC = COMPILED.spec
RULES = cases.rules_for(SPEC)


def at(minutes: float) -> str:
    """A stored time ``minutes`` from a fixed start."""
    start = dt.datetime(2009, 6, 3, 9, 0, tzinfo=dt.UTC)
    return (start + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_db(url: str, n_cases: int = 0) -> sa.Engine:
    eng = db.engine(url)
    db.migrate(eng)
    with eng.begin() as conn:
        if n_cases:
            conn.execute(sa.insert(db.cases), [
                {"id": f"{i:04d}", "status": "open", "attempts": 0, "sample": {"sprak": 1}, "created": at(0)}
                for i in range(1, n_cases + 1)
            ])
            conn.execute(sa.insert(db.persons), [
                {"case_id": f"{i:04d}", "data": {"fornavn": f"Kari{i}", "etternavn": "Nordmann",
                                                 "telefon": f"9{i:07d}"}}
                for i in range(1, n_cases + 1)
            ])
    return eng


def interviewer(eng: sa.Engine, name: str, role: str = "interviewer") -> int:
    with eng.begin() as conn:
        auth.create_token(conn, name, role)
        account = auth.find_account(conn, name)
    assert account is not None
    return account.id


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fieldwork.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fieldwork.db'}"
    return str(request.getfixturevalue("postgres_url"))


# ---------------------------------------------------------------- next case


def test_twenty_interviewers_at_once_never_get_the_same_case(any_url: str) -> None:
    """20 threads ask for the next case at the same moment, four rounds, over 60
    cases: every case handed out once, to one interviewer, and the database agrees."""
    eng = make_db(any_url, 60)
    ids = [interviewer(eng, f"int{i:02d}") for i in range(20)]
    got: dict[int, list[str | None]] = {i: [] for i in ids}
    errors: list[BaseException] = []
    for round_ in range(4):
        barrier, taken = threading.Barrier(len(ids)), threading.Barrier(len(ids))

        def take(account_id: int, round_: int, barrier: threading.Barrier, taken: threading.Barrier) -> None:
            try:
                barrier.wait()
                with eng.begin() as conn:
                    got[account_id].append(cases.next_case(conn, account_id, now=at(round_)))
                taken.wait()  # every one has asked before any case goes back to the pool
                case_id = got[account_id][-1]
                if case_id is not None and round_ < 3:  # busy twice, then a refusal; round 3 holds
                    with eng.begin() as conn:
                        cases.record_attempt(conn, RULES, case_id, account_id, "6" if round_ == 2 else "busy",
                                             now=at(round_ + 0.5))
            except BaseException as e:  # noqa: BLE001
                errors.append(e)
                barrier.abort()
                taken.abort()

        threads = [threading.Thread(target=take, args=(a, round_, barrier, taken)) for a in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        this_round = [got[a][-1] for a in ids]
        assert None not in this_round
        assert len(set(this_round)) == 20, f"round {round_}: a case handed out twice: {sorted(this_round)}"
    # round 4 (index 3): the cases are held now; the database says each by its taker
    with eng.connect() as conn:
        holders = dict(conn.execute(sa.select(db.cases.c.id, db.cases.c.holder)
                                    .where(db.cases.c.status == "held")).all())
    assert holders == {got[a][-1]: a for a in ids}
    # the fewest-attempts rule handed out the untouched cases first
    assert len({c for a in ids for c in got[a][:3]}) == 60
    eng.dispose()


def test_next_case_gives_back_the_held_case_and_none_when_nothing_is_due(sqlite_url: str) -> None:
    eng = make_db(sqlite_url, 2)
    a, b, c = (interviewer(eng, n) for n in ("a", "b", "c"))
    with eng.begin() as conn:
        first = cases.next_case(conn, a, now=at(0))
        assert cases.next_case(conn, a, now=at(1)) == first  # still holding it: the same one
        second = cases.next_case(conn, b, now=at(1))
        assert {first, second} == {"0001", "0002"}
        assert cases.next_case(conn, c, now=at(2)) is None
    eng.dispose()


def test_appointments_wait_for_their_time_and_come_first_after(sqlite_url: str) -> None:
    eng = make_db(sqlite_url, 3)
    a = interviewer(eng, "a")
    with eng.begin() as conn:
        assert cases.next_case(conn, a, now=at(0)) == "0001"
        with pytest.raises(cases.CaseError, match="future"):
            cases.record_attempt(conn, RULES, "0001", a, "appointment", appointment=at(-5), now=at(1))
        with pytest.raises(cases.CaseError, match="needs its date"):
            cases.record_attempt(conn, RULES, "0001", a, "appointment", now=at(1))
        cases.record_attempt(conn, RULES, "0001", a, "appointment", appointment=at(60), now=at(1))
        # before the appointment: 0001 is not handed out, others are
        assert cases.next_case(conn, a, now=at(2)) == "0002"
        cases.record_attempt(conn, RULES, "0002", a, "no-answer", now=at(3))
        assert cases.next_case(conn, a, now=at(30)) == "0003"
        cases.record_attempt(conn, RULES, "0003", a, "no-answer", now=at(31))
        # once due, the appointment comes before the cases with fewer attempts
        assert cases.next_case(conn, a, now=at(61)) == "0001"
        row = cases.get_case(conn, "0001")
        assert row.appointment == at(60) and row.status == "held"
        cases.record_attempt(conn, RULES, "0001", a, "busy", now=at(62))
        assert cases.get_case(conn, "0001").appointment is None
    eng.dispose()


def test_max_attempts_give_the_no_answer_disposition(sqlite_url: str) -> None:
    assert RULES.no_answer == 1 and RULES.complete == 7  # KVP: UH "Ubesvart i intervjuperioden", I
    rules = cases.rules_for(SPEC, max_attempts=3)
    eng = make_db(sqlite_url, 1)
    a = interviewer(eng, "a")
    with eng.begin() as conn:
        for i, outcome in enumerate(["no-answer", "busy"]):
            assert cases.next_case(conn, a, now=at(i)) == "0001"
            assert cases.record_attempt(conn, rules, "0001", a, outcome, now=at(i))["status"] == "open"
        assert cases.next_case(conn, a, now=at(5)) == "0001"
        result = cases.record_attempt(conn, rules, "0001", a, "no-answer", now=at(5))
        assert result == {"status": "final", "disposition": 1, "attempts": 3}
        assert cases.next_case(conn, a, now=at(6)) is None
        outcomes = [r.outcome for r in cases.case_attempts(conn, "0001")]
        assert outcomes == ["no-answer", "busy", "no-answer"]
    eng.dispose()


def test_case_rules_are_configurable_and_checked() -> None:
    assert cases.rules_for(SPEC, no_answer=6).no_answer == 6
    with pytest.raises(InputError, match="not a disposition code"):
        cases.rules_for(SPEC, no_answer=42)
    with pytest.raises(InputError, match="at least 1"):
        cases.rules_for(SPEC, max_attempts=0)
    outcomes = dict(RULES.outcomes())
    assert outcomes["1"].startswith("1 Ubesvart") and "no-answer" in outcomes and "appointment" in outcomes


def test_outcomes_only_by_the_holder_and_complete_only_with_an_interview(sqlite_url: str) -> None:
    eng = make_db(sqlite_url, 2)
    a, b = interviewer(eng, "a"), interviewer(eng, "b")
    with eng.begin() as conn:
        assert cases.next_case(conn, a, now=at(0)) == "0001"
        with pytest.raises(cases.NotYours):
            cases.record_attempt(conn, RULES, "0001", b, "6", now=at(1))
        with pytest.raises(cases.NotYours):
            cases.release(conn, "0001", b)
        with pytest.raises(cases.CaseError, match="not a disposition code"):
            cases.record_attempt(conn, RULES, "0001", a, "99", now=at(1))
        with pytest.raises(cases.CaseError, match="not an outcome"):
            cases.record_attempt(conn, RULES, "0001", a, "hung-up", now=at(1))
        with pytest.raises(cases.CaseConflict, match="no completed interview has been stored"):
            cases.record_attempt(conn, RULES, "0001", a, "7", now=at(1))
        conn.execute(sa.insert(db.interviews).values(  # a call that ended in the intro is no interview
            id="00000000-0000-4000-8000-000000000000", case_id="0001", account_id=a, record={},
            paradata={"disposition": 6}, digest="x", received=at(1)))
        with pytest.raises(cases.CaseConflict, match="no completed interview has been stored"):
            cases.record_attempt(conn, RULES, "0001", a, "7", now=at(1))
        conn.execute(sa.insert(db.interviews).values(
            id="00000000-0000-4000-8000-000000000001", case_id="0001", account_id=a, record={}, paradata={},
            digest="x", received=at(1)))
        assert cases.record_attempt(conn, RULES, "0001", a, "7", now=at(2))["disposition"] == 7
        with pytest.raises(cases.NotYours):  # final: no one holds it
            cases.record_attempt(conn, RULES, "0001", a, "6", now=at(3))
        cases.release(conn, cases.next_case(conn, a, now=at(4)) or "", b, supervisor=True)
        assert cases.get_case(conn, "0002").status == "open"
    eng.dispose()


def test_web_links_one_interview_each(sqlite_url: str) -> None:
    eng = make_db(sqlite_url, 3)
    with eng.begin() as conn:
        links = cases.issue_web_links(conn, "https://survey.example/")
        assert [c for c, _ in links] == ["0001", "0002", "0003"]
        assert all(u.startswith("https://survey.example/w/kvw_") for _, u in links)
        assert cases.issue_web_links(conn, "https://x") == []  # links are kept
        token = links[0][1].rsplit("/", 1)[1]
        stored = conn.execute(sa.select(db.cases.c.web_token_hash).where(db.cases.c.id == "0001")).scalar_one()
        assert token not in stored and stored == auth.token_hash(token)
        principal = auth.authenticate(conn, f"Bearer {token}", b"s" * 32)
        assert principal == auth.Principal(None, "web", "0001")
        cases.save_partial(conn, "0001", {"q1": 2})
        cases.save_partial(conn, "0001", {"q1": 3})
        assert cases.load_partial(conn, "0001") == {"q1": 3}
        cases.interview_stored(conn, principal, "i1", {"disposition": 6}, RULES)
        row = cases.get_case(conn, "0001")
        assert (row.status, row.disposition) == ("final", 6)
        assert cases.load_partial(conn, "0001") is None
        with pytest.raises(cases.CaseConflict, match="already been completed"):
            cases.interview_stored(conn, principal, "i2", {}, RULES)
        p2 = auth.authenticate(conn, "Bearer " + links[1][1].rsplit("/", 1)[1], b"s" * 32)
        assert p2 is not None
        cases.interview_stored(conn, p2, "i3", {"disposition": "7"}, RULES)  # not a code: "complete"
        assert cases.get_case(conn, "0002").disposition == 7
        assert auth.authenticate(conn, "Bearer kvw_made-up", b"s" * 32) is None
    eng.dispose()


def test_counts_progress_and_per_interviewer(sqlite_url: str) -> None:
    eng = make_db(sqlite_url, 4)
    a = interviewer(eng, "a")
    interviewer(eng, "boss", "supervisor")
    with eng.begin() as conn:
        cases.next_case(conn, a, now=at(0))
        cases.record_attempt(conn, RULES, "0001", a, "6", now=at(1))
        cases.next_case(conn, a, now=at(2))
        cases.record_attempt(conn, RULES, "0002", a, "no-answer", now=at(3))
        cases.next_case(conn, a, now=at(4))
        assert cases.disposition_counts(conn) == {6: 1, None: 3}
        p = cases.progress(conn)
        assert (p["total"], p["open"], p["held"], p["final"], p["attempts"]) == (4, 2, 1, 1, 2)
        rows = cases.per_interviewer(conn, RULES)
        assert rows == [{"name": "a", "role": "interviewer", "calls": 2, "final": 1, "complete": 0,
                         "interviews": 0, "held": 1}]
    eng.dispose()


# ---------------------------------------------------------------- rates


def _analysis_module(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("analysis") / "kvp_analysis.py"
    path.write_text(analysis_source(COMPILED), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("kvp_analysis_for_rates", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _analysis_module(tmp_path_factory)


def _runtime_rates(analysis: Any, dispositions: list[int | None]) -> list[dict[str, Any]]:
    series = pd.Series(dispositions, dtype="Int64")
    return [getattr(analysis, f"rate_{r.name}")(analysis.THIS_SURVEY, series) for r in SPEC.fieldwork.rates]


def _counts(dispositions: list[int | None]) -> dict[int | None, int]:
    out: dict[int | None, int] = {}
    for d in dispositions:
        out[d] = out.get(d, 0) + 1
    return out


def test_rates_of_the_report_tabell1(analysis: Any) -> None:
    """The report's 422: 235 complete, 46/14 not in use/wrong number, 5 ill, ... → 66 %."""
    dispositions = [7] * 235 + [1] * 98 + [2] * 46 + [3] * 14 + [4] * 5 + [5] * 6 + [6] * 18
    live = rates.rates(SPEC, _counts(dispositions))
    assert live == _runtime_rates(analysis, dispositions)
    assert live[0]["name"] == "svarprosent" and round(live[0]["percent"]) == 66


@given(st.lists(st.sampled_from([None, 1, 2, 3, 4, 5, 6, 7]), max_size=60))
def test_live_rates_equal_the_analysis_runtime(analysis: Any, dispositions: list[int | None]) -> None:
    """On any dispositions (cases still open included), the live rates are the
    analysis' rates, number for number (nan ⇔ None)."""
    assert rates.rates(SPEC, _counts(dispositions)) == _runtime_rates(analysis, dispositions)


# ---------------------------------------------------------------- the command line


def test_cli_password_and_links(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kvpspec.cli import cli

    url = f"sqlite:///{tmp_path / 'f.db'}"
    make_db(url, 3).dispose()
    run = CliRunner().invoke
    r = run(cli, ["fieldwork", "password", "--db", url, "--name", "kari"], input="long enough secret\n")
    assert r.exit_code == 2 and "give --role to create it" in r.output
    r = run(cli, ["fieldwork", "password", "--db", url, "--name", "kari", "--role", "supervisor"], input="short\n")
    assert r.exit_code == 2 and "at least 10 characters" in r.output
    r = run(cli, ["fieldwork", "password", "--db", url, "--name", "kari", "--role", "supervisor"],
            input="long enough secret\n")
    assert r.exit_code == 0, r.output
    eng = db.engine(url)
    with eng.connect() as conn:
        assert auth.check_login(conn, "kari", "long enough secret") == auth.Account(1, "kari", "supervisor")
    out = tmp_path / "links.csv"
    r = run(cli, ["fieldwork", "links", "--db", url, "--base", "https://survey.example", "-o", str(out)])
    assert r.exit_code == 0 and "3 link(s)" in r.output, r.output
    assert (out.stat().st_mode & 0o777) == 0o600
    rows = out.read_text().splitlines()
    assert rows[0] == "case,link" and len(rows) == 4
    token = rows[1].split(",")[1].rsplit("/", 1)[1]
    with eng.connect() as conn:
        assert auth.web_case(conn, token) == "0001"
    r = run(cli, ["fieldwork", "links", "--db", url, "--base", "https://x", "--replace",
                  "-o", str(tmp_path / "no" / "l.csv")])
    assert r.exit_code == 2 and "cannot write" in r.output
    eng.dispose()


def test_cli_links_never_overwrites_the_only_copy(tmp_path: Path) -> None:
    """H1: links run again keeps links.csv (exists: refused without --force) and writes
    nothing when no new link was made."""
    from click.testing import CliRunner

    from kvpspec.cli import cli

    url = f"sqlite:///{tmp_path / 'f.db'}"
    make_db(url, 2).dispose()
    run = CliRunner().invoke
    out = tmp_path / "links.csv"
    args = ["fieldwork", "links", "--db", url, "--base", "https://survey.example", "-o", str(out)]
    assert run(cli, args).exit_code == 0
    first = out.read_text()
    assert len(first.splitlines()) == 3
    r = run(cli, args)
    assert r.exit_code == 2 and "--force" in r.output and out.read_text() == first
    r = run(cli, [*args, "--force"])
    assert r.exit_code == 2 and "no new links" in r.output and out.read_text() == first
    other = tmp_path / "other.csv"
    r = run(cli, [*args[:-1], str(other)])
    assert r.exit_code == 2 and "no new links" in r.output and not other.exists()
    r = run(cli, [*args, "--force", "--replace"])
    assert r.exit_code == 0 and "2 link(s)" in r.output and out.read_text() != first
