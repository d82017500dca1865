"""``kvpspec lsp``: the language server, speaking LSP over standard input and output."""

from __future__ import annotations

import click


@click.command()
@click.option("--stdio", is_flag=True, help="Use standard input and output (the default; editors pass it).")
def lsp(stdio: bool) -> None:
    """Run the language server: diagnostics, hover, navigation, completion, rename, formatting.

    Editors start it and talk to it over standard input and output.
    """
    from kvpspec.authoring.lsp import serve

    serve()
