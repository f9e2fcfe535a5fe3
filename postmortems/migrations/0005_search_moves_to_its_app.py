# The search index moved to the search app, which takes over its tables (search 0001).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('postmortems', '0004_game_day_prefills'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='SearchFacet'),
                migrations.DeleteModel(name='SearchEntry'),
            ],
            database_operations=[],
        ),
    ]
