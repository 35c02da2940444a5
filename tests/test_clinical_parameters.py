"""Clinical parameters start from the §0A defaults and a clinic admin can override them."""

import pytest
from django.core.exceptions import ValidationError

from aih_tracker.models import Clinic
from aih_tracker.roles import Role
from monitoring.clinic_parameters import parameters_for_clinic
from monitoring.models import ClinicalParameter
from monitoring.parameters import BY_KEY, PARAMETERS
from tests.factories import ClinicFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("key", "default"),
    [
        # clinical-rules.md §0A, row by row
        ("withdrawal_min_total_months", 24),  # A-6: the seeds' values
        ("withdrawal_min_cbr_months", 12),
        ("relapse_uln_multiple", 3.0),  # relapse ≥ 3× ULN
        ("probable_relapse_uln_multiple", 2.0),  # probable relapse > 2× ULN
        ("meld_version", "meld3"),  # LT-01 uses MELD 3.0 > 15
        ("meld_referral_above", 15),
        ("child_pugh_referral_above", 10),  # fires at > 10 (≥ 11)
        ("thiopurine_max_interval_days", [14, 31, 92]),
        ("thiopurine_overdue_after_days", [21, 38, 106]),
        ("aza_max_bilirubin_umol_l", 102.6),  # 6 mg/dL
        ("tgn_low", 235.0),
        ("tgn_high", 450.0),
        ("mmp_high", 5700.0),
        ("metabolite_steady_state_days", 28),
        ("dexa_baseline_after_days", 90),
        ("dexa_counts_budesonide", True),
        ("aza_steroid_lead_in_days", 14),
    ],
)
def test_defaults_follow_section_0a(key, default):
    assert BY_KEY[key].default == default
    assert parameters_for_clinic(Clinic.default().pk)[key] == default


def test_every_parameter_names_its_source():
    assert all(p.source and p.description for p in PARAMETERS)


def test_a_clinic_override_applies_to_that_clinic_only():
    mine, other = Clinic.default(), ClinicFactory()
    ClinicalParameter.objects.create(clinic=mine, key="withdrawal_min_total_months", value=36, reason="EASL 2015")
    assert parameters_for_clinic(mine.pk)["withdrawal_min_total_months"] == 36
    assert parameters_for_clinic(other.pk)["withdrawal_min_total_months"] == 24


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("no_such_parameter", 1),
        ("withdrawal_min_total_months", "thirty-six"),
        ("thiopurine_max_interval_days", [14, 31]),
        ("dexa_counts_budesonide", "yes"),
    ],
)
def test_a_malformed_override_is_refused(key, value):
    parameter = ClinicalParameter(clinic=Clinic.default(), key=key, value=value, reason="test")
    with pytest.raises(ValidationError):
        parameter.full_clean()


def test_a_clinic_admin_changes_a_parameter_in_the_admin_and_it_is_audited(client, make_user):
    admin_user = make_user(Role.ADMIN)
    client.force_login(admin_user)
    response = client.post(
        "/admin/monitoring/clinicalparameter/add/",
        {"clinic": admin_user.clinic_id, "key": "tgn_low", "value": "220", "reason": "AIH cut-off (Dhaliwal 2012)"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    parameter = ClinicalParameter.objects.get(key="tgn_low")
    assert parameter.updated_by == admin_user
    assert parameters_for_clinic(admin_user.clinic_id)["tgn_low"] == 220
    assert parameter.history.get().history_user == admin_user


# Issue 14: a clinic's value that would silence a rule or make it fire for everyone is refused, with the
# reason next to the value; a plausible change is kept.
@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("relapse_uln_multiple", 0, "above 0"),  # a 0× ULN relapse tier would call every ALT a relapse
        ("relapse_uln_multiple", -3, "above 0"),
        ("tgn_high", 45000, "implausible"),  # seed 004 Table 1: 450; 100× would silence TPM-03
        ("thiopurine_max_interval_days", [14, 0, 92], "above 0"),  # MON-01: a 0-day interval: everyone overdue
        ("metabolite_repeat_after_underexposure_days", [14, 0], "above 0"),  # S004 Table 1: 2-4 weeks
        ("alf_min_inr", float("nan"), "Give a number"),
    ],
)
def test_an_impossible_override_is_refused_with_the_reason(key, value, words):
    parameter = ClinicalParameter(clinic=Clinic.default(), key=key, value=value, reason="test")
    with pytest.raises(ValidationError) as refused:
        parameter.full_clean()
    assert words in " ".join(refused.value.message_dict["value"])


@pytest.mark.parametrize(("key", "value"), [("relapse_uln_multiple", 2.5), ("tgn_high", 400), ("alf_min_inr", 1.8)])
def test_a_plausible_override_is_kept(key, value):
    ClinicalParameter(clinic=Clinic.default(), key=key, value=value, reason="test").full_clean()
