from django.core.management.base import BaseCommand

from aih_tracker.roles import PERMISSION_MATRIX, Role


def permission_matrix_markdown() -> str:
    roles = list(Role)
    lines = [
        "| may … | " + " | ".join(role.label for role in roles) + " |",
        "| --- | " + " | ".join("---" for _ in roles) + " |",
    ]
    for action, allowed in PERMISSION_MATRIX.items():
        cells = " | ".join("yes" if role in allowed else "–" for role in roles)
        lines.append(f"| {action.label} | {cells} |")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Print the role permission matrix as a Markdown table (the README's copy must match)."

    def handle(self, *args, **options):
        self.stdout.write(permission_matrix_markdown())
