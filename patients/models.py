"""Patients and everything the clinic records about them besides labs and drugs."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class PatientStatus(models.TextChoices):
    ACTIVE = "active", "Under follow-up"
    DISCHARGED = "discharged", "Discharged"
    TRANSFERRED = "transferred", "Transferred"
    DECEASED = "deceased", "Deceased"


class AihType(models.TextChoices):
    TYPE_1 = "type1", "Type 1 (ANA/SMA)"
    TYPE_2 = "type2", "Type 2 (LKM-1)"
    SERONEGATIVE = "seronegative", "Seronegative"
    VARIANT_PBC = "variant_pbc", "AIH-PBC variant"
    VARIANT_PSC = "variant_psc", "AIH-PSC variant"
    UNKNOWN = "unknown", "Not yet classified"


class YesNoUnknown(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    UNKNOWN = "unknown", "Unknown"


class CirrhosisBasis(models.TextChoices):
    HISTOLOGY = "histology", "Histology"
    ELASTOGRAPHY = "elastography", "Elastography"
    IMAGING = "imaging", "Imaging"
    CLINICAL = "clinical", "Clinical"


class Shunt(models.TextChoices):
    NONE = "none", "None known"
    TIPS = "tips", "TIPS"
    SURGICAL = "surgical", "Surgical shunt"
    SPONTANEOUS = "spontaneous", "Large spontaneous shunt"


class PatientQuerySet(models.QuerySet):
    def for_clinic(self, clinic) -> PatientQuerySet:
        return self.filter(clinic=clinic)

    def active(self) -> PatientQuerySet:
        return self.filter(status=PatientStatus.ACTIVE)

    def search(self, text: str) -> PatientQuerySet:
        text = text.strip()
        if not text:
            return self
        return self.filter(Q(mrn__icontains=text) | Q(family_name__icontains=text) | Q(given_name__icontains=text))


class Patient(models.Model):
    clinic = models.ForeignKey("aih_tracker.Clinic", on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("MRN", max_length=64, help_text="Medical record number, unique within the clinic.")
    family_name = models.CharField(max_length=100)
    given_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices)
    status = models.CharField(max_length=12, choices=PatientStatus.choices, default=PatientStatus.ACTIVE)
    aih_type = models.CharField("AIH type", max_length=16, choices=AihType.choices, default=AihType.UNKNOWN)
    diagnosis_date = models.DateField(null=True, blank=True)
    viral_hepatitis_excluded = models.BooleanField(
        null=True, blank=True, help_text="For the IAIHG simplified score: viral hepatitis markers negative."
    )
    reproductive_potential = models.CharField(max_length=8, choices=YesNoUnknown.choices, default=YesNoUnknown.UNKNOWN)
    cirrhosis_diagnosed_on = models.DateField(null=True, blank=True)
    cirrhosis_basis = models.CharField(max_length=16, choices=CirrhosisBasis.choices, blank=True)
    portosystemic_shunt = models.CharField(max_length=12, choices=Shunt.choices, default=Shunt.NONE)
    advanced_fibrosis = models.BooleanField(
        default=False, help_text="Advanced fibrosis (F3) without cirrhosis; budesonide caution (CI-03b)."
    )
    liver_transplant_on = models.DateField(
        "Liver transplant on",
        null=True,
        blank=True,
        help_text="Transplanted: followed for AIH recurrence (up to 30%) instead of referral for transplant.",
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PatientQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["family_name", "given_name", "mrn"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "mrn"], name="patient_mrn_unique_in_clinic"),
            models.CheckConstraint(condition=~Q(mrn=""), name="patient_mrn_not_blank"),
            models.CheckConstraint(condition=Q(sex__in=Sex.values), name="patient_sex_valid"),
            models.CheckConstraint(
                condition=(Q(cirrhosis_diagnosed_on__isnull=True) & Q(cirrhosis_basis=""))
                | (Q(cirrhosis_diagnosed_on__isnull=False) & ~Q(cirrhosis_basis="")),
                name="patient_cirrhosis_date_and_basis_together",
            ),
            models.CheckConstraint(
                condition=Q(diagnosis_date__isnull=True) | Q(diagnosis_date__gte=models.F("date_of_birth")),
                name="patient_diagnosis_after_birth",
            ),
        ]
        indexes = [models.Index(fields=["clinic", "status"])]

    def __str__(self) -> str:
        return f"{self.family_name.upper()}, {self.given_name} ({self.mrn})"

    def clean(self) -> None:
        if self.date_of_birth and self.date_of_birth > date.today():
            raise ValidationError({"date_of_birth": "Date of birth cannot be in the future."})
        if bool(self.cirrhosis_diagnosed_on) != bool(self.cirrhosis_basis):
            raise ValidationError({"cirrhosis_basis": "Give both the date cirrhosis was found and its basis."})

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age_on(self, on: date) -> int:
        dob = self.date_of_birth
        return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))

    @property
    def has_cirrhosis(self) -> bool:
        return self.cirrhosis_diagnosed_on is not None


class PatientRecord(models.Model):
    """Base for rows that belong to one patient."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE)

    class Meta:
        abstract = True


