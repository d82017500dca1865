"""The shared base of every output target, and the registry that finds them.

A target is a class derived from ``Generator``, registered under the
entry-point group ``kvpspec.generators`` (see ``pyproject.toml``). It reads the
model (and the lowered form and routing of ``kvpspec.semantics``, which derive
from it), never the parse tree, and
returns its files as ``{relative path: bytes}``. Rendering dispatches on the
node's class (``visit_Question``, ``visit_Grid``, ...); a node without a method
is a hard error, and a construct a target cannot express is reported through
``unsupported`` instead of being dropped.

User text is data: HTML only through Jinja2 autoescaping (``StrictUndefined``),
Markdown through ``md_escape``, spreadsheet cells through
``generators.registration.set_text`` (text, never a formula).
"""

from __future__ import annotations

import datetime as _dt
import io
import re
import struct
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from kvpspec import model as m
from kvpspec.diagnostics import KvpspecError
from kvpspec.model import split_fills

if TYPE_CHECKING:  # only for the annotations: importing compile here is not needed at run time
    from kvpspec.compile import Compiled
    from kvpspec.semantics.lower import Lowered

ENTRY_POINT_GROUP = "kvpspec.generators"


class GeneratorError(KvpspecError):
    """A target could not render the spec: the message says why (``internal``: by a bug)."""

    def __init__(self, message: str, target: str | None = None, internal: bool = False):
        super().__init__(message)
        self.target = target
        self.message = message
        self.internal = internal

    def __str__(self) -> str:
        return f"{self.target}: {self.message}" if self.target else self.message


@dataclass
class Context:
    """What every generator gets: the checked spec and its derived views."""

    compiled: Compiled
    warnings: list[tuple[str, str]] = field(default_factory=list)

    @property
    def spec(self) -> m.Spec:
        return self.compiled.spec

    @property
    def lowered(self) -> Lowered:
        return self.compiled.lowered

    @property
    def languages(self) -> tuple[str, ...]:
        """The study's languages, main first; ``("nb",)`` when none is given."""
        study = self.spec.study
        langs = study.languages if study and study.languages else ()
        return tuple(langs) or ("nb",)

    @property
    def main_language(self) -> str:
        return self.languages[0]

    def fixed_date(self) -> _dt.datetime:
        """The date stamped into PDF and XLSX metadata: the fieldwork's start.

        Fixed so that the same spec gives byte-identical files.
        """
        study = self.spec.study
        if study and study.period:
            try:
                return _dt.datetime.fromisoformat(study.period.start)
            except ValueError:
                pass
        return _dt.datetime(2000, 1, 1)


class Generator(ABC):
    """One output target. Subclasses set ``name`` and ``description`` and
    implement ``generate``."""

    name: str = ""
    description: str = ""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    # -- the contract -----------------------------------------------------
    @abstractmethod
    def generate(self) -> dict[str, bytes]:
        """The files of this target: relative path -> bytes."""

    # -- helpers ----------------------------------------------------------
    def visit(self, node: Any, *args: Any, **kwargs: Any) -> Any:
        """Dispatch on the node's class; a node this target has no rendering for
        is a hard error, never silently skipped."""
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise GeneratorError(f"no rendering for a {type(node).__name__} node", self.name)
        return method(node, *args, **kwargs)

    def unsupported(self, message: str) -> None:
        """Say that this target cannot express something (printed by ``build``)."""
        entry = (self.name, message)
        if entry not in self.ctx.warnings:
            self.ctx.warnings.append(entry)

    def error(self, message: str) -> GeneratorError:
        return GeneratorError(message, self.name)


# ---------------------------------------------------------------- registry


def registry() -> dict[str, type[Generator]]:
    """Every installed target, by name, from the ``kvpspec.generators`` entry points."""
    out: dict[str, type[Generator]] = {}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name in out:
            continue
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plug-in names itself
            raise GeneratorError(f"cannot load ({type(exc).__name__}: {exc})", ep.name) from exc
        out[ep.name] = cls
    return out


# ---------------------------------------------------------------- templates


