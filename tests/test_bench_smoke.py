"""A tiny run of the sweep benchmark in CI, so that bench/sweep.py cannot rot."""

import pytest

from bench.sweep import main

pytestmark = pytest.mark.django_db


def test_the_sweep_benchmark_runs_and_a_second_sweep_changes_nothing(capsys):
    figures = main(["--smoke"])
    assert figures["patients"] == 30
    assert figures["lab_rows"] > 1000
    assert figures["alerts_opened_first_pass"] > 0  # the demo scenarios raise alerts
    assert figures["changes_second_pass"] == 0  # the nightly case: nothing new, nothing written
    assert "patients/s" in capsys.readouterr().out


def test_the_one_patient_figure_alone_has_its_own_baseline(capsys):
    figures = main(["--smoke", "--only-single"])
    assert 0 < figures["one_patient_evaluate_median_ms"] < figures["one_patient_median_ms"]
    assert figures["ratio_one_patient_to_read"] > 0
    assert "plain read of that patient's labs" in capsys.readouterr().out
