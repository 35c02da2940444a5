"""Forms for registering patients and logging visits. Field validation only; writes are in services.py."""

from __future__ import annotations

import math
from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseInlineFormSet, formset_factory, inlineformset_factory
from django.utils import timezone

from monitoring.labs import entry as lab_entry
from monitoring.labs.services import LabValue, convert_lab_value
from monitoring.models import Analyte
from patients.models import (
    Ascites,
    Autoantibody,
    ContraceptionRecord,
    HepatitisImmunity,
    Patient,
    PharmacogeneticTest,
    PregnancyEpisode,
    PregnancyTest,
    Vaccination,
    Visit,
    WeightMeasurement,
)
from patients.services import LabEntry, collection_time, current_dose, find_mrn_owner
from regimens.models import AdherenceMethod, AdverseEvent, MedicationCourse

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _not_future(value: date | None, what: str = "This date") -> None:
    if value and value > timezone.localdate():
        raise ValidationError(f"{what} is in the future.")


# -- patient registration ------------------------------------------------------------------------


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = [
            "mrn",
            "family_name",
            "given_name",
            "date_of_birth",
            "sex",
            "status",
            "aih_type",
            "diagnosis_date",
            "viral_hepatitis_excluded",
            "reproductive_potential",
            "cirrhosis_diagnosed_on",
            "cirrhosis_basis",
            "portosystemic_shunt",
            "advanced_fibrosis",
            "liver_transplant_on",
            "notes",
        ]
        widgets = {
            "date_of_birth": DATE,
            "diagnosis_date": DATE,
            "cirrhosis_diagnosed_on": DATE,
            "liver_transplant_on": DATE,
            "viral_hepatitis_excluded": forms.NullBooleanSelect(),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {"cirrhosis_diagnosed_on": "Cirrhosis found on", "cirrhosis_basis": "Cirrhosis basis"}
        help_texts = {"cirrhosis_diagnosed_on": "Leave empty if the patient has no cirrhosis."}

    def __init__(self, *args, clinic_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.clinic_id = clinic_id
        self.instance.clinic_id = clinic_id
        self.mrn_owner: Patient | None = None
        self.fields["viral_hepatitis_excluded"].widget.choices = [
            ("unknown", "Not known"),
            ("true", "Yes: markers negative"),
            ("false", "No"),
        ]
        self.fields["cirrhosis_basis"].choices = [("", "No cirrhosis")] + [
            c for c in self.fields["cirrhosis_basis"].choices if c[0]
        ]

    def clean_mrn(self) -> str:
        mrn = self.cleaned_data["mrn"].strip()
        owner = find_mrn_owner(clinic_id=self.clinic_id, mrn=mrn, exclude_pk=self.instance.pk)
        if owner:
            self.mrn_owner = owner
            raise ValidationError(
                f"MRN {owner.mrn} is already registered in this clinic to {owner} "
                f"(born {owner.date_of_birth:%d %b %Y}).",
                code="duplicate_mrn",
            )
        return mrn

    def clean(self):
        data = super().clean()
        born = data.get("date_of_birth")
        for name in ("diagnosis_date", "cirrhosis_diagnosed_on", "liver_transplant_on"):
            value = data.get(name)
            if value and name not in self.errors:
                try:
                    _not_future(value)
                    if born and value < born:
                        raise ValidationError("This date is before the date of birth.")
                except ValidationError as error:
                    self.add_error(name, error)
        return data


class IntakeRecordForm(forms.ModelForm):
    """A related intake row: dates not in the future; end dates not before start dates."""

    date_fields: tuple[str, ...] = ()
    end_after: tuple[tuple[str, str], ...] = ()

    def clean(self):
        data = super().clean()
        for name in self.date_fields:
            if data.get(name) and name not in self.errors:
                try:
                    _not_future(data[name])
                except ValidationError as error:
                    self.add_error(name, error)
        for end, start in self.end_after:
            if data.get(end) and data.get(start) and data[end] < data[start] and end not in self.errors:
                self.add_error(end, f"This is before the {self.fields[start].label.lower()}.")
        return data


def _yes_no_select(positive: str, negative: str) -> forms.TypedChoiceField:
    # "True"/"False" are how a stored boolean renders, so an edited row shows its result selected.
    return forms.TypedChoiceField(
        choices=[("", "—"), ("True", positive), ("False", negative)],
        coerce=lambda v: str(v) == "True",  # the stored True as well as the posted "True" (unchanged rows)
        empty_value=None,
        label="Result",
    )


class AutoantibodyForm(IntakeRecordForm):
    positive = _yes_no_select("Positive", "Negative")
    date_fields = ("tested_on",)

    class Meta:
        model = Autoantibody
        fields = ["antibody", "positive", "titre", "tested_on"]
        widgets = {"tested_on": DATE, "titre": forms.NumberInput(attrs={"min": 1, "placeholder": "e.g. 160"})}
        labels = {"titre": "Titre 1:", "tested_on": "Tested on"}
        help_texts = {"titre": ""}

    def clean_titre(self):
        value = self.cleaned_data["titre"]
        if value is not None and value < 1:
            raise ValidationError("Give the titre's denominator: 160 for 1:160.")
        return value

    def clean(self):
        data = super().clean()
        if data.get("titre") and data.get("positive") is False and "titre" not in self.errors:
            self.add_error("titre", "A negative result has no titre.")
        return data


class PharmacogeneticForm(IntakeRecordForm):
    date_fields = ("tested_on",)

    class Meta:
        model = PharmacogeneticTest
        fields = ["gene", "phenotype", "activity", "activity_unit", "genotype", "tested_on"]
        widgets = {"tested_on": DATE, "activity": forms.NumberInput(attrs={"min": 0, "step": "any"})}
        labels = {"tested_on": "Tested on"}
        help_texts = {"activity_unit": "", "genotype": ""}

    def clean(self):
        data = super().clean()
        if data.get("activity") is not None and data["activity"] < 0:
            self.add_error("activity", "Activity cannot be negative.")
        if data.get("activity") is not None and not data.get("activity_unit"):
            self.add_error("activity_unit", "Give the unit the lab reports activity in.")
        return data


class PregnancyEpisodeForm(IntakeRecordForm):
    date_fields = ("started_on", "ended_on")
    end_after = (("ended_on", "started_on"),)

    class Meta:
        model = PregnancyEpisode
        fields = ["kind", "started_on", "expected_on", "ended_on", "outcome"]
        widgets = {"started_on": DATE, "expected_on": DATE, "ended_on": DATE}
        labels = {"started_on": "From", "expected_on": "Due / planned", "ended_on": "Ended"}
        help_texts = {"started_on": "", "expected_on": ""}


class ContraceptionForm(IntakeRecordForm):
    date_fields = ("started_on", "ended_on")
    end_after = (("ended_on", "started_on"),)

    class Meta:
        model = ContraceptionRecord
        fields = ["method", "started_on", "ended_on"]
        widgets = {"started_on": DATE, "ended_on": DATE}
        labels = {"started_on": "From", "ended_on": "Stopped"}


class PregnancyTestForm(IntakeRecordForm):
    date_fields = ("tested_on",)

    class Meta:
        model = PregnancyTest
        fields = ["result", "tested_on"]
        widgets = {"tested_on": DATE}
        labels = {"tested_on": "Tested on"}


class ImmunityForm(IntakeRecordForm):
    date_fields = ("tested_on",)

    class Meta:
        model = HepatitisImmunity
        fields = ["virus", "status", "tested_on"]
        widgets = {"tested_on": DATE}
        labels = {"tested_on": "Tested on"}


class VaccinationForm(IntakeRecordForm):
    date_fields = ("given_on",)

    class Meta:
        model = Vaccination
        fields = ["vaccine", "dose_number", "given_on"]
        widgets = {"given_on": DATE, "dose_number": forms.NumberInput(attrs={"min": 1})}
        labels = {"dose_number": "Dose", "given_on": "Given on"}

    def clean_dose_number(self):
        value = self.cleaned_data["dose_number"]
        if value is not None and value < 1:
            raise ValidationError("Doses count from 1.")
        return value


# Rows one table of a form may hold. A posted row count above it is refused with a message (Django's
# "Please submit at most N forms") instead of building and rendering thousands of empty forms.
MAX_ROWS = 100
ROW_LIMITS = {"max_num": MAX_ROWS, "absolute_max": MAX_ROWS}


class IntakeFormSet(BaseInlineFormSet):
    """Rows are corrected, never deleted (the audit history keeps every version)."""

    title = ""


def _intake_formset(form, title: str, prefix: str, empty: str):
    formset = inlineformset_factory(
        Patient, form._meta.model, form=form, formset=IntakeFormSet, extra=1, can_delete=False, **ROW_LIMITS
    )
    formset.title, formset.prefix_name, formset.empty_text = title, prefix, empty
    return formset


# (prefix, formset class): the order the registration page shows them in.
INTAKE_FORMSETS = {
    "antibodies": _intake_formset(AutoantibodyForm, "Autoantibodies", "antibodies", "No autoantibody results yet."),
    "pgx": _intake_formset(PharmacogeneticForm, "TPMT / NUDT15", "pgx", "No TPMT or NUDT15 result yet."),
    "pregnancies": _intake_formset(
        PregnancyEpisodeForm, "Pregnancy or pregnancy plans", "pregnancies", "No pregnancy or plan recorded."
    ),
    "contraception": _intake_formset(ContraceptionForm, "Contraception", "contraception", "No contraception recorded."),
    "pregnancy_tests": _intake_formset(
        PregnancyTestForm, "Pregnancy tests", "pregnancy_tests", "No pregnancy test recorded."
    ),
    "immunity": _intake_formset(ImmunityForm, "Hepatitis A / B immunity", "immunity", "No immunity result yet."),
    "vaccinations": _intake_formset(VaccinationForm, "Vaccinations", "vaccinations", "No vaccination recorded."),
}


# -- the visit log -------------------------------------------------------------------------------

HE_GRADES = [(0, "0 — none"), (1, "1 — mild"), (2, "2 — moderate"), (3, "3 — severe"), (4, "4 — coma")]


class VisitForm(forms.Form):
    visit_date = forms.DateField(widget=DATE)
    labs_collected_on = forms.DateField(
        widget=DATE, label="Bloods taken on", help_text="The date on the lab report (usually the visit date)."
    )
    weight_kg = forms.FloatField(
        required=False, label="Weight (kg)", widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"})
    )
    ascites = forms.ChoiceField(choices=Ascites.choices, initial=Ascites.NONE)
    encephalopathy_grade = forms.TypedChoiceField(
        choices=HE_GRADES, coerce=int, initial=0, label="Encephalopathy (West Haven grade)"
    )
    jaundice = forms.BooleanField(required=False)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Note")
    second_visit = forms.BooleanField(required=False, label="Save as a second visit on this date")

    def __init__(self, *args, patient: Patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.patient = patient

    def clean(self):
        """A second visit on the same date asks to be confirmed: most often it is the same visit sent
        again (Back then Save reloads the form, so its one-time key cannot tell)."""
        data = super().clean()
        day = data.get("visit_date")
        if day and not data.get("second_visit"):
            earlier = (
                Visit.objects.filter(patient=self.patient, visit_date=day)
                .select_related("clinician")
                .order_by("-created_at")
                .first()
            )
            if earlier is not None:
                by = f" by {earlier.clinician.display_name}" if earlier.clinician else ""
                saved = timezone.localtime(earlier.created_at)
                self.add_error(
                    "second_visit",
                    f"A visit on {day:%-d %b %Y} was already saved at {saved:%H:%M}{by}. If this is the same "
                    "visit sent again, there is nothing to do; to record a second visit that day, tick this box.",
                )
        return data

    def _check_date(self, name: str) -> date:
        value = self.cleaned_data[name]
        _not_future(value)
        if value < self.patient.date_of_birth:
            raise ValidationError("This date is before the patient's date of birth.")
        return value

    def clean_visit_date(self):
        return self._check_date("visit_date")

    def clean_labs_collected_on(self):
        return self._check_date("labs_collected_on")

    def clean_weight_kg(self):
        value = self.cleaned_data["weight_kg"]
        low, high = WeightMeasurement.PLAUSIBLE_KG
        if value is not None and not low < value < high:
            raise ValidationError(f"A weight must be between {low:g} and {high:g} kg.")
        return value


class LabRowForm(forms.Form):
    """One analyte of the lab grid. An empty value means "not measured" and the row is skipped."""

    analyte = forms.CharField(widget=forms.HiddenInput)
    value = forms.FloatField(required=False, widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}))
    unit = forms.ChoiceField(choices=())
    ref_low = forms.FloatField(required=False, widget=forms.NumberInput(attrs={"step": "any"}))
    ref_high = forms.FloatField(required=False, widget=forms.NumberInput(attrs={"step": "any"}))
    range_unit = forms.CharField(required=False, widget=forms.HiddenInput)
    confirm = forms.BooleanField(required=False, label="Save anyway")

    def __init__(self, *args, analytes: dict[str, Analyte], context: LabContext, **kwargs):
        super().__init__(*args, **kwargs)
        self.context = context
        code = self.data.get(self.add_prefix("analyte")) if self.is_bound else self.initial.get("analyte")
        self.entry: Analyte | None = analytes.get(code or "")
        self.warnings: list[str] = []
        self.converted: tuple[float, str] | None = None
        self.range_source = ""
        if self.entry:
            units = lab_entry.unit_choices(self.entry)
            self.fields["unit"].choices = [(u, u) for u in units]
            default = context.ranges.get(self.entry.code)
            self.range_source = default.source if default else ""

    @property
    def row_id(self) -> str:
        return f"lab-row-{self.prefix}"

    def _range_in_canonical(self, value: float | None, unit: str) -> float | None:
        return None if value is None else self.entry.to_canonical(value, unit)

    def clean(self):
        data = super().clean()
        if self.entry is None:
            raise ValidationError("Unknown test.")
        value, unit = data.get("value"), data.get("unit")
        if value is None or not unit or self.errors:
            return data
        range_unit = data.get("range_unit") or unit
        if range_unit not in self.entry.units:
            range_unit = unit
        try:
            low = self._range_in_canonical(data.get("ref_low"), range_unit)
            high = self._range_in_canonical(data.get("ref_high"), range_unit)
            # Ranges are typed in range_unit; the monitoring service wants them in the value's unit.
            low_in_unit = None if low is None else lab_entry.from_canonical(self.entry, low, unit)
            high_in_unit = None if high is None else lab_entry.from_canonical(self.entry, high, unit)
            canonical, low, high = convert_lab_value(
                LabValue(self.entry, value, unit, self.context.collected_at, low_in_unit, high_in_unit)
            )
        except ValidationError as error:
            self._add_service_errors(error, value, unit)
            return data
        self.converted = (canonical, self.entry.canonical_unit)
        default = self.context.ranges.get(self.entry.code)
        # A range left as pre-filled is the clinic's default, not the lab's: store none, so the engine
        # uses the same default and says where it came from (clinical-rules.md §0A A-12).
        is_default = default is not None and _same_limit(low, default.low) and _same_limit(high, default.high)
        low, high = (None, None) if is_default else (low_in_unit, high_in_unit)
        data["lab_entry"] = LabEntry(self.entry, value, unit, low, high)
        self._warn(value, unit, canonical)
        if self.warnings and not data.get("confirm"):
            self.add_error("confirm", "Check the value and unit; tick “Save anyway” if they are right.")
        return data

    def _add_service_errors(self, error: ValidationError, value: float, unit: str) -> None:
        for field, messages in error.message_dict.items():
            target = field if field in ("value", "unit", "ref_high") else "value"
            if field == "collected_at":
                continue  # the visit form's date field says so
            text = " ".join(messages)
            if target == "value":
                slip = lab_entry.likely_unit_slip(
                    self.entry, value, unit, sex=self.context.sex, params=self.context.params
                )
                if slip:
                    text += f" Did you mean {self._as_other_unit(value, slip)}?"
            self.add_error(target, text)

    def _as_other_unit(self, value: float, slip: lab_entry.UnitSlip) -> str:
        """ "85 µmol/L", or "3.5 g/dL (35 g/L)" when the suggested unit is not the canonical one."""
        text = f"{value:g} {slip.unit}"
        if lab_entry.unit_factor(self.entry, slip.unit) != 1:
            text += f" ({self._canonical_text(slip.canonical)})"
        return text

    def _canonical_text(self, canonical: float) -> str:
        return f"{canonical:.{self.entry.decimals}f} {lab_entry.display_unit(self.entry, self.entry.canonical_unit)}"

    def _warn(self, value: float, unit: str, canonical: float) -> None:
        slip = lab_entry.likely_unit_slip(self.entry, value, unit, sex=self.context.sex, params=self.context.params)
        if slip:
            self.warnings.append(
                f"{self.entry.name} {value:g} {unit} is {self._canonical_text(canonical)}: unusual. "
                f"Was it {self._as_other_unit(value, slip)}?"
            )
        earlier = self.context.existing.get(self.entry.code, [])
        if any(lab_entry.same_value(self.entry, canonical, other) for other in earlier):
            self.warnings.append(
                f"The same {self.entry.name} result ({self._canonical_text(canonical)}) is already recorded "
                f"for {self.context.collected_on:%d %b %Y}: probably a duplicate."
            )

    @property
    def has_hard_errors(self) -> bool:
        """Errors that refuse the row, as opposed to an unconfirmed warning."""
        return any(name != "confirm" for name in self.errors)

    @property
    def range_unit_shown(self) -> str:
        return self["range_unit"].value() or self["unit"].value() or ""

    @property
    def converted_text(self) -> str:
        return self._canonical_text(self.converted[0]) if self.converted else ""


def _same_limit(a: float | None, b: float | None) -> bool:
    """Equal limits, allowing for the rounding of a range shown in another unit and typed back."""
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-9)


