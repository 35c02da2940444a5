"""Hypothesis strategies: random but plausible AIH timelines for property-based tests."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from tests.timelines import TimelineBuilder

START = date(2020, 1, 6)
DRUGS_AND_DOSES = {
    "prednisolone": (5, 60),
    "budesonide": (3, 9),
    "azathioprine": (25, 200),
    "mycophenolate_mofetil": (500, 3000),
    "tacrolimus": (1, 8),
    "allopurinol": (100, 300),
    "calcium_vitamin_d": (1, 1),
}
ANALYTE_RANGES = {
    "alt": (5, 1500, 40),
    "ast": (5, 1500, 40),
    "alp": (30, 900, 130),
    "ggt": (5, 900, 60),
    "bilirubin": (3, 400, 21),
    "igg": (5, 45, 16),
    "inr": (0.8, 4, 1.2),
    "albumin": (15, 50, None),
    "creatinine": (40, 400, 110),
    "sodium": (120, 150, None),
    "wbc": (0.5, 15, None),
    "neutrophils": (0.2, 10, None),
    "platelets": (10, 450, None),
    "tgn": (50, 900, None),
    "mmp": (100, 20000, None),
}


# A range as the engine receives it from the loader: the usual one, none at all, a lower limit alone,
# or any plausible upper limit (the loader never passes an impossible one on: tests/labs/test_impossible_ranges.py).
def _limits(draw, uln: float | None, low: float, high: float):
    shape = draw(st.sampled_from(["usual", "none", "lower only", "any"]))
    if shape == "usual":
        return uln, None
    if shape == "none":
        return None, None
    if shape == "lower only":
        return None, round(draw(st.floats(low / 2, low, allow_nan=False)), 2)
    upper = round(draw(st.floats(max(low, 0.1), high, allow_nan=False)), 2)
    return upper, draw(st.none() | st.just(round(upper / 4, 2)))


def _treated_to_remission(draw, builder: TimelineBuilder) -> None:
    """Prednisolone from START; ALT and IgG normal from month 2 (remission), then results with any range."""
    builder.course("prednisolone", START, 40)
    builder.lab("alt", START, 400).lab("igg", START, 25)
    for month in range(2, 8):
        on = START + timedelta(days=30 * month)
        builder.lab("alt", on, 25).lab("igg", on, 12)
    for code, (low, high, uln) in (("alt", ANALYTE_RANGES["alt"]), ("igg", ANALYTE_RANGES["igg"])):
        for _ in range(draw(st.integers(0, 3))):
            on = START + timedelta(days=draw(st.integers(240, 900)))
            upper, lower = _limits(draw, uln, low, high)
            builder.lab(code, on, round(draw(st.floats(low, high, allow_nan=False)), 2), uln=upper, lln=lower)


@st.composite
def timelines(draw, patient_id: int = 1, any_range: bool = False):
    builder = TimelineBuilder(
        patient_id=patient_id,
        mrn=f"H-{patient_id}",
        sex=draw(st.sampled_from(["female", "male"])),
        date_of_birth=draw(st.dates(date(1940, 1, 1), date(2005, 12, 31))),
        reproductive_potential=draw(st.sampled_from(["yes", "no", "unknown"])),
        cirrhosis_on=draw(st.none() | st.just(START)),
        advanced_fibrosis=draw(st.booleans()),
    )
    for _ in range(draw(st.integers(0, 4))):
        drug = draw(st.sampled_from(sorted(DRUGS_AND_DOSES)))
        low, high = DRUGS_AND_DOSES[drug]
        start = START + timedelta(days=draw(st.integers(0, 1500)))
        stop = draw(st.none() | st.integers(1, 900).map(lambda n, s=start: s + timedelta(days=n)))
        changes = draw(st.lists(st.tuples(st.integers(1, 600), st.integers(low, high)), max_size=3))
        doses = sorted({start + timedelta(days=n): mg for n, mg in changes}.items())
        builder.course(
            drug, start, draw(st.integers(low, high)), stop=stop, reason="remission" if stop else "", doses=doses
        )
    if any_range and draw(st.booleans()):
        _treated_to_remission(draw, builder)
    for code in draw(st.lists(st.sampled_from(sorted(ANALYTE_RANGES)), max_size=8, unique=True)):
        low, high, uln = ANALYTE_RANGES[code]
        for _ in range(draw(st.integers(1, 8))):
            on = START + timedelta(days=draw(st.integers(-30, 1800)))
            value = round(draw(st.floats(low, high, allow_nan=False)), 2)
            if any_range:
                upper, lower = _limits(draw, uln, low, high)
                builder.lab(code, on, value, uln=upper, lln=lower)
            else:
                builder.lab(code, on, value, uln=uln)
    if draw(st.booleans()):
        builder.weight(START, draw(st.integers(40, 130)))
    if draw(st.booleans()):
        builder.pgx("tpmt", draw(st.sampled_from(["normal", "intermediate", "poor"])), on=START)
    if draw(st.booleans()):
        builder.dexa(START + timedelta(days=draw(st.integers(0, 1500))))
    if draw(st.booleans()):
        builder.pregnancy(START + timedelta(days=draw(st.integers(0, 1500))))
    if draw(st.booleans()):
        builder.acute_episode(START, day0=START + timedelta(days=1))
    return builder.build()


as_of_dates = st.dates(START, START + timedelta(days=2000))
