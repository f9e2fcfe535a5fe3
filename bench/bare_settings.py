"""The baseline of bench/webhooks.py: a bare Django app whose one view inserts the raw body into PostgreSQL.

Same Django, same database server and same gunicorn as Kintsugi, none of the
checks: what is left is the floor cost of "accept a body and commit it".
"""

import os

import dj_database_url
from django.db import connection
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

DEBUG = False
SECRET_KEY = "bare-bench-only"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.bare_settings"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
USE_TZ = True
DATABASES = {
    "default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60, conn_health_checks=True),
}

TABLE = "bench_raw_delivery"
CREATE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} "
    "(id bigserial PRIMARY KEY, body bytea NOT NULL, received_at timestamptz NOT NULL DEFAULT now())"
)


@csrf_exempt
def insert(request, public_id: str):
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} (body) VALUES (%s) RETURNING id", [request.body])
        (row_id,) = cursor.fetchone()
    return JsonResponse({"delivery": row_id, "status": "accepted"}, status=202)


urlpatterns = [path("hooks/<str:public_id>/", insert)]