class LabContext:
    """What every lab row needs to check itself: the patient's sex, parameters, defaults, date, earlier results."""

    def __init__(self, *, sex, params, ranges, collected_on: date | None, existing: dict[str, list[float]]):
        self.sex, self.params, self.ranges, self.existing = sex, params, ranges, existing
        self.collected_on = collected_on
        self.collected_at = collection_time(collected_on) if collected_on else timezone.now()


class BaseLabFormSet(forms.BaseFormSet):
    def clean(self):
        seen: dict[str, tuple[float, int]] = {}
        for index, form in enumerate(self.forms):
            if not hasattr(form, "cleaned_data") or not form.converted or form.errors:
                continue
            canonical = form.converted[0]
            code = form.entry.code
            repeated = code in seen and lab_entry.same_value(form.entry, canonical, seen[code][0])
            if repeated and not form.cleaned_data.get("confirm"):
                form.warnings.append(f"{form.entry.name} appears twice in this panel with the same value.")
                form.add_error("confirm", "Tick “Save anyway” to keep both rows.")
            seen.setdefault(code, (canonical, index))

    @property
    def entries(self) -> list[LabEntry]:
        return [f.cleaned_data["lab_entry"] for f in self.forms if f.cleaned_data.get("lab_entry")]


LabFormSet = formset_factory(LabRowForm, formset=BaseLabFormSet, extra=0, **ROW_LIMITS)

