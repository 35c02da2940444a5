"""The recall list: bloods due or overdue across a clinic's active patients, from the monitoring schedule.

It is computed, not stored: the same `monitoring_schedule` the MON rules judge, so the recall list
and the alert queue always agree. Timelines are loaded in chunks (a fixed number of queries per
chunk, monitoring/engine/loader.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet

from aih_tracker.spreadsheet import csv_text
from monitoring.clinic_parameters import parameters_for_clinic
from monitoring.engine.context import Context
from monitoring.engine.loader import load_timelines
from monitoring.engine.schedule import DUE, OK, OVERDUE, ScheduleItem, monitoring_schedule
from monitoring.models import RecallContact

CHUNK_SIZE = 500
SCHEDULE_NAMES = {
    "MON-01": "Thiopurine safety bloods",
    "MON-02": "ALT after a steroid change",
    "MON-03": "Response check",
    "MON-04": "Maintenance ALT / IgG",
    "MON-05": "After withdrawal",
    "MON-06": "MMF bloods",
    "MON-07": "Tacrolimus bloods",
}
SHOW = {"due": "Due or overdue", "overdue": "Overdue only", "all": "Everything scheduled"}
_HAS_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def phase_group(item: ScheduleItem) -> str:
    """A phase label a filter can offer: patient-specific labels (with dates) fall back to the schedule."""
    if _HAS_DATE.search(item.phase):
        return SCHEDULE_NAMES.get(item.rule_id, item.rule_id)
    return item.phase


@dataclass(frozen=True)
class RecallRow:
    patient_id: int
    mrn: str
    name: str
    panel: str
    rule_id: str
    phase: str
    phase_group: str
    last_result: date | None
    missing: str  # "platelets missing since 3 Jan 2026": required analytes drawn less recently
    next_due: date
    overdue_after: date
    state: str
    days_overdue: int  # days past the overdue date; 0 when not overdue
    last_contact: RecallContact | None = None

    @property
    def key(self) -> str:
        """A stable id for the row in the page (patient + panel)."""
        return f"{self.patient_id}-{re.sub(r'[^a-z0-9]+', '-', self.panel.lower())}"


def _row(patient: dict, item: ScheduleItem, today: date) -> RecallRow:
    state = item.state(today)
    return RecallRow(
        patient_id=patient["pk"],
        mrn=patient["mrn"],
        name=f"{patient['family_name'].upper()}, {patient['given_name']}",
        panel=item.panel,
        rule_id=item.rule_id,
        phase=item.phase,
        phase_group=phase_group(item),
        last_result=item.last_result,
        missing=item.missing_text,
        next_due=item.next_due,
        overdue_after=item.overdue_after,
        state=state,
        days_overdue=max((today - item.overdue_after).days, 0) if state == OVERDUE else 0,
    )


def _last_contacts(patient_ids: Iterable[int]) -> dict[tuple[int, str], RecallContact]:
    latest: dict[tuple[int, str], RecallContact] = {}
    for contact in RecallContact.objects.filter(patient_id__in=list(patient_ids)).select_related("by"):
        latest.setdefault((contact.patient_id, contact.panel), contact)  # newest first (Meta.ordering)
    return latest


def schedule_rows(patients: QuerySet, today: date, chunk_size: int = CHUNK_SIZE) -> list[RecallRow]:
    """Every scheduled panel of these patients (active ones only), most overdue first."""
    people = {
        p["pk"]: p
        for p in patients.active().order_by("pk").values("pk", "mrn", "family_name", "given_name", "clinic_id")
    }
    params = {clinic_id: parameters_for_clinic(clinic_id) for clinic_id in {p["clinic_id"] for p in people.values()}}
    ids = list(people)
    rows: list[RecallRow] = []
    for start in range(0, len(ids), chunk_size):
        timelines = load_timelines(ids[start : start + chunk_size])
        for patient_id, timeline in timelines.items():
            ctx = Context(timeline, today, params[timeline.clinic_id])
            rows.extend(_row(people[patient_id], item, today) for item in monitoring_schedule(ctx))
    contacts = _last_contacts(ids)
    rows = [RecallRow(**{**row.__dict__, "last_contact": contacts.get((row.patient_id, row.panel))}) for row in rows]
    return sorted(rows, key=lambda r: (-r.days_overdue, r.overdue_after, r.next_due, r.name, r.panel))


@dataclass(frozen=True)
class RecallFilters:
    show: str = "due"
    phase: str = ""
    panel: str = ""

    @classmethod
    def from_query(cls, params) -> RecallFilters:
        show = params.get("show", "due")
        return cls(show=show if show in SHOW else "due", phase=params.get("phase", ""), panel=params.get("panel", ""))


def filter_rows(rows: Sequence[RecallRow], filters: RecallFilters) -> list[RecallRow]:
    wanted = {"due": (DUE, OVERDUE), "overdue": (OVERDUE,), "all": (OK, DUE, OVERDUE)}[filters.show]
    return [
        row
        for row in rows
        if row.state in wanted
        and (not filters.phase or row.phase_group == filters.phase)
        and (not filters.panel or row.panel == filters.panel)
    ]


CSV_HEADER = ["MRN", "Patient", "Panel", "Schedule", "Phase", "Last result", "Missing", "Due", "Overdue after",
              "State", "Days overdue", "Last contact", "Last contact outcome", "Lapse reason"]  # fmt: skip


def recall_csv(rows: Iterable[RecallRow]) -> str:
    """The rows as CSV, every cell through the project's formula guard (aih_tracker/spreadsheet.py)."""
    return csv_text(CSV_HEADER, (_csv_row(row) for row in rows))


def _csv_row(row: RecallRow) -> list:
    contact = row.last_contact
    return [
        row.mrn,
        row.name,
        row.panel,
        row.rule_id,
        row.phase,
        row.last_result.isoformat() if row.last_result else "",
        row.missing,
        row.next_due.isoformat(),
        row.overdue_after.isoformat(),
        row.state,
        row.days_overdue,
        f"{contact.contacted_on.isoformat()} {contact.get_method_display()}" if contact else "",
        contact.get_outcome_display() if contact else "",
        contact.get_lapse_reason_display() if contact else "",
    ]