class Antibody(models.TextChoices):
    ANA = "ana", "ANA"
    SMA = "sma", "SMA (ASMA)"
    LKM1 = "lkm1", "LKM-1"
    SLA_LP = "sla_lp", "SLA/LP"
    AMA = "ama", "AMA"


class Autoantibody(PatientRecord):
    antibody = models.CharField(max_length=8, choices=Antibody.choices)
    positive = models.BooleanField()
    titre = models.PositiveIntegerField(
        null=True, blank=True, help_text="Denominator of the titre: 160 for 1:160. Blank for ELISA results."
    )
    tested_on = models.DateField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["-tested_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(titre__isnull=True) | Q(titre__gt=0), name="autoantibody_titre_positive"
            ),
            models.CheckConstraint(condition=Q(antibody__in=Antibody.values), name="autoantibody_kind_valid"),
        ]

    def __str__(self) -> str:
        titre = f" 1:{self.titre}" if self.titre else ""
        return f"{self.get_antibody_display()} {'positive' if self.positive else 'negative'}{titre}"


class Gene(models.TextChoices):
    TPMT = "tpmt", "TPMT"
    NUDT15 = "nudt15", "NUDT15"


class MetaboliserPhenotype(models.TextChoices):
    NORMAL = "normal", "Normal metaboliser"
    INTERMEDIATE = "intermediate", "Intermediate metaboliser"
    POOR = "poor", "Poor metaboliser (deficient)"
    HIGH = "high", "High activity"
    INDETERMINATE = "indeterminate", "Indeterminate"