TAKEN_CHOICES = [("as_prescribed", "As prescribed"), ("different", "A different dose")]


class MedicineForm(forms.Form):
    """One running course: the dose actually taken, and adherence since the last visit."""

    course = forms.IntegerField(widget=forms.HiddenInput)
    taken = forms.ChoiceField(choices=TAKEN_CHOICES, required=False, widget=forms.RadioSelect, label="Taken")
    dose_taken = forms.FloatField(
        required=False,
        min_value=0,
        label="Dose taken (mg/day)",
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    adherence_method = forms.ChoiceField(
        choices=[("", "Not assessed")] + list(AdherenceMethod.choices), required=False, label="Adherence checked by"
    )
    missed_doses = forms.IntegerField(required=False, min_value=0, label="Missed doses")
    lapse_reason = forms.CharField(required=False, max_length=200, label="Reason for missed doses")
    full_adherence_confirmed = forms.BooleanField(
        required=False,
        label="Full adherence confirmed",
        help_text="Every dose taken, checked as above: a poor response is then treatment failure, not missed doses.",
    )

    def __init__(self, *args, courses: dict[int, MedicationCourse], visit_date: date | None, **kwargs):
        super().__init__(*args, **kwargs)
        raw = self.data.get(self.add_prefix("course")) if self.is_bound else self.initial.get("course")
        try:
            self.course_obj = courses.get(int(raw))
        except (TypeError, ValueError):
            self.course_obj = None
        self.visit_date = visit_date
        course = self.course_obj
        self.prescribed = current_dose(course, visit_date or timezone.localdate()) if course else None

    def clean(self):
        data = super().clean()
        if self.course_obj is None:
            raise ValidationError("This course is not one of the patient's.")
        if data.get("taken") == "different":
            if data.get("dose_taken") is None and "dose_taken" not in self.errors:
                self.add_error("dose_taken", "Give the dose the patient actually takes.")
            elif (
                self.prescribed
                and self.visit_date
                and self.prescribed.effective_on == self.visit_date
                and self.prescribed.dose_mg_per_day != data.get("dose_taken")
            ):
                self.add_error(
                    "dose_taken",
                    f"A dose of {self.prescribed.dose_mg_per_day:g} mg/day starts on this day already; "
                    "ask the prescriber to correct it.",
                )
        elif data.get("dose_taken") is not None and "dose_taken" not in self.errors:
            self.add_error("taken", "Choose “A different dose” to record the dose taken.")
        answered_adherence = (
            data.get("missed_doses") or data.get("lapse_reason") or data.get("full_adherence_confirmed")
        )
        if answered_adherence and not data.get("adherence_method"):
            self.add_error("adherence_method", "Say how adherence was checked (e.g. self-report, pill count).")
        if data.get("full_adherence_confirmed") and data.get("missed_doses"):
            self.add_error("full_adherence_confirmed", "Doses were missed: full adherence cannot be confirmed.")
        if data.get("taken") and self.visit_date and not self.course_obj.is_active_on(self.visit_date):
            self.add_error("taken", f"This course was not running on {self.visit_date:%d %b %Y}.")
        return data


MedicineFormSet = formset_factory(MedicineForm, extra=0, **ROW_LIMITS)


class AdverseEventForm(forms.ModelForm):
    class Meta:
        model = AdverseEvent
        fields = ["kind", "course", "onset_on", "grade", "description", "resolved_on"]
        widgets = {
            "onset_on": DATE,
            "resolved_on": DATE,
            "description": forms.TextInput(),
            "grade": forms.Select(choices=[("", "—")] + [(g, str(g)) for g in range(1, 6)]),
        }
        labels = {"kind": "Event", "course": "Suspected drug", "onset_on": "Onset", "resolved_on": "Resolved"}
        help_texts = {"course": "", "grade": ""}

    def __init__(self, *args, patient: Patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = MedicationCourse.objects.filter(patient=patient).select_related("drug")
        self.fields["course"].empty_label = "Not known / none"

    def clean(self):
        data = super().clean()
        for name in ("onset_on", "resolved_on"):
            if data.get(name) and name not in self.errors:
                try:
                    _not_future(data[name])
                except ValidationError as error:
                    self.add_error(name, error)
        if data.get("onset_on") and data.get("resolved_on") and data["resolved_on"] < data["onset_on"]:
            self.add_error("resolved_on", "This is before the onset.")
        return data


AdverseEventFormSet = forms.modelformset_factory(
    AdverseEvent, form=AdverseEventForm, extra=1, can_delete=False, **ROW_LIMITS
)
