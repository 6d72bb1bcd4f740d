"""Ensemble tests: a failing test's report carries every member's state and log tail."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from support.ensemble_proc import EnsembleBase


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        shown: set[int] = set()
        for name, value in getattr(item, "funcargs", {}).items():
            if isinstance(value, EnsembleBase) and not value.closed and id(value) not in shown:
                shown.add(id(value))
                title = f"ensemble {name!r}: members and logs"
                report.sections.append((title, value.diagnostics()))
    return report
