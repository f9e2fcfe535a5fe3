"""The blameless coach: find language that puts blame on people rather than on systems.

Pure: no database, no Django. Rules are data (``coach_rules.json``, extended by
an organisation's CoachRule rows); the names of people in the organisation are
passed in, so "Priya forgot the flag" is recognised as a person named as the
cause while "Priya rolled back at 14:05" is a plain fact.

Three kinds of rule:

- ``phrases``: words or phrases, matched whole and case-insensitively;
- ``pattern``: a regular expression, matched case-insensitively; ``{person}``
  in it stands for anyone named: a name, an ``@handle``, a role ("the vendor's
  engineer") or a pronoun;
- ``person_verbs``: verbs that blame when their subject is a person. The same
  rule also catches possessives ("Priya's mistake") and passives ("caused by
  @tomas").

A person is recognised by shape, not looked up: an ``@handle``, a capitalised
name ("Marcus", "Ana-Maria", "Mr. Hale"), a role, or a name of the organisation
(which also covers lower-case user names). Post-mortems name contractors,
people of other companies and chat handles that no member list holds. Systems
named like people ("Jenkins", "Cassandra", "the Alexa skill") are told apart by
a list of such names and by the word that follows; words in quotation marks
are someone's speech, reported, and never flagged.
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

from postmortems import reframe

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
    roles: tuple[str, ...] = ()
    system_names: tuple[str, ...] = ()
    system_nouns: tuple[str, ...] = ()
    not_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    rule_id: str
    title: str
    start: int
    end: int
    text: str
    explanation: str
    reframing: str
    sentence: str = ""
    rewrite: str = ""

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
        roles=tuple(data.get("person_roles", ())),
        system_names=tuple(data.get("system_names", ())),
        system_nouns=tuple(data.get("system_nouns", ())),
        not_names=tuple(data.get("not_names", ())),
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
        "unfortunately", "single-handedly", "knowingly", "deliberately",
    }
)  # fmt: skip


def _key(phrase: str) -> str:
    return " ".join(phrase.casefold().split())


_CAPITAL = "A-ZÀ-ÖØ-ÞĀ-Ž"
_NAME_WORD = re.compile(rf"[{_CAPITAL}][^\W\d_]*(?:['-][{_CAPITAL}a-zß-ÿ][^\W\d_]*)*")
_TITLE = re.compile(r"(?:Mr|Ms|Mrs|Mx|Dr)\.?[ \t]+\S+")
# What ``{person}`` stands for in a pattern; People.plausible decides whether the words it took name someone.
_PERSON_SHAPE = (
    r"@[\w.-]*\w"
    r"|(?-i:(?:Mr|Ms|Mrs|Mx|Dr)\.?[ \t]+[{capital}][\w'-]*)"
    r"|(?:the|a|an|our|their|your)[ \t]+(?:[\w'-]+[ \t]+){{0,3}}?(?:{roles})(?![\w-])"
    r"|(?-i:[{capital}][\w'-]*(?:[ \t]+[{capital}][\w'-]*)?)"
    r"|he|she|someone|somebody"
)
_AFFILIATION = frozenset({"from", "at", "of"})
# After a name met in a passive ("caused by Rahul …"), what may follow it; a plain noun means the
# capitalised words were a thing ("due to Black Friday traffic").
_AFTER_PASSIVE_NAME = frozenset(
    {"at", "from", "of", "who", "when", "while", "and", "in", "on", "during", "after", "with"}
)


_TITLE_BEFORE = re.compile(r"(?<![\w@])(?:Mr|Ms|Mrs|Mx|Dr)\.?[ \t]+$")


def _with_title(text: str, start: int) -> int:
    """Return where a name starting at ``start`` begins once its title is counted ("Dr. Hale")."""
    title = _TITLE_BEFORE.search(text, max(0, start - 6), start)
    return title.start() if title else start


class People:
    """Decide whether some words name a person: by their shape, not by a member list.

    A member's name (which may be lower case), an ``@handle``, a role ("the
    vendor's engineer"), a pronoun, a title and surname, or one or two
    capitalised words that are neither common sentence openers nor systems
    named like people.
    """

    def __init__(self, names: Iterable[str], vocabulary: PersonVocabulary):
        self.members = {_key(name) for name in names}
        self.subjects = {_key(subject) for subject in vocabulary.subjects}
        self.objects = {_key(pronoun) for pronoun in vocabulary.object_pronouns}
        self.systems = {_key(name) for name in vocabulary.system_names}
        self.system_nouns = {_key(noun) for noun in vocabulary.system_nouns}
        self.not_names = {_key(word) for word in vocabulary.not_names}
        roles = _alternation(vocabulary.roles) or r"(?!)"
        self.roles = roles
        self.role = re.compile(rf"(?:the|a|an|our|their|your)[ \t]+(?:[\w'-]+[ \t]+){{0,3}}?(?:{roles})", re.IGNORECASE)
        self.longest = max((len(person.split()) for person in self.members | self.subjects | self.objects), default=1)
        self.longest = max(self.longest, 6)

    def shape(self) -> str:
        """Return the regular expression ``{person}`` stands for."""
        return _PERSON_SHAPE.format(capital=_CAPITAL, roles=self.roles)

    def is_system(self, word: str) -> bool:
        return _key(word.removesuffix("'s")) in self.systems

    def is_name(self, phrase: str) -> bool:
        """Return whether the words are shaped like a person's name (not a role, not a member lookup)."""
        if _TITLE.fullmatch(phrase):
            return True
        words = phrase.split()
        if not 1 <= len(words) <= 2:
            return False
        for word in words:
            if not _NAME_WORD.fullmatch(word) or (len(word) > 1 and word.isupper()):
                return False
            if _key(word) in self.not_names or _key(word) in self.systems:
                return False
        return True

    def plausible(self, phrase: str, *, objects: bool = False) -> bool:
        phrase = phrase.strip()
        key = _key(phrase)
        if phrase.startswith("@"):
            return " " not in phrase and not any(noun in key for noun in ("bot", "-ci", "alert"))
        if key in self.members or key in self.subjects or (objects and key in self.objects):
            return True
        if self.role.fullmatch(phrase):
            return not any(word in self.systems for word in key.split())
        return self.is_name(phrase)


