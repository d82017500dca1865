"""Tools for authors: a semantic diff of two versions of a spec (``diff``), a
language server (``lsp``) and syntax highlighting (``highlight``).

They sit beside ``kvpspec.data``: they read compiled specs and never import
click or rich (``kvpspec.cli`` does the printing).
"""
