"""The blameless coach: find language that puts blame on people rather than on systems.

Pure: no database, no Django. Rules are data (``coach_rules.json``, extended by
an organisation's CoachRule rows); the names of people in the organisation are
passed in, so "Priya forgot the flag" is recognised as a person named as the
cause while "Priya rolled back at 14:05" is a plain fact.

Three kinds of rule:

- ``phrases``: words or phrases, matched whole and case-insensitively;
- ``pattern``: a regular expression, matched case-insensitively;
- ``person_verbs``: verbs that blame when their subject is a person: a known
  name, an ``@handle``, a pronoun or a role ("the on-call"). The same rule also
  catches possessives ("Priya's mistake") and passives ("caused by @tomas").
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

RULES_FILE = Path(__file__).with_name("coach_rules.json")

KIND_PHRASES = "phrases"
KIND_PATTERN = "pattern"
KIND_PERSON_VERBS = "person_verbs"
KINDS = (KIND_PHRASES, KIND_PATTERN, KIND_PERSON_VERBS)

_SHORTEST_NAME = 2


_EMPHASIS = re.compile(r"(?<!\w)[*_~]+|[*_~]+(?!\w)")
_MARKUP = " \t*_~"


def _plain(text: str) -> str:
    """Return the text as the rules read it, each character in its place.

    Markdown emphasis markers become spaces ("Priya *forgot*" reads as a
    sentence) and curly apostrophes straight ones; the length never changes,
    so spans found in it are spans of the original.
    """
    text = text.replace("\u2019", "'")
    return _EMPHASIS.sub(lambda match: " " * len(match.group()), text)


class RuleError(ValueError):
    """A rule that cannot be used: unknown kind, no terms, or an invalid pattern."""


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    kind: str
    explanation: str
    reframing: str
    terms: tuple[str, ...] = ()
    pattern: str = ""


@dataclass(frozen=True)
class PersonVocabulary:
    """The words that name people without naming anyone in particular."""

    subjects: tuple[str, ...] = ()
    object_pronouns: tuple[str, ...] = ()
    possessives: tuple[str, ...] = ()
    passive: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    rule_id: str
    title: str
    start: int
    end: int
    text: str
    explanation: str
    reframing: str

    def as_dict(self) -> dict:
        return asdict(self)


def rules_from_data(items: Iterable[dict]) -> list[Rule]:
    """Return rules read from plain dicts (the JSON file's shape); raise RuleError when one is unusable."""
    rules = []
    for item in items:
        kind = item.get("kind", KIND_PHRASES)
        if kind not in KINDS:
            raise RuleError(f"Rule {item.get('id')!r}: unknown kind {kind!r}; use one of {', '.join(KINDS)}.")
        terms = tuple(term.strip() for term in item.get("terms", ()) if term and term.strip())
        rule = Rule(
            id=str(item["id"]),
            title=str(item.get("title") or item["id"]),
            kind=kind,
            explanation=str(item.get("explanation", "")),
            reframing=str(item.get("reframing", "")),
            terms=terms,
            pattern=str(item.get("pattern", "")),
        )
        _validate(rule)
        rules.append(rule)
    return rules


def _validate(rule: Rule) -> None:
    if rule.kind == KIND_PATTERN:
        if not rule.pattern.strip():
            raise RuleError(f"Rule {rule.id!r} has no pattern.")
        try:
            re.compile(rule.pattern, re.IGNORECASE)
        except re.error as error:
            raise RuleError(f"Rule {rule.id!r}: invalid pattern: {error}.") from error
    elif not rule.terms:
        raise RuleError(f"Rule {rule.id!r} has no words or phrases.")


@lru_cache(maxsize=1)
def _builtin_data() -> dict:
    return json.loads(RULES_FILE.read_text(encoding="utf-8"))


def builtin_rules() -> list[Rule]:
    """Return the rules Kintsugi ships with, in priority order."""
    return rules_from_data(_builtin_data()["rules"])


def builtin_person_vocabulary() -> PersonVocabulary:
    """Return the role words, pronouns and phrasings that name people in the built-in rules."""
    data = _builtin_data()
    return PersonVocabulary(
        subjects=tuple(data.get("person_subjects", ())),
        object_pronouns=tuple(data.get("person_object_pronouns", ())),
        possessives=tuple(data.get("person_possessives", ())),
        passive=tuple(data.get("person_passive", ())),
    )


def merge_rules(base: Sequence[Rule], extra: Iterable[Rule], disabled: Iterable[str] = ()) -> list[Rule]:
    """Return ``base`` with rules of the same id replaced by ``extra``, new ones appended, ``disabled`` removed."""
    disabled = set(disabled)
    by_id = {rule.id: rule for rule in extra}
    merged = [by_id.pop(rule.id, rule) for rule in base]
    merged.extend(by_id.values())
    return [rule for rule in merged if rule.id not in disabled]


def _alternation(terms: Iterable[str]) -> str:
    """Return a regex alternation of the terms, longest first, spaces matching any run of blanks."""
    unique = sorted({term.strip() for term in terms if term.strip()}, key=lambda term: (-len(term), term))
    return "|".join(r"[ \t]+".join(re.escape(word) for word in term.split()) for term in unique)


def _whole(alternation: str) -> str:
    return rf"(?<![\w@])(?:{alternation})(?!\w)"


_TOKEN = re.compile(r"@[\w.-]*\w|\w(?:[\w.'-]*\w)?")
_BLANKS = re.compile(r"[ \t]+")
_LIST_SEPARATOR = re.compile(r"[ \t]*(?:,|&)[ \t]*|[ \t]+")
# Words that may sit between a person and the verb that blames them ("Priya had just forgotten").
_FILLER_WORDS = frozenset(
    {
        "had", "has", "have", "just", "also", "then", "again", "simply", "really", "clearly", "obviously",
        "completely", "totally", "apparently", "somehow", "probably", "must", "may", "might", "accidentally",
        "unfortunately",
    }
)  # fmt: skip


def _key(phrase: str) -> str:
    return " ".join(phrase.casefold().split())


class _PersonMatcher:
    """Find a person named as the cause: an active verb, a possessive or a passive.

    Verbs, possessives and passives are found with small regular expressions;
    whether the words next to them name a person is a set lookup, so checking
    costs the same whether the organisation has fifty people or fifty thousand.
    """

    def __init__(self, verbs: Iterable[str], names: Iterable[str], vocabulary: PersonVocabulary):
        self.people = {_key(name) for name in names} | {_key(subject) for subject in vocabulary.subjects}
        self.objects = self.people | {_key(pronoun) for pronoun in vocabulary.object_pronouns}
        self.longest = max((len(person.split()) for person in self.objects), default=1)
        self.verbs = re.compile(rf"(?<![\w@])(?:{_alternation(verbs)})(?!\w)", re.IGNORECASE)
        self.possessive = self.passive = None
        if vocabulary.possessives:
            possessives = _alternation(vocabulary.possessives)
            self.possessive = re.compile(
                rf"(?<=\w)'s[ \t]+(?:{possessives})(?!\w)|(?<![\w@])(?:his|her|their)[ \t]+(?:{possessives})(?!\w)",
                re.IGNORECASE,
            )
        if vocabulary.passive:
            self.passive = re.compile(rf"(?<!\w)(?:{_alternation(vocabulary.passive)})[ \t]+", re.IGNORECASE)

    def _is_person(self, phrase: str, *, objects: bool = False) -> bool:
        if phrase.startswith("@"):
            return " " not in phrase
        return _key(phrase) in (self.objects if objects else self.people)

    def _person_ending_at(self, text: str, tokens: list, last: int, *, objects: bool = False) -> int | None:
        """Return the index of the first token of a person ending with token ``last``, or None."""
        for count in range(min(self.longest, last + 1), 0, -1):
            first = last - count + 1
            if any(
                not _BLANKS.fullmatch(text[tokens[i - 1].end() : tokens[i].start()]) for i in range(first + 1, last + 1)
            ):
                continue
            phrase = " ".join(token.group() for token in tokens[first : last + 1])
            if self._is_person(phrase, objects=objects):
                return first
        return None

    def _people_ending_at(self, text: str, tokens: list, last: int) -> int | None:
        """Like _person_ending_at, extended over a list of people: "Oliver and Priya", "Mei, Kenji"."""
        first = self._person_ending_at(text, tokens, last)
        while first is not None and first > 0:
            previous = first - 1
            gap = text[tokens[previous].end() : tokens[first].start()]
            if tokens[previous].group().casefold() == "and" and _BLANKS.fullmatch(gap) and previous > 0:
                gap = text[tokens[previous - 1].end() : tokens[previous].start()]
                if not _BLANKS.fullmatch(gap):
                    break
                previous -= 1
            elif not _LIST_SEPARATOR.fullmatch(gap) or ("," not in gap and "&" not in gap):
                break
            earlier = self._person_ending_at(text, tokens, previous)
            if earlier is None:
                break
            first = earlier
        return first

    def spans(self, text: str):
        tokens = list(_TOKEN.finditer(text))
        ends = [token.end() for token in tokens]
        for match in self.verbs.finditer(text):
            last = bisect_right(ends, match.start()) - 1
            cursor = match.start()
            while last >= 0 and _BLANKS.fullmatch(text[tokens[last].end() : cursor]):
                first = self._people_ending_at(text, tokens, last)
                if first is not None:
                    yield tokens[first].start(), match.end()
                    break
                if tokens[last].group().casefold() not in _FILLER_WORDS:
                    break
                cursor = tokens[last].start()
                last -= 1
        if self.possessive is not None:
            starts = [token.start() for token in tokens]
            for match in self.possessive.finditer(text):
                if match.group().casefold().startswith(("his", "her", "their")):
                    yield match.start(), match.end()
                    continue
                # The owner's last word is the token the "'s" is glued to.
                last = bisect_right(starts, match.start() - 1) - 1
                if last < 0:
                    continue
                owner = text[tokens[last].start() : match.start()]
                for count in range(min(self.longest, last + 1), 0, -1):
                    first = last - count + 1
                    words = [token.group() for token in tokens[first:last]] + [owner]
                    if self._is_person(" ".join(words)) and all(
                        _BLANKS.fullmatch(text[tokens[i - 1].end() : tokens[i].start()])
                        for i in range(first + 1, last + 1)
                    ):
                        yield tokens[first].start(), match.end()
                        break
        if self.passive is not None:
            starts = [token.start() for token in tokens]
            for match in self.passive.finditer(text):
                first = bisect_left(starts, match.end())
                for count in range(min(self.longest, len(tokens) - first), 0, -1):
                    last = first + count - 1
                    if last >= len(tokens) or tokens[first].start() != match.end():
                        continue
                    if self._person_ending_at(text, tokens, last, objects=True) == first:
                        yield match.start(), tokens[last].end()
                        break


class _RegexMatcher:
    def __init__(self, regex: re.Pattern):
        self.regex = regex

    def spans(self, text: str):
        for match in self.regex.finditer(text):
            yield match.start(), match.end()


class Coach:
    """Rules compiled once, ready to check any number of texts."""

    def __init__(
        self,
        rules: Iterable[Rule] | None = None,
        *,
        names: Iterable[str] = (),
        vocabulary: PersonVocabulary | None = None,
    ):
        self.rules = list(builtin_rules() if rules is None else rules)
        self.vocabulary = vocabulary if vocabulary is not None else builtin_person_vocabulary()
        self.names = sorted({name.strip() for name in names if len(name.strip()) >= _SHORTEST_NAME})
        self._compiled = [(rule, self._compile(rule)) for rule in self.rules]

    def _compile(self, rule: Rule):
        if rule.kind == KIND_PATTERN:
            return _RegexMatcher(re.compile(rule.pattern, re.IGNORECASE))
        if rule.kind == KIND_PHRASES:
            return _RegexMatcher(re.compile(_whole(_alternation(rule.terms)), re.IGNORECASE))
        return _PersonMatcher(rule.terms, self.names, self.vocabulary)

    def check(self, text: str) -> list[Finding]:
        """Return the findings in ``text``, ordered by position, never overlapping.

        Where two rules match overlapping words, the earlier match wins and,
        at the same position, the rule listed first.
        """
        if not text:
            return []
        haystack = _plain(text)
        candidates = []
        for priority, (rule, matcher) in enumerate(self._compiled):
            for start, end in matcher.spans(haystack):
                if end > start:
                    candidates.append((start, priority, -end, rule))
        candidates.sort(key=lambda item: item[:3])
        findings: list[Finding] = []
        last_end = -1
        for start, _priority, negative_end, rule in candidates:
            end = -negative_end
            if start < last_end:
                continue
            while end > start and text[end - 1] in _MARKUP:
                end -= 1
            findings.append(
                Finding(
                    rule_id=rule.id,
                    title=rule.title,
                    start=start,
                    end=end,
                    text=text[start:end],
                    explanation=rule.explanation,
                    reframing=rule.reframing,
                )
            )
            last_end = end
        return findings


def check(text: str, *, rules: Iterable[Rule] | None = None, names: Iterable[str] = ()) -> list[Finding]:
    """Return the findings of the given rules (the built-in ones by default) in ``text``."""
    return Coach(rules, names=names).check(text)


def fingerprints(section_key: str, findings: Iterable[Finding]) -> list[str]:
    """Return a stable identity for each finding of one section.

    It survives edits elsewhere in the text: section, rule, the words matched
    (case-folded) and which occurrence of those words in the section it is.
    """
    seen: dict[tuple[str, str], int] = {}
    result = []
    for finding in findings:
        words = " ".join(finding.text.casefold().split())
        occurrence = seen.get((finding.rule_id, words), 0)
        seen[(finding.rule_id, words)] = occurrence + 1
        raw = f"{section_key}\x1f{finding.rule_id}\x1f{words}\x1f{occurrence}"
        result.append(hashlib.sha256(raw.encode()).hexdigest()[:40])
    return result