class _PersonMatcher:
    """Find a person named as the cause: an active verb, a possessive or a passive.

    Verbs, possessives and passives are found with small regular expressions;
    whether the words next to them name a person is decided by People, so
    checking costs the same whether the organisation has fifty people or
    fifty thousand.
    """

    def __init__(self, verbs: Iterable[str], people: People, vocabulary: PersonVocabulary):
        self.people = people
        self.longest = people.longest
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
        return self.people.plausible(phrase, objects=objects)

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

    def _affiliated_ending_at(self, text: str, tokens: list, last: int) -> int | None:
        """Return the first token of "Zoe at the cloud provider" or "Kai from the vendor's desk" ending at ``last``."""
        for index in range(last, max(last - 6, 0), -1):
            if not _BLANKS.fullmatch(text[tokens[index - 1].end() : tokens[index].start()]):
                return None
            if tokens[index].group().casefold() in _AFFILIATION:
                if any(_key(token.group()) in self.people.system_nouns for token in tokens[index + 1 : last + 1]):
                    return None
                first = self._person_ending_at(text, tokens, index - 1)
                if first is not None and not self.people.role.fullmatch(tokens[index - 1].group()):
                    return first
                return None
        return None

    def _apposed_ending_at(self, text: str, tokens: list, last: int) -> int | None:
        """Return the first token of a person set off by commas before a verb: "Jelena, the vendor's DBA, dropped".

        The head before the first comma is preferred, so the span holds the whole apposition.
        """
        for index in range(last, max(last - 8, 0), -1):
            gap = text[tokens[index - 1].end() : tokens[index].start()]
            if _BLANKS.fullmatch(gap):
                continue
            if not re.fullmatch(r"[ \t]*,[ \t]*", gap):
                break
            apposition = [_key(token.group()) for token in tokens[index : last + 1]]
            if any(word in self.people.system_nouns or word in self.people.systems for word in apposition):
                return None
            head = self._person_ending_at(text, tokens, index - 1)
            if head is not None:
                return head
            break
        first = self._person_ending_at(text, tokens, last)
        if first is not None and not self.people.is_system(tokens[first].group()):
            return first
        return None

    def _clause_subject(self, text: str, tokens: list, last: int) -> int | None:
        """Return the first token of the person the clause ending at ``last`` opens with ("Wei pushed … and caused")."""
        first = last
        while first > 0 and _BLANKS.fullmatch(text[tokens[first - 1].end() : tokens[first].start()]):
            first -= 1
        if first > 0 and not re.search(r"[.;:!?\n][ \t]*$", text[tokens[first - 1].end() : tokens[first].start()]):
            return None
        for end in range(first, min(first + 3, last)):
            if self._person_ending_at(text, tokens, end) == first and tokens[end + 1].group()[:1].islower():
                return first
        return None

    def spans(self, text: str):
        tokens = list(_TOKEN.finditer(text))
        ends = [token.end() for token in tokens]
        direct, coordinated = set(), []
        for match in self.verbs.finditer(text):
            last = bisect_right(ends, match.start()) - 1
            cursor = match.start()
            found = None
            while last >= 0:
                gap = text[tokens[last].end() : cursor]
                if tokens[last].group().casefold() == "and" and _BLANKS.fullmatch(gap) and last > 0:
                    subject = self._clause_subject(text, tokens, last - 1)
                    if subject is not None:
                        coordinated.append((tokens[subject].start(), match.end()))
                    break
                if re.fullmatch(r"[ \t]*,[ \t]*", gap):
                    found = self._apposed_ending_at(text, tokens, last)
                    break
                if not _BLANKS.fullmatch(gap):
                    break
                found = self._affiliated_ending_at(text, tokens, last)
                if found is None:
                    found = self._people_ending_at(text, tokens, last)
                if found is not None or tokens[last].group().casefold() not in _FILLER_WORDS:
                    break
                cursor = tokens[last].start()
                last -= 1
            if found is not None:
                start = _with_title(text, tokens[found].start())
                direct.add(start)
                yield start, match.end()
        # "Wei pushed an untested prompt and caused …": the second verb counts when the first did not blame.
        for start, end in coordinated:
            if start not in direct:
                yield start, end
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
                    if self._person_ending_at(text, tokens, last, objects=True) != first:
                        continue
                    phrase = " ".join(token.group() for token in tokens[first : last + 1])
                    if self._passive_name_ends_here(text, tokens, last, phrase):
                        yield match.start(), tokens[last].end()
                        break

    def _passive_name_ends_here(self, text: str, tokens: list, last: int, phrase: str) -> bool:
        """Return whether a capitalised phrase after "caused by" ends a name rather than starting a noun phrase."""
        people = self.people
        if phrase.startswith("@") or _key(phrase) in people.members or not people.is_name(phrase):
            return True
        if last + 1 == len(tokens) or not _BLANKS.fullmatch(text[tokens[last].end() : tokens[last + 1].start()]):
            return True
        following = tokens[last + 1].group().casefold()
        return following in _AFTER_PASSIVE_NAME or following.endswith("ing")


