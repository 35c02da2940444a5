"""A tiny run of the queue and dashboard benchmark in CI, so that bench/alert_queue.py cannot rot."""

import pytest

from bench.alert_queue import BUDGET_QUERIES, main

pytestmark = pytest.mark.django_db


def test_the_queue_benchmark_runs_and_every_page_stays_within_the_query_budget(capsys):
    figures = main(["--smoke"])
    assert figures["patients"] == 30
    assert figures["alerts"] >= 400  # the engine's alerts topped up with synthetic ones
    pages = [value for value in figures.values() if isinstance(value, dict)]
    assert len(pages) == 5
    assert all(page["queries"] <= BUDGET_QUERIES for page in pages)
    assert "x the baseline" in capsys.readouterr().out
