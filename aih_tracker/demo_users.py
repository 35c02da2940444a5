"""Demo accounts, one per role, for the embedded default. Never for a clinic's real server."""

from __future__ import annotations

from dataclasses import dataclass

from aih_tracker.models import Clinic, User
from aih_tracker.roles import Role

DEMO_PASSWORD = "aih-demo-2026"


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: Role


DEMO_USERS = (
    DemoUser("staff", "Sam", "Reception", Role.STAFF),
    DemoUser("nurse", "Nora", "Nightingale", Role.NURSE),
    DemoUser("physician", "Priya", "Hepat", Role.PHYSICIAN),
    DemoUser("admin", "Alex", "Admin", Role.ADMIN),
)


def create_demo_users(clinic: Clinic | None = None) -> list[User]:
    """Create (or reset) one user per role in the clinic. Idempotent."""
    clinic = clinic or Clinic.default()
    users = []
    for demo in DEMO_USERS:
        user, _ = User.objects.update_or_create(
            username=demo.username,
            defaults={
                "first_name": demo.first_name,
                "last_name": demo.last_name,
                "role": demo.role,
                "clinic": clinic,
                "is_staff": True,
                "is_active": True,
            },
        )
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        users.append(user)
    return users