def jinja_env(folder: Path, filters: dict[str, Callable[..., Any]] | None = None):
    """A Jinja2 environment for one target's templates: autoescaped, strict."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(filters or {})
    return env


def shared_css() -> str:
    """The print stylesheet every HTML output shares (A4, margins, page breaks)."""
    return (Path(__file__).parent / "print.css").read_text(encoding="utf-8")


# ---------------------------------------------------------------- fills


def placeholder(name: str) -> str:
    """How the script shows a fill: ``{navn}`` is ``<NAVN>``."""
    return f"<{name.upper()}>"


def fill_plain(text: str) -> str:
    """A script text with its fills as placeholders, as plain text."""
    return "".join(v if k == "text" else placeholder(v) for k, v in split_fills(text))


def fill_html(text: str) -> Markup:
    """A script text as safe HTML: the text escaped, fills as styled placeholders,
    line breaks kept."""
    out = []
    for kind, value in split_fills(text):
        if kind == "text":
            out.append(str(escape(value)).replace("\n", "<br>\n"))
        else:
            out.append(f'<span class="fill">{escape(placeholder(value))}</span>')
    return Markup("".join(out))


# ---------------------------------------------------------------- markdown


_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~&])")
_MD_LINE_START = re.compile(r"^(\s*)([#+\-=>]|\d+[.)])")


def md_escape(text: str, line_start: bool = True) -> str:
    """Plain text safe inside Markdown: characters Markdown (or the HTML it
    allows) could read as markup are backslash-escaped, and so is whatever would
    start a heading, list or quote at the start of a line (for the first line
    only when ``line_start``: a fragment in the middle of a line needs none)."""
    lines = []
    for i, line in enumerate(text.split("\n")):
        line = _MD_INLINE.sub(r"\\\1", line)
        mo = _MD_LINE_START.match(line) if (i or line_start) else None
        if mo:
            marker = mo.group(2)
            line = mo.group(1) + (marker[:-1] + "\\" + marker[-1]) + line[mo.end():]
        lines.append(line)
    return "  \n".join(lines)


def md_fill(text: str, line_start: bool = True) -> str:
    return md_escape(fill_plain(text), line_start)


# ---------------------------------------------------------------- determinism


FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def normalise_zip(data: bytes) -> bytes:
    """Re-pack a zip (an XLSX) with fixed timestamps so equal content gives equal bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


_SFNT_VERSIONS = (b"\x00\x01\x00\x00", b"OTTO", b"true")


def _sfnt_checksum(data: bytes | bytearray) -> int:
    """The OpenType checksum: the sum of the big-endian 32-bit words, zero-padded."""
    padded = bytes(data) + bytes(-len(data) % 4)
    return sum(struct.unpack(f">{len(padded) // 4}I", padded)) & 0xFFFFFFFF


def unstamp_font(font: bytes) -> bytes:
    """A TrueType/OpenType font with ``head.modified`` set to ``head.created``.

    fontTools stamps the subsets it writes with the current time (WeasyPrint
    subsets with it when HarfBuzz's subsetter is missing), so the embedded fonts
    would change from one run to the next. The checksums are recomputed as the
    OpenType spec says; a font without a ``head`` table is returned as it is.
    """
    if len(font) < 12 or font[:4] not in _SFNT_VERSIONS:
        return font
    (count,) = struct.unpack_from(">H", font, 4)
    for entry in range(12, min(12 + 16 * count, len(font) - 15), 16):
        tag, _, start, length = struct.unpack_from(">4sIII", font, entry)
        if tag == b"head":
            break
    else:
        return font
    if length < 36 or start + length > len(font):
        return font
    created, modified = font[start + 20:start + 28], font[start + 28:start + 36]
    if modified == created:
        return font
    out = bytearray(font)
    out[start + 28:start + 36] = created
    out[start + 8:start + 12] = bytes(4)  # checkSumAdjustment: 0 while summing
    struct.pack_into(">I", out, entry + 4, _sfnt_checksum(out[start:start + length]))
    struct.pack_into(">I", out, start + 8, (0xB1B0AFBA - _sfnt_checksum(out)) & 0xFFFFFFFF)
    return bytes(out)


def _unstamp_pdf_fonts(document: Any, pdf: Any) -> None:
    """A WeasyPrint finisher: every embedded font file through ``unstamp_font``."""
    from pydyf import Dictionary, Stream

    streams = {obj.reference: obj for obj in pdf.objects if isinstance(obj, Stream)}
    for obj in pdf.objects:
        if not (isinstance(obj, Dictionary) and obj.get("Type") == "/FontDescriptor"):
            continue
        for key in ("FontFile", "FontFile2", "FontFile3"):
            stream = streams.get(obj.get(key))
            if stream is not None:
                stream.stream = [unstamp_font(b"".join(stream.stream))]


_FONT_CONFIG = None


def render_pdf(html: str, base_url: str | None = None) -> bytes:
    """An HTML page as PDF bytes (WeasyPrint), the same bytes on every run: the
    HTML carries its fixed ``dcterms.created``/``modified`` dates, and the
    embedded font subsets lose the time they were made (``unstamp_font``)."""
    global _FONT_CONFIG
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    if _FONT_CONFIG is None:
        _FONT_CONFIG = FontConfiguration()
    return HTML(string=html, base_url=base_url).write_pdf(
        font_config=_FONT_CONFIG, finisher=_unstamp_pdf_fonts
    )


def compress_codes(codes: Iterable[int]) -> str:
    """``[1, 2, 3, 4, 7]`` as ``1-4, 7`` (how the questionnaire writes LES OPP 1-4)."""
    codes = sorted(set(codes))
    parts: list[str] = []
    i = 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        parts.append(str(codes[i]) if i == j else f"{codes[i]}-{codes[j]}")
        i = j + 1
    return ", ".join(parts)
