"""Labs, reference intervals, clinical parameters and alerts."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from monitoring.catalogue import UnitNotAccepted, to_canonical
from monitoring.parameters import BY_KEY, override_problem


class Analyte(models.Model):
    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=100)
    loinc = models.CharField("LOINC", max_length=20, blank=True)
    other_loincs = models.JSONField(default=list, blank=True)
    canonical_unit = models.CharField(max_length=30)
    units = models.JSONField(default=dict, help_text="Accepted unit spelling -> factor to the canonical unit.")
    plausible_min = models.FloatField()
    plausible_max = models.FloatField()
    typical_low = models.FloatField(null=True, blank=True)
    typical_high = models.FloatField(null=True, blank=True)
    typical_high_female = models.FloatField(null=True, blank=True)
    typical_high_male = models.FloatField(null=True, blank=True)
    panel = models.CharField(max_length=10, blank=True)
    decimals = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(plausible_max__gt=F("plausible_min")), name="analyte_plausible_range"),
        ]

    def __str__(self) -> str:
        return self.name

    def to_canonical(self, value: float, unit: str) -> float:
        return to_canonical(self.units, value, unit, self.name)

    def typical_uln(self, sex: str) -> float | None:
        if sex == "female" and self.typical_high_female is not None:
            return self.typical_high_female
        if sex == "male" and self.typical_high_male is not None:
            return self.typical_high_male
        return self.typical_high


def plausible_uln_bounds(analyte: Analyte) -> tuple[float, float]:
    """(lowest, highest) upper reference limit a lab can plausibly report for the analyte, canonical unit:
    its typical upper limits (any sex) divided or multiplied by `reference_uln_plausible_factor`, never
    above its plausible values. Without a typical upper limit: anything above 0 up to the plausible maximum."""
    factor = BY_KEY["reference_uln_plausible_factor"].default
    typical = [u for u in (analyte.typical_high, analyte.typical_high_female, analyte.typical_high_male) if u]
    if not typical:
        return 0.0, analyte.plausible_max
    return min(typical) / factor, min(analyte.plausible_max, max(typical) * factor)


def reference_range_problem(analyte: Analyte, low: float | None, high: float | None) -> str | None:
    """Why (low, high), in the analyte's canonical unit, is impossible as its reference range; None if
    possible. Every entry path asks this one function (visit form, HL7, FHIR, admin, reference intervals)."""
    unit = analyte.canonical_unit
    if low is not None and high is not None:
        shown = f"{low:g}-{high:g} {unit}"
    elif high is not None:
        shown = f"≤ {high:g} {unit}"
    elif low is not None:
        shown = f"≥ {low:g} {unit}"
    else:
        return None
    why = ""
    if low is not None and low < 0:
        why = "the lower limit cannot be negative"
    elif high is not None and high <= 0:
        why = "the upper limit must be above 0" + (" and above the lower limit" if low is not None else "")
    elif low is not None and high is not None and high <= low:
        why = "the upper limit must be above the lower limit"
    elif high is not None:
        lowest, highest = plausible_uln_bounds(analyte)
        if not lowest < high <= highest:
            why = f"an upper limit of {analyte.name} is plausibly {lowest:g}-{highest:g} {unit}"
    return f"The reference range {shown} is impossible for {analyte.name}: {why}." if why else None


class RefSex(models.TextChoices):
    ANY = "any", "Any"
    FEMALE = "female", "Female"
    MALE = "male", "Male"


class ReferenceInterval(models.Model):
    """The clinic's default reference interval for an analyte (used when a result reports none)."""

    clinic = models.ForeignKey("aih_tracker.Clinic", on_delete=models.CASCADE, related_name="reference_intervals")
    analyte = models.ForeignKey(Analyte, on_delete=models.CASCADE, related_name="reference_intervals")
    sex = models.CharField(max_length=6, choices=RefSex.choices, default=RefSex.ANY)
    low = models.FloatField(null=True, blank=True)
    high = models.FloatField(null=True, blank=True)
    lab_name = models.CharField(max_length=100, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["analyte__name", "sex"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "analyte", "sex"], name="reference_interval_unique"),
            models.CheckConstraint(
                condition=Q(low__isnull=True) | Q(high__isnull=True) | Q(high__gte=F("low")),
                name="reference_interval_high_not_below_low",
            ),
            models.CheckConstraint(
                condition=Q(low__isnull=False) | Q(high__isnull=False), name="reference_interval_has_a_limit"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.analyte}: {self.low}-{self.high} ({self.get_sex_display()})"

    def clean(self) -> None:
        if self.analyte_id is not None and (problem := reference_range_problem(self.analyte, self.low, self.high)):
            raise ValidationError({"high": problem})


