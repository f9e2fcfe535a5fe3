"""Blameless rewrites: the sentence a finding sits in, said about the system instead of a person.

Pure: no database, no Django. The coach asks a question for every finding;
a rewrite goes further and offers the sentence as it could read, so a writer
can accept it in one click and edit from there. Rewrites are made by a few
transformations of the sentence's own words (the action stays, the person
and the judgement go); where none fits, none is offered.
"""

from __future__ import annotations

import re

_IRREGULAR = {
    "broke": "break", "broken": "break", "forgot": "forget", "forgotten": "forget", "took": "take", "taken": "take",
    "made": "make", "ran": "run", "run": "run", "read": "read", "known": "know", "knew": "know", "seen": "see",
    "saw": "see", "caught": "catch", "done": "do", "did": "do", "given": "give", "gave": "give", "written": "write",
    "wrote": "write", "sent": "send", "left": "leave", "kept": "keep", "paid": "pay", "told": "tell",
    "thought": "think", "found": "find", "got": "get", "gotten": "get", "went": "go", "gone": "go", "set": "set",
    "put": "put", "let": "let", "brought": "bring", "understood": "understand", "spent": "spend", "built": "build",
    "held": "hold", "stuck": "stick", "shut": "shut", "hit": "hit", "cut": "cut", "chose": "choose",
    "chosen": "choose", "began": "begin", "begun": "begin", "spotted": "spot",
}  # fmt: skip
_PARTICIPLE = {
    "break": "broken", "forget": "forgotten", "take": "taken", "make": "made", "run": "run", "read": "read",
    "know": "known", "see": "seen", "catch": "caught", "do": "done", "give": "given", "write": "written",
    "send": "sent", "leave": "left", "keep": "kept", "pay": "paid", "tell": "told", "find": "found", "set": "set",
    "put": "put", "let": "let", "bring": "brought", "build": "built", "shut": "shut", "cut": "cut",
}  # fmt: skip
_ADD_E = re.compile(r"(?:at|[^aeiou]ic|c|v|[aeiou]s|[^s]ag|ng|[iy]z|ur|[bdgpt]l|ut|[^o]id|ir|ok|im|om|ib|ob|ap)$")
_DOUBLE_ENDING = re.compile(r"([bdgmnprt])\1$")
_ONE_SYLLABLE_CVC = re.compile(r"^[^aeiou]*[aeiou][^aeiouwxy]$")
# A stressed closing consonant-vowel-consonant doubles ("retag" -> "retagging"); unstressed endings do not.
_STRESSED_CVC = re.compile(r"(?:re|un|de|pre)[^aeiou][aeiou][bdgmnprt]$")


def base_form(verb: str) -> str:
    """Return the base form of a past tense or participle ("escalated" -> "escalate", "stopped" -> "stop")."""
    word = verb.casefold()
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if "-" in word:
        head, _, tail = word.rpartition("-")
        return f"{head}-{base_form(tail)}"
    if word.endswith("ied"):
        return word[:-3] + "y"
    if not word.endswith("ed"):
        return word
    stem = word[:-2]
    if _DOUBLE_ENDING.search(stem):
        return stem[:-1]
    if stem.endswith("e"):
        return stem
    if _ADD_E.search(stem):
        return stem + "e"
    return stem


def gerund(base: str) -> str:
    """Return the -ing form of a base form ("escalate" -> "escalating", "stop" -> "stopping")."""
    if "-" in base:
        head, _, tail = base.rpartition("-")
        return f"{head}-{gerund(tail)}"
    if base.endswith("ie"):
        return base[:-2] + "ying"
    if base.endswith("e") and not base.endswith(("ee", "ye", "oe")) and len(base) > 2:
        return base[:-1] + "ing"
    if (len(base) <= 4 and _ONE_SYLLABLE_CVC.match(base)) or _STRESSED_CVC.fullmatch(base):
        return base + base[-1] + "ing"
    return base + "ing"


