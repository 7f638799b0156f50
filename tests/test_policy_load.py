"""Valid policies load into the snapshot the bot queries; hostile files fail fast."""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import pytest

from bot.policy import (
    PolicyLoadError,
    PolicySet,
    ReminderSpec,
    RoomRef,
    UserRef,
    load_policy_dir,
    load_policy_text,
)
from bot.policy.frozen import ValidationError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "policies" / "recovery-circle.yaml"
DEFAULTS = ROOT / "bot" / "defaults"

MINIMAL = "rooms:\n  - platform: console\n    name: recovery\nreminder:\n  text: Hi\n"


def test_shipped_example_policy_loads() -> None:
    policy = load_policy_text(EXAMPLE.read_bytes(), "policies/recovery-circle.yaml")
    assert policy.name == "recovery-circle"
    assert policy.source == "policies/recovery-circle.yaml"
    assert policy.rooms == (
        RoomRef(platform="matrix", alias="#recovery-circle:example.org"),
        RoomRef(platform="discord", id="112233445566778899"),
    )
    assert UserRef(platform="matrix", user="@alex:example.org") in policy.moderators
    assert all(alert.platform in ("matrix", "discord") for alert in policy.alerts)
    reminder = policy.reminder
    assert reminder.require_agreement is True
    assert (reminder.delivery, reminder.fallback, reminder.unagreed_posts) == (
        "private",
        "room_mention",
        "hide",
    )
    assert reminder.repeat is not None
    assert (reminder.repeat.every_days, reminder.repeat.every_messages) == (7, 200)
    assert "What is shared here stays here." in reminder.text
    for limit in ("serious harm", "child or vulnerable adult", "law"):
        assert limit in reminder.text


def test_default_policy_covers_local_rooms() -> None:
    policies = load_policy_dir(DEFAULTS, display_root=ROOT)
    (policy,) = policies.policies
    assert policy.source == "bot/defaults/default-policy.yaml"
    assert policies.for_room("console", "recovery", name="recovery") is policy
    assert policies.for_room("matrix", "!x:localhost", aliases=["#recovery:localhost"]) is policy
    assert policies.is_moderator("console", "mod")
    assert policies.is_moderator("matrix", "@mod:localhost", policy)
    assert set(policy.alerts) == {
        RoomRef(platform="console", name="mods"),
        RoomRef(platform="matrix", alias="#mods:localhost"),
    }
    example = load_policy_text(EXAMPLE.read_text(encoding="utf-8"), "x.yaml")
    assert policy.reminder == example.reminder


def test_example_and_default_policies_load_together(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / EXAMPLE.name)
    shutil.copy(DEFAULTS / "default-policy.yaml", tmp_path / "default-policy.yaml")
    policies = load_policy_dir(tmp_path, display_root=tmp_path)
    assert [p.name for p in policies.policies] == ["default-policy", "recovery-circle"]
    assert [p.source for p in policies.policies] == ["default-policy.yaml", "recovery-circle.yaml"]


def _set() -> PolicySet:
    circle = load_policy_text(
        "rooms:\n"
        "  - {platform: matrix, id: '!circle:example.org'}\n"
        "  - {platform: discord, id: '111'}\n"
        "moderators:\n"
        "  - {platform: matrix, user: '@alex:example.org'}\n"
        "  - {platform: discord, user: '222'}\n"
        "reminder: {text: Stays here.}\n",
        "policies/circle.yaml",
    )
    evening = load_policy_text(
        "rooms:\n"
        "  - {platform: matrix, alias: '#evening:example.org'}\n"
        "  - {platform: discord, name: evening}\n"
        "  - {platform: console, name: evening}\n"
        "moderators:\n"
        "  - {platform: console, user: sam}\n"
        "reminder: {text: Stays here too.}\n",
        "policies/evening.yaml",
    )
    return PolicySet(policies=(circle, evening))


def test_for_room_matches_each_selector() -> None:
    policies = _set()
    circle, evening = policies.policies
    assert policies.for_room("matrix", "!circle:example.org") is circle
    assert policies.for_room("discord", "111", name="anything") is circle
    assert policies.for_room("matrix", "!other:example.org", aliases=("#evening:example.org",)) is (
        evening
    )
    assert policies.for_room("discord", "999", name="evening") is evening
    assert policies.for_room("console", "evening", name="evening") is evening


def test_for_room_does_not_cross_platforms_or_guess() -> None:
    policies = _set()
    assert policies.for_room("discord", "!circle:example.org") is None
    assert policies.for_room("matrix", "!x:example.org", name="evening") is None
    assert policies.for_room("console", "recovery", name="recovery") is None
    assert policies.for_room("matrix", "!x:example.org", aliases=["#circle:example.org"]) is None