class LabSource(models.TextChoices):
    MANUAL = "manual", "Entered by hand"
    HL7 = "hl7", "HL7 v2"
    FHIR = "fhir", "FHIR"
    DEMO = "demo", "Demo generator"


class ResultStatus(models.TextChoices):
    FINAL = "final", "Final"
    PRELIMINARY = "preliminary", "Preliminary"
    CORRECTED = "corrected", "Corrected"


class LabResultQuerySet(models.QuerySet):
    def final(self) -> LabResultQuerySet:
        return self.exclude(status=ResultStatus.PRELIMINARY)


class LabResult(models.Model):
    """One analyte result, stored in the analyte's canonical unit with the lab's own range."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="lab_results")
    analyte = models.ForeignKey(Analyte, on_delete=models.PROTECT, related_name="results")
    value = models.FloatField(help_text="In the analyte's canonical unit.")
    value_as_reported = models.CharField(max_length=40)
    unit_as_reported = models.CharField(max_length=40, blank=True)
    ref_low = models.FloatField(null=True, blank=True, help_text="Lower limit as reported, canonical unit.")
    ref_high = models.FloatField(null=True, blank=True, help_text="Upper limit (ULN) as reported, canonical unit.")
    collected_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=ResultStatus.choices, default=ResultStatus.FINAL)
    source = models.CharField(max_length=8, choices=LabSource.choices, default=LabSource.MANUAL)
    source_id = models.CharField(max_length=120, blank=True, help_text="Identifier in the source, for de-duplication.")
    visit = models.ForeignKey(
        "patients.Visit", on_delete=models.SET_NULL, null=True, blank=True, related_name="lab_results"
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LabResultQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-collected_at"]
        constraints = [
            models.CheckConstraint(condition=Q(value__gte=0), name="lab_value_not_negative"),
            models.CheckConstraint(
                condition=Q(ref_low__isnull=True) | Q(ref_high__isnull=True) | Q(ref_high__gte=F("ref_low")),
                name="lab_reference_high_not_below_low",
            ),
            models.CheckConstraint(
                condition=Q(ref_low__isnull=True) | Q(ref_low__gte=0), name="lab_reference_low_not_negative"
            ),
            models.UniqueConstraint(
                fields=["patient", "analyte", "source", "source_id"],
                condition=~Q(source_id=""),
                name="lab_result_unique_per_source_id",
            ),
        ]
        indexes = [models.Index(fields=["patient", "analyte", "collected_at"])]

    def __str__(self) -> str:
        return f"{self.analyte} {self.value:g} {self.analyte.canonical_unit} at {self.collected_at:%Y-%m-%d}"

    def clean(self) -> None:
        analyte = self.analyte
        if self.value is not None and not analyte.plausible_min <= self.value <= analyte.plausible_max:
            raise ValidationError(
                {
                    "value": f"{analyte.name} {self.value:g} {analyte.canonical_unit} is outside the plausible range "
                    f"{analyte.plausible_min:g}-{analyte.plausible_max:g}."
                }
            )
        if problem := reference_range_problem(analyte, self.ref_low, self.ref_high):
            raise ValidationError({"ref_high": problem})

    @property
    def fold_uln(self) -> float | None:
        if not self.ref_high:
            return None
        return self.value / self.ref_high


class ClinicalParameter(models.Model):
    """A clinic's override of one default in monitoring/parameters.py."""

    clinic = models.ForeignKey("aih_tracker.Clinic", on_delete=models.CASCADE, related_name="parameters")
    key = models.CharField(max_length=60)
    value = models.JSONField()
    reason = models.TextField(help_text="Why the clinic runs with this value, and who signed it off.")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["clinic", "key"], name="clinical_parameter_unique")]

    def __str__(self) -> str:
        return f"{self.key} = {self.value}"

    def clean(self) -> None:
        spec = BY_KEY.get(self.key)
        if spec is None:
            raise ValidationError({"key": f"Unknown parameter '{self.key}'."})
        if spec.default is not None and self.value is not None:
            if isinstance(spec.default, bool) and not isinstance(self.value, bool):
                raise ValidationError({"value": "Give true or false."})
            if isinstance(spec.default, list) and (
                not isinstance(self.value, list) or len(self.value) != len(spec.default)
            ):
                raise ValidationError({"value": f"Give a list of {len(spec.default)} values, like {spec.default}."})
            is_number = isinstance(spec.default, int | float) and not isinstance(spec.default, bool)
            if is_number and (isinstance(self.value, bool) or not isinstance(self.value, int | float)):
                raise ValidationError({"value": "Give a number."})
            if problem := override_problem(spec, self.value):
                raise ValidationError({"value": problem})

    @property
    def default(self):
        spec = BY_KEY.get(self.key)
        return spec.default if spec else None


