from django.db import migrations

# A default clinic exists right after `migrate`, so commands that take --clinic can default to it.


def create_default_clinic(apps, schema_editor):
    Clinic = apps.get_model("aih_tracker", "Clinic")
    Clinic.objects.get_or_create(slug="default", defaults={"name": "Default clinic"})


class Migration(migrations.Migration):
    dependencies = [("aih_tracker", "0001_initial")]

    operations = [migrations.RunPython(create_default_clinic, migrations.RunPython.noop)]
