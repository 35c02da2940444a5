"""What patients take: courses of a drug, their dose changes, taper plans, adherence, adverse events."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from regimens.catalogue import DrugClass


class Drug(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100, unique=True)
    drug_class = models.CharField(max_length=32, choices=DrugClass.choices)
    rxnorm = models.CharField("RxNorm ingredient", max_length=20, blank=True)
    prednisolone_equivalent = models.FloatField(null=True, blank=True)
    is_immunosuppressant = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StopReason(models.TextChoices):
    REMISSION = "remission", "Remission (planned withdrawal)"
    INTOLERANCE = "intolerance", "Intolerance (adverse event)"
    NON_RESPONSE = "non_response", "Non-response"
    PREGNANCY = "pregnancy", "Pregnancy"
    SWITCH = "switch", "Switched to another drug"
    OTHER = "other", "Other"


class MedicationCourseQuerySet(models.QuerySet):
    def active_on(self, on: date) -> MedicationCourseQuerySet:
        return self.filter(started_on__lte=on).filter(Q(stopped_on__isnull=True) | Q(stopped_on__gt=on))


class MedicationCourse(models.Model):
    """One continuous course of one drug. Doses live in DoseChange rows with effective dates."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="courses")
    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="courses")
    line_of_therapy = models.PositiveSmallIntegerField(default=1, help_text="1 = first line, 2 = second line...")
    started_on = models.DateField()
    stopped_on = models.DateField(null=True, blank=True)
    stop_reason = models.CharField(max_length=16, choices=StopReason.choices, blank=True)
    stop_adverse_event = models.ForeignKey(
        "AdverseEvent", on_delete=models.PROTECT, null=True, blank=True, related_name="stopped_courses"
    )
    stop_note = models.TextField(blank=True)
    prescriber = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="courses"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    prescribed_in_app = models.BooleanField(
        default=False,
        help_text="Prescribed through the prescribing page, which showed its safety checks then. A course "
        "recorded from elsewhere (visit log, import, admin) gets them from the evaluation if it started recently.",
    )

    objects = MedicationCourseQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-started_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stopped_on__isnull=True) | Q(stopped_on__gte=F("started_on")),
                name="course_stop_not_before_start",
            ),
            models.CheckConstraint(
                condition=(Q(stopped_on__isnull=True) & Q(stop_reason=""))
                | (Q(stopped_on__isnull=False) & ~Q(stop_reason="")),
                name="course_stop_reason_iff_stopped",
            ),
            models.CheckConstraint(
                condition=~Q(stop_reason=StopReason.INTOLERANCE) | Q(stop_adverse_event__isnull=False),
                name="course_intolerance_names_adverse_event",
            ),
            models.CheckConstraint(condition=Q(line_of_therapy__gte=1), name="course_line_from_one"),
        ]
        indexes = [models.Index(fields=["patient", "started_on"])]

    def __str__(self) -> str:
        end = f" to {self.stopped_on}" if self.stopped_on else ""
        return f"{self.drug} from {self.started_on}{end}"

    def clean(self) -> None:
        if self.stopped_on and self.stopped_on < self.started_on:
            raise ValidationError({"stopped_on": "A course cannot stop before it starts."})
        if self.stopped_on and not self.stop_reason:
            raise ValidationError({"stop_reason": "Give the reason the course stopped."})
        if self.stop_reason == StopReason.INTOLERANCE and not self.stop_adverse_event_id:
            raise ValidationError({"stop_adverse_event": "Name the adverse event that caused the intolerance."})

    def is_active_on(self, on: date) -> bool:
        return self.started_on <= on and (self.stopped_on is None or self.stopped_on > on)