class Severity(models.IntegerChoices):
    INFO = 1, "info"
    WARNING = 2, "warning"
    HIGH = 3, "high"
    CRITICAL = 4, "critical"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    SNOOZED = "snoozed", "Snoozed"
    RESOLVED = "resolved", "Resolved"


class Resolution(models.TextChoices):
    BY_USER = "by_user", "Resolved by a clinician"
    BY_DATA = "by_data", "Resolved by data"


class AlertQuerySet(models.QuerySet):
    def for_user(self, user) -> AlertQuerySet:
        """Alerts of the patients this user may see (their clinic; every clinic for a superuser)."""
        return self if user.is_superuser else self.filter(patient__clinic_id=user.clinic_id)

    def unresolved(self) -> AlertQuerySet:
        return self.exclude(status=AlertStatus.RESOLVED)

    def to_work(self) -> AlertQuerySet:
        """What the queue shows: open or acknowledged (a snoozed alert is quiet until it wakes)."""
        return self.filter(status__in=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED))

    def snoozed(self) -> AlertQuerySet:
        return self.filter(status=AlertStatus.SNOOZED)

    def resolved_by_data(self) -> AlertQuerySet:
        return self.filter(status=AlertStatus.RESOLVED, resolution=Resolution.BY_DATA)

    def urgent(self) -> AlertQuerySet:
        """Critical and high alerts nobody has acknowledged yet: the nav badge."""
        return self.filter(status=AlertStatus.OPEN, severity__gte=Severity.HIGH)

    def in_queue_order(self) -> AlertQuerySet:
        """Most severe first, then oldest first (the longest-waiting problem comes up)."""
        return self.order_by("-severity", "opened_at", "pk")


class Alert(models.Model):
    """One patient-problem: a rule that fired for a patient, in one episode."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="alerts")
    rule_id = models.CharField(max_length=16)
    episode = models.PositiveIntegerField(default=1)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    resolution = models.CharField(max_length=8, choices=Resolution.choices, blank=True)
    message = models.CharField(max_length=300)
    evidence = models.JSONField(default=dict)
    suggested_action = models.TextField(blank=True)
    source = models.TextField(blank=True)
    parameters = models.JSONField(default=dict, help_text="Parameter values the finding used.")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_alerts"
    )
    snoozed_until = models.DateField(null=True, blank=True)
    snooze_reason = models.CharField(max_length=200, blank=True)
    resolution_note = models.TextField(blank=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="Raised on every change; guards concurrent edits.")

    objects = AlertQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-severity", "opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "rule_id", "episode"], name="alert_unique_episode"),
            models.UniqueConstraint(
                fields=["patient", "rule_id"],
                condition=~Q(status=AlertStatus.RESOLVED),
                name="alert_one_unresolved_per_rule",
            ),
            models.CheckConstraint(condition=Q(severity__gte=1) & Q(severity__lte=4), name="alert_severity_valid"),
            models.CheckConstraint(
                condition=~Q(status=AlertStatus.SNOOZED) | (Q(snoozed_until__isnull=False) & ~Q(snooze_reason="")),
                name="alert_snooze_needs_date_and_reason",
            ),
            models.CheckConstraint(
                condition=(Q(status=AlertStatus.RESOLVED) & ~Q(resolution="") & Q(resolved_at__isnull=False))
                | (~Q(status=AlertStatus.RESOLVED) & Q(resolution="")),
                name="alert_resolution_iff_resolved",
            ),
            models.CheckConstraint(
                condition=~Q(resolution=Resolution.BY_USER) | ~Q(resolution_note=""),
                name="alert_user_resolution_needs_note",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "severity"]),
            # The queue's first page: what is to work on, in queue order, without a sort.
            models.Index(
                F("severity").desc(),
                "opened_at",
                "id",
                condition=Q(status__in=("open", "acknowledged")),
                name="alert_to_work_queue_order",
            ),
            # Tab counts and dashboard tiles per patient, answered from the index alone.
            models.Index(
                fields=["patient", "status", "resolution", "severity", "rule_id"], name="alert_patient_status_cover"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} #{self.episode} ({self.get_severity_display()}, {self.status})"


class AlertActionKind(models.TextChoices):
    OPENED = "opened", "Opened"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    ASSIGNED = "assigned", "Assigned"
    SNOOZED = "snoozed", "Snoozed"
    WOKE = "woke", "Snooze ended"
    RESOLVED = "resolved", "Resolved"
    RESOLVED_BY_DATA = "resolved_by_data", "Resolved by data"
    SEVERITY_RAISED = "severity_raised", "Severity raised"
    SEVERITY_LOWERED = "severity_lowered", "Severity lowered"


class AlertAction(models.Model):
    """Who did what to an alert, when and why (the engine acts with `by` empty)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=20, choices=AlertActionKind.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.by or 'the engine'} at {self.at:%Y-%m-%d %H:%M}"


