"""The blameless coach on its own: pure functions, no database."""

import json
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest

from postmortems.coach import Coach, RuleError, builtin_rules, check, fingerprints, merge_rules, rules_from_data

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "coach_corpus.jsonl"
# The people of the organisation the corpus was written about (first, last and user names).
ORGANISATION_NAMES = [
    "Dana", "Okafor", "demo", "Amara", "Nwosu", "amara", "Kenji", "Watanabe", "kenji", "Lucía", "Fernández",
    "lucia", "Priya", "Raman", "priya", "Tomás", "Novak", "tomas", "Mei", "Lin", "mei", "Oliver", "Grant",
    "oliver", "Sofia", "Rossi", "sofia",
]  # fmt: skip
# The first part (112 sentences) was scored 0.969 precision and 1.000 recall before the second part was
# written; the second part (sentences about contractors, other companies' people and chat handles, and
# the hard negatives) was written before the rules that read it, and must be read as well as the first.
FLOORS = {"1": (0.96, 1.0), "2": (0.95, 0.95)}
# The second part was labelled with the rule families of the first; the rules added for it split two of them.
RULE_FAMILIES = {
    "hindsight": {"hindsight", "person-counterfactual"},
    "fault": {"fault", "outage-assigned"},
    "person-as-cause": {"person-as-cause", "outage-assigned"},
}


def load_corpus() -> list[dict]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def corpus_part(part: str) -> list[dict]:
    return [row for row in load_corpus() if row.get("part", "1") == part]


def score(rows: list[dict]) -> dict:
    """Return the confusion counts, precision, recall and rule agreement of the coach on labelled rows."""
    coach = Coach(names=ORGANISATION_NAMES)
    counts = Counter()
    for row in rows:
        findings = coach.check(row["text"])
        flagged = bool(findings)
        if row["blaming"]:
            counts["expected"] += 1
            family = RULE_FAMILIES.get(row["rule"], {row["rule"]})
            counts["rule_hits"] += bool(family & {finding.rule_id for finding in findings})
        key = {(True, True): "tp", (True, False): "fp", (False, True): "fn", (False, False): "tn"}
        counts[key[flagged, row["blaming"]]] += 1
    counts["precision"] = counts["tp"] / (counts["tp"] + counts["fp"])
    counts["recall"] = counts["tp"] / (counts["tp"] + counts["fn"])
    return counts


def test_corpus_is_large_and_balanced():
    corpus = load_corpus()
    labels = Counter(row["blaming"] for row in corpus)
    assert len(corpus) >= 60
    assert labels[True] >= 25 and labels[False] >= 25
    assert len({row["text"] for row in corpus}) == len(corpus), "sentences must be unique"
    second = corpus_part("2")
    assert len(second) >= 150
    assert 0.4 <= sum(row["blaming"] for row in second) / len(second) <= 0.6


@pytest.mark.parametrize("part", ["1", "2"])
def test_precision_and_recall_on_each_part_of_the_corpus(part, capsys):
    counts = score(corpus_part(part))
    with capsys.disabled():
        print(
            f"\ncoach corpus part {part}: {counts['tp'] + counts['fp'] + counts['fn'] + counts['tn']} sentences, "
            f"precision {counts['precision']:.3f}, recall {counts['recall']:.3f} "
            f"(tp={counts['tp']} fp={counts['fp']} fn={counts['fn']} tn={counts['tn']}), "
            f"rule agreement {counts['rule_hits']}/{counts['expected']}"
        )
    precision_floor, recall_floor = FLOORS[part]
    assert counts["precision"] >= precision_floor
    assert counts["recall"] >= recall_floor
    # Each rule recognises most of the sentences written for it, not just any rule.
    assert counts["rule_hits"] / counts["expected"] >= 0.9


def test_every_finding_in_the_corpus_offers_a_rewrite_that_reads_blameless():
    coach = Coach(names=ORGANISATION_NAMES)
    for row in load_corpus():
        for finding in coach.check(row["text"]):
            assert finding.sentence and finding.sentence in row["text"]
            assert finding.rewrite, f"no rewrite for {row['text']!r}"
            assert finding.rewrite != finding.sentence
            again = {other.rule_id for other in coach.check(finding.rewrite)}
            assert finding.rule_id not in again, f"{finding.rewrite!r} still reads as {finding.rule_id}"


def test_every_builtin_rule_has_corpus_sentences():
    labels = {row["rule"] for row in load_corpus() if row["blaming"]}
    expected = set().union(*(RULE_FAMILIES.get(label, {label}) for label in labels))
    assert {rule.id for rule in builtin_rules()} <= expected


