"""CSV for spreadsheets: the one guard against formula injection, used by every CSV export.

Patient text (names, MRNs, notes, imported strings) ends up in cells that Excel, LibreOffice or
Google Sheets may run as formulas (OWASP "CSV Injection"). `csv_text` writes every export; a new
export uses it, never `csv.writer` directly.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from io import StringIO

# What makes a spreadsheet read a cell as a formula (OWASP): = + - @ first, or a tab / CR / LF
# first (some spreadsheets strip leading whitespace, then see the formula).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# A formula right after a separator (spaces, line breaks and double quotes between are skipped, as a
# spreadsheet may skip them): a spreadsheet that splits on ";" (European locales), or on ",", a tab
# or a line break while ignoring the quotes, starts a new cell there.
_FORMULA_AFTER_SEPARATOR = re.compile(r"""([;,\t\r\n][\s"]*)([=+\-@])""")


def safe_cell(value):
    r"""The value as a cell no spreadsheet will run as a formula.

    The rule: a `'` (the spreadsheet's "this is text" mark) goes before every place where a
    formula could start.

    * Numbers (int, float) pass as they are: they are written unquoted and are never formulas.
    * Any other value becomes text. Text that starts with = + - @, a tab, CR or LF (OWASP's
      list) gets a leading `'`: `=cmd` becomes `'=cmd`, `\t=cmd` becomes `'\t=cmd`.
    * Wherever a `;`, `,`, tab, CR or LF is followed by = + - @ (after optional spaces, line
      breaks or double quotes), a `'` goes right before that character: `Ada;=cmd` becomes `Ada;'=cmd`,
      `x, +1` becomes `x, '+1`. The cell reads as text even if a spreadsheet splits it there.

    Nothing else is changed, so `3-4`, `a@b.org` or `O'Brien, Ada` read as written. `csv_text`
    also quotes every text cell (doubling quotes inside it), as OWASP advises.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    text = "" if value is None else str(value)
    leading = text.startswith(FORMULA_START)

    def mark(match: re.Match) -> str:
        if leading and match.start() == 0:
            return match.group(0)  # the leading `'` already covers it: `'\t=cmd`, not `'\t'=cmd`
        return f"{match.group(1)}'{match.group(2)}"

    text = _FORMULA_AFTER_SEPARATOR.sub(mark, text)
    return f"'{text}" if leading else text


def csv_text(header: Iterable, rows: Iterable[Iterable]) -> str:
    """A CSV document: the header, then the rows, every cell through `safe_cell`, all text quoted."""
    out = StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow([safe_cell(value) for value in header])
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()
