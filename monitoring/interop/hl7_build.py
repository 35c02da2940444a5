"""Building ORU^R01 messages: for tests, the benchmark, and a listener smoke check."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Obx:
    code: str
    value: str
    unit: str = ""
    ref_range: str = ""
    status: str = "F"
    system: str = "LN"
    name: str = ""
    value_type: str = "NM"
    observed_at: str = ""


def hl7_time(moment: datetime) -> str:
    text = moment.strftime("%Y%m%d%H%M%S")
    if moment.tzinfo is not None:
        text += moment.strftime("%z")
    return text


def build_oru(
    *,
    mrn: str,
    control_id: str,
    results: Sequence[Obx],
    collected_at: datetime | str,
    order_id: str = "ORD1",
    sender: str = "LAB^HOSP",
    breaks: str = "\r",
) -> str:
    """One ORU^R01 with one order (OBR) and one OBX per result."""
    when = collected_at if isinstance(collected_at, str) else hl7_time(collected_at)
    app, _, facility = sender.partition("^")
    segments = [
        f"MSH|^~\\&|{app}|{facility}|AIH|CLINIC|{when}||ORU^R01^ORU_R01|{control_id}|P|2.5",
        f"PID|1||{mrn}^^^HOSP^MR||DOE^JANE||19800517|F",
        f"OBR|1||{order_id}|24325-3^Hepatic function panel^LN|||{when}",
    ]
    for index, obx in enumerate(results, start=1):
        segments.append(
            f"OBX|{index}|{obx.value_type}|{obx.code}^{obx.name or obx.code}^{obx.system}||{obx.value}|{obx.unit}|"
            f"{obx.ref_range}||||{obx.status}|||{obx.observed_at}"
        )
    return breaks.join(segments) + breaks


LIVER_PANEL: tuple[Obx, ...] = (
    Obx("1742-6", "54", "U/L", "0-40", name="ALT"),
    Obx("1920-8", "48", "IU/L", "0-40", name="AST"),
    Obx("6768-6", "110", "U/L", "30-130", name="ALP"),
    Obx("14631-6", "18", "umol/L", "0-21", name="Bilirubin"),
    Obx("1751-7", "41", "g/L", "35-50", name="Albumin"),
    Obx("2465-3", "17.2", "g/L", "7-16", name="IgG"),
)