def test_moderators_and_names() -> None:
    policies = _set()
    circle, evening = policies.policies
    assert policies.is_moderator("matrix", "@alex:example.org")
    assert policies.is_moderator("matrix", "@alex:example.org", circle)
    assert not policies.is_moderator("matrix", "@alex:example.org", evening)
    assert not policies.is_moderator("console", "@alex:example.org")
    assert policies.is_moderator("console", "sam", evening)
    assert not policies.is_moderator("discord", "333")
    assert policies.by_name("evening") is evening
    assert policies.by_name("nope") is None


def test_policy_set_refuses_conflicts_when_built_directly() -> None:
    one = load_policy_text(MINIMAL, "policies/one.yaml")
    two = load_policy_text(MINIMAL, "policies/two.yaml")
    with pytest.raises(ValidationError, match="already covered by policy 'one'"):
        PolicySet(policies=(one, two))


def test_models_are_frozen() -> None:
    policy = load_policy_text(MINIMAL, "policies/one.yaml")
    with pytest.raises(ValidationError):
        policy.name = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        policy.reminder.text = "changed"  # type: ignore[misc]


def test_text_hash_is_stable_and_tracks_changes() -> None:
    base = ReminderSpec(text="What is shared here\nstays here.")
    expected = hashlib.sha256(b"What is shared here\nstays here.").hexdigest()[:16]
    assert base.text_hash == expected
    assert len(base.text_hash) == 16
    same = ReminderSpec(text="  What is shared here\r\nstays here.\n\n", delivery="room")
    assert same.text_hash == base.text_hash
    changed = ReminderSpec(text="What is shared here\nstays here!")
    assert changed.text_hash != base.text_hash


def test_text_hash_survives_a_reload_with_other_line_endings() -> None:
    unix = load_policy_text(
        "rooms: [{platform: console, name: r}]\nreminder:\n  text: |\n    One\n    Two\n", "a.yaml"
    )
    windows = load_policy_text(
        b"rooms: [{platform: console, name: r}]\r\nreminder:\r\n  text: |\r\n    One\r\n"
        b"    Two\r\n",
        "a.yaml",
    )
    assert unix.reminder.text_hash == windows.reminder.text_hash


def test_yaml_1_1_words_stay_text() -> None:
    policy = load_policy_text(
        "rooms:\n  - {platform: console, name: on}\n  - {platform: console, name: no}\n"
        "moderators:\n  - {platform: console, user: yes}\nreminder: {text: off}\n",
        "policies/norway.yaml",
    )
    assert [room.name for room in policy.rooms] == ["on", "no"]
    assert policy.moderators[0].user == "yes"
    assert policy.reminder.text == "off"


def test_bom_yml_suffix_and_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "circle.yml").write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    (tmp_path / ".circle.yaml.swp").write_text("garbage")
    (tmp_path / ".backup.yaml").write_text("rooms: [")
    (tmp_path / "README.md").write_text("# notes")
    policies = load_policy_dir(tmp_path)
    assert [p.name for p in policies.policies] == ["circle"]


def test_aliases_within_limits_are_allowed() -> None:
    policy = load_policy_text(
        "rooms:\n  - &r {platform: console, name: recovery}\n"
        "moderators: &mods\n  - {platform: console, user: mod}\n"
        "reminder: {text: Hi}\n",
        "policies/a.yaml",
    )
    assert policy.moderators == (UserRef(platform="console", user="mod"),)


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    bomb = "\n".join(lines) + "\n"
    started = time.monotonic()
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_text(bomb, "policies/bomb.yaml")
    assert time.monotonic() - started < 2.0
    (error,) = caught.value.errors
    assert "more than 100000 values" in error.message


def test_two_mib_file_is_refused_before_parsing(tmp_path: Path) -> None:
    big = MINIMAL + "# " + "x" * (2 * 1024 * 1024) + "\n"
    (tmp_path / "big.yaml").write_text(big)
    started = time.monotonic()
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_dir(tmp_path, display_root=tmp_path)
    assert [str(e) for e in caught.value.errors] == ["big.yaml:1:1: file is larger than 1 MiB"]
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_text(big, "big.yaml")
    assert [str(e) for e in caught.value.errors] == ["big.yaml:1:1: file is larger than 1 MiB"]
    assert time.monotonic() - started < 2.0


def test_deep_nesting_near_the_size_limit_fails_fast_without_recursion_error() -> None:
    text = "rooms: " + "[" * 400_000 + "]" * 400_000 + "\n"
    started = time.monotonic()
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_text(text, "deep.yaml")
    assert time.monotonic() - started < 2.0
    assert "nested more than 50 levels" in str(caught.value)


def test_very_wide_document_is_refused() -> None:
    text = "rooms: [" + "1," * 150_000 + "1]\n"
    started = time.monotonic()
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_text(text, "wide.yaml")
    assert time.monotonic() - started < 3.0
    assert [str(e) for e in caught.value.errors] == [
        "wide.yaml:1:200003: the file has more than 100000 values; refusing to read it"
    ]


