"""CATI case management and web links.

A case (one sampled person) is ``open`` until an interviewer takes it with
:func:`next_case` (``held``: one holder at a time), goes back to ``open``
after a call that did not end it (no answer, busy, an appointment), and is
``final`` once it has a final disposition of the spec. A web respondent's
completed interview makes the case final too.

**Next case** is one statement, atomic on both databases::

    UPDATE cases SET status='held', holder=:me, held_since=:now
    WHERE id = (SELECT id FROM cases WHERE status='open' AND <due>
                ORDER BY <due appointments first>, attempts, id LIMIT 1
                [FOR UPDATE SKIP LOCKED])          -- PostgreSQL
      AND status='open'
    RETURNING id

On SQLite every transaction begins ``IMMEDIATE`` (db.py), so two takers
queue; on PostgreSQL ``SKIP LOCKED`` lets them pass each other and the
``status='open'`` re-check makes a lost race an empty result, tried again.

**Order.** A case with an appointment is not handed out before its time;
once due it comes first (earliest appointment first), then the cases with
the fewest attempts, then by id.

**Attempts.** Every call is stored (``attempts``: time, interviewer,
outcome): a final disposition code of the spec, or a non-final outcome
(:data:`NON_FINAL`). After ``max_attempts`` calls without an answer (no
answer, busy) the case gets the "no answer" disposition: by default the
first disposition of AAPOR category UH (for KVP: 1 "Ubesvart i
intervjuperioden"), else NC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from kvpspec import model as m
from kvpspec.diagnostics import InputError, KvpspecError
from kvpspec.fieldwork import db
from kvpspec.fieldwork.auth import WEB_TOKEN_PREFIX, Principal, new_token, token_hash

#: outcomes of a call that do not end the case
NON_FINAL: dict[str, str] = {
    "no-answer": "No answer",
    "busy": "Busy",
    "appointment": "Appointment (call back)",
}
#: of these, the ones that count towards the maximum number of attempts
UNANSWERED = ("no-answer", "busy")
DEFAULT_MAX_ATTEMPTS = 8


class CaseError(KvpspecError):
    """A case operation that cannot be done (shown to the user; the server answers 409)."""


class CaseConflict(CaseError):
    """The case is not in a state that allows this (another holder, already final, a second web interview)."""


class NotYours(CaseError):
    """The case is not held by the account that asks (the server answers 403)."""


@dataclass(frozen=True)
class CaseRules:
    #: disposition code -> its AAPOR category
    dispositions: Mapping[int, str]
    labels: Mapping[int, str]
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    #: the final disposition after max_attempts unanswered calls
    no_answer: int | None = None
    #: the disposition of a completed interview (AAPOR I)
    complete: int | None = None

    def outcomes(self) -> list[tuple[str, str]]:
        """(value, label) of every outcome an interviewer may record, final ones first."""
        final = [(str(code), f"{code} {label}") for code, label in self.labels.items()]
        return final + list(NON_FINAL.items())


def rules_for(spec: m.Spec, *, max_attempts: int | None = None, no_answer: int | None = None,
              language: str | None = None) -> CaseRules:
    """The case rules of ``spec``; ``no_answer`` and ``max_attempts`` override the defaults."""
    fw = spec.fieldwork
    dispositions = {d.code: d.aapor for d in fw.dispositions} if fw else {}
    if not dispositions:
        raise InputError("the spec has no `dispositions` in its fieldwork block: case management "
                         "needs the final outcomes of a case")
    labels = {d.code: d.label.get(language) for d in fw.dispositions} if fw else {}
    if max_attempts is None:
        max_attempts = DEFAULT_MAX_ATTEMPTS
    if max_attempts < 1:
        raise InputError("--max-attempts: at least 1")
    if no_answer is None:
        for category in ("UH", "NC"):
            no_answer = next((c for c, a in dispositions.items() if a == category), None)
            if no_answer is not None:
                break
    elif no_answer not in dispositions:
        raise InputError(f"--no-answer {no_answer}: not a disposition code of the spec "
                         f"({', '.join(map(str, dispositions))})")
    complete = next((c for c, a in dispositions.items() if a == "I"), None)
    return CaseRules(dispositions, labels, max_attempts, no_answer, complete)


def _is_pg(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _lock(conn: sa.Connection, case_id: str) -> Any:
    """The case row, locked for this transaction (SQLite: the transaction already is)."""
    c = db.cases
    q = sa.select(c).where(c.c.id == case_id)
    if _is_pg(conn):
        q = q.with_for_update()
    return conn.execute(q).first()


# ---------------------------------------------------------------- handing out cases


def held_case(conn: sa.Connection, account_id: int) -> str | None:
    c = db.cases
    return conn.execute(
        sa.select(c.c.id).where(c.c.holder == account_id, c.c.status == "held")
        .order_by(c.c.held_since, c.c.id).limit(1)
    ).scalar_one_or_none()


def next_case(conn: sa.Connection, account_id: int, now: str | None = None) -> str | None:
    """The case this interviewer is to call: the one they hold, else a due one
    no one holds (taken atomically), else None."""
    held = held_case(conn, account_id)
    if held is not None:
        return held
    now = now or db.now()
    c = db.cases
    due = sa.and_(c.c.status == "open", sa.or_(c.c.appointment.is_(None), c.c.appointment <= now))
    for _ in range(50):
        pick = (sa.select(c.c.id).where(due)
                .order_by(c.c.appointment.is_(None), c.c.appointment, c.c.attempts, c.c.id).limit(1))
        if _is_pg(conn):
            pick = pick.with_for_update(skip_locked=True)
        taken = conn.execute(
            sa.update(c).where(c.c.id == pick.scalar_subquery(), c.c.status == "open")
            .values(status="held", holder=account_id, held_since=now).returning(c.c.id)
        ).scalar_one_or_none()
        if taken is not None:
            return str(taken)
        if conn.execute(sa.select(c.c.id).where(due).limit(1)).first() is None:
            return None
    return None


def release(conn: sa.Connection, case_id: str, account_id: int, *, supervisor: bool = False) -> None:
    """Give a held case back without a call (its holder, or any supervisor)."""
    row = _lock(conn, case_id)
    if row is None:
        raise CaseError(f"there is no case {case_id!r}")
    if row.status != "held":
        raise CaseConflict(f"case {case_id} is not held")
    if row.holder != account_id and not supervisor:
        raise NotYours(f"case {case_id} is not yours")
    conn.execute(sa.update(db.cases).where(db.cases.c.id == case_id)
                 .values(status="open", holder=None, held_since=None))


def parse_local_time(value: str) -> str:
    """A ``datetime-local`` form value (the server's local time) as a stored time (UTC)."""
    try:
        t = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise CaseError(f"not a date and time: {value[:40]!r}") from None
    if t.tzinfo is None:
        t = t.astimezone()  # naive: the server's local time
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def completed_interviews(conn: sa.Connection, rules: CaseRules, case_id: str) -> int:
    """The interviews stored for the case that were not ended early (their
    paradata carry no disposition, or the complete one)."""
    n = 0
    for (paradata,) in conn.execute(sa.select(db.interviews.c.paradata).where(db.interviews.c.case_id == case_id)):
        ended = paradata.get("disposition") if isinstance(paradata, dict) else None
        if ended is None or ended == rules.complete:
            n += 1
    return n


def record_attempt(conn: sa.Connection, rules: CaseRules, case_id: str, account_id: int, outcome: str,
                   *, appointment: str | None = None, now: str | None = None) -> dict[str, Any]:
    """Store a call of the case's holder and move the case on.

    ``outcome``: a final disposition code of the spec (as text or int) or one of
    :data:`NON_FINAL`; ``appointment`` (a stored time) goes with "appointment".
    Returns the case's new status, disposition and attempts."""
    outcome = str(outcome).strip()
    now = now or db.now()
    code: int | None = None
    if outcome.isdigit():
        code = int(outcome)
        if code not in rules.dispositions:
            raise CaseError(f"{outcome} is not a disposition code of the spec")
    elif outcome not in NON_FINAL:
        raise CaseError(f"{outcome[:40]!r} is not an outcome (a disposition code, or one of "
                        f"{', '.join(NON_FINAL)})")
    if outcome == "appointment":
        if not appointment:
            raise CaseError("an appointment needs its date and time")
        if appointment <= now:
            raise CaseError("the appointment is not in the future")
    elif appointment:
        raise CaseError("only the outcome 'appointment' takes a date and time")
    row = _lock(conn, case_id)
    if row is None:
        raise CaseError(f"there is no case {case_id!r}")
    if row.status != "held" or row.holder != account_id:
        raise NotYours(f"case {case_id} is not held by you")
    if code is not None and code == rules.complete and not completed_interviews(conn, rules, case_id):
        raise CaseConflict(f"case {case_id}: no completed interview has been stored for it yet; "
                           f"finish the interview in the form before recording code {code}")
    attempts = row.attempts + 1
    conn.execute(sa.insert(db.attempts).values(case_id=case_id, account_id=account_id, at=now,
                                               outcome=outcome))
    values: dict[str, Any] = {"holder": None, "held_since": None, "attempts": attempts, "appointment": None}
    if code is not None:
        values.update(status="final", disposition=code)
    elif outcome in UNANSWERED and attempts >= rules.max_attempts and rules.no_answer is not None:
        values.update(status="final", disposition=rules.no_answer)
    else:
        values.update(status="open")
        if outcome == "appointment":
            values["appointment"] = appointment
    conn.execute(sa.update(db.cases).where(db.cases.c.id == case_id).values(**values))
    return {"status": values["status"], "disposition": values.get("disposition"), "attempts": attempts}


# ---------------------------------------------------------------- interviews arriving


def interview_stored(conn: sa.Connection, principal: Principal, interview_id: str,
                     paradata: Mapping[str, Any] | None, rules: CaseRules | None = None) -> None:
    """Called by the API inside the transaction that stores a NEW interview.

    A web link's interview ends its case (one completed interview per link):
    the case becomes final with the interview's disposition (the paradata's,
    when it is a code of the spec, else the "complete" one) and its resume
    state is deleted. A second interview through the same link raises
    :class:`CaseConflict`. CATI interviews leave the case to the interviewer's
    call outcome."""
    if principal.role != "web" or principal.case_id is None:
        return
    row = _lock(conn, principal.case_id)
    if row is None:
        raise CaseConflict("the link's case no longer exists")
    if row.status == "final":
        raise CaseConflict("this link's interview has already been completed")
    paradata = paradata or {}
    code: Any = paradata.get("disposition")
    valid = isinstance(code, int) and not isinstance(code, bool) and (rules is None or code in rules.dispositions)
    incomplete = paradata.get("complete") is not True and paradata.get("complete") is not None
    complete_code = rules.complete if rules is not None else None
    if incomplete and (not valid or code == complete_code):
        # not completed and no (other) final disposition: a call outcome; the case stays open
        # (never the complete code for an interview that did not complete)
        conn.execute(sa.insert(db.attempts).values(case_id=row.id, account_id=None, at=db.now(), outcome="web"))
        conn.execute(sa.update(db.cases).where(db.cases.c.id == row.id).values(attempts=row.attempts + 1))
        return
    if not valid:
        code = complete_code
    now = db.now()
    conn.execute(sa.insert(db.attempts).values(case_id=row.id, account_id=None, at=now,
                                               outcome=str(code) if code is not None else "web"))
    conn.execute(sa.update(db.cases).where(db.cases.c.id == row.id)
                 .values(status="final", disposition=code, holder=None, held_since=None,
                         appointment=None, attempts=row.attempts + 1))
    conn.execute(sa.delete(db.partials).where(db.partials.c.case_id == row.id))


# ---------------------------------------------------------------- web links


def issue_web_links(conn: sa.Connection, base_url: str, case_ids: Iterable[str] | None = None,
                    *, replace: bool = False) -> list[tuple[str, str]]:
    """One link per case for web mode: ``BASE/w/TOKEN``. Cases that have a link
    keep it unless ``replace`` (the old link then stops working). The tokens are
    returned once; only their hashes are stored."""
    c = db.cases
    q = sa.select(c.c.id, c.c.web_token_hash).where(c.c.status != "final").order_by(c.c.id)
    if case_ids is not None:
        wanted = list(case_ids)
        q = q.where(c.c.id.in_(wanted))
    links = []
    base = base_url.rstrip("/")
    for row in conn.execute(q).all():
        if row.web_token_hash is not None and not replace:
            continue
        token = new_token(WEB_TOKEN_PREFIX)
        conn.execute(sa.update(c).where(c.c.id == row.id).values(web_token_hash=token_hash(token)))
        links.append((str(row.id), f"{base}/w/{token}"))
    return links


def save_partial(conn: sa.Connection, case_id: str, answers: Mapping[str, Any]) -> None:
    p = db.partials
    now = db.now()
    if conn.execute(sa.update(p).where(p.c.case_id == case_id).values(answers=dict(answers), updated=now)).rowcount == 0:
        conn.execute(sa.insert(p).values(case_id=case_id, answers=dict(answers), updated=now))


def load_partial(conn: sa.Connection, case_id: str) -> dict[str, Any] | None:
    p = db.partials
    value = conn.execute(sa.select(p.c.answers).where(p.c.case_id == case_id)).scalar_one_or_none()
    return dict(value) if isinstance(value, dict) else None


# ---------------------------------------------------------------- what the pages show


def get_case(conn: sa.Connection, case_id: str) -> Any:
    return conn.execute(sa.select(db.cases).where(db.cases.c.id == case_id)).first()


def personal(conn: sa.Connection, case_id: str) -> dict[str, Any]:
    data = conn.execute(sa.select(db.persons.c.data).where(db.persons.c.case_id == case_id)).scalar_one_or_none()
    return dict(data) if isinstance(data, dict) else {}


def case_attempts(conn: sa.Connection, case_id: str) -> list[Any]:
    a, acc = db.attempts, db.accounts
    return list(conn.execute(
        sa.select(a.c.at, a.c.outcome, acc.c.name)
        .select_from(a.outerjoin(acc, acc.c.id == a.c.account_id))
        .where(a.c.case_id == case_id).order_by(a.c.id)
    ).all())


def disposition_counts(conn: sa.Connection) -> dict[int | None, int]:
    """Cases per final disposition; None: the cases without one yet."""
    c = db.cases
    rows = conn.execute(sa.select(c.c.disposition, sa.func.count()).group_by(c.c.disposition)).all()
    return {(int(d) if d is not None else None): int(n) for d, n in rows}


def progress(conn: sa.Connection) -> dict[str, int]:
    c = db.cases
    counts = dict.fromkeys(db.CASE_STATUSES, 0)
    for status, n in conn.execute(sa.select(c.c.status, sa.func.count()).group_by(c.c.status)).all():
        counts[str(status)] = int(n)
    counts["appointments"] = int(conn.execute(
        sa.select(sa.func.count()).select_from(c).where(c.c.status == "open", c.c.appointment.is_not(None))
    ).scalar_one())
    counts["total"] = sum(counts[s] for s in db.CASE_STATUSES)
    counts["attempts"] = int(conn.execute(sa.select(sa.func.count()).select_from(db.attempts)).scalar_one())
    counts["interviews"] = int(conn.execute(sa.select(sa.func.count()).select_from(db.interviews)).scalar_one())
    counts["quarantined"] = int(conn.execute(sa.select(sa.func.count()).select_from(db.quarantine)).scalar_one())
    return counts


def per_interviewer(conn: sa.Connection, rules: CaseRules) -> list[dict[str, Any]]:
    """Per account: calls made, final dispositions set, completed interviews, cases held now."""
    acc, a, c, i = db.accounts, db.attempts, db.cases, db.interviews
    rows: dict[int, dict[str, Any]] = {}
    for r in conn.execute(sa.select(acc.c.id, acc.c.name, acc.c.role).order_by(acc.c.name)).all():
        rows[r.id] = {"name": r.name, "role": r.role, "calls": 0, "final": 0, "complete": 0,
                      "interviews": 0, "held": 0}
    final_codes = [str(code) for code in rules.dispositions]
    for account_id, outcome, n in conn.execute(
        sa.select(a.c.account_id, a.c.outcome, sa.func.count()).group_by(a.c.account_id, a.c.outcome)
    ).all():
        if account_id in rows:
            row = rows[account_id]
            row["calls"] += n
            if outcome in final_codes:
                row["final"] += n
            if rules.complete is not None and outcome == str(rules.complete):
                row["complete"] += n
    for account_id, n in conn.execute(
        sa.select(i.c.account_id, sa.func.count()).group_by(i.c.account_id)
    ).all():
        if account_id in rows:
            rows[account_id]["interviews"] = int(n)
    for holder, n in conn.execute(
        sa.select(c.c.holder, sa.func.count()).where(c.c.status == "held").group_by(c.c.holder)
    ).all():
        if holder in rows:
            rows[holder]["held"] = int(n)
    return [r for r in rows.values() if r["role"] == "interviewer" or r["calls"] or r["held"]]


def held_cases(conn: sa.Connection) -> list[Any]:
    c, acc = db.cases, db.accounts
    return list(conn.execute(
        sa.select(c.c.id, c.c.held_since, c.c.attempts, acc.c.name)
        .select_from(c.join(acc, acc.c.id == c.c.holder))
        .where(c.c.status == "held").order_by(c.c.held_since)
    ).all())
