"""A tampered form or query string gets an answer, never a server error (issue: tampered form values
give 500s). Every form on the app's pages is posted back with each field replaced by values a browser
would never send, and every page is asked for with tampered query parameters."""

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from aih_tracker.roles import Role
from monitoring.interop.hl7 import import_message
from monitoring.models import Alert, InboundStatus, Severity
from tests.factories import CourseFactory, DoseChangeFactory, PatientFactory, UserFactory, default_clinic, drug

pytestmark = pytest.mark.django_db

# What a tampering client sends instead of the form's values: not a number, an overflowing number,
# an impossible date, a control character, an enormous string, a list where one value is expected.
TAMPERED = ["x", "1e309", "-99999999999999999999", "2026-02-30", "\x00", "9" * 400, ""]
# One field at a time, the rest as the page gave them (so the view's own code runs after the form's
# checks): a number too large for any column in every field; and in the fields a view may read
# itself (hidden inputs, drop-downs), something that is not a number at all.
TOO_LARGE, NOT_A_NUMBER = "9" * 400, "x"


class Forms(HTMLParser):
    """The POST forms of a page as a browser would submit them untouched: (action, {field: value},
    names of the hidden and drop-down fields)."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str | None, dict[str, str], set[str]]] = []
        self._select: str | None = None
        self._select_chosen = False
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self.forms.append((attrs.get("action"), {}, set()))
        if not self.forms:
            return
        _, fields, parsed_by_view = self.forms[-1]
        if tag == "option" and self._select:
            if "selected" in attrs or not self._select_chosen and self._select not in fields:
                fields[self._select] = attrs.get("value") or ""
            self._select_chosen = self._select_chosen or "selected" in attrs
            return
        name = attrs.get("name")
        if not name:
            return
        kind = attrs.get("type") or "text"
        if tag == "input" and kind not in ("submit", "button", "checkbox", "radio"):
            fields[name] = attrs.get("value") or ""
            if kind == "hidden":
                parsed_by_view.add(name)
        elif tag == "input" and "checked" in attrs:
            fields[name] = attrs.get("value") or "on"
        elif tag == "select":
            self._select, self._select_chosen = name, False
            parsed_by_view.add(name)
        elif tag == "textarea":
            self._textarea = name
            fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1][1][self._textarea] += data


def post_forms(client, url):
    parser = Forms()
    page = client.get(url)
    assert page.status_code == 200, url
    parser.feed(page.content.decode())
    return [form for form in parser.forms if form[1] and form[0] != "/logout/"]


def fields_to_keep(fields: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in fields.items() if name == "csrfmiddlewaretoken"}


def one_of_each(fields: dict[str, str]) -> list[str]:
    """The fields worth tampering with: every field, but of a formset only its first row (the other
    rows are the same form again)."""
    return [name for name in fields if name != "csrfmiddlewaretoken" and not re.search(r"-[1-9]\d*-", name)]


@pytest.fixture
def world(client):
    """A physician's clinic with one of everything a form can point at."""
    patient = PatientFactory(sex="female", date_of_birth=date(1980, 5, 17))
    course = CourseFactory(patient=patient, drug=drug("prednisolone"), started_on=date(2026, 1, 5))
    DoseChangeFactory(course=course, effective_on=date(2026, 1, 5), dose_mg_per_day=40)
    alert = Alert.objects.create(patient=patient, rule_id="MON-01", severity=Severity.HIGH, message="Bloods overdue")
    hl7 = Path(__file__).parent / "data" / "interop" / "hl7v2-microsoft-fhir-converter" / "LAB-ORU-2.hl7"
    message = import_message(hl7.read_text(), clinic=default_clinic(), origin="test")
    assert message.status == InboundStatus.QUARANTINED  # unknown patient and codes: the review forms show
    client.force_login(UserFactory(role=Role.PHYSICIAN))
    client.raise_request_exception = False
    return client, {"p": patient.pk, "c": course.pk, "a": alert.pk, "m": message.pk}


PAGES = [
    "/patients/{p}/edit/",  # the registration form, for an existing patient
    "/patients/{p}/visits/new/",
    "/patients/{p}/regimen/start/",
    "/patients/{p}/regimen/{c}/dose/",
    "/patients/{p}/regimen/{c}/stop/",
    "/patients/{p}/regimen/{c}/switch/",
    "/patients/{p}/regimen/{c}/taper/",
    "/alerts/",
    "/alerts/{a}/",
    "/recall/",
    "/imports/",
    "/quarantine/{m}/",
]


@pytest.mark.parametrize("page", PAGES)
def test_every_field_of_every_form_tampered_gets_an_answer_not_an_error(world, page):
    client, ids = world
    url = page.format(**ids)
    errors = []

    def send(action, data, what):
        response = client.post(action or url, data)
        if response.status_code >= 500:
            errors.append(f"{action or url} {what}: {response.status_code}")

    forms = post_forms(client, url)
    assert forms, f"{url} has no form to post"
    for action, fields, parsed_by_view in forms:
        for value in TAMPERED:
            send(action, dict.fromkeys(one_of_each(fields), value) | fields_to_keep(fields), f"all={value[:8]!r}")
        for name in one_of_each(fields):
            send(action, fields | {name: TOO_LARGE}, f"{name}=999…")
            if name in parsed_by_view:
                send(action, fields | {name: NOT_A_NUMBER}, f"{name}='x'")
    assert not errors, "\n".join(errors)


QUERY_PAGES = [
    "/patients/?q={v}&page={v}&status={v}&sort={v}",
    "/alerts/?severity={v}&status={v}&rule={v}&assignee={v}&page={v}&sort={v}",
    "/recall/?show={v}&panel={v}&page={v}&due_before={v}&overdue={v}",
    "/dashboard/?clinic={v}&period={v}&since={v}",
    "/quarantine/?page={v}&kind={v}&status={v}",
]


@pytest.mark.parametrize("template", QUERY_PAGES)
def test_tampered_query_parameters_get_an_answer_not_an_error(world, template):
    client, _ = world
    for value in TAMPERED:
        response = client.get(template.replace("{v}", value))
        assert response.status_code < 500, (template, value)


def test_a_tampered_row_count_is_refused_without_building_thousands_of_forms(world):
    client, ids = world
    url = "/patients/{p}/edit/".format(**ids)
    _, fields, _ = post_forms(client, url)[0]
    response = client.post(url, fields | {"antibodies-TOTAL_FORMS": "5000"})
    html = response.content.decode()
    assert response.status_code == 200 and "Please submit at most 100 forms." in html
    assert 'name="antibodies-150-antibody"' not in html


def test_a_nul_character_in_a_search_or_form_is_a_bad_request_on_every_database(world):
    """PostgreSQL refuses NUL in any string: a search for one was a server error there, not on SQLite."""
    client, ids = world
    response = client.get("/patients/?q=Oka%00for")
    assert response.status_code == 400 and "control character" in response.content.decode()
    assert client.post("/quarantine/{m}/patient/".format(**ids), {"mrn": "A\x00"}).status_code == 400
    assert client.get("/patients/?q=Okafor").status_code == 200