class ContactMethod(models.TextChoices):
    PHONE = "phone", "Phone"
    LETTER = "letter", "Letter"
    PORTAL = "portal", "Patient portal"


class ContactOutcome(models.TextChoices):
    BOOKED = "booked", "Reached: bloods booked"
    REACHED = "reached", "Reached: no booking"
    NO_ANSWER = "no_answer", "No answer"
    MESSAGE_LEFT = "message_left", "Message left"
    SENT = "sent", "Letter / message sent"


class LapseReason(models.TextChoices):
    SELF_STOPPED = "self_stopped", "Self-stopped treatment"
    MONITORED_ELSEWHERE = "monitored_elsewhere", "Monitored elsewhere"
    MOVED = "moved", "Moved away"
    OTHER = "other", "Other"


class RecallContact(models.Model):
    """One attempt to reach a patient whose bloods are due or overdue (the recall list)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="recall_contacts")
    panel = models.CharField(max_length=20, help_text="The panel the recall was about (FBC, LFT, ALT+IgG...).")
    due_on = models.DateField(null=True, blank=True, help_text="The due date shown when the contact was made.")
    contacted_on = models.DateField()
    method = models.CharField(max_length=8, choices=ContactMethod.choices)
    outcome = models.CharField(max_length=14, choices=ContactOutcome.choices)
    lapse_reason = models.CharField(max_length=20, choices=LapseReason.choices, blank=True)
    note = models.TextField(blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-contacted_on", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(lapse_reason=LapseReason.OTHER) | ~Q(note=""), name="recall_contact_other_needs_note"
            ),
        ]
        indexes = [models.Index(fields=["patient", "panel", "contacted_on"])]

    def __str__(self) -> str:
        return f"{self.get_method_display()} on {self.contacted_on:%Y-%m-%d}: {self.get_outcome_display()}"


# -- lab interop: every inbound message, and the clinic's local code table -----------------------


class InboundKind(models.TextChoices):
    HL7 = "hl7", "HL7 v2"
    FHIR = "fhir", "FHIR"


class InboundStatus(models.TextChoices):
    RECEIVED = "received", "Received (not yet processed)"
    ACCEPTED = "accepted", "Accepted"
    DUPLICATE = "duplicate", "Duplicate (already received)"
    QUARANTINED = "quarantined", "Quarantined"
    REPROCESSED = "reprocessed", "Accepted on reprocessing"


class InboundMessageQuerySet(models.QuerySet):
    def for_user(self, user) -> InboundMessageQuerySet:
        return self if user.is_superuser else self.filter(clinic_id=user.clinic_id)

    def quarantined(self) -> InboundMessageQuerySet:
        return self.filter(status=InboundStatus.QUARANTINED)


class InboundMessage(models.Model):
    """One message as received (HL7 v2 or FHIR), stored before anything is done with it.

    The raw text is written first, in its own transaction; processing then either imports the
    whole message or leaves it quarantined with the reasons (`items`, one per problem).
    """

    clinic = models.ForeignKey("aih_tracker.Clinic", on_delete=models.PROTECT, related_name="inbound_messages")
    kind = models.CharField(max_length=4, choices=InboundKind.choices)
    raw = models.TextField(help_text="The message exactly as received (decoded as UTF-8).")
    control_id = models.CharField(max_length=200, blank=True, help_text="MSH-10, or the FHIR resource id.")
    dedupe_key = models.CharField(
        max_length=255, blank=True, help_text="Sender + control id, or a hash of the text when there is no id."
    )
    sender = models.CharField(max_length=200, blank=True, help_text="MSH-3^MSH-4, or the FHIR source.")
    origin = models.CharField(max_length=200, blank=True, help_text="File name, MLLP peer or upload.")
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=InboundStatus.choices, default=InboundStatus.RECEIVED)
    reason = models.TextField(blank=True, help_text="Why it is quarantined, in one paragraph.")
    items = models.JSONField(default=list, blank=True, help_text="One entry per problem (or per imported item).")
    counts = models.JSONField(default=dict, blank=True, help_text="Results created, updated, unchanged, skipped.")
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_messages",
        help_text="Found by MRN, or chosen by staff on the review page.",
    )
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="duplicates"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    objects = InboundMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            # One stored original per dedupe key; repeats are kept too, as duplicates pointing at it.
            models.UniqueConstraint(
                fields=["clinic", "kind", "dedupe_key"],
                condition=~Q(dedupe_key="") & ~Q(status="duplicate"),
                name="inbound_message_unique_key",
            ),
            models.CheckConstraint(
                condition=~Q(status="quarantined") | ~Q(reason=""), name="inbound_message_quarantine_has_reason"
            ),
        ]
        indexes = [
            models.Index(fields=["clinic", "status", "received_at"]),
            # Finding the original of a repeat (the unique index above is partial, so not used for it).
            models.Index(fields=["clinic", "kind", "dedupe_key"], name="inbound_message_dedupe_key"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.control_id or '#' + str(self.pk)} ({self.status})"


class LocalCode(models.Model):
    """A laboratory's own code (or a LOINC the catalogue lacks) mapped to an analyte, per clinic.

    No analyte means "this clinic does not track it": results with that code are skipped on
    import (listed in the message's summary), instead of sending the message to quarantine.
    """

    clinic = models.ForeignKey("aih_tracker.Clinic", on_delete=models.CASCADE, related_name="local_codes")
    system = models.CharField(
        "coding system", max_length=100, blank=True, help_text="As sent (OBX-3.3, e.g. LN or L); empty matches any."
    )
    code = models.CharField(max_length=60)
    display = models.CharField(max_length=200, blank=True, help_text="The lab's name for it, for people.")
    analyte = models.ForeignKey(
        Analyte,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="local_codes",
        help_text="Leave empty to skip results with this code (not tracked by the clinic).",
    )
    unit = models.CharField(
        "unit override", max_length=40, blank=True, help_text="Read values in this unit, whatever the lab sent."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["system", "code"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "system", "code"], name="local_code_unique_in_clinic"),
            models.CheckConstraint(condition=~Q(code=""), name="local_code_not_blank"),
        ]

    def __str__(self) -> str:
        target = self.analyte.name if self.analyte_id else "skipped"
        return f"{self.system or '*'}:{self.code} -> {target}"

    def clean(self) -> None:
        if self.unit and not self.analyte_id:
            raise ValidationError({"unit": "A skipped code needs no unit."})
        if self.unit and self.analyte_id:
            try:
                self.analyte.to_canonical(1.0, self.unit)
            except UnitNotAccepted as error:
                raise ValidationError({"unit": str(error)}) from None


class EvaluationState(models.Model):
    """When a patient was last evaluated, and until when that evaluation holds (the incremental sweep).

    Every change to the patient's data bumps `data_version` in the same transaction (monitoring/changes.py
    `mark_changed`); an evaluation records the version it read, the first day its findings could
    differ (engine/horizon.py) and what it was computed from (rules, parameters, reference ranges). The
    nightly sweep evaluates exactly the patients for whom any of these no longer matches.
    """

    patient = models.OneToOneField(
        "patients.Patient", on_delete=models.CASCADE, primary_key=True, related_name="evaluation_state"
    )
    data_version = models.PositiveBigIntegerField(default=0)
    evaluated_version = models.PositiveBigIntegerField(null=True, blank=True)
    evaluated_on = models.DateField(null=True, blank=True)
    holds_until = models.DateField(null=True, blank=True)
    basis = models.CharField(max_length=64, blank=True)

    def __str__(self):
        return f"patient {self.patient_id}: evaluated {self.evaluated_on}, holds until {self.holds_until}"
