"""factory-boy factories for the main models. State beyond these goes through the services."""

from datetime import UTC, date, datetime

import factory

from aih_tracker.models import Clinic, User
from aih_tracker.roles import Role
from monitoring.models import Analyte, LabResult
from patients.models import Patient, Sex, Visit
from regimens.models import DoseChange, Drug, MedicationCourse


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"clinic-{n}")
    name = factory.Sequence(lambda n: f"Clinic {n}")


def default_clinic() -> Clinic:
    return Clinic.default()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    clinic = factory.LazyFunction(default_clinic)
    role = Role.STAFF
    is_staff = True
    password = factory.django.Password("correct horse battery staple")


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    clinic = factory.LazyFunction(default_clinic)
    mrn = factory.Sequence(lambda n: f"MRN{n:06d}")
    family_name = factory.Faker("last_name")
    given_name = factory.Faker("first_name")
    date_of_birth = date(1980, 5, 17)
    sex = Sex.FEMALE


class VisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Visit

    patient = factory.SubFactory(PatientFactory)
    visit_date = date(2025, 1, 6)


def drug(code: str) -> Drug:
    return Drug.objects.get(code=code)


def analyte(code: str) -> Analyte:
    return Analyte.objects.get(code=code)


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MedicationCourse

    patient = factory.SubFactory(PatientFactory)
    drug = factory.LazyFunction(lambda: drug("prednisolone"))
    started_on = date(2025, 1, 6)


class DoseChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DoseChange

    course = factory.SubFactory(CourseFactory)
    effective_on = factory.SelfAttribute("course.started_on")
    dose_mg_per_day = 40.0


class LabResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LabResult

    patient = factory.SubFactory(PatientFactory)
    analyte = factory.LazyFunction(lambda: analyte("alt"))
    value = 40.0
    value_as_reported = factory.LazyAttribute(lambda o: f"{o.value:g}")
    unit_as_reported = "U/L"
    ref_high = 40.0
    collected_at = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
