"""A tiny run of the HL7 import benchmark, so that bench/hl7_import.py cannot rot."""

import pytest

from bench.hl7_import import main

pytestmark = pytest.mark.django_db


def test_the_hl7_benchmark_imports_every_message_once_and_the_repeat_adds_nothing(capsys):
    figures = main(["--smoke"])
    assert figures["statuses_single"] == {"accepted": 20}
    assert figures["statuses"] == {"accepted": 60}
    assert figures["statuses_again"] == {"duplicate": 60}
    assert figures["results_created"] == (60 + 20) * 6
    assert figures["observations"] == 60 * 6
    assert "messages/s" in capsys.readouterr().out
