"""Every admin URL, for every role, with a record of the user's own clinic and one of another clinic.

The app's own pages are scoped by `get_patient_for_user` and `for_user`; the admin by `ClinicScopedAdmin`
and its history pages by `ScopedHistoryAdmin` (aih_tracker/admin_scoping.py). This walks every model
registered in the admin, so a model added later without the scoping fails here: another clinic's
record is never shown (change page, history, history version, delete page) and never changed
(change, delete or history form posted back); the user's own clinic's records open exactly as the
permission matrix says (aih_tracker/roles.py).
"""

import io
from datetime import date

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import transaction
from django.db.models import Max
from django.forms.models import model_to_dict

from aih_tracker.models import User
from aih_tracker.roles import Role
from monitoring.models import Alert, ClinicalParameter, LocalCode, ReferenceInterval, Severity
from patients.models import Malignancy, Patient, Relapse
from regimens.models import PrescribingOverride
from tests.factories import ClinicFactory, UserFactory, analyte

pytestmark = pytest.mark.django_db

NOT_SHOWN = (302, 403, 404)  # the admin answers a record outside its queryset with a redirect to its index


def fill_the_clinic(clinic, tag: str) -> None:
    """A demo cohort, plus one of each kind of record the cohort does not make."""
    call_command("seed_demo", patients=6, seed=tag, clinic=clinic.slug, no_evaluate=True, stdout=io.StringIO())
    patient = Patient.objects.filter(clinic=clinic).first()
    physician = UserFactory(clinic=clinic, role=Role.PHYSICIAN, username=f"physician-{tag}")
    Malignancy.objects.create(patient=patient, kind="skin_nmsc", diagnosed_on=date(2025, 3, 1))
    Relapse.objects.create(patient=patient, diagnosed_on=date(2025, 4, 1))
    PrescribingOverride.objects.create(
        patient=patient,
        rule_id="TPMT-01",
        severity="high",
        finding_message="TPMT not known",
        reason="Urgent",
        overridden_by=physician,
    )
    Alert.objects.create(patient=patient, rule_id="MON-01", severity=Severity.HIGH, message=f"Overdue {tag}")
    ReferenceInterval.objects.create(clinic=clinic, analyte=analyte("alt"), sex="female", high=33)
    ClinicalParameter.objects.create(clinic=clinic, key="snooze_max_days", value=30, reason=f"Signed off {tag}")
    LocalCode.objects.create(clinic=clinic, system="LOCAL", code=f"ALT-{tag}", analyte=analyte("alt"))


def record_of(model, model_admin, clinic):
    """One record of `clinic` (None for the models that belong to no clinic)."""
    if model._meta.label == "aih_tracker.Clinic":
        return clinic
    if model._meta.label == "monitoring.InboundMessage":
        return model.objects.filter(clinic=clinic).first()
    path = getattr(model_admin, "clinic_path", None)
    return model.objects.filter(**{path: clinic}).first() if path else None


def history_id(obj):
    """The record's latest audit-history row (saved once if it has none: the cohort is bulk-written)."""
    if not obj.history.exists():
        obj.save()
    return obj.history.order_by("-history_id").first().history_id


@pytest.fixture(scope="module")
def two_clinics(django_db_setup, django_db_blocker):
    """Ours and theirs, filled once for the module and emptied after it."""
    with django_db_blocker.unblock():
        audited = [model for model, _ in admin_models() if hasattr(model, "history")]
        marks = {model: model.history.aggregate(last=Max("history_id"))["last"] or 0 for model in audited}
        ours, theirs = ClinicFactory(slug="ours"), ClinicFactory(slug="theirs")
        try:
            fill_the_clinic(ours, "ours")
            fill_the_clinic(theirs, "theirs")
            yield ours, theirs
        finally:
            empty(ours, theirs)
            for model, mark in marks.items():  # and the audit rows the filling and emptying wrote
                model.history.filter(history_id__gt=mark).delete()


def empty(*clinics) -> None:
    with transaction.atomic():
        for clinic in clinics:
            PrescribingOverride.objects.filter(patient__clinic=clinic).delete()
            Patient.objects.filter(clinic=clinic).delete()
            for model in (ReferenceInterval, ClinicalParameter, LocalCode):
                model.objects.filter(clinic=clinic).delete()
            User.objects.filter(clinic=clinic).delete()
            clinic.delete()


def admin_models():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.mark.parametrize("role", list(Role))
def test_every_admin_url_keeps_to_the_users_clinic(client, two_clinics, role):
    ours, theirs = two_clinics
    user = UserFactory(role=role, clinic=ours)
    client.force_login(user)
    client.raise_request_exception = False  # a server error is a finding like any other
    problems = []

    def expect(method, url, allowed, data=None):
        response = client.post(url, data or {}) if method == "post" else client.get(url)
        ok = response.status_code in allowed
        if not ok:
            problems.append(f"{role}: {method.upper()} {url} gave {response.status_code}, expected {allowed}")
        return response

    for model, model_admin in admin_models():
        app, name = model._meta.app_label, model._meta.model_name
        base = f"/admin/{app}/{name}/"
        may_view = user.has_perm(f"{app}.view_{name}")
        may_add = model_admin.has_add_permission(_request(user))
        may_audit = user.has_perm(f"{app}.view_historical{name}")
        listing = expect("get", base, (200,) if may_view else (403,))

        expect("get", f"{base}add/", (200,) if may_add else (403,))

        mine, foreign = record_of(model, model_admin, ours), record_of(model, model_admin, theirs)
        if foreign is None:
            continue  # reference data shared by every clinic (drugs, analytes, groups, log-in attempts)
        assert mine is not None, f"the test made no {model._meta.label} for the user's clinic"
        if may_view and f"{base}{foreign.pk}/change/" in listing.content.decode():
            problems.append(f"{role}: {base} lists another clinic's {model._meta.verbose_name} {foreign.pk}")

        expect("get", f"{base}{mine.pk}/change/", (200,) if may_view else (403,))
        expect("get", f"{base}{foreign.pk}/change/", NOT_SHOWN)
        expect("get", f"{base}{mine.pk}/delete/", (403,))
        expect("get", f"{base}{foreign.pk}/delete/", NOT_SHOWN)
        if hasattr(model, "history"):
            expect("get", f"{base}{mine.pk}/history/", (200,) if may_audit else (403,))
            expect("get", f"{base}{foreign.pk}/history/", (403, 404))
            mine_hid, foreign_hid = history_id(mine), history_id(foreign)
            expect("get", f"{base}{mine.pk}/history/{mine_hid}/", (200,) if may_audit else (403,))
            expect("get", f"{base}{foreign.pk}/history/{foreign_hid}/", (403, 404))
            expect("get", f"{base}{mine.pk}/history/{mine_hid}x/", (403, 404))  # a tampered version id

        before = model_to_dict(model.objects.get(pk=foreign.pk))
        posted = dict.fromkeys(before, "") | {"_save": "Save", "post": "yes"}
        expect("post", f"{base}{foreign.pk}/change/", NOT_SHOWN, posted)
        expect("post", f"{base}{foreign.pk}/delete/", NOT_SHOWN, {"post": "yes"})
        if hasattr(model, "history"):
            expect("post", f"{base}{foreign.pk}/history/{history_id(foreign)}/", (405,), posted)
        still = model.objects.filter(pk=foreign.pk).first()
        if still is None or model_to_dict(still) != before:
            problems.append(f"{role}: another clinic's {model._meta.label} {foreign.pk} was changed or deleted")

    assert not problems, "\n".join(problems)


def _request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request
