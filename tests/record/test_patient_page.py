"""The physician's patient page: chart panels via htmx, empty state, role gating, query count, GP summary."""

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aih_tracker.models import Clinic
from monitoring.models import ReferenceInterval
from patients.demo_cohort import scenario_mrn, seed_demo_cohort
from patients.models import Patient
from regimens.models import AdverseEvent
from tests.factories import CourseFactory, DoseChangeFactory, LabResultFactory, PatientFactory, analyte

pytestmark = pytest.mark.django_db

# Session, user, patient, timeline (3: monitoring/engine/loader.py), parameters, taper plans, open alerts,
# the visits panel (2) and the regimen section (missed taper steps, prescribing overrides: 2).
PAGE_QUERIES = 15


def chart_data(html: str) -> dict:
    match = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html, re.S)
    assert match, "no chart data on the page"
    return json.loads(match.group(1))


def treated_patient(months: int = 3) -> Patient:
    patient = PatientFactory()
    today = timezone.localdate()
    start = today - timedelta(days=30 * months)
    course = CourseFactory(patient=patient, started_on=start)
    DoseChangeFactory(course=course, effective_on=start, dose_mg_per_day=40)
    alt, igg = analyte("alt"), analyte("igg")
    for month in range(months):
        on = datetime.combine(start + timedelta(days=30 * month), datetime.min.time(), tzinfo=UTC)
        LabResultFactory(patient=patient, analyte=alt, value=max(30, 200 - 50 * month), collected_at=on)
        LabResultFactory(patient=patient, analyte=igg, value=20, ref_high=16, unit_as_reported="g/L", collected_at=on)
    return patient


def test_the_page_carries_the_main_chart_as_json_for_the_static_script(client, physician):
    patient = treated_patient()
    client.force_login(physician)
    html = client.get(f"/patients/{patient.pk}/").content.decode()
    names = [trace["name"] for trace in chart_data(html)["data"]]
    assert {"ALT × ULN", "IgG (g/L)", "IgG ULN", "Prednisolone (actual)"} <= set(names)
    assert 'data-chart="chart-data"' in html
    assert "/static/vendor/plotly-4.1.1.min.js" in html and "/static/js/charts.js" in html
    assert "<script>" not in html  # CSP: no inline scripts


def test_a_link_in_an_adverse_event_note_reaches_the_hover_label_as_text(client, physician):
    patient = treated_patient()
    evil = '<a href="https://evil.example">x</a>'
    AdverseEvent.objects.create(patient=patient, onset_on=timezone.localdate(), kind="other", description=evil)
    client.force_login(physician)
    data = chart_data(client.get(f"/patients/{patient.pk}/").content.decode())
    events = next(trace for trace in data["data"] if trace["name"] == "Adverse event")
    assert events["customdata"] == [['Other: &lt;a href="https://evil.example"&gt;x&lt;/a&gt;']]
    assert "<a href" not in json.dumps(data)


