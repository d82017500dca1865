"""``kvpspec fieldwork load|token|export|purge``: the sample, accounts, the data and
the end of fieldwork, on the collection server's database."""

from __future__ import annotations

import sys

import click
from sqlalchemy.engine import Engine

from kvpspec.cli.common import EXIT_SPEC, guard, load_clean
from kvpspec.compile import Compiled
from kvpspec.fieldwork.db import DEFAULT_URL

_db = click.option("--db", "url", default=DEFAULT_URL, show_default=True, metavar="URL",
                   help="sqlite:///FILE (or a path) or postgresql://USER@HOST/DB.")


@click.group()
def fieldwork() -> None:
    """Load the sample, make tokens, export the data, purge personal data."""


def _open(url: str, compiled: Compiled | None = None, source: str = "spec") -> Engine:
    from kvpspec.fieldwork.store import open_database

    eng, notes = open_database(url, compiled, source=source)
    for note in notes:
        click.echo(f"kvpspec: {note}", err=True)
    return eng


@fieldwork.command()
@click.argument("spec", metavar="SPEC")
@click.argument("file", metavar="FILE")
@_db
@click.option("--append", is_flag=True, help="Add the rows as new cases to a database that has cases.")
@guard
def load(spec: str, file: str, url: str, append: bool) -> None:
    """Load the registration form FILE (the XLSX `build` makes, or CSV) as cases.

    Exit 0 when loaded, 1 when rows do not fit the spec's sample fields
    (each problem with its row and column; nothing is loaded), 2 when a
    file or the database cannot be used.
    """
    compiled = load_clean(spec, "loading the sample")
    from kvpspec.fieldwork.sample import SampleInvalid, load_sample

    eng = _open(url, compiled, spec)
    try:
        loaded = load_sample(eng, compiled, file, append=append)
    except SampleInvalid as e:
        click.echo(f"kvpspec: error: {e}", err=True)
        sys.exit(EXIT_SPEC)
    final = f" ({loaded.final} with a final disposition)" if loaded.final else ""
    click.echo(f"{file}: {loaded.cases} case(s) loaded{final}, ids {loaded.ids[0]}..{loaded.ids[-1]}; "
               f"personal fields kept apart (purge them with `kvpspec fieldwork purge`)")
    for note in loaded.notes:
        click.echo(f"kvpspec: note: {note}", err=True)


@fieldwork.command()
@_db
@click.option("--name", required=True, help="The account's name (created when new).")
@click.option("--role", required=True, type=click.Choice(["interviewer", "supervisor"]), help="The account's role.")
@guard
def token(url: str, name: str, role: str) -> None:
    """Make a new API token for an account and print it (once: only its hash is kept)."""
    from kvpspec.fieldwork import auth

    eng = _open(url)
    with eng.begin() as conn:
        value = auth.create_token(conn, name, role)
    click.echo(value)


@fieldwork.command()
@_db
@click.option("-o", "--output", required=True, metavar="DATA.csv", help="The response data file to write.")
@click.option("--sample", metavar="SAMPLE.csv", help="Also write the cases: non-personal sample fields and dispositions.")
@click.option("--unresolved", type=int, metavar="CODE",
              help="The disposition written for cases without a final one (default: blank).")
@guard
def export(url: str, output: str, sample: str | None, unresolved: int | None) -> None:
    """Write the stored interviews (and the cases) for `kvpspec validate` and `analyze`."""
    from kvpspec.fieldwork.export import export as run

    eng = _open(url)
    out = run(eng, output, sample, unresolved=unresolved)
    click.echo(f"{output}: {out.interviews} interview(s)"
               + (f"; {out.left_out} ended in the intro (call outcomes, not response data) left out"
                  if out.left_out else "")
               + (f"; {out.numbered} numbered by the server" if out.numbered else ""))
    if out.duplicate_ids:
        click.echo(f"kvpspec: warning: {out.duplicate_ids} interview(s) share a respondent id", err=True)
    if sample is not None:
        click.echo(f"{sample}: {out.cases} case(s)")
        if out.unresolved and unresolved is None:
            click.echo(f"kvpspec: warning: {out.unresolved} case(s) have no final disposition yet; they are "
                       f"blank (give --unresolved CODE to write one)", err=True)


