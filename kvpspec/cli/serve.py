"""``kvpspec serve SPEC --db URL [--host 127.0.0.1] [--port 8000]``: the collection server."""

from __future__ import annotations

import click

from kvpspec.cli.common import guard, load_clean
from kvpspec.diagnostics import InputError
from kvpspec.fieldwork.db import DEFAULT_URL


@click.command()
@click.argument("spec", metavar="SPEC")
@click.option("--db", "url", default=DEFAULT_URL, show_default=True, metavar="URL",
              help="sqlite:///FILE (or a path) or postgresql://USER@HOST/DB.")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="The port.")
@click.option("--max-body", default=256 * 1024, show_default=True, type=click.IntRange(1024, 64 * 1024 * 1024),
              metavar="BYTES", help="The largest submission taken; a larger one is answered 413.")
@click.option("--https", is_flag=True, help="The server is reached over https (behind a proxy): secure cookies.")
@click.option("--max-attempts", type=click.IntRange(1, 1000), metavar="N",
              help="Unanswered calls (no answer, busy) before a case gets the no-answer disposition [default: 8].")
@click.option("--no-answer", type=int, metavar="CODE",
              help="That disposition [default: the spec's first of AAPOR category UH, else NC].")
@guard
def serve(spec: str, url: str, host: str, port: int, max_body: int, https: bool,
          max_attempts: int | None, no_answer: int | None) -> None:
    """Serve SPEC's form (CATI and web) and collect interviews into the database.

    The database is created or migrated, and must hold data of a compatible
    spec (the same response columns); otherwise the server refuses to start.
    """
    compiled = load_clean(spec, "serving it")
    from kvpspec.fieldwork import cases
    from kvpspec.fieldwork.app import create_app
    from kvpspec.fieldwork.store import open_database

    rules = None
    if compiled.spec.fieldwork is not None and compiled.spec.fieldwork.dispositions:
        rules = cases.rules_for(compiled.spec, max_attempts=max_attempts, no_answer=no_answer)
    elif max_attempts is not None or no_answer is not None:
        raise InputError("--max-attempts and --no-answer need the spec's `dispositions`")
    eng, notes = open_database(url, compiled, source=spec)
    for note in notes:
        click.echo(f"kvpspec: {note}", err=True)
    app = create_app(compiled, eng, max_body=max_body, https=https, rules=rules)

    import socket

    import uvicorn

    try:  # a port in use: said before anything claims to serve
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as e:
        app.state.server.stop()
        eng.dispose()
        raise InputError(f"--host {host} --port {port}: cannot listen there: {e.strerror}") from None
    click.echo(f"kvpspec: serving {compiled.spec.name} (version {compiled.version}) on http://{host}:{port}",
               err=True)
    # no access log: paths may hold a web link's token
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning", lifespan="on",
                timeout_keep_alive=30)  # clients keep their connection between interviews