@pytest.mark.parametrize(
    "text, rule_id, quote",
    [
        ("Priya forgot to bump the schema version.", "person-as-cause", "Priya forgot to"),
        ("It was human error.", "human-error", "human error"),
        ("That refactor was careless.", "character-judgement", "careless"),
        ("We should have rolled back sooner.", "hindsight", "should have"),
        ("Just restart the pods.", "minimising", "Just"),
        ("The platform team is to blame.", "fault", "to blame"),
        ("The outage was caused by @tomas.", "person-as-cause", "caused by @tomas"),
        ("It was Dana\u2019s mistake.", "person-as-cause", "Dana\u2019s mistake"),
    ],
)
def test_findings_name_rule_span_and_reframing(text, rule_id, quote):
    findings = check(text, names=ORGANISATION_NAMES)
    assert [finding.rule_id for finding in findings] == [rule_id]
    finding = findings[0]
    assert finding.text == quote
    assert text[finding.start : finding.end] == quote
    assert finding.explanation and finding.reframing.endswith("?")


def test_people_are_recognised_without_a_member_list():
    sentence = "Grant broke the ranking service."
    assert check(sentence)[0].text == "Grant broke"
    # A lower-case user name is a name only when the organisation has it.
    assert check("grant.w broke the ranking service.") == []
    assert check("grant.w broke the ranking service.", names=["grant.w"])[0].text == "grant.w broke"
    # A name stated as a fact is not a finding.
    assert check("Grant rolled back the ranking service at 14:05.") == []
    # Handles, titles, roles of other companies and people set off by commas.
    assert check("@grant broke the ranking service.")[0].text == "@grant broke"
    assert check("Dr. Hale botched the key rotation.")[0].text == "Dr. Hale botched"
    assert check("The vendor's engineer forgot to renew it.")[0].text == "The vendor's engineer forgot to"
    assert check("Marta, the Initech contractor, ignored the pages.")[0].text.startswith("Marta,")
    assert check("Zoe at the cloud provider misconfigured the balancer.")[0].text.startswith("Zoe at")


@pytest.mark.parametrize(
    "text",
    [
        "Jenkins broke the nightly build when its disk filled up.",
        "Cassandra ignored the hinted handoff window.",
        "The Alexa skill failed to answer for ten minutes.",
        "Hadoop missed two partitions during compaction.",
        "Jarvis, our chat bot, failed to post the page.",
        "Airflow skipped the run because catchup was off.",
        'Someone wrote "Marcus broke prod" in the channel; the timeline shows a config push.',
        "In the review @ana said \u201cI should have checked the canary\u201d; the group asked why it was hard.",
        "Priya spotted it on the latency panel.",
        "Thanks to @sam for catching the schema mismatch.",
        "Kudos to Jelena from the vendor, who flagged the bad batch.",
        "The flag was left on after the load test because the harness has no teardown.",
        "Changes kept landing during the freeze, because the freeze lived only in a calendar.",
    ],
)
def test_systems_quoted_speech_credit_and_passive_facts_stay_quiet(text):
    assert check(text) == []


@pytest.mark.parametrize(
    "text, rule_id",
    [
        ("This outage is on @dsmith.", "outage-assigned"),
        ("Root cause: Wojtek.", "outage-assigned"),
        ("The blame for the stale scores falls on the contractor.", "outage-assigned"),
        ("It was Patrick who broke the feature build.", "outage-assigned"),
        ("Had Fatima read the runbook, the rollback would have taken minutes.", "person-counterfactual"),
        ("If @kpatel had run it in staging first, nothing would have broken.", "person-counterfactual"),
        ("Julia was supposed to rotate the key and didn't.", "person-counterfactual"),
        ("Marcus from Northwind broke checkout with a hotfix.", "person-as-cause"),
        ("Wei pushed an untested prompt and caused the spike.", "person-as-cause"),
    ],
)
def test_blame_of_people_outside_the_organisation_is_found(text, rule_id):
    assert rule_id in {finding.rule_id for finding in check(text)}


