"""The command-line contract: exit codes, diagnostics on stderr, outputs."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from kvpspec.cli import cli

from conftest import KVP

BAD = 'survey s "S"\nscale a "A" { 1 "x" }\ninterview {\n  question q1 "Q" scale b\n}\n'


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_check_clean_exits_0() -> None:
    result = run("check", str(KVP))
    assert result.exit_code == 0
    assert "Success" in result.output


def test_check_errors_exit_1_with_located_diagnostics(tmp_path) -> None:
    spec = tmp_path / "bad.survey"
    spec.write_text(BAD, encoding="utf-8")
    result = run("check", str(spec))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == f"{spec}:2:1: warning: scale `a` is not used by any question or recode [unused-scale]"
    i = lines.index(f"{spec}:4:3: error: unknown scale `b` [undefined-ref]")
    assert lines[i + 1] == '      question q1 "Q" scale b'
    assert lines[i + 2] == "      ^~~~~~~~~~~~~~~~~~~~~~~"
    assert lines[-1] == "Found 1 error in 1 spec"
    assert "Traceback" not in result.output


def test_missing_file_exits_2() -> None:
    result = run("check", "no/such/file.survey")
    assert result.exit_code == 2
    assert "cannot read no/such/file.survey" in result.stderr


def test_usage_error_exits_2() -> None:
    assert run("check").exit_code == 2
    result = run("export", "yaml", str(KVP))
    assert result.exit_code == 2
    assert "unknown export format `yaml`" in result.stderr


def test_bad_utf8_is_located(tmp_path) -> None:
    spec = tmp_path / "latin1.survey"
    spec.write_bytes('survey s "Sp\u00f8rsm\u00e5l"\n'.encode("latin-1"))
    result = run("check", str(spec))
    assert result.exit_code == 1
    assert f"{spec}:1:13: error: byte 0xf8 is not valid UTF-8" in result.stderr


def test_bom_and_empty_file(tmp_path) -> None:
    bom = tmp_path / "bom.survey"
    bom.write_bytes(b'\xef\xbb\xbfsurvey s "S"\n')
    assert run("check", str(bom)).exit_code == 0
    empty = tmp_path / "empty.survey"
    empty.write_text("", encoding="utf-8")
    result = run("check", str(empty))
    assert result.exit_code == 1
    assert "[empty]" in result.stderr


def test_export_ir_and_codebook(tmp_path) -> None:
    out = tmp_path / "cb.json"
    assert run("export", "codebook", str(KVP), "-o", str(out)).exit_code == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["survey"] == "kvp2009"
    assert len(data["version"]) == 16
    ir = json.loads(run("export", "ir", str(KVP)).stdout)
    assert ir["version"] == data["version"]
    assert ir["spec"]["name"] == "kvp2009"


def test_export_is_deterministic() -> None:
    assert run("export", "ir", str(KVP)).stdout == run("export", "ir", str(KVP)).stdout


def test_fmt_check_and_rewrite(tmp_path) -> None:
    spec = tmp_path / "a.survey"
    spec.write_text('survey s "S"   # title\nscale a "A" {1 "x"   2 "y"}\n', encoding="utf-8")
    assert run("fmt", "--check", str(spec)).exit_code == 1
    assert run("fmt", str(spec)).exit_code == 0
    assert spec.read_text(encoding="utf-8") == 'survey s "S"  # title\n\nscale a "A" {\n  1 "x"\n  2 "y"\n}\n'
    assert run("fmt", "--check", str(spec)).exit_code == 0
    assert run("fmt", "--check", str(KVP)).exit_code == 0


def test_check_does_not_import_pandas_or_scipy() -> None:
    code = (
        "import sys\nfrom kvpspec.cli import main\nsys.argv=['kvpspec','check','-q',%r]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "bad = [m for m in ('pandas', 'scipy', 'numpy') if m in sys.modules]\n"
        "assert not bad, bad\n" % str(KVP)
    )
    subprocess.run([sys.executable, "-c", code], check=True)
