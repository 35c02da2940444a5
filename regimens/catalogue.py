"""The drug catalogue as data. `sync_drug_catalogue()` loads it into the Drug table after migrate.

RxNorm ingredient codes are the ones named in the interop issue (FHIR import maps by them).
`prednisolone_equivalent` converts mg/day to prednisolone-equivalent mg for cumulative
steroid exposure; budesonide has none (high first-pass metabolism), so it is None.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class DrugClass(models.TextChoices):
    SYSTEMIC_STEROID = "systemic_steroid", "Systemic corticosteroid"
    BUDESONIDE = "budesonide", "Budesonide"
    THIOPURINE = "thiopurine", "Thiopurine"
    MYCOPHENOLATE = "mycophenolate", "Mycophenolate"
    CALCINEURIN_INHIBITOR = "calcineurin_inhibitor", "Calcineurin inhibitor"
    BIOLOGIC = "biologic", "Biologic"
    BILE_ACID = "bile_acid", "Bile acid"
    XANTHINE_OXIDASE_INHIBITOR = "xanthine_oxidase_inhibitor", "Xanthine-oxidase inhibitor"
    BONE_PROTECTION = "bone_protection", "Bone protection"
    CYP3A4_INHIBITOR = "cyp3a4_inhibitor", "Strong CYP3A4 inhibitor"


# Classes that count as immunosuppression for "on therapy" / "all treatment stopped".
IMMUNOSUPPRESSANT_CLASSES = frozenset(
    {
        DrugClass.SYSTEMIC_STEROID,
        DrugClass.BUDESONIDE,
        DrugClass.THIOPURINE,
        DrugClass.MYCOPHENOLATE,
        DrugClass.CALCINEURIN_INHIBITOR,
        DrugClass.BIOLOGIC,
    }
)


@dataclass(frozen=True)
class DrugEntry:
    code: str
    name: str
    drug_class: DrugClass
    rxnorm: str = ""
    prednisolone_equivalent: float | None = None


DRUGS: tuple[DrugEntry, ...] = (
    DrugEntry("prednisone", "Prednisone", DrugClass.SYSTEMIC_STEROID, "8640", 1.0),
    DrugEntry("prednisolone", "Prednisolone", DrugClass.SYSTEMIC_STEROID, "8638", 1.0),
    DrugEntry("methylprednisolone", "Methylprednisolone", DrugClass.SYSTEMIC_STEROID, "6902", 1.25),
    DrugEntry("budesonide", "Budesonide", DrugClass.BUDESONIDE, "19831"),
    DrugEntry("azathioprine", "Azathioprine", DrugClass.THIOPURINE, "1256"),
    DrugEntry("mercaptopurine", "6-Mercaptopurine", DrugClass.THIOPURINE, "103"),
    DrugEntry("thioguanine", "Thioguanine", DrugClass.THIOPURINE, "10485"),
    DrugEntry("mycophenolate_mofetil", "Mycophenolate mofetil", DrugClass.MYCOPHENOLATE, "68149"),
    DrugEntry("mycophenolic_acid", "Mycophenolic acid", DrugClass.MYCOPHENOLATE, "1311575"),
    DrugEntry("tacrolimus", "Tacrolimus", DrugClass.CALCINEURIN_INHIBITOR, "42316"),
    DrugEntry("cyclosporine", "Ciclosporin", DrugClass.CALCINEURIN_INHIBITOR, "3008"),
    DrugEntry("rituximab", "Rituximab", DrugClass.BIOLOGIC, "121191"),
    DrugEntry("infliximab", "Infliximab", DrugClass.BIOLOGIC, "191831"),
    DrugEntry("ursodeoxycholic_acid", "Ursodeoxycholic acid", DrugClass.BILE_ACID, "62427"),
    DrugEntry("allopurinol", "Allopurinol", DrugClass.XANTHINE_OXIDASE_INHIBITOR, "519"),
    DrugEntry("febuxostat", "Febuxostat", DrugClass.XANTHINE_OXIDASE_INHIBITOR, "73689"),
    DrugEntry("calcium_vitamin_d", "Calcium + vitamin D", DrugClass.BONE_PROTECTION),
    DrugEntry("alendronate", "Alendronic acid", DrugClass.BONE_PROTECTION, "46041"),
    DrugEntry("ketoconazole", "Ketoconazole", DrugClass.CYP3A4_INHIBITOR, "6135"),
    DrugEntry("ritonavir", "Ritonavir", DrugClass.CYP3A4_INHIBITOR, "85762"),
    DrugEntry("cobicistat", "Cobicistat", DrugClass.CYP3A4_INHIBITOR, "1545653"),
)


def sync_drug_catalogue(drug_model) -> None:
    """Insert or update every catalogue drug; leaves drugs a clinic added itself alone."""
    for entry in DRUGS:
        drug_model.objects.update_or_create(
            code=entry.code,
            defaults={
                "name": entry.name,
                "drug_class": entry.drug_class,
                "rxnorm": entry.rxnorm,
                "prednisolone_equivalent": entry.prednisolone_equivalent,
                "is_immunosuppressant": entry.drug_class in IMMUNOSUPPRESSANT_CLASSES,
            },
        )
