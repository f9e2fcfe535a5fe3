import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("experiments", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="gamedayreminder",
            name="game_day_reminder_once",
        ),
        migrations.AddField(
            model_name="gamedayreminder",
            name="scheduled_for",
            field=models.DateTimeField(default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="gamedayreminder",
            name="email",
            field=models.EmailField(blank=True, max_length=254),
        ),
        migrations.AddConstraint(
            model_name="gamedayreminder",
            constraint=models.UniqueConstraint(
                fields=("game_day", "user", "scheduled_for"), name="game_day_reminder_once"
            ),
        ),
    ]