def test_an_htmx_request_swaps_only_the_chart_panel(client, physician):
    patient = treated_patient()
    client.force_login(physician)
    response = client.get(f"/patients/{patient.pk}/?panel=cholestatic&range=6m", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html and 'id="chart-panel"' in html
    # No ALP, GGT or bilirubin yet: the empty state, not an empty chart.
    assert "No data yet for alp, ggt, bilirubin" in html
    assert 'id="chart-data"' not in html


def test_a_history_restore_gets_the_whole_page(client, physician):
    patient = treated_patient()
    client.force_login(physician)
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    html = client.get(f"/patients/{patient.pk}/?panel=counts", headers=headers).content.decode()
    assert "<html" in html


def test_range_and_panel_links_work_without_javascript(client, physician):
    patient = treated_patient()
    client.force_login(physician)
    html = client.get(f"/patients/{patient.pk}/?range=6m").content.decode()
    assert chart_data(html)["layout"]["meta"]["range"] == "6m"
    assert f'href="/patients/{patient.pk}/?panel=counts&amp;range=6m"' in html
    assert client.get(f"/patients/{patient.pk}/?panel=nonsense&range=9y").status_code == 200


def test_a_new_patient_sees_no_data_yet(client, physician):
    patient = PatientFactory()
    client.force_login(physician)
    html = client.get(f"/patients/{patient.pk}/").content.decode()
    assert "No data yet" in html
    assert "No lab results yet." in html


def test_decision_support_is_shown_to_physicians_only(client, physician, nurse, make_user):
    from aih_tracker.roles import Role

    patient = treated_patient()
    client.force_login(physician)
    assert 'id="decision-support"' in client.get(f"/patients/{patient.pk}/").content.decode()
    for user in (nurse, make_user(Role.STAFF), make_user(Role.ADMIN)):
        client.force_login(user)
        html = client.get(f"/patients/{patient.pk}/").content.decode()
        assert 'id="decision-support"' not in html
        assert "Second-line options" not in html
        assert 'id="chart-data"' in html  # everyone sees the charts


def test_the_page_reads_a_fixed_number_of_queries_whatever_the_history(client, physician):
    small, large = treated_patient(months=2), treated_patient(months=24)
    client.force_login(physician)
    counts = []
    for patient in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/patients/{patient.pk}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert counts == [PAGE_QUERIES, PAGE_QUERIES]


def test_the_clinic_summary_lists_regimen_results_response_and_bloods_due(client, nurse):
    patient = treated_patient()
    client.force_login(nurse)
    html = client.get(f"/patients/{patient.pk}/clinic-summary/").content.decode()
    assert "Autoimmune hepatitis clinic summary" in html
    assert "Prednisolone" in html and "40 mg/day" in html
    assert "Response to treatment" in html and "Blood tests due" in html
    assert "ALT" in html


@pytest.fixture
def demo_cohort(db):
    seed_demo_cohort(patients=11, seed="page-tests", as_of=date.today())


@pytest.mark.parametrize(
    "scenario, expected",
    [
        ("pregnant_on_mmf", "Mycophenolate mofetil"),
        ("relapse_after_withdrawal", "Withdrawal"),
        ("hypermethylator", "Azathioprine (actual)"),
    ],
)
def test_demo_scenarios_render_with_their_traces(client, physician, demo_cohort, scenario, expected):
    patient = Patient.objects.get(mrn=scenario_mrn(scenario))
    client.force_login(physician)
    response = client.get(f"/patients/{patient.pk}/?range=all")
    assert response.status_code == 200
    names = {trace["name"] for trace in chart_data(response.content.decode())["data"]}
    assert any(expected in name for name in names), names


def test_every_panel_renders_for_the_demo_scenarios(client, physician, demo_cohort):
    client.force_login(physician)
    for scenario in ("hypermethylator", "acute_severe_aih", "cirrhotic_on_budesonide"):
        patient = Patient.objects.get(mrn=scenario_mrn(scenario))
        for panel in ("main", "cholestatic", "counts", "metabolites", "tacrolimus", "scores"):
            response = client.get(f"/patients/{patient.pk}/?panel={panel}", headers={"HX-Request": "true"})
            assert response.status_code == 200, (scenario, panel)


def test_the_page_benchmark_runs_with_the_same_queries_for_every_panel(capsys):
    from bench.patient_page import main

    figures = main(["--smoke"])
    assert figures["lab_results"] == 2 * 12 * 17
    others = {value["queries"] for key, value in figures.items() if key.startswith("htmx panel") and key[-4:] != "main"}
    assert len(others) == 1  # a fixed number, whatever the panel...
    assert figures["htmx panel main"]["queries"] == others.pop() + 1  # ...plus the taper plans on the main chart
    assert "full page" in capsys.readouterr().out


def test_open_alerts_show_evidence_action_and_a_linked_source(client, physician):
    from monitoring.evaluation import evaluate_patients

    patient = treated_patient(months=5)  # prednisolone for 5 months, no DEXA scan: STER-01
    evaluate_patients([patient.pk])
    client.force_login(physician)
    html = client.get(f"/patients/{patient.pk}/").content.decode()
    table = html[html.index('id="open-alerts"') :]
    assert "STER-01" in table and "Request a baseline DEXA scan" in table
    assert 'id="source-S001"' in html


def test_a_range_not_reported_by_the_lab_is_marked_with_where_it_came_from(client, physician):
    """Whatever its shape (upper limit only here), a clinic or typical range is never passed off as the lab's."""
    patient = PatientFactory(sex="female")
    ReferenceInterval.objects.create(clinic=Clinic.default(), analyte=analyte("ast"), sex="female", high=31)
    on = datetime(2026, 11, 2, 9, tzinfo=UTC)
    LabResultFactory(patient=patient, analyte=analyte("alt"), value=55, ref_low=None, ref_high=None, collected_at=on)
    LabResultFactory(patient=patient, analyte=analyte("ast"), value=35, ref_low=None, ref_high=None, collected_at=on)
    LabResultFactory(patient=patient, analyte=analyte("igg"), value=20, ref_high=16, collected_at=on)
    client.force_login(physician)
    html = client.get(f"/patients/{patient.pk}/").content.decode()
    rows = {m.group(1): m.group(0) for m in re.finditer(r"<tr>\s*<td>([^<]+)</td>.*?</tr>", html, re.S)}
    assert "(typical range)" in rows["ALT"]
    assert "≤ 31" in rows["AST"] and "(clinic range)" in rows["AST"]
    assert "range)" not in rows["IgG"]  # the lab's own