class DoseChange(models.Model):
    """The dose in force from `effective_on` until the next change (or the course's stop)."""

    course = models.ForeignKey(MedicationCourse, on_delete=models.CASCADE, related_name="dose_changes")
    effective_on = models.DateField()
    dose_mg_per_day = models.FloatField("Dose (mg/day)")
    schedule = models.CharField(max_length=100, blank=True, help_text="e.g. 3 mg three times daily")
    taper_step = models.ForeignKey(
        "TaperStep", on_delete=models.SET_NULL, null=True, blank=True, related_name="actual_doses"
    )
    note = models.CharField(max_length=200, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["effective_on"]
        constraints = [
            models.UniqueConstraint(fields=["course", "effective_on"], name="dose_change_one_per_day"),
            models.CheckConstraint(condition=Q(dose_mg_per_day__gte=0), name="dose_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.dose_mg_per_day:g} mg/day from {self.effective_on}"


class TaperPlan(models.Model):
    """A dated plan of steroid doses generated from a protocol, then edited by the physician."""

    course = models.ForeignKey(MedicationCourse, on_delete=models.CASCADE, related_name="taper_plans")
    protocol = models.CharField(max_length=50, help_text="Code of the protocol the plan was generated from.")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["course"], condition=Q(is_active=True), name="taper_plan_one_active_per_course"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.protocol} plan for {self.course}"


class TaperStep(models.Model):
    plan = models.ForeignKey(TaperPlan, on_delete=models.CASCADE, related_name="steps")
    sequence = models.PositiveSmallIntegerField()
    starts_on = models.DateField()
    dose_mg_per_day = models.FloatField("Dose (mg/day)")
    note = models.CharField(max_length=200, blank=True)
    # A step "at normalisation" (the protocol says so): due from the day the aminotransferases normalise
    # plus this offset; `starts_on` is then only a placeholder, never the date it is due from.
    after_normalisation = models.BooleanField(default=False)
    months_after_normalisation = models.PositiveSmallIntegerField(default=0)
    weeks_after_normalisation = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["plan", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "sequence"], name="taper_step_sequence_unique"),
            models.CheckConstraint(condition=Q(dose_mg_per_day__gte=0), name="taper_step_dose_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Step {self.sequence}: {self.dose_mg_per_day:g} mg/day from {self.starts_on}"


class AdherenceMethod(models.TextChoices):
    SELF_REPORT = "self_report", "Self-report"
    PILL_COUNT = "pill_count", "Pill count"
    REFILL = "refill", "Pharmacy refill record"
    METABOLITE_PATTERN = "metabolite_pattern", "Metabolite pattern"


class AdherenceRecord(models.Model):
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="adherence_records")
    course = models.ForeignKey(
        MedicationCourse, on_delete=models.SET_NULL, null=True, blank=True, related_name="adherence_records"
    )
    visit = models.ForeignKey("patients.Visit", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    recorded_on = models.DateField()
    method = models.CharField(max_length=20, choices=AdherenceMethod.choices)
    missed_doses = models.PositiveSmallIntegerField(default=0, help_text="Doses missed since the last record.")
    lapse_reason = models.CharField(max_length=200, blank=True)
    full_adherence_confirmed = models.BooleanField(
        "Full adherence confirmed",
        default=False,
        help_text="The clinician confirmed every dose is taken: a poor response is then treatment failure "
        "(seed 004: 'despite full adherence'), not missed doses.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-recorded_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(full_adherence_confirmed=False) | Q(missed_doses=0),
                name="adherence_confirmed_full_means_no_missed_doses",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} on {self.recorded_on}: {self.missed_doses} missed"


class AdverseEventKind(models.TextChoices):
    CYTOPENIA = "cytopenia", "Cytopenia"
    HEPATOTOXICITY = "hepatotoxicity", "Hepatotoxicity"
    PANCREATITIS = "pancreatitis", "Pancreatitis"
    NAUSEA = "nausea", "Nausea / vomiting"
    RASH = "rash", "Rash"
    PRURITUS = "pruritus", "Pruritus"
    JAUNDICE = "jaundice", "Jaundice"
    EOSINOPHILIA = "eosinophilia", "Eosinophilia"
    INFECTION = "infection", "Infection"
    ARTHRALGIA = "arthralgia", "Arthralgia"
    STEROID_EFFECT = "steroid_effect", "Steroid side effect"
    OTHER = "other", "Other"


class AdverseEvent(models.Model):
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="adverse_events")
    course = models.ForeignKey(
        MedicationCourse,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="adverse_events",
        help_text="The course suspected of causing it.",
    )
    visit = models.ForeignKey("patients.Visit", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    onset_on = models.DateField()
    kind = models.CharField(max_length=20, choices=AdverseEventKind.choices)
    grade = models.PositiveSmallIntegerField("CTCAE grade (1-5)", null=True, blank=True)
    description = models.TextField(blank=True)
    resolved_on = models.DateField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-onset_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(grade__isnull=True) | (Q(grade__gte=1) & Q(grade__lte=5)), name="adverse_event_grade_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(resolved_on__isnull=True) | Q(resolved_on__gte=F("onset_on")),
                name="adverse_event_resolved_after_onset",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.onset_on}"


class PrescribingOverride(models.Model):
    """A physician went ahead despite a critical prescribing safety finding, and said why."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="prescribing_overrides")
    course = models.ForeignKey(
        MedicationCourse,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="overrides",
        help_text="The course prescribed (or whose dose was changed) despite the finding.",
    )
    rule_id = models.CharField(max_length=16)
    severity = models.CharField(max_length=10)
    finding_message = models.TextField()
    evidence = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    reason = models.TextField(help_text="Why the physician prescribed despite the finding.")
    overridden_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    overridden_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-overridden_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="override_reason_required"),
            models.CheckConstraint(condition=~Q(rule_id=""), name="override_rule_id_required"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} overridden by {self.overridden_by} on {self.overridden_at:%Y-%m-%d}"
