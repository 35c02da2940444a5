"""The physician's patient page in a real browser: plotly draws the chart, htmx switches range and panel."""

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from aih_tracker.demo_users import DEMO_PASSWORD, create_demo_users
from monitoring.evaluation import evaluate_patients
from patients.demo_cohort import scenario_mrn, seed_demo_cohort
from patients.models import Patient

pytestmark = pytest.mark.django_db(transaction=True)

TRACE_NAMES = "el => el.data.map(trace => trace.name)"


@pytest.fixture
def demo(db):
    create_demo_users()
    seed_demo_cohort(patients=11, seed="browser", as_of=date.today())
    evaluate_patients(list(Patient.objects.values_list("pk", flat=True)))  # the alerts the nightly sweep opens


def open_patient(page, live_server, scenario: str, query: str = ""):
    patient = Patient.objects.get(mrn=scenario_mrn(scenario))
    page.goto(f"{live_server.url}/patients/{patient.pk}/{query}")
    page.wait_for_selector("#chart[data-drawn]")
    return patient


def test_the_chart_draws_the_disease_and_the_treatment_on_one_axis(demo, log_in, live_server, screenshot_dir):
    page = log_in("physician", DEMO_PASSWORD)
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_patient(page, live_server, "relapse_after_withdrawal", "?range=all")
    names = page.eval_on_selector("#chart", TRACE_NAMES)
    assert {"ALT × ULN", "IgG (g/L)", "IgG ULN", "Prednisolone (actual)", "Azathioprine (actual)"} <= set(names)
    assert "Withdrawal" in names and "Biopsy" in names
    assert page.locator("#chart .main-svg").count() > 0  # plotly drew it
    page.screenshot(path=str(screenshot_dir / "patient-page-relapse.png"), full_page=True)
    page.locator("#chart").screenshot(path=str(screenshot_dir / "chart-main-relapse.png"))
    # Printed: the tabs and range buttons go, the chart is fitted to the paper width.
    page.set_viewport_size({"width": 800, "height": 1100})
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Chart panel")).to_be_hidden()
    assert page.eval_on_selector("#chart", "el => el.layout.width") == 680
    page.screenshot(path=str(screenshot_dir / "patient-page-print.png"), full_page=True)
    assert errors == []  # no CSP violation, no script error


def test_range_and_panel_switch_through_htmx(demo, log_in, live_server, screenshot_dir):
    page = log_in("physician", DEMO_PASSWORD)
    patient = open_patient(page, live_server, "hypermethylator")
    page.evaluate("window.notReloaded = true")

    page.get_by_role("group", name="Time range").get_by_role("link", name="6 months").click()
    expect(page.locator("#chart")).to_have_attribute("data-range", "6m")
    page.wait_for_selector("#chart[data-drawn]")
    start = page.eval_on_selector("#chart", "el => el.layout.xaxis.range[0]")
    assert start > (date.today().replace(day=1)).replace(year=date.today().year - 1).isoformat()

    page.get_by_role("navigation", name="Chart panel").get_by_role("link", name="Thiopurine metabolites").click()
    expect(page.locator("#chart")).to_have_attribute("data-panel", "metabolites")
    page.wait_for_selector("#chart[data-drawn]")
    names = page.eval_on_selector("#chart", TRACE_NAMES)
    assert names == ["6-TGN (pmol/8x10^8 RBC)", "6-MMP (pmol/8x10^8 RBC)"]
    assert page.evaluate("window.notReloaded") is True  # swapped by htmx, not a full reload
    assert page.url.endswith(f"/patients/{patient.pk}/?panel=metabolites&range=6m")
    page.screenshot(path=str(screenshot_dir / "patient-page-metabolites.png"), full_page=True)
    page.locator("#chart").screenshot(path=str(screenshot_dir / "chart-metabolites.png"))


def test_an_empty_panel_says_no_data_yet(demo, log_in, live_server):
    page = log_in("physician", DEMO_PASSWORD)
    open_patient(page, live_server, "complete_responder")
    page.get_by_role("link", name="Tacrolimus trough").click()
    expect(page.locator("#chart-empty")).to_contain_text("No data yet")


def test_decision_support_is_for_physicians_and_hidden_from_a_nurse(demo, log_in, live_server, screenshot_dir):
    page = log_in("physician", DEMO_PASSWORD)
    open_patient(page, live_server, "pregnant_on_mmf")
    expect(page.get_by_role("heading", name="Decision support")).to_be_visible()
    mmf = page.locator('#second-line-options tr[data-option="mmf"]')
    expect(mmf).to_have_class("contraindicated")
    expect(mmf).to_contain_text("pregnant")
    expect(page.locator("#decision-support")).to_contain_text("CI-04")  # the open alert, with its source
    page.screenshot(path=str(screenshot_dir / "patient-page-decision-support.png"), full_page=True)

    page.context.clear_cookies()
    page = log_in("nurse", DEMO_PASSWORD)
    open_patient(page, live_server, "pregnant_on_mmf")
    expect(page.get_by_role("heading", name="Decision support")).to_have_count(0)
    expect(page.locator("#second-line-options")).to_have_count(0)
    page.screenshot(path=str(screenshot_dir / "patient-page-nurse.png"), full_page=True)


def test_the_clinic_summary_prints_on_one_page(demo, log_in, live_server, screenshot_dir):
    page = log_in("physician", DEMO_PASSWORD)
    patient = Patient.objects.get(mrn=scenario_mrn("steroid_needs_dexa"))
    page.goto(f"{live_server.url}/patients/{patient.pk}/clinic-summary/")
    expect(page.get_by_role("heading", name="Autoimmune hepatitis clinic summary")).to_be_visible()
    page.emulate_media(media="print")
    page.screenshot(path=str(screenshot_dir / "clinic-summary-print.png"), full_page=True)
    pdf = page.pdf(format="A4")
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") == 1


HOVER_FIRST_POINT = """([el, name]) => {
    const curve = el.data.findIndex(trace => trace.name === name);
    const trace = el.data[curve];
    window.Plotly.Fx.hover(el, [{curveNumber: curve, pointNumber: 0}], (trace.xaxis || 'x') + (trace.yaxis || 'y'));
    return Array.from(el.querySelectorAll('.hovertext text')).map(t => t.textContent).join(' ');
}"""


def test_hover_labels_give_values_as_the_lab_reports_them(demo, log_in, live_server):
    """ "IgG 21.3 g/L", not plotly's default six significant digits ("IgG 21.3000 g/L")."""
    page = log_in("physician", DEMO_PASSWORD)
    open_patient(page, live_server, "relapse_after_withdrawal", "?range=all")
    label = page.evaluate(HOVER_FIRST_POINT, [page.query_selector("#chart"), "IgG (g/L)"])
    assert re.search(r"IgG\S* \d+(\.\d*[1-9])? g/L", label), label
    assert "0000" not in label, label