class _PersonPatternMatcher:
    """A pattern with ``{person}`` in it: each place must hold words that name someone."""

    def __init__(self, pattern: str, people: People):
        self.people = people
        self.groups: list[str] = []

        def group(_match: re.Match) -> str:
            name = f"person{len(self.groups)}"
            self.groups.append(name)
            return f"(?P<{name}>{people.shape()})"

        self.regex = re.compile(re.sub(r"\{person\}", group, pattern), re.IGNORECASE)

    def spans(self, text: str):
        for match in self.regex.finditer(text):
            named = [match.group(name) for name in self.groups if match.group(name)]
            if all(self.people.plausible(phrase, objects=True) for phrase in named):
                yield match.start(), match.end()


class _RegexMatcher:
    def __init__(self, regex: re.Pattern):
        self.regex = regex

    def spans(self, text: str):
        for match in self.regex.finditer(text):
            yield match.start(), match.end()


_PERSON_PLACEHOLDER = "{person}"
_LAST_WORD = re.compile(r"(\w[\w'-]*)[ \t]*$")
_QUOTED = re.compile(r'"[^"\n]*"|\u201c[^\u201d\n]*\u201d')
# A sentence ends at a full stop, question or exclamation mark followed by a blank (not after a title or
# an abbreviation), or at a line break.
_SENTENCE_END = re.compile(
    r"(?<!\bMr)(?<!\bMs)(?<!\bDr)(?<!\bMrs)(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)[.!?]+[\"\u201d')\]]*(?=\s|$)|\n"
)


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    """Return where quoted speech stands: reported words are not the writer's framing."""
    return [match.span() for match in _QUOTED.finditer(text)]


