"""Forms for the physician's regimen pages. Field validation only; the writes are in services.py."""

from __future__ import annotations

from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from monitoring.clinic_parameters import parameters_for_clinic
from patients.models import Patient
from regimens.dosing import DOSE_UNIT_CHOICES, DoseUnit, describe_conversion, describe_per_kg, mg_per_day_from_mg_per_kg
from regimens.models import AdverseEvent, AdverseEventKind, Drug, MedicationCourse, TaperStep
from regimens.protocols import BY_CODE as PROTOCOLS
from regimens.protocols import PROTOCOLS as ALL_PROTOCOLS
from regimens.protocols import protocols_for, uses_normalisation
from regimens.services import STOP_REASONS, StepInput, latest_weight, validate_steps
from regimens.taper import PlannedStep, TaperError, generate_taper

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _today() -> date:
    return timezone.localdate()


class DoseFields(forms.Form):
    """A dose in mg/day or mg/kg/day; mg/kg is converted with the patient's latest weight on the date."""

    dose = forms.FloatField(required=False, min_value=0, label="Dose")
    dose_unit = forms.ChoiceField(choices=DOSE_UNIT_CHOICES, initial=DoseUnit.MG_PER_DAY.value, label="Unit")
    schedule = forms.CharField(max_length=100, required=False, help_text="e.g. 3 mg three times daily")

    dose_required = True

    def __init__(self, *args, patient: Patient, **kwargs):
        self.patient = patient
        super().__init__(*args, **kwargs)
        self.mg_per_day: float | None = None
        self.weight_kg: float | None = None
        self.conversion = ""

    def dose_date(self) -> date:
        raise NotImplementedError

    def resolve_dose(self) -> None:
        """Sets `mg_per_day` (None when no dose was given) and a sentence explaining the conversion."""
        dose, unit = self.cleaned_data.get("dose"), self.cleaned_data.get("dose_unit")
        on = self.dose_date()
        if on is None:
            return
        weight = latest_weight(self.patient, on)
        self.weight_kg = weight.weight_kg if weight else None
        if dose is None:
            if self.dose_required:
                self.add_error("dose", "Give the dose.")
            return
        if dose <= 0:
            self.add_error("dose", "The dose must be above zero (to stop a drug, stop the course).")
            return
        if unit == DoseUnit.MG_PER_KG:
            if self.weight_kg is None:
                self.add_error("dose", "No weight on file: record a weight, or give the dose in mg/day.")
                return
            self.mg_per_day = mg_per_day_from_mg_per_kg(dose, self.weight_kg)
            self.conversion = describe_conversion(dose, self.weight_kg) + f" (weight of {weight.measured_on:%d %b %Y})"
        else:
            self.mg_per_day = dose
            self.conversion = describe_per_kg(dose, self.weight_kg)


