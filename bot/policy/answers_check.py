"""Check-in rules that load but would not do what the moderator wrote.

These need the validated policy as a whole (a threshold and the question it names) and
are refused at the exact line of the rule or option, so they run after validation, with
the document's positions, rather than inside the models. Each refusal here is a promise
the policy makes to members that the bot could not keep: a crisis rule that can never
fire, an answer a member types that could mean two options, an option Discord cannot show.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot import i18n
from bot.policy.yamlpos import Document, Loc, Problem

if TYPE_CHECKING:
    from bot.policy.model import CheckinsSpec, Policy, QuestionSpec, ThresholdSpec

# bot/checkins/questions.py: a yes/no answer is stored as one of these two words.
YESNO_ANSWERS = ("yes", "no")
# bot/checkins/flow.py: typed during a check-in, these skip a question or end the check-in.
RESERVED_ANSWERS = ("skip", "stop")
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")

# How bot/checkins/flow.py `_say` shows a choice question on Discord: its options followed by
# "skip" and "stop", as buttons when they are 5 at most, else as one select menu.
# https://discord.com/developers/docs/components/reference#string-select: a select menu
# holds at most 25 options, each label and value at most 100 characters.
# https://discord.com/developers/docs/components/reference#button: a button's custom_id is
# at most 100 characters; the check-in's is "confidant:checkin:" (18), the member's id (at
# most 20 digits), ":" and the option. Buttons never exceed one row (5 per row, 5 rows).
DISCORD_MAX_SELECT_OPTIONS = 25
DISCORD_MAX_OPTION_CHARS = 100
DISCORD_MAX_BUTTONS = 5
DISCORD_MAX_BUTTON_OPTION_CHARS = 100 - len("confidant:checkin:") - 20 - 1
_ADDED_CHOICES = len(RESERVED_ANSWERS)


def answer_problems(policy: Policy, document: Document) -> list[Problem]:
    """Crisis thresholds that can never fire, and answers a member could not give."""
    spec = policy.checkins
    if spec is None:
        return []
    base: Loc = ("checkins",)
    problems: list[Problem] = []
    # a check-in in another language also reads its own words for skip and stop
    local = {
        i18n.translate(policy.language, word).casefold(): word for word in RESERVED_ANSWERS
    }
    reserved = {word: word for word in RESERVED_ANSWERS} | local
    for index, question in enumerate(spec.questions):
        problems += _ambiguous_answers(
            question, document, (*base, "questions", index), reserved
        )
    for index, rule in enumerate(spec.crisis.thresholds):
        problems += _never_fires(spec, rule, document, (*base, "crisis", "thresholds", index))
    if any(room.platform == "discord" for room in policy.rooms):
        for index, question in enumerate(spec.questions):
            problems += _discord_limits(question, document, (*base, "questions", index))
    return problems


def _ambiguous_answers(
    question: QuestionSpec, document: Document, loc: Loc, reserved: dict[str, str]
) -> list[Problem]:
    """Members may answer by typing an option's number, a scale's value or a label: each of
    these must mean one thing (see bot/checkins/questions.py ``parse``)."""
    problems = []
    for position, option in enumerate(question.options, start=1):
        where = document.value_pos((*loc, "options", position - 1))
        if option.casefold() in reserved:
            problems.append(Problem(where, _reserved(option, reserved[option.casefold()])))
        elif _WHOLE_NUMBER.fullmatch(option) and int(option) != position:
            number = int(option)
            if 1 <= number <= len(question.options):
                other = question.options[number - 1]
                problems.append(
                    Problem(
                        where,
                        f"the option '{option}' is number {position} in the list; members "
                        f"may answer by typing an option's number, so typing {number} could "
                        f"mean it or option {number} ('{other}'). Add a word to it (like "
                        f"'about {option}') or move it to place {number}",
                    )
                )
    for step, label in enumerate(question.labels):
        where = document.value_pos((*loc, "labels", step))
        value = question.min + step
        if label.strip().casefold() in reserved:
            problems.append(Problem(where, _reserved(label, reserved[label.strip().casefold()])))
        elif _WHOLE_NUMBER.fullmatch(label.strip()) and int(label) != value:
            problems.append(
                Problem(
                    where,
                    f"the label '{label.strip()}' is for the answer {value}; members may "
                    f"answer by typing a number, and typing {int(label)} means the answer "
                    f"{int(label)}, not this label. Use words for labels",
                )
            )
    return problems


def _reserved(text: str, means: str) -> str:
    if text.strip().casefold() in RESERVED_ANSWERS:
        return (
            f"'{text}' cannot be an answer: typed during a check-in, 'skip' skips the question "
            "and 'stop' ends the check-in; word it differently"
        )
    return (
        f"'{text}' cannot be an answer: in a check-in in the policy's language it is the "
        f"word for '{means}' (skip skips the question, stop ends the check-in); word it "
        "differently"
    )


def _never_fires(
    spec: CheckinsSpec, rule: ThresholdSpec, document: Document, loc: Loc
) -> list[Problem]:
    """A crisis rule no answer can meet would leave a member in crisis without resources."""
    question = next((q for q in spec.questions if q.id == rule.question), None)
    if question is None:  # refused by the model already
        return []
    scale = f"answers to '{question.id}' go from {question.min} to {question.max}"
    if question.kind == "scale":
        if rule.at_most is not None and rule.at_most < question.min:
            return [
                Problem(
                    document.value_pos((*loc, "at_most")),
                    f"this crisis rule can never fire: {scale}, and none is at most {rule.at_most}",
                )
            ]
        if rule.at_least is not None and rule.at_least > question.max:
            return [
                Problem(
                    document.value_pos((*loc, "at_least")),
                    f"this crisis rule can never fire: {scale}, and none is at least "
                    f"{rule.at_least}",
                )
            ]
        return []
    if rule.equals is None:
        return []
    where = document.value_pos((*loc, "equals"))
    wanted = rule.equals.casefold()  # as bot/checkins/questions.py threshold_hit compares
    if question.kind == "choice" and wanted not in (o.casefold() for o in question.options):
        options = ", ".join(f"'{option}'" for option in question.options)
        return [
            Problem(
                where,
                f"this crisis rule can never fire: '{rule.equals}' is not one of the options "
                f"of '{question.id}' ({options})",
            )
        ]
    if question.kind == "yesno" and wanted not in YESNO_ANSWERS:
        return [
            Problem(
                where,
                f"this crisis rule can never fire: a yes/no answer is recorded as 'yes' or "
                f"'no' (whatever word the member typed), never '{rule.equals}'; write "
                "equals: yes or equals: no",
            )
        ]
    if question.kind == "text":
        return [
            Problem(
                where,
                f"'equals' on the written question '{question.id}' fires only for an answer "
                "that is exactly this text and nothing more; use crisis 'keywords' for "
                "written answers",
            )
        ]
    return []


def _discord_limits(question: QuestionSpec, document: Document, loc: Loc) -> list[Problem]:
    if question.kind != "choice":
        return []  # a scale has at most 11 steps; yes/no two: both fit Discord's limits
    problems = []
    shown = len(question.options) + _ADDED_CHOICES
    as_buttons = shown <= DISCORD_MAX_BUTTONS
    most = DISCORD_MAX_SELECT_OPTIONS - _ADDED_CHOICES
    if shown > DISCORD_MAX_SELECT_OPTIONS:
        problems.append(
            Problem(
                document.value_pos((*loc, "options", most)),
                f"Discord shows this question as a menu of at most "
                f"{DISCORD_MAX_SELECT_OPTIONS} entries, 'skip' and 'stop' among them, so a "
                f"question there can have at most {most} options; this is option {most + 1} "
                f"of {len(question.options)}. Split the question or drop options",
            )
        )
    limit = DISCORD_MAX_BUTTON_OPTION_CHARS if as_buttons else DISCORD_MAX_OPTION_CHARS
    shape = "a button" if as_buttons else "a menu entry"
    for position, option in enumerate(question.options):
        if len(option) > limit:
            problems.append(
                Problem(
                    document.value_pos((*loc, "options", position)),
                    f"this option is {len(option)} characters long; on Discord it is "
                    f"{shape}, which holds at most {limit}. Shorten it (the question's "
                    "prompt can carry the details)",
                )
            )
    return problems
