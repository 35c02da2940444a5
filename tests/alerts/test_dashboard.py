"""Every dashboard figure equals an independent count on a known cohort, in a fixed number of queries.

The cohort below is small enough to count by hand; each expected number is derived in the comments
from the patient's data and the schedule's rules, not from the code under test.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from aih_tracker.roles import Role
from monitoring.alerts.quality import km_median
from monitoring.models import Alert, AlertStatus, Resolution, Severity
from patients.models import DexaScan
from regimens.models import AdherenceMethod, AdherenceRecord
from tests.factories import (
    ClinicFactory,
    CourseFactory,
    DoseChangeFactory,
    LabResultFactory,
    PatientFactory,
    UserFactory,
    analyte,
)

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def ago(days: int):
    return TODAY - timedelta(days=days)


def on_prednisolone(patient, since_days: int) -> None:
    course = CourseFactory(patient=patient, started_on=ago(since_days))
    DoseChangeFactory(course=course, dose_mg_per_day=20.0)


def labs(patient, days_ago: int, alt: float | None = None, igg: float | None = None) -> None:
    at = datetime.combine(ago(days_ago), datetime.min.time(), tzinfo=UTC).replace(hour=9)
    if alt is not None:
        LabResultFactory(patient=patient, analyte=analyte("alt"), value=alt, ref_high=40.0, collected_at=at)
    if igg is not None:
        LabResultFactory(
            patient=patient, analyte=analyte("igg"), value=igg, unit_as_reported="g/L", ref_high=16.0, collected_at=at
        )


@pytest.fixture
def cohort():
    """Four active patients on prednisolone (ALT ULN 40, IgG ULN 16), one in another clinic."""
    # A: induced 60 days ago; ALT 80 (2× ULN) at day 30 → not normalised, < 6 months.
    #    Bloods: day 30 fills the week-4 check (window 21–42) and both maintenance items → 3 on time.
    #    ALT normalisation: baseline 400 > ULN, none normal since → censored at 60 days.
    #    Steroids for 60 days (≤ 90): not yet in the DEXA measure.
    a = PatientFactory(mrn="A")
    on_prednisolone(a, 60)
    labs(a, 61, alt=400)
    labs(a, 30, alt=80, igg=14)
    # B: induced 300 days ago; ALT 50, IgG 18 at day 180 → not normalised, ≥ 6 months; no CBR.
    #    Bloods: day 30 → 3 on time; day 180: 6-month check on time, IgG on time, ALT late (due by day
    #    122); today (day 300) ALT overdue (due by day 272) → 5 on time, 2 late.
    #    ALT normalisation censored at 300 days. Steroids 300 days, no DEXA.
    b = PatientFactory(mrn="B")
    on_prednisolone(b, 300)
    labs(b, 301, alt=300)
    labs(b, 270, alt=60, igg=20)
    labs(b, 120, alt=50, igg=18)
    # C: induced 400 days ago; normal ALT and IgG at day 120 → CBR by 6 months, ALT normal after 120 days.
    #    Bloods in the last 12 months (from day 35): day 120 → 6-month check (not open yet), ALT (due
    #    day 120) and IgG on time = 3; day 300 → 6-month check late (window closed ~day 212), ALT late
    #    (due day 212), IgG on time = 1 + 2 late; day 370 → ALT, IgG on time = 2. Total 6 on time, 2 late.
    #    DEXA 100 days ago. Missed doses: 3 reported 10 days ago (5 more 200 days ago, outside 90 days).
    c = PatientFactory(mrn="C")
    on_prednisolone(c, 400)
    labs(c, 401, alt=500)
    labs(c, 372, alt=100, igg=15)
    labs(c, 280, alt=30, igg=12)
    labs(c, 100, alt=25, igg=11)
    labs(c, 30, alt=28, igg=11)
    DexaScan.objects.create(patient=c, scanned_on=ago(100))
    AdherenceRecord.objects.create(patient=c, recorded_on=ago(10), method=AdherenceMethod.PILL_COUNT, missed_doses=3)
    AdherenceRecord.objects.create(patient=c, recorded_on=ago(200), method=AdherenceMethod.PILL_COUNT, missed_doses=5)
    # D: induced 1000 days ago (outside the 2-year window); response checks done; last ALT and IgG
    #    at day 180, then 20 days ago → both drawn late (ALT due by day 272, IgG by day 363) = 2 late.
    #    DEXA 800 days ago: older than 24 months.
    d = PatientFactory(mrn="D")
    on_prednisolone(d, 1000)
    labs(d, 970, alt=30, igg=12)
    labs(d, 820, alt=30, igg=12)
    labs(d, 20, alt=30, igg=10)
    DexaScan.objects.create(patient=d, scanned_on=ago(800))
    # Another clinic: like A, never counted.
    other = PatientFactory(mrn="X", clinic=ClinicFactory())
    on_prednisolone(other, 60)
    labs(other, 30, alt=80, igg=14)
    return {"A": a, "B": b, "C": c, "D": d, "X": other}


def alert(patient, rule_id, severity=2, **fields):
    return Alert.objects.create(patient=patient, rule_id=rule_id, severity=severity, message=rule_id, **fields)


@pytest.fixture
def alerts(cohort):
    a, b, c, d, x = cohort.values()
    alert(a, "LT-03", 4)
    alert(b, "ASA-04", 4, status=AlertStatus.ACKNOWLEDGED)
    alert(c, "ASA-02", 4, status=AlertStatus.RESOLVED, resolution=Resolution.BY_DATA, resolved_at=timezone.now())
    alert(d, "LT-01", 4, status=AlertStatus.SNOOZED, snoozed_until=ago(-3), snooze_reason="Seen in clinic")
    alert(a, "MON-01", 3)
    alert(a, "MON-04", 2)  # same patient: counted once
    alert(b, "MON-01", 1)  # due, not overdue
    alert(c, "MON-03", 2)
    alert(b, "STER-01", 1)
    alert(c, "STER-01", 2)
    alert(d, "STER-01", 2)
    alert(d, "TPM-01", 2)
    alert(x, "LT-03", 4)  # another clinic: never counted


def figures(response) -> tuple[dict, dict]:
    tiles = {tile.key: tile.count for tile in response.context["tiles"]}
    measures = {m.key: (m.numerator, m.denominator, m.value) for m in response.context["snapshot"].measures}
    return tiles, measures


def test_each_dashboard_figure_equals_a_count_by_hand(client, make_user, alerts):
    client.force_login(make_user(Role.PHYSICIAN))
    tiles, measures = figures(client.get("/dashboard/"))
    assert tiles == {
        "not_normalised_early": 1,  # A
        "not_normalised_late": 1,  # B
        "missed_doses": 1,  # C
        "missed_bloods": 3,  # B, C, D
        "critical": 2,  # LT-03 open + ASA-04 acknowledged (resolved, snoozed and other clinic left out)
        "bloods_overdue": 2,  # A (MON-01 high, MON-04 warning), C (MON-03 warning); B's is only due
        "dexa_due": 1,  # B
        "dexa_overdue": 2,  # C, D
        "low_metabolites": 1,  # D
    }
    assert measures["cbr"] == (1, 2, 0.5)  # B and C induced 6–24 months ago; C reached CBR
    assert measures["alt_normalisation"] == (1, 3, 120.0)  # A censored 60, C 120, B censored 300 → KM median 120
    assert measures["dexa"] == (1, 3, pytest.approx(1 / 3))  # B, C, D on steroids > 90 days; C scanned
    assert measures["bloods_on_time"] == (14, 20, 0.7)  # A 3/0, B 5/2, C 6/2, D 0/2


def test_each_cohort_tile_lists_the_patients_it_counted(client, make_user, cohort):
    client.force_login(make_user(Role.NURSE))
    tiles = {tile.key: tile for tile in client.get("/dashboard/").context["tiles"]}
    expected = {"not_normalised_early": ["A"], "not_normalised_late": ["B"], "missed_doses": ["C"],
                "missed_bloods": ["B", "C", "D"]}  # fmt: skip
    for key, mrns in expected.items():
        page = client.get(tiles[key].url)
        assert sorted(patient.mrn for patient, _ in page.context["rows"]) == mrns
        assert tiles[key].count == page.context["page"].paginator.count
    early = client.get(tiles["not_normalised_early"].url).content.decode()
    assert "ALT 2.0× ULN" in early


def test_each_alert_tile_counts_what_its_link_lists(client, make_user, alerts):
    client.force_login(make_user(Role.NURSE))
    tiles = {tile.key: tile for tile in client.get("/dashboard/").context["tiles"]}
    for key in ("critical", "dexa_due", "dexa_overdue", "low_metabolites"):
        listed = client.get(tiles[key].url).context["page"].paginator.count
        assert listed == tiles[key].count, key
    recall = client.get(tiles["bloods_overdue"].url)
    assert recall.status_code == 200 and "show=overdue" in tiles["bloods_overdue"].url


def test_the_dashboard_runs_a_fixed_number_of_queries(client, make_user, alerts, django_assert_max_num_queries):
    client.force_login(make_user(Role.PHYSICIAN))
    client.get("/dashboard/")  # computes and keeps the day's snapshot (the nightly job's work)
    with django_assert_max_num_queries(10):
        response = client.get("/dashboard/")
    assert response.status_code == 200
    for _ in range(5):
        PatientFactory()
    with django_assert_max_num_queries(10):
        client.get("/dashboard/")


def test_the_first_page_of_the_queue_runs_a_fixed_number_of_queries(
    client, make_user, alerts, django_assert_max_num_queries
):
    client.force_login(make_user(Role.NURSE))
    with django_assert_max_num_queries(10):
        assert client.get("/alerts/").status_code == 200


def test_the_definitions_are_on_the_page_with_the_clinics_parameters(client, make_user, cohort):
    from monitoring.models import ClinicalParameter

    user = make_user(Role.PHYSICIAN)
    ClinicalParameter.objects.create(clinic=user.clinic, key="quality_induction_window_months", value=36, reason="t")
    client.force_login(user)
    page = client.get("/dashboard/").content.decode()
    assert "induced (T0) in the last 36 months" in page
    assert "Cohort quality measures" in page and "Kaplan-Meier" in page


def test_a_superuser_narrows_the_dashboard_and_the_queue_to_one_clinic(client, alerts, cohort):
    boss = UserFactory(role=Role.ADMIN, is_superuser=True, is_staff=True)
    client.force_login(boss)
    everywhere = {t.key: t.count for t in client.get("/dashboard/").context["tiles"]}
    assert everywhere["critical"] == 3 and everywhere["not_normalised_early"] == 2  # A and X
    other = cohort["X"].clinic_id
    there = client.get(f"/dashboard/?clinic={other}")
    counts = {t.key: t for t in there.context["tiles"]}
    assert counts["critical"].count == 1 and counts["not_normalised_early"].count == 1
    assert f"clinic={other}" in counts["critical"].url
    queue = client.get(counts["critical"].url)
    assert [a.patient.mrn for a in queue.context["page"]] == ["X"]
    assert "All clinics" in queue.content.decode()


def test_a_clinic_user_cannot_widen_the_queue_with_the_clinic_filter(client, make_user, alerts, cohort):
    client.force_login(make_user(Role.NURSE))
    other = cohort["X"].clinic_id
    response = client.get(f"/alerts/?clinic={other}")
    assert response.context["page"].paginator.count == 0
    assert 'id="clinic"' not in response.content.decode()


@pytest.mark.parametrize(
    ("times", "median"),
    [
        ([(60, False), (120, True), (300, False)], 120.0),
        ([(10, True), (20, True), (30, True), (40, True)], 20.0),
        ([(10, True), (20, False), (30, False)], None),  # fewer than half normalised: not reached
        ([], None),
    ],
)
def test_kaplan_meier_median(times, median):
    assert km_median(times) == median


@pytest.mark.parametrize("role", list(Role))
def test_every_role_may_view_the_dashboard(client, make_user, role):
    client.force_login(make_user(role))
    assert client.get("/dashboard/").status_code == 200


def test_the_nav_badge_refreshes_after_an_alert_action(client, make_user, alerts):
    client.force_login(make_user(Role.NURSE))
    page = client.get("/alerts/").content.decode()
    assert 'hx-trigger="alertsChanged from:body"' in page
    open_high = Alert.objects.filter(status=AlertStatus.OPEN, severity__gte=Severity.HIGH, patient__mrn="A")
    target = open_high.first()
    response = client.post(
        f"/alerts/{target.pk}/acknowledge/", {"version": target.version}, headers={"HX-Request": "true"}
    )
    assert "alertsChanged" in json.loads(response.headers["HX-Trigger"])
    badge = client.get("/alerts/badge/", headers={"HX-Request": "true"}).content.decode()
    assert ">1<" in badge  # LT-03 and MON-01 were open and high; one is acknowledged now


def test_a_missed_nightly_refresh_shows_the_latest_snapshot_and_queues_one(client, make_user, cohort, monkeypatch):
    from monitoring import tasks
    from monitoring.alerts import dashboard

    queued = []
    monkeypatch.setattr(tasks.refresh_cohort_snapshots, "delay", lambda: queued.append(1))
    user = make_user(Role.PHYSICIAN)
    dashboard.cohort_snapshot(user, as_of=ago(1))  # yesterday's, as last night's job left it
    client.force_login(user)
    response = client.get("/dashboard/")
    assert response.context["snapshot"].as_of == ago(1)
    assert "today's are being computed" in response.content.decode()
    client.get("/dashboard/")
    assert queued == [1]  # one refresh, however many people look meanwhile


def test_a_large_cohort_without_any_snapshot_gets_a_placeholder_and_a_queued_refresh(
    client, make_user, cohort, monkeypatch
):
    from monitoring import tasks
    from monitoring.alerts import dashboard

    queued = []
    monkeypatch.setattr(tasks.refresh_cohort_snapshots, "delay", lambda: queued.append(1))
    monkeypatch.setattr(dashboard, "SYNC_SNAPSHOT_MAX_PATIENTS", 2)  # the clinic has 4 active patients
    client.force_login(make_user(Role.NURSE))
    response = client.get("/dashboard/")
    page = response.content.decode()
    assert "being computed for the first time" in page and "Cohort quality measures" not in page
    assert "not_normalised_early" not in {tile.key for tile in response.context["tiles"]}
    assert "critical" in {tile.key for tile in response.context["tiles"]}  # live tiles still there
    assert queued == [1]