class StartCourseForm(DoseFields):
    drug = forms.ModelChoiceField(queryset=Drug.objects.order_by("name"), empty_label="Choose a drug")
    line_of_therapy = forms.IntegerField(min_value=1, initial=1, help_text="1 = first line, 2 = second line...")
    started_on = forms.DateField(widget=DATE, label="Start date")
    protocol = forms.ChoiceField(
        required=False,
        label="Taper protocol",
        help_text="Steroids only. The dose above, if given, replaces the protocol's starting dose "
        "(in mg/kg for the weight-based protocol).",
    )
    normalisation_on = forms.DateField(
        widget=DATE,
        required=False,
        label="Expected normalisation of aminotransferases",
        help_text="Dates the protocol's steps 'at normalisation' (default 12 weeks after the start). Editable later.",
    )

    field_order = ["drug", "line_of_therapy", "started_on", "dose", "dose_unit", "schedule", "protocol"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["started_on"].initial = _today
        self.fields["protocol"].choices = [("", "No taper plan")] + [(p.code, p.name) for p in ALL_PROTOCOLS]
        self.planned_steps: list[PlannedStep] = []

    def dose_date(self) -> date | None:
        return self.cleaned_data.get("started_on")

    @property
    def protocol_obj(self):
        return PROTOCOLS.get(self.cleaned_data.get("protocol") or "")

    def clean(self):
        cleaned = super().clean()
        drug, protocol = cleaned.get("drug"), self.protocol_obj
        self.dose_required = protocol is None
        if protocol is not None and drug is not None and drug.code not in protocol.drugs:
            names = ", ".join(p.name for p in protocols_for(drug.code)) or "none"
            self.add_error("protocol", f"{protocol.name} is not for {drug.name} (protocols for it: {names}).")
            return cleaned
        start = cleaned.get("started_on")
        if drug is not None and start is not None:
            running = self.patient.courses.filter(drug=drug).active_on(start).first()
            if running is not None:
                self.add_error(
                    "drug",
                    f"{drug.name} is already running (since {running.started_on:%d %b %Y}): change its dose, "
                    "or stop it first.",
                )
        self.resolve_dose()
        if protocol is not None and drug is not None and cleaned.get("started_on") and not self.errors:
            self.planned_steps = self._generate(protocol, cleaned)
            if self.planned_steps:
                first = self.planned_steps[0].dose_mg_per_day
                if not self.conversion or cleaned.get("dose") is None:
                    self.conversion = describe_per_kg(first, self.weight_kg)
                elif first != self.mg_per_day and protocol.weight_based is not None:
                    cap = self.params[protocol.weight_based.max_dose_parameter]
                    self.conversion += f"; starting dose {first:g} mg/day (2.5 mg tablets, at most {cap:g} mg)"
                self.mg_per_day = first
        return cleaned

    def _generate(self, protocol, cleaned) -> list[PlannedStep]:
        dose, unit = cleaned.get("dose"), cleaned.get("dose_unit")
        by_kg = protocol.weight_based is not None and dose is not None and unit == DoseUnit.MG_PER_KG
        try:
            return generate_taper(
                protocol,
                start=cleaned["started_on"],
                params=self.params,
                weight_kg=self.weight_kg,
                mg_per_kg=dose if by_kg else None,
                start_dose_mg=None if by_kg else self.mg_per_day,
                normalisation_on=cleaned.get("normalisation_on"),
            )
        except TaperError as error:
            self.add_error("dose" if "weight" in str(error) or "mg/kg" in str(error) else "protocol", str(error))
            return []

    @property
    def params(self) -> dict:

        return parameters_for_clinic(self.patient.clinic_id)

    @property
    def needs_normalisation(self) -> bool:
        protocol = self.protocol_obj if hasattr(self, "cleaned_data") else None
        return protocol is not None and uses_normalisation(protocol)


class ChangeDoseForm(DoseFields):
    effective_on = forms.DateField(widget=DATE, label="From")
    taper_step = forms.ModelChoiceField(
        queryset=TaperStep.objects.none(),
        required=False,
        label="Taper step carried out",
        empty_label="None (not part of the taper plan)",
        help_text="Links the actual dose to the planned step. Leave the dose blank to give the step's dose.",
    )
    note = forms.CharField(max_length=200, required=False)

    field_order = ["effective_on", "taper_step", "dose", "dose_unit", "schedule", "note"]

    def __init__(self, *args, course: MedicationCourse, **kwargs):
        self.course = course
        super().__init__(*args, patient=course.patient, **kwargs)
        self.fields["effective_on"].initial = _today
        steps = TaperStep.objects.filter(plan__course=course, plan__is_active=True, actual_doses__isnull=True)
        self.fields["taper_step"].queryset = steps.order_by("sequence")
        self.fields["taper_step"].label_from_instance = lambda s: (
            f"Step {s.sequence}: {s.dose_mg_per_day:g} mg/day from {s.starts_on:%d %b %Y}"
        )

    def dose_date(self) -> date | None:
        return self.cleaned_data.get("effective_on")

    def clean(self):
        cleaned = super().clean()
        step = cleaned.get("taper_step")
        self.dose_required = step is None
        self.resolve_dose()
        if step is not None and self.mg_per_day is None and not self.errors:
            self.mg_per_day = step.dose_mg_per_day
            self.conversion = describe_per_kg(self.mg_per_day, self.weight_kg)
        on = cleaned.get("effective_on")
        if on and on < self.course.started_on:
            self.add_error("effective_on", "A dose change cannot come before the course starts.")
        return cleaned


class StopFields(forms.Form):
    """Stopping a course: the reason is required; intolerance names the adverse event (or records it)."""

    stopped_on = forms.DateField(widget=DATE, label="Stop date")
    stop_reason = forms.ChoiceField(choices=[("", "Choose a reason")] + STOP_REASONS, label="Reason")
    adverse_event = forms.ModelChoiceField(
        queryset=AdverseEvent.objects.none(),
        required=False,
        label="Adverse event (intolerance)",
        empty_label="Record a new adverse event below",
    )
    new_event_kind = forms.ChoiceField(
        choices=[("", "—")] + list(AdverseEventKind.choices), required=False, label="New adverse event"
    )
    new_event_onset = forms.DateField(widget=DATE, required=False, label="Onset")
    new_event_description = forms.CharField(max_length=500, required=False, label="Description")
    stop_note = forms.CharField(max_length=500, required=False, label="Note", widget=forms.Textarea(attrs={"rows": 2}))

    def setup_stop(self, course: MedicationCourse) -> None:
        self.course = course
        self.fields["stopped_on"].initial = _today
        self.fields["adverse_event"].queryset = AdverseEvent.objects.filter(patient_id=course.patient_id)

    def clean_stop(self, cleaned: dict, stop_field: str = "stopped_on") -> None:
        on = cleaned.get(stop_field)
        if on and on < self.course.started_on:
            self.add_error(stop_field, "A course cannot stop before it starts.")
        if cleaned.get("stop_reason") == "intolerance" and not cleaned.get("adverse_event"):
            if not cleaned.get("new_event_kind"):
                self.add_error("adverse_event", "Intolerance: choose the adverse event, or record a new one.")
            elif not cleaned.get("new_event_onset"):
                self.add_error("new_event_onset", "Give the onset date of the adverse event.")


class StopCourseForm(StopFields):
    def __init__(self, *args, course: MedicationCourse, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_stop(course)

    def clean(self):
        cleaned = super().clean()
        self.clean_stop(cleaned)
        return cleaned


class SwitchCourseForm(StopFields, DoseFields):
    """Stop + start on one day. The stop date is the new drug's start date."""

    drug = forms.ModelChoiceField(queryset=Drug.objects.order_by("name"), empty_label="Choose a drug", label="New drug")
    line_of_therapy = forms.IntegerField(min_value=1, label="Line of therapy of the new drug")

    field_order = ["stopped_on", "stop_reason", "adverse_event", "new_event_kind", "new_event_onset"]

    def __init__(self, *args, course: MedicationCourse, **kwargs):
        super().__init__(*args, patient=course.patient, **kwargs)
        self.setup_stop(course)
        self.fields["stopped_on"].label = "Switch date"
        self.fields["line_of_therapy"].initial = course.line_of_therapy + 1
        self.fields["drug"].queryset = Drug.objects.exclude(pk=course.drug_id).order_by("name")

    def dose_date(self) -> date | None:
        return self.cleaned_data.get("stopped_on")

    def clean(self):
        cleaned = super().clean()
        self.clean_stop(cleaned)
        self.resolve_dose()
        return cleaned


class TaperPlanForm(forms.Form):
    """A new taper plan for a running course, from a protocol, from a date."""

    protocol = forms.ChoiceField(label="Protocol")
    starts_on = forms.DateField(widget=DATE, label="Plan starts")
    start_dose = forms.FloatField(
        required=False, min_value=0, label="Starting dose (mg/day)", help_text="Blank: the protocol's."
    )
    mg_per_kg = forms.FloatField(required=False, label="mg/kg/day (weight-based protocol)")
    normalisation_on = forms.DateField(widget=DATE, required=False, label="Expected normalisation")

    def __init__(self, *args, course: MedicationCourse, **kwargs):
        self.course = course
        super().__init__(*args, **kwargs)
        self.fields["protocol"].choices = [(p.code, p.name) for p in protocols_for(course.drug.code)]
        self.fields["starts_on"].initial = _today
        self.planned_steps: list[PlannedStep] = []

    def clean(self):
        cleaned = super().clean()
        protocol, start = PROTOCOLS.get(cleaned.get("protocol") or ""), cleaned.get("starts_on")
        if protocol is None or start is None:
            return cleaned
        if start < self.course.started_on:
            self.add_error("starts_on", "The plan cannot start before the course.")
            return cleaned

        weight = latest_weight(self.course.patient, start)
        try:
            self.planned_steps = generate_taper(
                protocol,
                start=start,
                params=parameters_for_clinic(self.course.patient.clinic_id),
                weight_kg=weight.weight_kg if weight else None,
                mg_per_kg=cleaned.get("mg_per_kg"),
                start_dose_mg=cleaned.get("start_dose"),
                normalisation_on=cleaned.get("normalisation_on"),
            )
        except TaperError as error:
            raise ValidationError(str(error)) from error
        return cleaned


HIDDEN = forms.HiddenInput


class TaperStepForm(forms.Form):
    """One editable step. A row with neither date nor dose is empty and ignored (the blank row to add a step)."""

    starts_on = forms.DateField(widget=DATE, label="From", required=False)
    dose_mg_per_day = forms.FloatField(min_value=0, label="Dose (mg/day)", required=False)
    note = forms.CharField(max_length=200, required=False)
    # A step at normalisation (from the protocol) stays one when edited: due from the normalisation date.
    after_normalisation = forms.BooleanField(required=False, widget=HIDDEN)
    months_after_normalisation = forms.IntegerField(
        min_value=0, max_value=120, required=False, widget=forms.HiddenInput
    )
    weeks_after_normalisation = forms.IntegerField(min_value=0, max_value=520, required=False, widget=HIDDEN)

    def clean(self):
        cleaned = super().clean()
        on, dose = cleaned.get("starts_on"), cleaned.get("dose_mg_per_day")
        if cleaned.get("DELETE"):
            return cleaned
        if on is None and dose is not None and "starts_on" not in self.errors:
            self.add_error("starts_on", "Give the date of this step.")
        if dose is None and on is not None and "dose_mg_per_day" not in self.errors:
            self.add_error("dose_mg_per_day", "Give the dose of this step.")
        return cleaned


class BaseTaperStepFormSet(forms.BaseFormSet):
    """The editable steps. `first_on`: the date the first step must start (the course start), or None."""

    def __init__(self, *args, earliest: date | None = None, first_on: date | None = None, **kwargs):
        self.earliest, self.first_on = earliest, first_on
        super().__init__(*args, **kwargs)

    def steps(self) -> list[StepInput]:
        rows = [
            f.cleaned_data
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("starts_on") is not None
        ]
        return [
            StepInput(
                r["starts_on"],
                r["dose_mg_per_day"],
                r.get("note", ""),
                bool(r.get("after_normalisation")),
                r.get("months_after_normalisation") or 0,
                r.get("weeks_after_normalisation") or 0,
            )
            for r in rows
        ]

    def clean(self):
        if any(self.errors):
            return
        steps = self.steps()
        if self.first_on is not None and steps and steps[0].starts_on != self.first_on:
            raise ValidationError(f"The first step must start on the course start ({self.first_on:%d %b %Y}).")
        validate_steps(self.earliest or (steps[0].starts_on if steps else _today()), steps)


# A taper longer than this many steps is refused with a message (and a tampered row count cannot make
# the page build thousands of forms).
MAX_TAPER_STEPS = 100
TaperStepFormSet = forms.formset_factory(
    TaperStepForm,
    formset=BaseTaperStepFormSet,
    extra=1,
    can_delete=True,
    max_num=MAX_TAPER_STEPS,
    absolute_max=MAX_TAPER_STEPS,
)


def step_initial(steps: list[PlannedStep]) -> list[dict]:
    return [
        {
            "starts_on": s.starts_on,
            "dose_mg_per_day": s.dose_mg_per_day,
            "note": s.note,
            "after_normalisation": s.after_normalisation,
            "months_after_normalisation": s.months_after_normalisation,
            "weeks_after_normalisation": s.weeks_after_normalisation,
        }
        for s in steps
    ]


class OverrideForm(forms.Form):
    override_reason = forms.CharField(
        required=False,
        label="Override reason",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required to prescribe despite a critical finding. Stored with your name and shown on the "
        "patient page.",
    )

    overridden_rules = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, blocking: tuple = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.blocking = blocking  # the critical findings shown

    def clean_overridden_rules(self) -> list[str]:
        """The critical rules the confirm page showed (a reason covers those, not one that appeared since)."""
        return [rule for rule in self.cleaned_data["overridden_rules"].split(",") if rule]

    def clean_override_reason(self) -> str:
        reason = self.cleaned_data["override_reason"].strip()
        if self.blocking and not reason:
            rules = ", ".join(f.rule_id for f in self.blocking)
            raise ValidationError(f"A critical finding blocks this prescription: give the reason to override {rules}.")
        return reason
