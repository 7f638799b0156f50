"""The policy's ``checkins:`` section: a broken one is explained where the moderator looks,
and pure question rules (parsing, thresholds, keywords, sparkline) hold."""

from __future__ import annotations

import pytest

from bot.checkins import questions as q
from bot.policy import PolicyLoadError, load_policy_text
from tests.checkin_rig import CHECKIN_POLICY

P = "policies/case.yaml"
ROOMS = "rooms:\n  - platform: console\n    name: recovery\nreminder:\n  text: Hi\n"
START = "checkins:\n  intro: Private.\n  questions:\n"
Q = START + "    - {id: mood, prompt: Mood?, kind: scale}\n"
LINE = "    resources:\n      - {name: Line, number: '111'}\n"

CASES: list[tuple[str, str, str]] = [
    (
        "no_questions",
        "checkins:\n  intro: Private.\n  questions: []\n",
        f"{P}:8:14: 'questions' is empty; list at least one question",
    ),
    (
        "empty_intro",
        "checkins:\n  intro: ' '\n  questions:\n    - {id: mood, prompt: Mood?, kind: scale}\n",
        f"{P}:7:10: the check-in intro is empty",
    ),
    (
        "bad_kind",
        START + "    - {id: mood, prompt: Mood?, kind: slider}\n",
        f"{P}:9:39: 'slider' is not one of: scale, choice, yesno, text",
    ),
    (
        "choice_one_option",
        START + "    - {id: pick, prompt: Which?, kind: choice, options: [a]}\n",
        f"{P}:9:7: a choice question needs at least two different 'options'",
    ),
    (
        "scale_inverted",
        START + "    - {id: mood, prompt: Mood?, kind: scale, min: 5, max: 1}\n",
        f"{P}:9:7: a scale needs 'min' below 'max' and at most 11 steps, got 5 to 1",
    ),
    (
        "labels_count",
        START + "    - {id: mood, prompt: Mood?, kind: scale, labels: [low, high]}\n",
        f"{P}:9:7: a scale from 1 to 5 needs 5 'labels' (one per step), got 2",
    ),
    (
        "duplicate_ids",
        Q + "    - {id: mood, prompt: Again?, kind: text}\n",
        f"{P}:9:5: the question id 'mood' is used twice",
    ),
    (
        "threshold_unknown_question",
        Q + "  crisis:\n    thresholds:\n      - {question: sleep, at_most: 1}\n" + LINE,
        f"{P}:7:3: the crisis threshold names the question 'sleep', which is not under "
        "'questions'",
    ),
    (
        "threshold_two_tests",
        Q + "  crisis:\n    thresholds:\n      - {question: mood, at_most: 1, at_least: 5}\n"
        + LINE,
        f"{P}:12:9: a threshold needs exactly one of 'at_most', 'at_least' or 'equals'",
    ),
    (
        "crisis_without_resources",
        Q + "  crisis:\n    keywords:\n      en: [hopeless]\n",
        f"{P}:11:5: 'crisis' has keywords or thresholds but no 'resources' to show",
    ),
    (
        "resource_unreachable",
        Q + "  crisis:\n    resources:\n      - {name: Line}\n",
        f"{P}:12:9: the resource 'Line' needs a 'number' or a 'link'",
    ),
    (
        "supporters_without_room",
        Q + "  supporters:\n    - {platform: console, user: sam}\n",
        f"{P}:7:3: 'supporters' and 'supporters_room' go together: give both or neither",
    ),
    (
        "duty_to_warn_without_supporters",
        Q + "  duty_to_warn: We tell a supporter.\n",
        f"{P}:7:3: 'duty_to_warn' needs 'supporters' and a 'supporters_room' to tell",
    ),
    (
        "bad_question_id",
        START + "    - {id: Mood Today, prompt: Mood?, kind: scale}\n",
        f"{P}:9:12: the question id 'Mood Today' may only use lowercase letters, digits and "
        "'_', starting with a letter",
    ),
    (
        "timeout_zero",
        Q + "  timeout_minutes: 0\n",
        f"{P}:10:20: must be at least 1 minute, got 0: a member needs time to answer a question",
    ),
]


@pytest.mark.parametrize(("section", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_checkins_section_is_explained(section: str, expected: str) -> None:
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_text(ROOMS + section, P)
    assert [str(error) for error in caught.value.errors] == [expected]


def test_full_section_loads_and_is_off_without_it() -> None:
    policy = load_policy_text(CHECKIN_POLICY, "policies/circle.yaml")
    spec = policy.checkins
    assert spec is not None and spec.enabled and spec.timeout_minutes == 20
    assert [x.kind for x in spec.questions] == ["scale", "yesno", "choice", "text"]
    assert spec.is_supporter("console", "sam") and not spec.is_supporter("console", "mod")
    assert load_policy_text(ROOMS, P).checkins is None


def test_answers_thresholds_and_keywords() -> None:
    spec = load_policy_text(CHECKIN_POLICY, "policies/circle.yaml").checkins
    assert spec is not None
    mood, slept, support, note = spec.questions
    assert [q.parse(mood, t) for t in ("3", "very good", "0", "six")] == [3, 5, None, None]
    assert [q.parse(slept, t) for t in ("Y", "2", "maybe")] == ["yes", "no", None]
    assert [q.parse(support, t) for t in ("2", "Friends", "5")] == ["sponsor", "friends", None]
    assert q.parse(note, "  anything  ") == "anything" and q.parse(note, " ") is None
    assert q.threshold_hit(spec.crisis, mood, 1) and not q.threshold_hit(spec.crisis, mood, 2)
    assert q.keyword_hit(spec.crisis, "I want to END IT all")
    assert not q.keyword_hit(spec.crisis, "the weekend iteration")  # whole words only
    assert q.sparkline([1, 3, None, 5], 1, 5) == "▁▅·█"