@fieldwork.command()
@_db
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@guard
def purge(url: str, yes: bool) -> None:
    """Delete the personal data (names, phone numbers) once fieldwork is over."""
    from kvpspec.diagnostics import InputError
    from kvpspec.fieldwork.store import purge as run

    if not yes and not sys.stdin.isatty():
        raise InputError("purge deletes personal data for good and cannot ask here (standard input is not a "
                         "terminal): give --yes")
    eng = _open(url)
    if not yes:
        click.confirm("Delete every person's personal data for good?", abort=True)
    counts = run(eng)
    click.echo(f"purged: {counts['persons']} person(s)' personal data deleted; "
               f"{counts['quarantine_bodies']} quarantined submission(s) scrubbed; "
               f"{counts['partials']} unfinished web answer(s) deleted")


@fieldwork.command()
@_db
@click.option("--name", required=True, help="The account's name.")
@click.option("--role", type=click.Choice(["interviewer", "supervisor"]),
              help="The role of a new account (an existing account keeps its role).")
@guard
def password(url: str, name: str, role: str | None) -> None:
    """Set the password an account logs in to the server's pages with.

    Asked twice without echo on a terminal; read from the first line of
    standard input otherwise. Only an argon2id hash of it is kept.
    """
    from kvpspec.fieldwork import auth

    if sys.stdin.isatty():
        value = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    eng = _open(url)
    with eng.begin() as conn:
        account = auth.set_password(conn, name, value, role)
    click.echo(f"the password of {account.name} ({account.role}) is set")


@fieldwork.command()
@_db
@click.option("--base", required=True, metavar="URL", help="The server's address as respondents reach it.")
@click.option("-o", "--output", required=True, metavar="LINKS.csv", help="Where to write case,link rows.")
@click.option("--replace", is_flag=True, help="New links also for cases that have one (the old ones stop working).")
@click.option("--force", is_flag=True, help="Overwrite LINKS.csv when it exists (it may be the only copy of links).")
@guard
def links(url: str, base: str, output: str, replace: bool, force: bool) -> None:
    """Make one web link per case (not final) and write them, once, to LINKS.csv.

    Only a hash of each link's token is kept: the file is the only copy.
    A link opens the form in web mode; it takes one completed interview,
    and an unfinished one resumes where the respondent left off.
    """
    import csv
    import os

    from kvpspec.data.spreadsheet import csv_text
    from kvpspec.diagnostics import InputError
    from kvpspec.fieldwork import cases

    if not base.startswith(("http://", "https://")):
        raise InputError(f"--base {base}: give the address with http:// or https://")
    if os.path.exists(output) and not force:
        raise InputError(f"-o {output}: the file exists and may be the only copy of links made before; "
                         f"give another file, or --force to overwrite it")
    eng = _open(url)
    with eng.begin() as conn:  # the links are kept only once they are written
        made = cases.issue_web_links(conn, base, replace=replace)
        if not made:
            raise InputError("no new links: every case that is not final has one (--replace makes new ones; "
                             "the old ones then stop working); nothing written")
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
        try:
            fd = os.open(output, flags, 0o600)
        except OSError as e:
            raise InputError(f"-o {output}: cannot write: {e.strerror}") from None
        with open(fd, "w", newline="", encoding="utf-8") as f:  # written and on disk before the commit
            w = csv.writer(f)
            w.writerow(["case", "link"])
            w.writerows([csv_text(case), link] for case, link in made)
            f.flush()
            os.fsync(f.fileno())
    click.echo(f"{output}: {len(made)} link(s)" + ("" if replace else "; cases that had a link keep it"))
