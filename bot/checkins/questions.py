"""Questions from the policy: how they are asked, how a typed answer is read, and which
answers show the crisis resources. Pure functions, so every rule is tested without a bot."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.checkins import words
from bot.checkins.sealing import Answer
from bot.policy.model import CrisisSpec, QuestionSpec

YES = ("yes", "y", "yeah", "ja", "oui", "sí", "si")
NO = ("no", "n", "nope", "nein", "non")
# The bot's own yes/no questions (contact, sharing) read answers like any yes/no question.
YESNO = QuestionSpec(id="yes_or_no", prompt="yes or no", kind="yesno")


def options(question: QuestionSpec) -> list[tuple[str, str]]:
    """(value, label) of every possible answer, in order; empty for free text."""
    if question.kind == "scale":
        labels = question.labels or ()
        return [
            (str(v), f"{v} ({labels[v - question.min]})" if labels else str(v))
            for v in range(question.min, question.max + 1)
        ]
    if question.kind == "choice":
        return [(option, option) for option in question.options]
    if question.kind == "yesno":
        return [(word, words.reply_word(word)) for word in ("yes", "no")]
    return []


def parse(question: QuestionSpec, text: str) -> Answer | None:
    """The answer ``text`` gives, or None when it is not one (the question is asked again)."""
    said = text.strip()
    folded = said.casefold()
    if question.kind == "text":
        return said or None
    if question.kind == "scale":
        if re.fullmatch(r"-?\d+", said):
            value = int(said)
            return value if question.min <= value <= question.max else None
        for offset, label in enumerate(question.labels):
            if folded == label.casefold():
                return question.min + offset
        return None
    if question.kind == "yesno":
        if folded in YES or folded == "1":
            return "yes"
        if folded in NO or folded == "2":
            return "no"
        return None
    for number, option in enumerate(question.options, start=1):
        if folded in (option.casefold(), str(number)):
            return option
    return None


def shown(question: QuestionSpec, answer: Answer) -> str:
    """An answer as the member reads it back (their own history and export)."""
    if question.kind == "scale" and isinstance(answer, int) and question.labels:
        return f"{answer} ({question.labels[answer - question.min]})"
    if question.kind == "yesno" and isinstance(answer, str):
        return words.reply_word(answer)  # stored as yes or no, read in the member's language
    return str(answer)


def threshold_hit(crisis: CrisisSpec, question: QuestionSpec, answer: Answer) -> bool:
    for rule in crisis.thresholds:
        if rule.question != question.id:
            continue
        if isinstance(answer, int):
            if rule.at_most is not None and answer <= rule.at_most:
                return True
            if rule.at_least is not None and answer >= rule.at_least:
                return True
        elif rule.equals is not None and str(answer).casefold() == rule.equals.casefold():
            return True
    return False


def _keyword_patterns(crisis: CrisisSpec) -> Iterable[re.Pattern[str]]:
    for phrases in crisis.keywords.values():
        for word in phrases:
            yield re.compile(r"(?<!\w)" + re.escape(word.casefold()) + r"(?!\w)")


def keyword_hit(crisis: CrisisSpec, text: str) -> bool:
    """Whole words or phrases, in any of the policy's languages, case-insensitively."""
    folded = text.casefold()
    return any(pattern.search(folded) for pattern in _keyword_patterns(crisis))


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Iterable[int | None], low: int, high: int) -> str:
    """A mood trend in one line of text; a skipped or missing answer is a dot."""
    marks = []
    span = max(high - low, 1)
    for value in values:
        if value is None:
            marks.append("·")
        else:
            index = round((min(max(value, low), high) - low) / span * (len(SPARKS) - 1))
            marks.append(SPARKS[index])
    return "".join(marks)