def participle(base: str) -> str:
    """Return the past participle of a base form ("skip" -> "skipped", "take" -> "taken")."""
    if base in _PARTICIPLE:
        return _PARTICIPLE[base]
    if base.endswith("e"):
        return base + "d"
    if base.endswith("y") and len(base) > 1 and base[-2] not in "aeiou":
        return base[:-1] + "ied"
    if len(base) <= 4 and _ONE_SYLLABLE_CVC.match(base):
        return base + base[-1] + "ed"
    return base + "ed"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _lower_start(text: str) -> str:
    """Lower the first letter unless the first word looks like a name or an acronym."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and (first[1:2].isupper() or first.casefold() not in _LOWERABLE):
        return text
    return text[:1].lower() + text[1:]


_LOWERABLE = frozenset({"the", "a", "an", "this", "that", "these", "those", "three", "two", "one", "several", "some"})
# Where the thing a verb acts on ends: punctuation, or a word that opens a new clause or an adjunct.
_OBJECT_END = re.compile(
    r"[,;:.!?]|[ \t]+(?=(?:and|but|because|when|while|after|before|during|so|which|since|until|by|with|without|"
    r"instead|again|twice|for[ \t]+(?:\d|a|an|one|two|three|four|five|six|several|many|hours|days|weeks))\b)",
    re.IGNORECASE,
)
_STRICT_OBJECT_END = re.compile(
    r"[,;:.!?]|[ \t]+(?=(?:and|but|because|when|while|after|before|during|so|which|since|until|by|with|without|"
    r"instead|again|twice|last|yesterday|earlier|to|on|in|into|at|from|for|across|over)\b)",
    re.IGNORECASE,
)
_ENDING = re.compile(r"[ \t]*([.!?]*[\"\u201d')\]]*)[ \t]*$")


def _split_object(rest: str, *, strict: bool = False) -> tuple[str, str]:
    """Return (the object of a verb, what follows it) from the words after the verb.

    ``strict`` ends the object at the first preposition too: "a bad model | to production".
    """
    match = (_STRICT_OBJECT_END if strict else _OBJECT_END).search(rest)
    if not match:
        return rest.strip(), ""
    return rest[: match.start()].strip(), rest[match.start() :]


def _ending(sentence: str) -> tuple[str, str]:
    """Return the sentence without its closing punctuation, and that punctuation (a full stop by default)."""
    match = _ENDING.search(sentence)
    body = sentence[: match.start()]
    return body, match.group(1) or "."


def _join(prefix: str, clause: str, tail: str, ending: str) -> str:
    prefix = prefix.rstrip()
    clause = clause.strip()
    text = f"{prefix} {_lower_start(clause)}" if prefix else _capital(clause)
    text = f"{text}{tail}".rstrip()
    text = re.sub(r"[ \t]+([,;:.!?])", r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    return _capital(text.rstrip(",;: ")) + ending


def _article(noun_phrase: str) -> str:
    """Return "a" or "an" for the phrase."""
    return "an" if noun_phrase[:1].casefold() in "aeiou" else "a"


# Person-as-cause verbs, grouped by the rewrite that fits them.
_OMISSION = re.compile(
    r"(?:forgot|failed|neglected|forgotten)(?:[ \t]+to)?|(?:couldn't[ \t]+be[ \t]+bothered|"
    r"could[ \t]+not[ \t]+be[ \t]+bothered|never[ \t]+bothered|didn't[ \t]+bother|didn't|did[ \t]+not|never)"
    r"(?:[ \t]+to)?(?:[ \t]+(?P<action>(?!to\b|bother)[\w-]+))?",
    re.IGNORECASE,
)
_UNNOTICED = re.compile(r"missed|ignored|overlooked", re.IGNORECASE)
_HARM = {
    "broke": "broke", "broken": "broke", "took down": "went down", "brought down": "went down",
    "blew up": "failed", "messed up": "went wrong", "screwed up": "went wrong", "botched": "went wrong",
    "misconfigured": "was misconfigured", "fat-fingered": "was mistyped", "fat fingered": "was mistyped",
    "wiped": "was wiped", "nuked": "was wiped", "messed": "went wrong", "screwed": "went wrong",
}  # fmt: skip
_WRONG = re.compile(r"(dropped|deleted|restarted|ran|pushed|deployed|merged|changed)[ \t]+the[ \t]+wrong", re.I)
_BAD = re.compile(r"(pushed|deployed|shipped|merged|wrote)[ \t]+a[ \t]+bad", re.IGNORECASE)
_PASSIVE_ABLE = re.compile(r"skipped|rushed|bypassed|disabled|deleted|introduced[ \t]+(?:the|a)[ \t]+\w+", re.I)
_CAUSED = re.compile(
    r"(?:single-handedly[ \t]+)?caused|is[ \t]+to[ \t]+blame|was[ \t]+to[ \t]+blame|is[ \t]+the[ \t]+reason|"
    r"was[ \t]+the[ \t]+reason|was[ \t]+responsible[ \t]+for(?:[ \t]+the[ \t]+(?:outage|incident))?",
    re.IGNORECASE,
)
_MISTAKE = re.compile(r"made[ \t]+(?:a[ \t]+mistake|an[ \t]+error)(?:[ \t]+in)?", re.IGNORECASE)
_WRONG_CALL = re.compile(r"made[ \t]+(?:the|a)[ \t]+wrong[ \t]+call", re.IGNORECASE)
_JUDGED_STATE = re.compile(r"was[ \t]+(?:careless|negligent|lazy|sloppy|reckless)", re.IGNORECASE)
_INCIDENT_NOUN = re.compile(
    r"\b(?:the|this|that)[ \t]+(?:outage|incident|downtime|failure|regression|breakage|problem|issue)\b", re.I
)
_ADVERBS = re.compile(r"\b(?:carelessly|recklessly|negligently|blindly|wrongly|mistakenly|lazily)[ \t]*", re.I)


_PASSIVES = (
    "caused by", "broken by", "messed up by", "screwed up by", "triggered by", "introduced by", "ruined by",
    "the fault of", "blamed on", "blame on", "because of", "due to", "the doing of",
)  # fmt: skip


def _person_as_cause(sentence: str, start: int, end: int) -> str:
    body, ending = _ending(sentence)
    prefix, matched, rest = body[:start], body[start:end], body[end:]
    lowered = matched.casefold()
    for passive in _PASSIVES:
        if lowered.startswith(passive):
            return _passive(prefix, passive, matched, rest, ending)
    verb = _verb_at_end(matched)
    if verb is None or re.search(r"(?:'s|^his|^her|^their)[ \t]+$", matched[: verb.start()], re.IGNORECASE):
        if "'s " in lowered or lowered.startswith(("his ", "her ", "their ")):
            return _possessive(prefix, matched, rest, ending)
        return ""
    if "," in matched[: verb.start()] or re.search(r"\b(?:Mr|Ms|Mrs|Mx|Dr)\.?[ \t]*$", prefix):
        # The person came with an apposition ("Jelena, the vendor's DBA,"): the clause restarts without them.
        prefix = ""
    if by := re.search(r"[ \t]+by[ \t]*$", prefix):
        # "… error by the vendor's operator wiped X": the action stays, the person goes.
        return _join(prefix[: by.start()], verb.group() + rest, "", ending)
    verb_text = verb.group()
    after = rest
    if re.search(r"(?:bothered|neglected|forgot|failed)$", verb_text):
        after = re.sub(r"^[ \t]+to[ \t]+", " ", rest)
    omission = _OMISSION.fullmatch(verb_text)
    if omission:
        action = omission.group("action")
        if not action:
            words = after.split(None, 1)
            if not words:
                return ""
            action, after = words[0], " " + (words[1] if len(words) > 1 else "")
        if verb_text.casefold().startswith("never") and "bother" not in verb_text.casefold():
            action = base_form(action)
        after = re.sub(r"[ \t]+and[ \t]+(?:\w+ed|made|took|broke|fell|ran|left|let)\b.*$", "", after)
        after = re.sub(r"[ \t]+and[ \t]+(?=the\b)", ", and ", after)
        clause = f"nothing in the process prompted {gerund(action.casefold())}{after}"
        return _join(prefix, clause, "", ending)
    if _UNNOTICED.fullmatch(verb_text):
        thing, tail = _split_object(after)
        if not thing:
            return ""
        return _join(prefix, f"{thing} went unnoticed", tail, ending)
    if verb_text.casefold() in _HARM:
        thing, tail = _split_object(after)
        if not thing:
            return ""
        tail = re.sub(r"^[ \t]+by[ \t]+(?=\w+ing\b)", " after ", tail)
        tail = re.sub(r"^([ \t]+and[ \t]+\w+)[ \t]+it\b", r"\1", tail)
        return _join(prefix, f"{thing} {_HARM[verb_text.casefold()]}", tail, ending)
    if wrong := _WRONG.fullmatch(verb_text):
        thing, tail = _split_object(after, strict=True)
        past = participle(base_form(wrong.group(1)))
        return _join(prefix, f"the wrong {thing} was {past}", tail, ending)
    if bad := _BAD.fullmatch(verb_text):
        thing, tail = _split_object(after, strict=True)
        past = participle(base_form(bad.group(1)))
        return _join(prefix, f"a bad {thing} was {past}", tail, ending)
    if _PASSIVE_ABLE.fullmatch(verb_text):
        words = verb_text.split(None, 1)
        thing, tail = _split_object((words[1] + after) if len(words) > 1 else after, strict=True)
        if not thing:
            return ""
        return _join(prefix, f"{thing} was {words[0].casefold()}", tail, ending)
    if _CAUSED.fullmatch(verb_text):
        if "reason" in verb_text.casefold() and after.strip():
            return _join(prefix, after.strip(), "; several conditions came together to cause it", ending)
        thing, tail = _split_object(re.sub(r"^[ \t]+for[ \t]+", " ", after))
        thing = thing or _incident(verb_text) if "responsible" in verb_text.casefold() else thing
        thing = thing or _incident(sentence)
        return _join(prefix, f"several conditions came together to cause {thing}", tail, ending)
    if _MISTAKE.fullmatch(verb_text):
        if verb_text.casefold().endswith(" in") or re.match(r"[ \t]+in[ \t]", after):
            return _join(prefix, "an error slipped into " + re.sub(r"^[ \t]+in[ \t]+", "", after), "", ending)
        return _join(prefix, "an error slipped in" + after, "", ending)
    if _WRONG_CALL.fullmatch(verb_text):
        thing, tail = _split_object(after)
        return _join(prefix, f"the call {thing} turned out wrong", tail, ending)
    if verb_text.casefold() == "dropped the ball":
        thing, tail = _split_object(re.sub(r"^[ \t]+on[ \t]+", " ", after))
        return _join(prefix, f"{thing or 'a step'} slipped through", tail, ending)
    if verb_text.casefold() in {"took a shortcut", "took shortcuts"}:
        after = re.sub(r"^[ \t]+and[ \t]+(\w+ed)[ \t]+([^,;.!?]+)", r", and \2 was \1", after)
        return _join(prefix, "a shortcut was taken" + after, "", ending)
    if verb_text.casefold() == "kept pushing":
        thing, tail = _split_object(after)
        return _join(prefix, f"{thing} kept landing", tail, ending)
    if verb_text.casefold().startswith("sent"):
        thing, tail = _split_object(after)
        return _join(prefix, f"a malformed {thing} arrived", tail, ending)
    if _ADVERBS.fullmatch(verb_text + " "):
        person = matched[: verb.start()]
        return _join(prefix, person.strip() + " " + after.strip(), "", ending)
    if _JUDGED_STATE.fullmatch(verb_text):
        return _join(prefix, "the process left room for error" + after, "", ending)
    return ""


_VERB_PATTERNS = [
    _OMISSION.pattern, _WRONG.pattern, _BAD.pattern, _CAUSED.pattern, _MISTAKE.pattern, _WRONG_CALL.pattern,
    _JUDGED_STATE.pattern, _PASSIVE_ABLE.pattern, _UNNOTICED.pattern,
    "|".join(re.escape(verb).replace(r"\ ", r"[ \t]+") for verb in sorted(_HARM, key=len, reverse=True)),
    r"dropped[ \t]+the[ \t]+ball", r"took[ \t]+(?:a[ \t]+)?shortcuts?", r"kept[ \t]+pushing",
    r"sent(?:[ \t]+us)?[ \t]+(?:a[ \t]+)?(?:malformed|broken|bad)", _ADVERBS.pattern.replace(r"[ \t]*", ""),
]  # fmt: skip
_ALL_VERBS = re.compile(r"(?:" + "|".join(_VERB_PATTERNS) + r")$", re.IGNORECASE)


def _verb_at_end(matched: str):
    for start in range(len(matched)):
        if start and not matched[start - 1].isspace():
            continue
        if match := _ALL_VERBS.fullmatch(matched, start):
            return match
    return None


_JUDGEMENT_NOUNS = re.compile(
    r"mistakes?|errors?|fault|screw-?up|blunders?|oversight|negligence|carelessness|sloppiness|slip", re.IGNORECASE
)


def _possessive(prefix: str, matched: str, rest: str, ending: str) -> str:
    words = re.split(r"'s[ \t]+|^(?:his|her|their)[ \t]+", matched, maxsplit=1, flags=re.IGNORECASE)
    owned = words[-1].strip()
    if owned.casefold() == "fault":
        return _join("", f"several conditions came together to cause {_incident(prefix + rest)}", "", ending)
    if _JUDGEMENT_NOUNS.fullmatch(owned):
        if re.match(r"[ \t]+to[ \t]+\w", rest) and re.search(r"\b(?:was|is)[ \t]*$", prefix, re.IGNORECASE):
            action = rest.split(None, 2)
            clause = f"{gerund(action[1])} {action[2] if len(action) > 2 else ''}".strip()
            return _join("", f"{clause} looked safe at the time", "", ending)
        return _join(prefix, "a gap in the safeguards" + rest, "", ending)
    owned = re.sub(r"^(?:sloppy|careless|botched|bad)[ \t]+", "", owned, flags=re.IGNORECASE)
    if owned.casefold() in {"sloppy", "careless", "botched", "bad"}:
        thing, tail = _split_object(rest)
        return _join(prefix, f"the {thing}" if thing else "the change", tail, ending)
    article = "a bad" if re.search(r"\bbad\b", matched, re.IGNORECASE) else "the"
    return _join(prefix, f"{article} {owned}{rest}", "", ending)


def _passive(prefix: str, passive: str, matched: str, rest: str, ending: str) -> str:
    rest = re.sub(r"^[ \t]+(?:at|from|of)[ \t]+(?:the[ \t]+)?[A-Z][\w'-]*(?:[ \t]+[A-Z][\w'-]*)?", "", rest)
    if passive in {"the fault of", "blamed on", "blame on", "the doing of"}:
        return _join("", f"several conditions came together to cause {_incident(prefix + rest)}", "", ending)
    if re.match(r"[ \t]+(?:when|while|after|as)\b", rest):
        verb = passive.removesuffix(" by") if passive.endswith(" by") else ""
        return _join(prefix, f"{verb}{rest}", "", ending)
    if re.match(r"[ \t]+\w+ing\b", rest):
        return _join(prefix, f"{passive}{rest}", "", ending)
    return _join(prefix, f"{passive} several conditions that came together{rest}", "", ending)


def _incident(text: str) -> str:
    match = _INCIDENT_NOUN.search(text)
    return match.group().casefold() if match else "this incident"


_HINDSIGHT = re.compile(
    r"(?P<negative>shouldn't|should[ \t]+not|couldn't|could[ \t]+not)?[ \t]*"
    r"(?:should|could|ought[ \t]+to|should've|could've)?(?:[ \t]+never)?(?:[ \t]+have)?[ \t]+(?P<verb>[\w-]+)",
    re.IGNORECASE,
)
_PERCEPTION = {"noticed", "seen", "spotted", "caught", "known", "realised", "realized", "found"}


def _hindsight(sentence: str, start: int, end: int) -> str:
    body, ending = _ending(sentence)
    matched = body[start:end].casefold()
    after = body[end:]
    if matched.startswith("failed to"):
        verb = matched.split()[-1]
        return _join(body[:start], f"did not {verb}{after}", "", ending)
    if "avoidable" in matched:
        return _join(body[:start].rstrip(), "had several contributing factors" + after, "", ending)
    if matched.startswith("if only") or (matched.startswith("would") and re.match(r"(?:if|had)\b", body, re.I)):
        return _counterfactual(sentence, 0, len(body))
    if matched.startswith("would"):
        subject = body[:start].strip()
        verb = (after.split() or [""])[0] if matched.endswith("have") else matched.split()[-1]
        if not subject or verb in {"happened", "been"} or len(subject.split()) > 4 or re.search(r"[,;:]", subject):
            return ""
        rest = after if not matched.endswith("have") else after.split(None, 1)[1] if len(after.split()) > 1 else ""
        noun = re.sub(r"^(?:a|an|the)[ \t]+", "", subject, flags=re.IGNORECASE)
        if re.match(r"(?:any|every|a|an)\b", subject, re.IGNORECASE) and noun.casefold().split()[-1] in {
            "engineer", "developer", "person", "reviewer", "operator", "one", "team",
        }:  # fmt: skip
            return _join("", f"{rest.strip()} was hard to {base_form(verb)} at the time", "", ending)
        return _join("", f"no {noun} was in place to {base_form(verb)}{rest}", "", ending)
    words = (matched + after).split()
    participle_index = next(
        (i for i, word in enumerate(words) if word not in {"should", "could", "have", "never", "not", "ought", "to"}
         and not word.endswith(("n't", "'ve"))),
        None,
    )  # fmt: skip
    if participle_index is None:
        return ""
    verb = words[participle_index].strip(",;")
    rest = " ".join((matched + after).split()[participle_index + 1 :])
    negative = bool(re.search(r"n't|\bnot\b|\bnever\b", matched))
    if verb in _PERCEPTION:
        if rest.startswith("that ") or not rest:
            return _join("", f"at the time it was hard to {base_form(verb)} {rest}", "", ending)
        thing, tail = _split_object(rest)
        return _join("", f"at the time, {thing} was hard to {base_form(verb)}", " " + tail.strip(), ending)
    action = f"{gerund(base_form(verb))} {rest}".strip()
    if negative:
        return _join("", f"at the time, {action} looked safe", "", ending)
    return _join("", f"at the time, {action} did not look necessary", "", ending)


_COUNTERFACTUAL_ACTION = re.compile(
    r"\b(?i:if)(?:[ \t]+only)?[ \t]+.+?[ \t]+had(?:n't|[ \t]+not)?[ \t]+(?P<verb>[\w-]+)(?P<rest>[^,;.!?]*)"
    r"|\b(?i:had)[ \t]+(?:@[\w.-]*\w|(?:(?:Mr|Ms|Mrs|Mx|Dr)\.?[ \t]+)?[A-Z][\w'-]*(?:[ \t]+[A-Z][\w'-]*)?"
    r"|the[ \t]+[^,;.!?]+?)"
    r"[ \t]+(?:not[ \t]+|only[ \t]+|just[ \t]+)?(?P<verb2>[\w-]+)(?P<rest2>[^,;.!?]*)",
)
_SUPPOSED = re.compile(
    r"(?:was|were|needed|had|was[ \t]+meant|was[ \t]+expected)[ \t]+(?:supposed[ \t]+)?to[ \t]+(?P<action>.+?),?"
    r"[ \t]+(?:and|but)[ \t]+",
    re.IGNORECASE,
)


def _counterfactual(sentence: str, start: int, end: int) -> str:
    body, ending = _ending(sentence)
    matched = body[start:end]
    if supposed := _SUPPOSED.search(matched):
        return _join("", f"nothing in the process made sure to {supposed.group('action')}", "", ending)
    if re.search(r"(?:were it not|if it|had it not)", matched, re.IGNORECASE):
        clause = f"several conditions came together in {_incident(body)}, and the change was one of them"
        return _join("", clause, "", ending)
    tail = body[start:]
    if match := _COUNTERFACTUAL_ACTION.search(tail):
        verb = match.group("verb") or match.group("verb2")
        rest = match.group("rest") if match.group("verb") else match.group("rest2")
        if verb.casefold() == "had":
            return ""
        if verb.casefold() == "been":
            subject = re.match(r"(?i:if)(?:[ \t]+only)?[ \t]+(.+?)[ \t]+had[ \t]+been", tail)
            if subject and rest.strip():
                clause = f"at the time, nothing showed that {subject.group(1)} needed to be {rest.strip()}"
                return _join("", clause, "", ending)
            return ""
        if verb.casefold() == "paid" and rest.strip().startswith("attention"):
            return _join("", "at the time, other signals competed for attention", "", ending)
        action = f"{gerund(base_form(verb))}{rest}".strip()
        return _join("", f"at the time, nothing prompted {action}", "", ending)
    return ""


def _assigned(sentence: str, start: int, end: int) -> str:
    body, ending = _ending(sentence)
    matched = body[start:end]
    who = re.match(r"it[ \t]+(?:was|is)[ \t]+(.+?)[ \t]+who[ \t]+", matched, re.IGNORECASE)
    if who:
        # "It was Patrick who broke X" reads as "Patrick broke X".
        person_clause = who.group(1) + " " + matched[who.end() :]
        return _person_as_cause(body[:start] + person_clause + body[end:] + ending, start, start + len(person_clause))
    because = re.match(r"because[ \t]+", matched, re.IGNORECASE)
    if because:
        return _person_as_cause(sentence, start + because.end(), end)
    mistake = re.search(r"[ \t]+by[ \t]+(?:mistake|accident)$", matched, re.IGNORECASE)
    if mistake:
        words = matched[: mistake.start()].split(None, 2)
        if len(words) == 3:
            verb, thing = words[1], words[2]
            clause = f"{thing} was {participle(base_form(verb))}{matched[mistake.start() :]}"
            return _join(body[:start], clause, body[end:], ending)
    traced = re.match(r"(traced[ \t]+.+?[ \t]+to[ \t]+)", matched, re.IGNORECASE)
    apposed = re.match(r",[ \t]+who[ \t]+(\w+ed)[ \t]+(.*)$", body[end:])
    if traced and apposed:
        thing, tail = _split_object(" " + apposed.group(2), strict=True)
        clause = f"{traced.group(1)}{thing}, {apposed.group(1)}{tail}"
        return _join(body[:start], clause, "", ending)
    blame_for = re.search(r"\bfor[ \t]+(?P<thing>[^,;.!?]+?)[ \t]+(?:falls|lies|rests|is|was|sits)\b", matched, re.I)
    thing = blame_for.group("thing") if blame_for else None
    if not thing:
        after_for = re.match(r"[ \t]+for[ \t]+(?P<thing>(?:the|this|that)[ \t]+[^,;.!?]+)", body[end:], re.IGNORECASE)
        thing = after_for.group("thing") if after_for else _incident(body)
    if thing.casefold() in {"this one", "that one"}:
        thing = "this incident"
    return _join("", f"several conditions came together to cause {thing}", "", ending)


_HUMAN_ERROR = re.compile(
    r"(?:(?:simple|pure|plain|just|a|an)[ \t]+)?(?P<phrase>human[ \t]+errors?|user[ \t]+error|operator[ \t]+error|"
    r"pilot[ \t]+error|human[ \t]+mistake|human[ \t]+failure|pebkac|pebcak|id10t)",
    re.IGNORECASE,
)
_JUDGEMENT_WORDS = {
    "careless": "risky", "sloppy": "risky", "negligent": "risky", "reckless": "risky", "lazy": "risky",
    "irresponsible": "risky", "incompetent": "risky", "amateurish": "risky", "unprofessional": "risky",
    "inexcusable": "costly", "stupid": "risky", "dumb": "risky", "idiotic": "risky", "foolish": "risky",
    "inattentive": "stretched", "clueless": "missing context", "carelessness": "a gap in the safeguards",
    "negligence": "a gap in the safeguards", "sloppiness": "a gap in the safeguards",
    "laziness": "a gap in the safeguards", "incompetence": "a gap in the safeguards",
    "lack of care": "a gap in the safeguards", "lack of diligence": "a gap in the safeguards",
    "rookie mistake": "an easy step to get wrong", "without even": "without",
    "without bothering": "without", "not paying attention": "handling several things at once",
    "asleep at the wheel": "handling several things at once", "idiot": "person",
}  # fmt: skip
_MINIMISING = {
    "it was easy to": "at the time it was hard to", "it's easy to": "it is hard to", "it is easy to": "it is hard to",
    "obvious that": "clear in hindsight that", "everyone knows": "the team's unwritten rule is that",
}  # fmt: skip


def _replace_span(sentence: str, start: int, end: int, replacement: str) -> str:
    body, ending = _ending(sentence)
    prefix, suffix = body[:start], body[end:]
    if not replacement:
        suffix = re.sub(r"^,[ \t]*", " ", suffix)
        return _join(prefix, suffix.strip(), "", ending) if prefix.strip() else _join("", suffix, "", ending)
    article = re.search(r"\b(a|an)[ \t]+$", prefix, re.IGNORECASE)
    if article:
        prefix = prefix[: article.start()] + _article(replacement) + " "
    return _join(prefix if prefix.strip() else "", replacement + suffix, "", ending)


def _human_error(sentence: str, start: int, end: int) -> str:
    body, _ending_mark = _ending(sentence)
    match = _HUMAN_ERROR.search(body, max(0, start - 10))
    if match and match.start("phrase") <= start < match.end():
        lead = body[match.start() : match.start("phrase")].strip().casefold()
        begin = match.start() if lead in {"simple", "pure", "plain", "just"} else match.start("phrase")
        replacement = "an unguarded step" if lead not in {"a", "an"} else "unguarded step"
        return _replace_span(sentence, begin, match.end(), replacement)
    phrase = body[start:end].casefold()
    if "fat" in phrase or "finger" in phrase:
        return _replace_span(sentence, start, end, "a mistyped value")
    if phrase.startswith("mistake by") or phrase.startswith("error on the part of"):
        body, _mark = _ending(sentence)
        article = re.search(r"\b(?:a|an)(?:[ \t]+\w+)?[ \t]+$", body[:start], re.IGNORECASE)
        return _replace_span(sentence, article.start() if article else start, end, "an unguarded step by")
    if phrase == "people problem":
        return _replace_span(sentence, start, end, "process gap")
    return ""


def _character(sentence: str, start: int, end: int) -> str:
    phrase = " ".join(sentence[start:end].casefold().split())
    if phrase in _JUDGEMENT_WORDS:
        return _replace_span(sentence, start, end, _JUDGEMENT_WORDS[phrase])
    if phrase.endswith("ly"):
        return _replace_span(sentence, start, end, "")
    if "know better" in phrase:
        body, ending = _ending(sentence)
        after = body[end:]
        action = re.match(r"[ \t]+than[ \t]+to[ \t]+(\w+)(.*)", after)
        if action:
            return _join("", f"{gerund(action.group(1))}{action.group(2)} looked reasonable at the time", "", ending)
    return ""


def _minimising(sentence: str, start: int, end: int) -> str:
    phrase = " ".join(sentence[start:end].casefold().split())
    for words, replacement in _MINIMISING.items():
        if phrase.startswith(words):
            return _replace_span(sentence, start, end, replacement)
    if phrase.startswith("obvious to"):
        body, ending = _ending(sentence)
        return _join(body[:start], "clear in hindsight" + re.sub(r"^[ \t]+but[ \t]+\S+", "", body[end:]), "", ending)
    if re.match(r"all (?:he|she|they|you) had to do", phrase):
        body, ending = _ending(sentence)
        rest = re.sub(r"^[ \t]+was[ \t]+", " ", body[end:])
        return _join("", f"the step that was missing:{rest}", "", ending)
    if re.match(r"anyone (?:would|could)", phrase):
        return _replace_span(sentence, start, end, "few would have")
    return _replace_span(sentence, start, end, "")


def _fault(sentence: str, start: int, end: int) -> str:
    phrase = " ".join(sentence[start:end].casefold().split())
    if "culprit" in phrase:
        body, ending = _ending(sentence)
        if re.match(r"[ \t]+was\b", body[end:]) or phrase.endswith(" was"):
            rest = re.sub(r"^[ \t]+was\b", "", body[end:])
            rest = re.sub(r"\b[A-Z][\w-]*'s[ \t]+", "the ", rest)
            return _join("", f"one contributing factor was{rest}", "", ending)
        return _replace_span(sentence, start, end, "the contributing factors")
    return _assigned(sentence, start, end)


_BY_RULE = {
    "person-as-cause": _person_as_cause,
    "person-counterfactual": _counterfactual,
    "outage-assigned": _assigned,
    "hindsight": _hindsight,
    "human-error": _human_error,
    "character-judgement": _character,
    "minimising": _minimising,
    "fault": _fault,
}


def rewrite(sentence: str, *, rule_id: str, start: int, end: int) -> str:
    """Return ``sentence`` said without the blame ``rule_id`` found at ``start:end``, or "" when none fits.

    The rewrite keeps the sentence's facts (what happened, to what) and drops
    who is judged for it; a rewrite that would say nothing new is not offered.
    """
    transform = _BY_RULE.get(rule_id)
    if transform is None or not sentence.strip():
        return ""
    try:
        result = transform(sentence, start, end)
    except (IndexError, ValueError):
        # A sentence too unusual for these transformations gets the coach's question only.
        return ""
    result = " ".join(result.split())
    if not result or result.casefold() == " ".join(sentence.split()).casefold():
        return ""
    return result
