"""The one CSV formula guard (aih_tracker/spreadsheet.py): what a spreadsheet would run is marked as text."""

import csv
import io

import pytest

from aih_tracker.spreadsheet import csv_text, safe_cell


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=cmd", "'=cmd"),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd", "'\t=cmd"),
        ("\r=cmd", "'\r=cmd"),
        (";=cmd", ";'=cmd"),
        ("Ada;=cmd", "Ada;'=cmd"),
        ("OKAFOR, =HYPERLINK(1)", "OKAFOR, '=HYPERLINK(1)"),
        ('x;"=cmd', "x;\"'=cmd"),
        ("note\n@SUM(1)", "note\n'@SUM(1)"),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_marked_as_text(value, written):
    assert safe_cell(value) == written


@pytest.mark.parametrize("value", ["Okafor", "O'Brien, Ada", "3-4", "a@b.org", "2025-06-01 phone", ""])
def test_ordinary_text_is_written_as_it_is(value):
    assert safe_cell(value) == value


def test_numbers_stay_numbers():
    assert safe_cell(-3) == -3
    assert safe_cell(2.5) == 2.5
    assert safe_cell(None) == ""


def test_every_text_cell_is_quoted_and_read_back_whole():
    text = csv_text(["MRN", "Note"], [["A;=1", 'say "hi", =2'], ["B", 7]])
    assert text.splitlines()[1] == '"A;\'=1","say ""hi"", \'=2"'
    assert list(csv.reader(io.StringIO(text))) == [["MRN", "Note"], ["A;'=1", 'say "hi", \'=2'], ["B", "7"]]
