"""How the blameless coach scales with the organisation and the text.

Measures the median time to check a post-mortem-sized text (about 2,000 words)
with the built-in rules and the names of 50 people (the baseline), then with
the names of 5,000 people, then a ten times longer text; prints each ratio to
the baseline measured in the same run. Compiling the rules is timed apart: the
app compiles once per configuration and reuses it.

    .venv/bin/python bench/coach.py
"""

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from postmortems.coach import Coach

SENTENCES = [
    "The feature pipeline changed the encoding of the country field.",
    "Offline evaluation did not include the new-customer slice.",
    "{name} rolled back the champion alias at 14:05 UTC.",
    "{name} forgot to bump the schema version before the deploy.",
    "The alert fired just before midnight, when the traffic peak began.",
    "It was human error, obviously.",
    "The dashboards showed p99 latency, but not the error rate per model version.",
    "We should have rolled back sooner.",
    "Marcus, the contractor from Northwind, forgot to renew the certificate.",
    "Jenkins failed to start the build agent because the disk was full.",
    'The first message was "who broke the scoring service?", which slowed the response.',
]
FIRST = ["Dana", "Amara", "Kenji", "Lucía", "Priya", "Tomás", "Mei", "Oliver", "Sofia", "Ana", "Jonas", "Ravi"]
LAST = ["Okafor", "Nwosu", "Watanabe", "Fernández", "Raman", "Novak", "Lin", "Grant", "Rossi", "Silva", "Berg"]


def names(count: int) -> list[str]:
    rng = random.Random(count)
    people = set()
    while len(people) < count:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        people.add((first, last, f"{first.lower()}.{last.lower()}{rng.randrange(10_000)}"))
    return sorted({part for person in people for part in (*person, f"{person[0]} {person[1]}")})


def text(words: int, people: list[str]) -> str:
    rng = random.Random(words)
    parts, count = [], 0
    while count < words:
        sentence = rng.choice(SENTENCES).format(name=rng.choice(people))
        parts.append(sentence)
        count += len(sentence.split())
    return " ".join(parts)


def median_seconds(function, repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> None:
    small, large = names(50), names(5_000)
    document = text(2_000, small)
    long_document = text(20_000, small)
    compile_small = median_seconds(lambda: Coach(names=small), 5)
    compile_large = median_seconds(lambda: Coach(names=large), 5)
    coach_small, coach_large = Coach(names=small), Coach(names=large)
    baseline = median_seconds(lambda: coach_small.check(document), 30)
    many_names = median_seconds(lambda: coach_large.check(document), 30)
    long_text = median_seconds(lambda: coach_small.check(long_document), 10)
    findings = len(coach_small.check(document))
    rows = [
        ("check 2,000 words, 50 people (baseline)", baseline, None),
        ("check 2,000 words, 5,000 people", many_names, many_names / baseline),
        ("check 20,000 words (10x text), 50 people", long_text, long_text / baseline),
        ("compile rules, 50 people", compile_small, None),
        ("compile rules, 5,000 people", compile_large, compile_large / compile_small),
    ]
    for label, seconds, ratio in rows:
        print(f"{label:<42} {seconds * 1000:8.2f} ms p50" + (f", ratio {ratio:5.2f}" if ratio else ""))
    print(f"({findings} findings in the 2,000-word text)")


if __name__ == "__main__":
    main()
