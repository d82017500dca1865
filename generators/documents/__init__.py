"""The fieldwork documents: letters, information sheets, the consent declaration
and the registration form, each as HTML (print layout) and PDF.

Their prose is the spec's ``document`` blocks; their facts come from ``study``
through fills (``{institute.contact}``), resolved here. A fill the study does
not give is a hard error (``kvpspec check`` reports it first).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from generators.base import Generator, jinja_env, render_pdf, shared_css
from generators.common import document_text, text_of
from kvpspec import model as m

TEMPLATES = Path(__file__).parent / "templates"

#: Empty rows printed in a registration table (the seed's form has 15).
FORM_ROWS = 15


def lines_html(text: str) -> Markup:
    """Escaped text with its line breaks kept."""
    return Markup("<br>\n".join(str(escape(line)) for line in text.split("\n")))


class DocumentsGenerator(Generator):
    name = "documents"
    description = "the letters, information sheets, consent and registration form as HTML and PDF"

    def generate(self) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        env = jinja_env(TEMPLATES, {"lines": lines_html})
        template = env.get_template("document.html")
        lang = self.ctx.main_language
        for doc in self.ctx.spec.documents:
            view = self.view(doc, lang)
            html = template.render(doc=view, css=shared_css())
            out[f"documents/{doc.name}.html"] = html.encode("utf-8")
            out[f"documents/{doc.name}.pdf"] = render_pdf(html)
        return out

    def view(self, doc: m.Document, lang: str) -> dict[str, Any]:
        self.lang = lang
        self.doc = doc
        return {
            "name": doc.name,
            "kind": doc.kind or "document",
            "lang": lang,
            "title": self.text(doc.title),
            "created": self.ctx.fixed_date().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "blocks": [self.visit(b) for b in doc.blocks],
        }

    def visit_DocBlock(self, block: m.DocBlock) -> dict[str, Any]:
        method = getattr(self, f"block_{block.kind}", None)
        if method is None:
            raise self.error(f"no rendering for a `{block.kind}` block in document `{self.doc.name}`")
        return {"type": block.kind, **method(block)}

    # ------------------------------------------------------------ fills

    def text(self, t: m.Text) -> str:
        """A document text with its study fills resolved."""
        try:
            return document_text(self.ctx.spec.study, self.doc, t, self.lang)
        except KeyError as exc:
            raise self.error(exc.args[0]) from None

    # ------------------------------------------------------------ blocks

    def block_title(self, b: m.DocBlock) -> dict[str, Any]:
        return {"text": " ".join(self.text(t) for t in b.texts)}

    def block_heading(self, b: m.DocBlock) -> dict[str, Any]:
        return {"text": " ".join(self.text(t) for t in b.texts)}

    def block_paragraph(self, b: m.DocBlock) -> dict[str, Any]:
        return {"text": "\n".join(self.text(t) for t in b.texts)}

    def block_list(self, b: m.DocBlock) -> dict[str, Any]:
        return {"items": [self.text(t) for t in b.texts]}

    def block_numbered(self, b: m.DocBlock) -> dict[str, Any]:
        return {"items": [self.text(t) for t in b.texts]}

    def block_signature(self, b: m.DocBlock) -> dict[str, Any]:
        texts = [self.text(t) for t in b.texts]
        return {"name": texts[0] if texts else "", "roles": texts[1:]}

    def block_blanks(self, b: m.DocBlock) -> dict[str, Any]:
        return {"labels": [self.text(t) for t in b.texts]}

    def block_table(self, b: m.DocBlock) -> dict[str, Any]:
        variables = self.ctx.lowered.variables
        columns = []
        for name in b.names:
            var = variables.get(name)
            if var is None:
                raise self.error(f"document `{self.doc.name}`: `{name}` is not a sample field")
            columns.append(text_of(var.label, self.lang))
        return {"columns": columns, "rows": FORM_ROWS}

    def block_tally(self, b: m.DocBlock) -> dict[str, Any]:
        return {"text": " ".join(self.text(t) for t in b.texts)}

    def block_pagebreak(self, b: m.DocBlock) -> dict[str, Any]:
        return {}
