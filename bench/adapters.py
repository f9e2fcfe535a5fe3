"""How long each sender takes to check, read and normalize one delivery, against parsing its JSON.

Run: .venv/bin/python bench/adapters.py [rounds]

For each sender, a signed sample delivery goes through what the pipeline runs on
every delivery (verify, parse, event_name, delivery_id, adapt, discover_model).
The baseline, measured in the same run on the same bodies, is json.loads alone:
the ratio says how many JSON parses one full normalization costs.
"""

import json
import os
import sys
import timeit
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from incidents.ingest.adapters import sender_for  # noqa: E402 - after django.setup()
from incidents.ingest.discovery import discover_model  # noqa: E402 - after django.setup()

KINDS = ("github", "gitlab", "jenkins", "argocd", "circleci", "mlflow", "generic")
PATTERN = r"(?P<model>[a-z][a-z0-9-]*) v(?P<version>\d+)"


def secret_for(kind: str) -> str:
    return "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" if kind in ("generic", "gitlab") else "tok_bench"


def main(rounds: int) -> None:
    now = datetime.now(UTC)
    print(f"{'sender':<10} {'body':>7} {'json.loads':>12} {'full':>12} {'ratio':>7}")
    for kind in KINDS:
        sender = sender_for(kind)
        secret = secret_for(kind)
        headers, body = sender.sample(secret, now)

        def full(sender=sender, headers=headers, body=body, secret=secret):
            sender.verify(headers, body, [secret], now)
            payload = sender.parse(headers, body)
            name = sender.event_name(headers, payload)
            sender.delivery_id(headers, payload, body)
            event = sender.adapt(name, payload)
            discover_model(event, pattern=PATTERN, pattern_field="any", default_model="")

        def baseline(body=body):
            json.loads(body)

        base = min(timeit.repeat(baseline, number=rounds, repeat=5)) / rounds
        spent = min(timeit.repeat(full, number=rounds, repeat=5)) / rounds
        print(f"{kind:<10} {len(body):>6}B {base * 1e6:>10.1f}µs {spent * 1e6:>10.1f}µs {spent / base:>6.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