@pytest.mark.parametrize(
    "text, rewrite",
    [
        (
            "@jdoe forgot to renew the TLS certificate for the gateway.",
            "Nothing in the process prompted renewing the TLS certificate for the gateway.",
        ),
        ("Marcus broke the checkout flow with an untested hotfix.", "The checkout flow broke with an untested hotfix."),
        (
            "Because Nadia skipped the load test, the model fell over.",
            "Because the load test was skipped, the model fell over.",
        ),
        ("Sven should have waited for the canary.", "At the time, waiting for the canary did not look necessary."),
        ("Connor's sloppy merge reintroduced the old tokenizer.", "The merge reintroduced the old tokenizer."),
        ("Chioma ignored three pages from the latency alert.", "Three pages from the latency alert went unnoticed."),
        ("Root cause: human error during the release.", "Root cause: an unguarded step during the release."),
        (
            "The blame for the stale features falls on @tmorris.",
            "Several conditions came together to cause the stale features.",
        ),
        (
            "Obviously the new embedding dimension would break the index.",
            "The new embedding dimension would break the index.",
        ),
        ("Finding the culprit took two days.", "Finding the contributing factors took two days."),
    ],
)
def test_each_finding_offers_a_rewrite_of_its_sentence(text, rewrite):
    text = f"The timeline is below. {text} Then we rolled back."
    findings = check(text)
    assert len(findings) == 1
    finding = findings[0]
    assert text.count(finding.sentence) == 1 and finding.start >= text.index(finding.sentence)
    assert finding.rewrite == rewrite


def test_short_names_are_ignored_to_avoid_noise():
    assert Coach(names=["A", " ", "Li"]).names == ["Li"]


def test_findings_never_overlap_and_are_ordered():
    text = "Obviously Priya should have checked; it was human error, just careless."
    findings = check(text, names=["Priya"])
    assert [finding.start for finding in findings] == sorted(finding.start for finding in findings)
    for before, after in pairwise(findings):
        assert before.end <= after.start
    assert {finding.rule_id for finding in findings} == {
        "minimising",
        "hindsight",
        "human-error",
        "character-judgement",
    }


def test_organisations_extend_and_disable_rules():
    extra = rules_from_data(
        [
            {
                "id": "hero-language",
                "title": "Hero language",
                "kind": "phrases",
                "terms": ["saved the day", "heroics"],
                "explanation": "Heroics hide the gaps that needed them.",
                "reframing": "What made heroics necessary?",
            }
        ]
    )
    rules = merge_rules(builtin_rules(), extra, disabled={"minimising"})
    findings = Coach(rules).check("Kenji saved the day, he just restarted everything.")
    assert [finding.rule_id for finding in findings] == ["hero-language"]


def test_an_extension_replaces_a_builtin_rule_of_the_same_id():
    replacement = rules_from_data(
        [{"id": "minimising", "kind": "phrases", "terms": ["merely"], "explanation": "e", "reframing": "r?"}]
    )
    rules = merge_rules(builtin_rules(), replacement)
    assert [f.rule_id for f in Coach(rules).check("It merely needed a restart, just that.")] == ["minimising"]
    assert len(rules) == len(builtin_rules())


@pytest.mark.parametrize(
    "item, message",
    [
        ({"id": "x", "kind": "regex", "terms": ["a"]}, "unknown kind"),
        ({"id": "x", "kind": "phrases", "terms": ["  "]}, "no words"),
        ({"id": "x", "kind": "pattern", "pattern": "(unclosed"}, "invalid pattern"),
        ({"id": "x", "kind": "pattern", "pattern": ""}, "no pattern"),
    ],
)
def test_unusable_rules_are_refused(item, message):
    with pytest.raises(RuleError, match=message):
        rules_from_data([item])


def test_fingerprints_survive_edits_elsewhere_in_the_text():
    coach = Coach(names=["Priya"])
    before = "Priya forgot the flag. Later it was human error."
    after = "At 14:00, after the deploy, Priya forgot the flag. Later on it was human error."
    assert fingerprints("summary", coach.check(before)) == fingerprints("summary", coach.check(after))
    assert fingerprints("summary", coach.check(before)) != fingerprints("impact", coach.check(before))


def test_repeated_words_get_distinct_fingerprints():
    findings = check("It was human error. Again, human error.")
    prints = fingerprints("summary", findings)
    assert len(prints) == 2 and prints[0] != prints[1]


def test_empty_text_has_no_findings():
    assert check("") == []


@pytest.mark.parametrize(
    "text, quote",
    [
        ("dana.okafor forgot the flag.", "dana.okafor forgot"),
        ("Oliver and Priya missed the alert.", "Oliver and Priya missed"),
        ("Mei, Kenji and Priya ignored it.", "Mei, Kenji and Priya ignored"),
        ("Lucía Fernández's bad config took it down.", "Lucía Fernández's bad config"),
        ("The outage was caused by @tomas pushing a config.", "caused by @tomas"),
        ("Priya had just forgotten to retag it.", "Priya had just forgotten"),
    ],
)
def test_people_are_found_in_every_shape(text, quote):
    names = ["dana.okafor", "Oliver", "Priya", "Mei", "Kenji", "Lucía", "Fernández", "Lucía Fernández"]
    assert [finding.text for finding in check(text, names=names)] == [quote]
