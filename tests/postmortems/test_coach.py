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
PRECISION_FLOOR = 0.9
RECALL_FLOOR = 0.9


def load_corpus() -> list[dict]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_corpus_is_large_and_balanced():
    corpus = load_corpus()
    labels = Counter(row["blaming"] for row in corpus)
    assert len(corpus) >= 60
    assert labels[True] >= 25 and labels[False] >= 25
    assert len({row["text"] for row in corpus}) == len(corpus), "sentences must be unique"


def test_precision_and_recall_on_the_corpus(capsys):
    coach = Coach(names=ORGANISATION_NAMES)
    true_positive = false_positive = false_negative = true_negative = 0
    rule_hits = Counter()
    rule_expected = Counter()
    for row in load_corpus():
        findings = coach.check(row["text"])
        flagged = bool(findings)
        if row["blaming"]:
            rule_expected[row["rule"]] += 1
            if row["rule"] in {finding.rule_id for finding in findings}:
                rule_hits[row["rule"]] += 1
        if flagged and row["blaming"]:
            true_positive += 1
        elif flagged:
            false_positive += 1
        elif row["blaming"]:
            false_negative += 1
        else:
            true_negative += 1
    precision = true_positive / (true_positive + false_positive)
    recall = true_positive / (true_positive + false_negative)
    with capsys.disabled():
        print(
            f"\ncoach corpus: {true_positive + false_positive + false_negative + true_negative} sentences, "
            f"precision {precision:.3f}, recall {recall:.3f} "
            f"(tp={true_positive} fp={false_positive} fn={false_negative} tn={true_negative}); "
            + ", ".join(f"{rule} {rule_hits[rule]}/{count}" for rule, count in sorted(rule_expected.items()))
        )
    assert precision >= PRECISION_FLOOR
    assert recall >= RECALL_FLOOR
    # Each rule recognises most of the sentences written for it, not just any rule.
    assert sum(rule_hits.values()) / sum(rule_expected.values()) >= 0.9


def test_every_builtin_rule_has_corpus_sentences():
    expected = {row["rule"] for row in load_corpus() if row["blaming"]}
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


def test_names_of_the_organisation_are_recognised_as_names():
    sentence = "Grant broke the ranking service."
    assert check(sentence) == []
    assert check(sentence, names=["Grant"])[0].text == "Grant broke"
    # A name stated as a fact is not a finding.
    assert check("Grant rolled back the ranking service at 14:05.", names=["Grant"]) == []
    # Handles need no list.
    assert check("@grant broke the ranking service.")[0].text == "@grant broke"


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
