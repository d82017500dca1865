"""The export formats of ``kvpspec export``: one registry, one signature.

An exporter takes the compiled spec, the data file (for the formats that
export data) and :class:`ExportOptions`, and returns the output as text or
bytes. Problems for the user raise ``InputError`` (``ExportError``); notes that
do not stop the export go to ``options.warn``. Heavy exporters (SPSS, Stata)
are imported only when asked for.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from kvpspec.compile import Compiled
from kvpspec.data.codebook import codebook
from kvpspec.data.schemas import json_schema, table_schema


@dataclass(frozen=True)
class ExportOptions:
    language: str | None = None
    output: str | None = None
    warn: Callable[[str], None] = field(default=lambda message: None)


Exporter = Callable[[Compiled, "str | None", ExportOptions], "str | bytes"]


class Format(NamedTuple):
    target: str  # "module:function"
    needs_data: bool
    help: str

    def load(self) -> Exporter:
        module, function = self.target.split(":")
        exporter: Exporter = getattr(importlib.import_module(module), function)
        return exporter


FORMATS: dict[str, Format] = {
    "ir": Format("kvpspec.data.exports:export_ir", False, "the model as canonical JSON"),
    "codebook": Format("kvpspec.data.exports:export_codebook", False, "every variable with codes, labels, missing codes"),
    "jsonschema": Format("kvpspec.data.exports:export_jsonschema", False, "JSON Schema of one interview record"),
    "tableschema": Format("kvpspec.data.exports:export_tableschema", False, "Frictionless Table Schema of the data"),
    "sav": Format("kvpspec.data.labelled:export_sav", True, "the data as SPSS .sav with labels and user-missing codes"),
    "dta": Format("kvpspec.data.labelled:export_dta", True, "the data as Stata .dta with labels, missing codes as .a, .b, ..."),
    "datapackage": Format("kvpspec.data.labelled:export_datapackage", True, "the data as a zipped Data Package: CSV + datapackage.json"),
}


def _json(doc: object) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def export_ir(compiled: Compiled, data: str | None, options: ExportOptions) -> str:
    return _json({"survey": compiled.spec.name, "version": compiled.version, "spec": compiled.ir()})


def export_codebook(compiled: Compiled, data: str | None, options: ExportOptions) -> str:
    return _json(codebook(compiled, options.language))


def export_jsonschema(compiled: Compiled, data: str | None, options: ExportOptions) -> str:
    result = json_schema(compiled, options.language)
    for note in result.unsupported:
        options.warn(f"routing not expressible in JSON Schema: {note}")
    return _json(result.schema)


def export_tableschema(compiled: Compiled, data: str | None, options: ExportOptions) -> str:
    return _json(table_schema(compiled, options.language))
