"""Shared test set-up: the golden-file flag, paths, the seed report, and
Hypothesis profiles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "cases"
GOLDENS = Path(__file__).resolve().parent / "goldens"
KVP = ROOT / "specs" / "kvp2009.survey"
#: The household example: rosters (nested, over a fixed list), aggregates, soft and hard checks.
HOUSEHOLD = ROOT / "specs" / "household.survey"
#: The 2009 report the KVP spec was written from: beside the checkout, or $KVPSPEC_SEED.
SEED = Path(
    os.environ.get("KVPSPEC_SEED", ROOT.parent / "shared" / "seed" / "kvp2009-brukerundersokelse.txt")
)

# The browser fixtures (one Chromium per xdist worker) are registered here, once:
# a session fixture imported into two test modules would be two fixtures, and two
# Playwright instances in one process refuse each other.
pytest_plugins = ["browser"]

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    deadline=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="Rewrite golden files from the current output (review the diff).",
    )


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


def check_golden(path: Path, actual: str, update: bool) -> None:
    """Compare ``actual`` with the golden file, or rewrite it with --update-goldens."""
    if update or not path.exists():
        if not update:
            pytest.fail(f"missing golden file {path}; run pytest --update-goldens and review it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{path} differs; run pytest --update-goldens and review the diff"


def in_ci() -> bool:
    """True when the tests run in CI (which sets ``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def seed_text() -> str:
    """The seed report's text. Without it, a test that needs it fails in CI,
    where the seed must be present, and is skipped for a developer without
    ``../shared/``."""
    if not SEED.is_file():
        message = f"the seed report is not at {SEED} (set KVPSPEC_SEED to its path)"
        if in_ci():
            pytest.fail(f"{message}; CI needs it", pytrace=False)
        pytest.skip(message)
    return SEED.read_text(encoding="utf-8")