class PharmacogeneticTest(PatientRecord):
    """TPMT or NUDT15 result: the lab's phenotype category, and activity or genotype as reported."""

    gene = models.CharField(max_length=8, choices=Gene.choices)
    phenotype = models.CharField(max_length=16, choices=MetaboliserPhenotype.choices)
    activity = models.FloatField(null=True, blank=True)
    activity_unit = models.CharField(max_length=40, blank=True, help_text="As the lab reports it, e.g. U/mL RBC.")
    deficiency_cutoff = models.FloatField(
        null=True, blank=True, help_text="The lab's activity below which it calls the result deficient."
    )
    genotype = models.CharField(max_length=40, blank=True, help_text="Star alleles, e.g. *1/*3A.")
    tested_on = models.DateField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["-tested_on"]
        constraints = [
            models.CheckConstraint(condition=Q(gene__in=Gene.values), name="pgx_gene_valid"),
            models.CheckConstraint(
                condition=Q(activity__isnull=True) | Q(activity__gte=0), name="pgx_activity_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(activity__isnull=True) | ~Q(activity_unit=""), name="pgx_activity_has_unit"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_gene_display()}: {self.get_phenotype_display()} ({self.tested_on})"


WEIGHT_PLAUSIBLE_KG = (0.5, 400)  # exclusive bounds: a data-entry sanity check, not a clinical threshold


class WeightMeasurement(PatientRecord):
    PLAUSIBLE_KG = WEIGHT_PLAUSIBLE_KG

    measured_on = models.DateField()
    weight_kg = models.FloatField()
    visit = models.ForeignKey("Visit", on_delete=models.SET_NULL, null=True, blank=True, related_name="weights")

    history = HistoricalRecords()

    class Meta:
        ordering = ["-measured_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weight_kg__gt=WEIGHT_PLAUSIBLE_KG[0]) & Q(weight_kg__lt=WEIGHT_PLAUSIBLE_KG[1]),
                name="weight_plausible",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.weight_kg:g} kg on {self.measured_on}"


class PregnancyKind(models.TextChoices):
    PREGNANT = "pregnant", "Pregnant"
    PLANNED = "planned", "Planning pregnancy"


class PregnancyEpisode(PatientRecord):
    """A pregnancy, or a documented plan to conceive (CI-06, WD-01d)."""

    kind = models.CharField(max_length=8, choices=PregnancyKind.choices, default=PregnancyKind.PREGNANT)
    started_on = models.DateField(help_text="Conception estimate, or the date the plan was recorded.")
    expected_on = models.DateField(null=True, blank=True, help_text="Due date, or the planned conception date.")
    ended_on = models.DateField(null=True, blank=True)
    outcome = models.CharField(max_length=100, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-started_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="pregnancy_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.started_on}"

    def is_current(self, on: date) -> bool:
        return self.started_on <= on and (self.ended_on is None or self.ended_on >= on)


class ContraceptionMethod(models.TextChoices):
    IUD = "iud", "Intrauterine device"
    IMPLANT = "implant", "Implant"
    INJECTION = "injection", "Injection"
    PILL = "pill", "Oral contraceptive"
    BARRIER = "barrier", "Barrier"
    STERILISATION = "sterilisation", "Sterilisation"
    OTHER = "other", "Other"


class ContraceptionRecord(PatientRecord):
    method = models.CharField(max_length=16, choices=ContraceptionMethod.choices)
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-started_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="contraception_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} from {self.started_on}"


class TestResult(models.TextChoices):
    NEGATIVE = "negative", "Negative"
    POSITIVE = "positive", "Positive"


class PregnancyTest(PatientRecord):
    tested_on = models.DateField()
    result = models.CharField(max_length=8, choices=TestResult.choices)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-tested_on"]

    def __str__(self) -> str:
        return f"Pregnancy test {self.result} on {self.tested_on}"


class Virus(models.TextChoices):
    HAV = "hav", "Hepatitis A"
    HBV = "hbv", "Hepatitis B"


class ImmunityStatus(models.TextChoices):
    IMMUNE_VACCINATED = "immune_vaccinated", "Immune (vaccinated)"
    IMMUNE_NATURAL = "immune_natural", "Immune (past infection)"
    SUSCEPTIBLE = "susceptible", "Susceptible"
    INFECTED = "infected", "Current infection"


class HepatitisImmunity(PatientRecord):
    virus = models.CharField(max_length=4, choices=Virus.choices)
    status = models.CharField(max_length=20, choices=ImmunityStatus.choices)
    tested_on = models.DateField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["-tested_on"]
        verbose_name_plural = "hepatitis immunity results"

    def __str__(self) -> str:
        return f"{self.get_virus_display()}: {self.get_status_display()}"


class Vaccine(models.TextChoices):
    HAV = "hav", "Hepatitis A"
    HBV = "hbv", "Hepatitis B"
    HAV_HBV = "hav_hbv", "Combined hepatitis A + B"


class Vaccination(PatientRecord):
    vaccine = models.CharField(max_length=8, choices=Vaccine.choices)
    dose_number = models.PositiveSmallIntegerField(default=1)
    given_on = models.DateField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["-given_on"]
        constraints = [models.CheckConstraint(condition=Q(dose_number__gte=1), name="vaccination_dose_from_one")]

    def __str__(self) -> str:
        return f"{self.get_vaccine_display()} dose {self.dose_number} on {self.given_on}"


class MalignancyKind(models.TextChoices):
    HCC = "hcc", "Hepatocellular carcinoma"
    LYMPHOMA = "lymphoma", "Lymphoma"
    SKIN = "skin", "Non-melanoma skin cancer"
    OTHER = "other", "Other"


class Malignancy(PatientRecord):
    kind = models.CharField(max_length=10, choices=MalignancyKind.choices)
    diagnosed_on = models.DateField()
    notes = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-diagnosed_on"]
        verbose_name_plural = "malignancies"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.diagnosed_on})"


class AcuteSevereEpisode(PatientRecord):
    """An acute severe AIH presentation; day 0 is the first day of high-dose steroids (ASA rules)."""

    presented_on = models.DateField()
    steroid_day0 = models.DateField(null=True, blank=True)
    hepatic_encephalopathy = models.BooleanField(
        default=False, help_text="HE present: AS-AIH with acute liver failure."
    )
    ended_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-presented_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(steroid_day0__isnull=True) | Q(steroid_day0__gte=models.F("presented_on")),
                name="asaih_day0_not_before_presentation",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("presented_on")),
                name="asaih_end_after_presentation",
            ),
        ]

    def __str__(self) -> str:
        return f"{'AS-AIH with ALF' if self.hepatic_encephalopathy else 'AS-AIH'} from {self.presented_on}"


