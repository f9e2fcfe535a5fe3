# The search index's models, taken over from the post-mortems app with their rows:
# first as they were (state only, the tables already exist), then renamed to this app's tables.

import django.contrib.postgres.search
import django.db.models.deletion
import search.models
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('incidents', '0001_initial'),
        ('postmortems', '0005_search_moves_to_its_app'),
        ('teams', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='SearchEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('learning', 'Learning'), ('postmortem', 'Post-mortem'), ('incident', 'Incident')], max_length=16)),
                        ('team_only', models.BooleanField(default=False)),
                        ('title', models.CharField(max_length=300)),
                        ('body', models.TextField(blank=True)),
                        ('keywords', models.TextField(blank=True)),
                        ('occurred_at', models.DateTimeField()),
                        ('source_updated_at', models.DateTimeField()),
                        ('vector', django.contrib.postgres.search.SearchVectorField(blank=True, null=True)),
                        ('incident', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='search_entry', to='incidents.incident')),
                        ('learning', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='search_entry', to='postmortems.learning')),
                        ('postmortem', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='search_entry', to='postmortems.postmortem')),
                        ('team', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='teams.team')),
                    ],
                    options={
                        'verbose_name_plural': 'search entries',
                        'db_table': 'postmortems_searchentry',
                        'constraints': [
                            models.CheckConstraint(condition=models.Q(('kind__in', ['learning', 'postmortem', 'incident'])), name='search_entry_kind_valid'),
                            models.CheckConstraint(condition=models.Q(models.Q(('incident__isnull', True), ('kind', 'learning'), ('learning__isnull', False), ('postmortem__isnull', True)), models.Q(('incident__isnull', True), ('kind', 'postmortem'), ('learning__isnull', True), ('postmortem__isnull', False)), models.Q(('incident__isnull', False), ('kind', 'incident'), ('learning__isnull', True), ('postmortem__isnull', True)), _connector='OR'), name='search_entry_one_target_of_its_kind'),
                        ],
                        'indexes': [
                            search.models.GinIndexOnPostgres(fields=['vector'], name='search_entry_vector_gin'),
                            models.Index(fields=['-occurred_at'], name='search_entry_recent'),
                            models.Index(fields=['team', '-occurred_at'], name='search_entry_team_recent'),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name='SearchFacet',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(choices=[('model', 'Model'), ('category', 'Failure category'), ('tag', 'Tag')], max_length=16)),
                        ('value', models.CharField(max_length=100)),
                        ('entry', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='facets', to='search.searchentry')),
                    ],
                    options={
                        'db_table': 'postmortems_searchfacet',
                        'constraints': [
                            models.UniqueConstraint(fields=('entry', 'name', 'value'), name='search_facet_unique'),
                            models.CheckConstraint(condition=models.Q(('name__in', ['model', 'category', 'tag'])), name='search_facet_name_valid'),
                        ],
                        'indexes': [models.Index(fields=['name', 'value', 'entry'], name='search_facet_lookup')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name='SearchEntry', table=None),
        migrations.AlterModelTable(name='SearchFacet', table=None),
    ]
