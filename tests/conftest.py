"""Shared fixtures: every test sees a fresh instrument registry."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _fresh_registry(monkeypatch):
    """Discovery is cached per process; tests that add folders or plugins must not leak into others."""
    import cseoutcomes

    monkeypatch.delenv("CSEOUTCOMES_INSTRUMENTS_PATH", raising=False)
    cseoutcomes.refresh()
    yield
    cseoutcomes.refresh()


@pytest.fixture
def root() -> Path:
    return ROOT