class Ascites(models.TextChoices):
    NONE = "none", "None"
    MILD = "mild", "Mild / diuretic-controlled"
    MODERATE_SEVERE = "moderate_severe", "Moderate-severe / refractory"


class Visit(PatientRecord):
    visit_date = models.DateField()
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="visits"
    )
    ascites = models.CharField(max_length=16, choices=Ascites.choices, default=Ascites.NONE)
    encephalopathy_grade = models.PositiveSmallIntegerField(default=0, help_text="West Haven grade, 0 (none) to 4.")
    jaundice = models.BooleanField(default=False)
    variceal_bleed = models.BooleanField(default=False)
    varices = models.BooleanField(null=True, blank=True)
    splenomegaly = models.BooleanField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submission_key = models.CharField(
        max_length=32,
        null=True,
        blank=True,
        unique=True,
        editable=False,
        help_text="The visit form's one-time key: the same form sent twice saves one visit.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-visit_date"]
        constraints = [
            models.CheckConstraint(condition=Q(encephalopathy_grade__lte=4), name="visit_he_grade_0_to_4"),
            models.CheckConstraint(condition=Q(ascites__in=Ascites.values), name="visit_ascites_valid"),
        ]

    def __str__(self) -> str:
        return f"Visit on {self.visit_date}"


class DexaCategory(models.TextChoices):
    NORMAL = "normal", "Normal"
    OSTEOPENIA = "osteopenia", "Osteopenia"
    OSTEOPOROSIS = "osteoporosis", "Osteoporosis"


class DexaScan(PatientRecord):
    scanned_on = models.DateField()
    lowest_t_score = models.FloatField(null=True, blank=True)
    category = models.CharField(max_length=12, choices=DexaCategory.choices, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-scanned_on"]
        verbose_name = "DEXA scan"
        constraints = [
            models.CheckConstraint(
                condition=Q(lowest_t_score__isnull=True) | (Q(lowest_t_score__gte=-10) & Q(lowest_t_score__lte=10)),
                name="dexa_t_score_plausible",
            ),
        ]

    def __str__(self) -> str:
        return f"DEXA on {self.scanned_on}"


class Histology(models.TextChoices):
    TYPICAL = "typical", "Typical of AIH"
    COMPATIBLE = "compatible", "Compatible with AIH"
    ATYPICAL = "atypical", "Atypical"


class LiverBiopsy(PatientRecord):
    performed_on = models.DateField()
    hai = models.PositiveSmallIntegerField("HAI (0-18)", null=True, blank=True)
    fibrosis_stage = models.PositiveSmallIntegerField("Fibrosis stage (Ishak 0-6)", null=True, blank=True)
    histology = models.CharField(max_length=12, choices=Histology.choices, blank=True)
    notes = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-performed_on"]
        verbose_name_plural = "liver biopsies"
        constraints = [
            models.CheckConstraint(condition=Q(hai__isnull=True) | Q(hai__lte=18), name="biopsy_hai_0_to_18"),
            models.CheckConstraint(
                condition=Q(fibrosis_stage__isnull=True) | Q(fibrosis_stage__lte=6), name="biopsy_ishak_0_to_6"
            ),
        ]

    def __str__(self) -> str:
        return f"Liver biopsy on {self.performed_on}"


class Relapse(PatientRecord):
    """A relapse a clinician has confirmed (the engine's REL alerts propose; this records)."""

    diagnosed_on = models.DateField()
    after_withdrawal = models.BooleanField(default=False, help_text="Relapse after all treatment was stopped.")
    notes = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-diagnosed_on"]

    def __str__(self) -> str:
        return f"Relapse on {self.diagnosed_on}"