@dataclass(frozen=True)
class SentenceMarks:
    """Where the sentences of one text close: each mark's (start, end), and the ends alone for bisecting."""

    spans: list[tuple[int, int]]
    ends: list[int]


def sentence_marks(text: str) -> SentenceMarks:
    """Return the sentence-closing marks of ``text``, read once for all its findings."""
    spans = [match.span() for match in _SENTENCE_END.finditer(text)]
    return SentenceMarks(spans, [mark_end for _mark_start, mark_end in spans])


def sentence_bounds(text: str, start: int, end: int, marks: SentenceMarks | None = None) -> tuple[int, int]:
    """Return where the sentence holding ``text[start:end]`` begins and ends (its closing mark included)."""
    marks = sentence_marks(text) if marks is None else marks
    ends, closings = marks.spans, marks.ends
    before = bisect_right(closings, start) - 1
    begin = closings[before] if before >= 0 else 0
    after = bisect_left(closings, end + 1)
    if after < len(ends):
        mark_start, mark_end = ends[after]
        finish = mark_start if text[mark_start:mark_end] == "\n" else mark_end
    else:
        finish = len(text)
    while begin < finish and text[begin].isspace():
        begin += 1
    list_marker = re.match(r"(?:[-*+]|\d+[.)])[ \t]+", text[begin:finish])
    if list_marker and begin + list_marker.end() <= start:
        begin += list_marker.end()
    return begin, finish


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
        self.people = People(self.names, self.vocabulary)
        self._compiled = [(rule, self._compile(rule)) for rule in self.rules]

    def _compile(self, rule: Rule):
        if rule.kind == KIND_PATTERN:
            if _PERSON_PLACEHOLDER in rule.pattern:
                return _PersonPatternMatcher(rule.pattern, self.people)
            return _RegexMatcher(re.compile(rule.pattern, re.IGNORECASE))
        if rule.kind == KIND_PHRASES:
            return _RegexMatcher(re.compile(_whole(_alternation(rule.terms)), re.IGNORECASE))
        return _PersonMatcher(rule.terms, self.people, self.vocabulary)

    def _said_by_a_system(self, text: str, start: int) -> bool:
        """Return whether the words before ``start`` are a system named like a person ("Celery failed to …")."""
        before = _LAST_WORD.search(text[max(0, start - 60) : start])
        return before is not None and self.people.is_system(before.group(1))

    def check(self, text: str) -> list[Finding]:
        """Return the findings in ``text``, ordered by position, never overlapping.

        Where two rules match overlapping words, the earlier match wins and,
        at the same position, the rule listed first.
        """
        if not text:
            return []
        haystack = _plain(text)
        quoted = _quoted_spans(haystack)
        candidates = []
        for priority, (rule, matcher) in enumerate(self._compiled):
            for start, end in matcher.spans(haystack):
                if end <= start or any(start < quote_end and quote_start < end for quote_start, quote_end in quoted):
                    continue
                if rule.kind != KIND_PERSON_VERBS and self._said_by_a_system(haystack, start):
                    continue
                candidates.append((start, priority, -end, rule))
        candidates.sort(key=lambda item: item[:3])
        findings: list[Finding] = []
        marks = sentence_marks(text) if candidates else None
        last_end = -1
        for start, _priority, negative_end, rule in candidates:
            end = -negative_end
            if start < last_end:
                continue
            while end > start and text[end - 1] in _MARKUP:
                end -= 1
            sentence_start, sentence_end = sentence_bounds(text, start, end, marks)
            sentence = text[sentence_start:sentence_end]
            findings.append(
                Finding(
                    rule_id=rule.id,
                    title=rule.title,
                    start=start,
                    end=end,
                    text=text[start:end],
                    explanation=rule.explanation,
                    reframing=rule.reframing,
                    sentence=sentence,
                    rewrite=reframe.rewrite(
                        sentence, rule_id=rule.id, start=start - sentence_start, end=end - sentence_start
                    ),
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
