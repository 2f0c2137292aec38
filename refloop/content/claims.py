"""The claims checker: language a compliance reviewer would question, flagged before review.

The rules are data (ClaimRule), edited by compliance reviewers on /content/rules/. A rule's
pattern is a regular expression, matched case-insensitively and word-bounded: a match may not
begin or end inside a word, so "guarantee" catches "guaranteed" only if the pattern says so,
and "cure" never fires inside "secure". `unless` lets a rule accept a qualified claim: the match
is not flagged when its sentence (with a bracketed note right after it, such as "(Source: ...)")
also matches `unless`.

Design choices of the default rules (migration 0003), documented here because reviewers will
ask:
- "best practice(s)", "best regards/wishes", "at best" and "leading to" are not superlatives:
  the superlative rule excludes them with look-arounds, so they are allowed, while "best care",
  "#1", "top-rated" and "leading" are flagged unless the sentence names a source or ranking.
- A statistic (a percentage, "N out of N", "3x faster") passes only with a source in the same
  sentence: "source:", "according to", a bracketed reference "[1]".
- Patient information needs a value: "date of birth" alone (what to send with a referral) is
  fine; "DOB 03/14/1962" is not. Names are caught after "patient" / "Mr." and friends.
- Flags do not block anything: an author may hand in flagged text, and the reviewer sees the
  flags (they are also kept in the audit trail at each state change).

A flag shows the rule and the exact words caught with their position, so a page can mark them.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from refloop.content.enums import ClaimCategory

PATTERN_FLAGS = re.IGNORECASE
# How far after a sentence a bracketed citation still counts as the sentence's source.
CITATION_REACH = 120
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n")


@dataclass(frozen=True)
class Flag:
    rule: str  # the rule's name
    category: str  # ClaimCategory value
    words: str  # exactly what was caught
    start: int  # position in the checked text
    end: int
    explanation: str
    where: str = "body"  # "subject" or "body" for a version (queries.version_claims)

    @property
    def category_label(self) -> str:
        return ClaimCategory(self.category).label

    def as_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CompiledRule:
    name: str
    category: str
    explanation: str
    regex: re.Pattern
    unless: re.Pattern | None


def pattern_compile(pattern: str) -> re.Pattern:
    """A rule's pattern as it is matched: case-insensitive and not starting or ending mid-word
    (look-arounds rather than \\b, so a pattern may start with "#" or end with "%")."""
    return re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", PATTERN_FLAGS)


def rule_compile(*, name: str, category: str, explanation: str, pattern: str, unless: str = ""):
    return CompiledRule(
        name=name,
        category=category,
        explanation=explanation,
        regex=pattern_compile(pattern),
        unless=re.compile(unless, PATTERN_FLAGS) if unless else None,
    )


def rules_active() -> list[CompiledRule]:
    from refloop.content.models import ClaimRule

    return [
        rule_compile(
            name=r.name,
            category=r.category,
            explanation=r.explanation,
            pattern=r.pattern,
            unless=r.unless,
        )
        for r in ClaimRule.objects.filter(active=True).order_by("category", "name")
    ]


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence holding text[start:end], with a bracketed note that follows it."""
    left = 0
    for stop in _SENTENCE_END.finditer(text, 0, start):
        left = stop.end()
    after = _SENTENCE_END.search(text, end)
    right = after.end() if after else len(text)
    rest = text[right : right + CITATION_REACH]
    note = re.match(r"\s*[(\[][^)\]\n]*[)\]]", rest)
    if note:
        right += note.end()
    return text[left:right]


def claims_check(text: str, *, rules: list[CompiledRule] | None = None) -> list[Flag]:
    """Every place in `text` one of the active rules catches, in reading order."""
    if rules is None:
        rules = rules_active()
    flags = []
    for rule in rules:
        for match in rule.regex.finditer(text):
            if not match.group(0).strip():
                continue
            if rule.unless and rule.unless.search(
                sentence_around(text, match.start(), match.end())
            ):
                continue
            flags.append(
                Flag(
                    rule=rule.name,
                    category=rule.category,
                    words=match.group(0),
                    start=match.start(),
                    end=match.end(),
                    explanation=rule.explanation,
                )
            )
    return sorted(flags, key=lambda f: (f.start, f.end, f.rule))