def test_unknown_section_is_refused_rather_than_ignored() -> None:
    # A misspelt or not-yet-supported section must never silently switch a feature off.
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_text(MINIMAL + "theme:\n  colour: blue\n", "policies/a.yaml")
    assert [str(e) for e in caught.value.errors] == ["policies/a.yaml:6:1: unknown key 'theme'"]


# -- what the refusals of unworkable policies must still accept --------------------------------
CHECKIN_ROOMS = "rooms:\n  - platform: {platform}\n    {selector}\nreminder:\n  text: Hi\n"
DISCORD_ROOM = CHECKIN_ROOMS.format(platform="discord", selector="id: '412345678901234567'")
CONSOLE_ROOM = CHECKIN_ROOMS.format(platform="console", selector="name: recovery")


def _with_question(rooms: str, question: str, threshold: str = "") -> str:
    crisis = (
        "  crisis:\n    thresholds:\n      - " + threshold + "\n    resources:\n"
        "      - {name: Line, link: 'https://example.org/help'}\n"
        if threshold
        else ""
    )
    return rooms + "checkins:\n  intro: Private.\n  questions:\n    - " + question + "\n" + crisis


@pytest.mark.parametrize(
    ("question", "threshold"),
    [
        ("{id: mood, prompt: Mood?, kind: scale, min: 1, max: 5}", "{question: mood, at_most: 1}"),
        ("{id: mood, prompt: Mood?, kind: scale, min: 1, max: 5}", "{question: mood, at_least: 5}"),
        ("{id: safe, prompt: Safe?, kind: yesno}", "{question: safe, equals: 'No'}"),
        (
            "{id: week, prompt: Week?, kind: choice, options: [calm, Hard]}",
            "{question: week, equals: hard}",
        ),
        ("{id: nights, prompt: Nights?, kind: choice, options: ['1', '2', '3 or more']}", ""),
        ("{id: mood, prompt: Mood?, kind: scale, min: 1, max: 3, labels: ['1', low, high]}", ""),
        ("{id: mood, prompt: 'ㅤ💙', kind: scale, min: 1, max: 2, labels: ['😞', 'e\u0301']}", ""),
    ],
)
def test_workable_checkin_rules_still_load(question: str, threshold: str) -> None:
    """The boundary of every new refusal: a rule at the scale's end fires, yes/no and option
    answers are compared regardless of case, an option may be its own number, an emoji or
    a letter with a combining accent is visible."""
    for rooms in (CONSOLE_ROOM, DISCORD_ROOM):
        load_policy_text(_with_question(rooms, question, threshold), "policies/case.yaml")


def test_discord_limits_apply_only_to_policies_with_discord_rooms() -> None:
    many = ", ".join(f"place {i}" for i in range(1, 25))
    question = "{id: where, prompt: Where?, kind: choice, options: [" + many + "]}"
    load_policy_text(_with_question(CONSOLE_ROOM, question), "policies/case.yaml")
    with pytest.raises(PolicyLoadError, match="at most 23 options"):
        load_policy_text(_with_question(DISCORD_ROOM, question), "policies/case.yaml")
    fits = "{id: where, prompt: Where?, kind: choice, options: [" + many.rsplit(",", 1)[0] + "]}"
    load_policy_text(_with_question(DISCORD_ROOM, fits), "policies/case.yaml")
    # as a menu an option may be 100 characters long; as one of three buttons, 61
    menu = ", ".join(["a", "b", "c", "x" * 100])
    load_policy_text(
        _with_question(DISCORD_ROOM, "{id: w, prompt: W?, kind: choice, options: [" + menu + "]}"),
        "policies/case.yaml",
    )
    buttons = "{id: w, prompt: W?, kind: choice, options: [a, " + "x" * 61 + "]}"
    load_policy_text(_with_question(DISCORD_ROOM, buttons), "policies/case.yaml")


@pytest.mark.parametrize(
    "invisible",
    [
        "\u200b",  # zero-width space
        "\u3164",  # Hangul filler
        "\u2800",  # braille blank
        "\u034f",  # combining grapheme joiner
        "\u115f\u1160",  # Hangul choseong and jungseong fillers
        "\uffa0",  # halfwidth Hangul filler
        "\u00ad\u2060\ufeff",  # soft hyphen, word joiner, byte-order mark (Cf)
        "\u3000\u00a0",  # ideographic and no-break spaces (Zs)
        "\ufe0f\U000e0100",  # variation selectors
        "\u0301",  # a combining accent on nothing
        "\U000e0041",  # a tag character
    ],
)
def test_texts_members_read_need_a_visible_character(invisible: str) -> None:
    from bot.policy.texts_check import has_visible_text

    assert not has_visible_text(invisible + " " + invisible)
    assert has_visible_text(invisible + "a")
    escaped = invisible.encode("unicode_escape").decode("ascii")  # YAML reads the escapes
    text = MINIMAL.replace("text: Hi", f'text: "{escaped}"')
    with pytest.raises(
        PolicyLoadError, match=r"the reminder text (is empty|has no visible characters)"
    ):
        load_policy_text(text, "policies/case.yaml")
