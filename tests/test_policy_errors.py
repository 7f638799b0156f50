"""Broken policies must be explained exactly where the moderator has to look.

Each case asserts the complete ``file:line:col: message`` output, so a reworded or misplaced
message fails here rather than confusing a volunteer later.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.policy import PolicyLoadError, load_policy_dir, load_policy_text, yamlpos

P = "policies/case.yaml"
ROOMS = "rooms:\n  - platform: console\n    name: recovery\n"
BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
)

CASES: list[tuple[str, str | bytes, list[str]]] = [
    (
        "tab_indent",
        "rooms:\n\t- platform: console\n",
        [f"{P}:2:1: tab character found: YAML needs spaces, not tabs"],
    ),
    (
        "tab_indent_nested",
        ROOMS + "reminder:\n  text: Hello\n\tdelivery: room\n",
        [f"{P}:6:1: tab character found: YAML needs spaces, not tabs"],
    ),
    (
        "unclosed_quote",
        ROOMS + 'reminder:\n  text: "What is shared here\n  delivery: room\n',
        [f'{P}:5:9: the quote " opened here is never closed'],
    ),
    (
        "unclosed_bracket",
        "rooms: [{platform: console, name: recovery}\nreminder:\n  text: Hi\n",
        [f"{P}:1:8: the list opened here with '[' is not closed with ']'"],
    ),
    (
        "unclosed_brace",
        "rooms:\n  - {platform: console, name: recovery\nreminder:\n  text: Hi\n",
        [f"{P}:2:5: the mapping opened here with '{{' is not closed with '}}'"],
    ),
    (
        "colon_in_unquoted_text",
        ROOMS + "reminder:\n  text: Note: this stays here\n",
        [
            f"{P}:5:13: unexpected ':' here; put text that contains ': ' in quotes, "
            "or check the indentation"
        ],
    ),
    (
        "bad_indentation",
        ROOMS + "reminder:\n    text: Hi\n  delivery: room\n",
        [
            f"{P}:6:3: this line does not line up with the lines above; check the indentation "
            "(and do not mix '- ' list items with 'key: value' lines at one level)"
        ],
    ),
    (
        "unknown_key_with_suggestion",
        ROOMS + "reminder:\n  text: Hi\n  delivry: room\n",
        [f"{P}:6:3: unknown key 'delivry' (did you mean 'delivery'?)"],
    ),
    (
        "unknown_key_without_suggestion",
        ROOMS + "reminder:\n  text: Hi\n  colour: blue\n",
        [f"{P}:6:3: unknown key 'colour'"],
    ),
    (
        "unknown_top_level_key",
        ROOMS + "moderator:\n  - platform: console\n    user: mod\nreminder:\n  text: Hi\n",
        [f"{P}:4:1: unknown key 'moderator' (did you mean 'moderators'?)"],
    ),
    (
        "string_where_list_expected",
        "rooms: recovery\nreminder:\n  text: Hi\n",
        [f"{P}:1:8: expected a list, got 'recovery'"],
    ),
    (
        "list_where_mapping_expected",
        ROOMS + "reminder:\n  - text: Hi\n",
        [f"{P}:5:3: expected 'key: value' lines (a mapping), got a list"],
    ),
    (
        "yes_is_not_a_boolean",
        ROOMS + "reminder:\n  text: Hi\n  require_agreement: yes\n",
        [f"{P}:6:22: expected true or false, got 'yes'"],
    ),
    (
        "quoted_boolean",
        ROOMS + 'reminder:\n  text: Hi\n  reask_on_change: "true"\n',
        [f"{P}:6:20: expected true or false, got 'true' (remove the quotes)"],
    ),
    (
        "number_given_as_text",
        ROOMS + 'reminder:\n  text: Hi\n  repeat:\n    every_days: "7"\n',
        [f"{P}:7:17: expected a whole number, got '7' (remove the quotes)"],
    ),
    (
        "fraction_where_whole_number_expected",
        ROOMS + "reminder:\n  text: Hi\n  repeat:\n    every_messages: 2.5\n",
        [f"{P}:7:21: expected a whole number, got the number 2.5"],
    ),
    (
        "missing_required_key",
        ROOMS + "reminder:\n  delivery: room\n",
        [f"{P}:5:3: missing required key 'text'"],
    ),
    (
        "missing_top_level_keys",
        "moderators: []\n",
        [
            f"{P}:1:1: missing required key 'rooms'",
            f"{P}:1:1: missing required key 'reminder'",
        ],
    ),
    (
        "invalid_enum",
        ROOMS + "reminder:\n  text: Hi\n  delivery: daily\n",
        [f"{P}:6:13: 'daily' is not one of: private, room, both, rules_message"],
    ),
    (
        "invalid_fallback",
        ROOMS + "reminder:\n  text: Hi\n  fallback: thread\n",
        [
            f"{P}:6:13: 'thread' is not one of: room_mention, private_thread, "
            "next_interaction, none"
        ],
    ),
    (
        "delete_after_without_room_mention",
        ROOMS + "reminder:\n  text: Hi\n  fallback: private_thread\n"
        "  fallback_delete_after_minutes: 5\n",
        [
            f"{P}:7:34: 'fallback_delete_after_minutes' only applies to "
            "'fallback: room_mention', not 'private_thread'"
        ],
    ),
    (
        "private_thread_on_matrix",
        'rooms:\n  - platform: discord\n    id: "123456789012345678"\n'
        '  - platform: matrix\n    id: "!abc:example.org"\n'
        "reminder:\n  text: Hi\n  fallback: private_thread\n",
        [
            f"{P}:8:13: 'private_thread' is not possible on Matrix (it has no private "
            "threads), and this policy covers the matrix room id '!abc:example.org'; use "
            "room_mention, next_interaction or none, or give the Matrix rooms a policy of "
            "their own"
        ],
    ),
    (
        "delete_after_not_positive",
        ROOMS + "reminder:\n  text: Hi\n  fallback_delete_after_minutes: 0\n",
        [
            f"{P}:6:34: must be at least 1 minute, got 0: the member needs time to read the "
            "mention"
        ],
    ),
    (
        "delete_after_quoted",
        ROOMS + 'reminder:\n  text: Hi\n  fallback_delete_after_minutes: "5"\n',
        [f"{P}:6:34: expected a number, got '5' (remove the quotes)"],
    ),
    (
        "invalid_platform",
        "rooms:\n  - platform: telegram\n    name: recovery\nreminder:\n  text: Hi\n",
        [f"{P}:2:15: 'telegram' is not one of: console, matrix, discord"],
    ),
    (
        "out_of_range",
        ROOMS + "reminder:\n  text: Hi\n  repeat:\n    every_days: 0\n",
        [f"{P}:7:17: must be at least 1, got 0"],
    ),
    (
        "blank_text",
        ROOMS + 'reminder:\n  text: "   "\n',
        [f"{P}:5:9: the reminder text is empty"],
    ),
    (
        "text_too_long",
        ROOMS + "reminder:\n  text: " + "x" * 4001 + "\n",
        [f"{P}:5:9: the reminder text is too long: 4001 characters (at most 4000)"],
    ),
    (
        "duplicate_key",
        ROOMS + "reminder:\n  text: Hi\n  delivery: room\n  delivery: both\n",
        [f"{P}:7:3: duplicate key 'delivery' (already given on line 6)"],
    ),
    (
        "room_without_selector",
        "rooms:\n  - platform: console\nreminder:\n  text: Hi\n",
        [f"{P}:2:5: a room needs one of 'id', 'alias' or 'name'"],
    ),
    (
        "room_with_two_selectors",
        'rooms:\n  - platform: matrix\n    id: "!abc:example.org"\n'
        '    alias: "#recovery:example.org"\nreminder:\n  text: Hi\n',
        [f"{P}:2:5: give only one of 'id', 'alias' or 'name' for a room, not 'id' and 'alias'"],
    ),
    (
        "alias_on_discord",
        'rooms:\n  - platform: discord\n    alias: "#recovery:example.org"\n'
        "reminder:\n  text: Hi\n",
        [f"{P}:3:12: 'alias' is only for Matrix rooms; use 'name' or 'id' on discord"],
    ),
    (
        "discord_id_unquoted",
        ROOMS + "moderators:\n  - platform: discord\n    user: 123456789012345678\n"
        "reminder:\n  text: Hi\n",
        [
            f"{P}:6:11: expected text, got the number 123456789012345678 "
            "(put it in quotes to make it text)"
        ],
    ),
    (
        "agreed_role_on_matrix",
        'rooms:\n  - platform: matrix\n    id: "!abc:example.org"\n'
        '    agreed_role: "123456789012345678"\nreminder:\n  text: Hi\n',
        [
            f"{P}:4:18: 'agreed_role' is only for Discord rooms; on matrix members who have "
            "not agreed are held back without a role"
        ],
    ),
    (
        "agreed_role_by_name",
        "rooms:\n  - platform: discord\n    name: circle\n    agreed_role: agreed\n"
        "reminder:\n  text: Hi\n",
        [
            f"{P}:4:18: 'agreed' is not a Discord role id (a long number in quotes, like "
            "'123456789012345678'; with Developer Mode on, right-click the role and choose "
            "Copy Role ID)"
        ],
    ),
    (
        "agreed_role_unquoted",
        "rooms:\n  - platform: discord\n    name: circle\n"
        "    agreed_role: 123456789012345678\nreminder:\n  text: Hi\n",
        [
            f"{P}:4:18: expected text, got the number 123456789012345678 "
            "(put it in quotes to make it text)"
        ],
    ),
    (
        "agreed_role_on_alert_room",
        "rooms:\n  - platform: discord\n    name: circle\nalerts:\n  - platform: discord\n"
        '    name: mods\n    agreed_role: "123456789012345678"\nreminder:\n  text: Hi\n',
        [
            f"{P}:5:3: 'agreed_role' belongs to a room under 'rooms', not to the alert room "
            "discord room name 'mods'"
        ],
    ),
    (
        "matrix_user_without_server",
        ROOMS + "moderators:\n  - platform: matrix\n    user: mod\nreminder:\n  text: Hi\n",
        [f"{P}:6:11: 'mod' is not a Matrix user id (they look like '@name:example.org')"],
    ),
    (
        "repeat_without_interval",
        ROOMS + "reminder:\n  text: Hi\n  repeat: {}\n",
        [f"{P}:6:11: 'repeat' needs 'every_days' or 'every_messages' (or both)"],
    ),
    (
        "leaks_k_too_small",
        ROOMS + "reminder:\n  text: Hi\nleaks:\n  k: 1\n",
        [f"{P}:7:6: must be at least 2, got 1"],
    ),
    (
        "leaks_whole_message_longer_than_k",
        ROOMS + "reminder:\n  text: Hi\nleaks:\n  whole_message: true\n  min_tokens_whole: 12\n",
        [
            f"{P}:7:3: 'min_tokens_whole' (12) must not be more than 'k' (11): longer "
            "messages are matched by their shingles"
        ],
    ),
    (
        "leaks_unknown_action",
        ROOMS + "reminder:\n  text: Hi\nleaks:\n  actions:\n    alrt: true\n",
        [f"{P}:8:5: unknown key 'alrt' (did you mean 'alert'?)"],
    ),
    (
        "leaks_retention_zero",
        ROOMS + "reminder:\n  text: Hi\nleaks:\n  retention_days: 0\n",
        [f"{P}:7:19: must be at least 1, got 0"],
    ),
    (
        "leaks_stop_rooms_one",
        ROOMS + "reminder:\n  text: Hi\nleaks:\n  stop_rooms: 1\n",
        [f"{P}:7:15: must be at least 2, got 1"],
    ),
    (
        "leaks_not_a_mapping",
        ROOMS + "reminder:\n  text: Hi\nleaks: yes\n",
        [f"{P}:6:8: expected 'key: value' lines (a mapping), got 'yes'"],
    ),
    (
        "leaks_enabled_not_boolean",
        ROOMS + "reminder:\n  text: Hi\nleaks:\n  enabled: maybe\n",
        [f"{P}:7:12: expected true or false, got 'maybe'"],
    ),
    (
        "empty_rooms",
        "rooms: []\nreminder:\n  text: Hi\n",
        [f"{P}:1:8: 'rooms' is empty; list at least one room"],
    ),
    ("empty_file", "", [f"{P}:1:1: the file is empty"]),
    ("comments_only", "# nothing here yet\n", [f"{P}:1:1: the file is empty"]),
    (
        "top_level_list",
        "- rooms\n- reminder\n",
        [f"{P}:1:1: the top level of the file must be 'key: value' lines, not a list"],
    ),
    (
        "top_level_text",
        "just some text\n",
        [f"{P}:1:1: the top level of the file must be 'key: value' lines, not a single value"],
    ),
    (
        "not_utf8",
        b"rooms:\n  - platform: console\n    name: r\xe9union\n",
        [f"{P}:3:12: the file is not valid UTF-8 text (byte 0xe9); save it with UTF-8 encoding"],
    ),
    (
        "two_documents",
        ROOMS + "reminder:\n  text: Hi\n---\nrooms: []\n",
        [
            f"{P}:6:1: a file may hold only one YAML document; remove this '---' and what "
            "follows, or move it to its own file"
        ],
    ),
    (
        "source_is_not_a_file_key",
        ROOMS + "source: elsewhere.yaml\nreminder:\n  text: Hi\n",
        [f"{P}:4:1: unknown key 'source'"],
    ),
    (
        "python_tag_refused",
        ROOMS + 'reminder:\n  text: !!python/object/apply:os.system ["true"]\n',
        [
            f"{P}:5:9: the YAML tag '!!python/object/apply:os.system' is not supported here; "
            "remove it"
        ],
    ),
    (
        "number_as_key",
        ROOMS + "reminder:\n  text: Hi\n  1: one\n",
        [f"{P}:6:3: a key must be a plain word like 'rooms', not 1"],
    ),
    (
        "room_listed_twice",
        ROOMS + "  - platform: console\n    name: recovery\nreminder:\n  text: Hi\n",
        [f"{P}:4:5: console room name 'recovery' is listed twice (first at {P}:2:5)"],
    ),
    (
        "alerts_into_support_room",
        ROOMS + "alerts:\n  - platform: console\n    name: recovery\nreminder:\n  text: Hi\n",
        [
            f"{P}:5:5: alerts would go to console room name 'recovery', a support room of this "
            "policy; members would see moderator alerts"
        ],
    ),
    (
        "bad_policy_name",
        "name: Recovery Circle\n" + ROOMS + "reminder:\n  text: Hi\n",
        [
            f"{P}:1:7: the policy name 'Recovery Circle' may only use lowercase letters, "
            "digits, '-' and '_'"
        ],
    ),
    (
        "section_without_value",
        ROOMS + "reminder:\n",
        [f"{P}:4:1: 'reminder' has no value; expected 'key: value' lines (a mapping)"],
    ),
    (
        "undefined_alias",
        ROOMS + "moderators: *mods\nreminder:\n  text: Hi\n",
        [f"{P}:4:13: '*mods' refers to an anchor '&mods' that is not defined above"],
    ),
    (
        "control_character",
        ROOMS + "reminder:\n  text: Hi\x07there\n",
        [f"{P}:5:11: the invisible control character #x0007 is not allowed; delete it"],
    ),
    (
        "merge_key",
        "rooms:\n  - &r {platform: console, name: recovery}\nalerts:\n  - <<: *r\n"
        "    name: mods\nreminder:\n  text: Hi\n",
        [f"{P}:4:5: merge keys ('<<') are not supported; write the keys out"],
    ),
    (
        "too_deeply_nested",
        "rooms: " + "[" * 60 + "]" * 60 + "\nreminder:\n  text: Hi\n",
        [f"{P}:1:57: the file is nested more than 50 levels deep; refusing to read it"],
    ),
    (
        "alias_bomb",
        BOMB,
        [
            f"{P}:5:1: the file has more than 100000 values once references (*aliases) are "
            "expanded; refusing to read it"
        ],
    ),
    (
        "self_referencing_alias",
        "name: x\nrooms: &r [*r]\n",
        [f"{P}:2:1: this value contains a reference (*alias) to itself; remove it"],
    ),
    (
        "all_errors_reported_in_order",
        'rooms:\n  - platform: matrix\n    name: recovery\n    alias: "#a:b"\n'
        "moderators: mod\nreminder:\n  text: Hi\n  delivery: everyone\n"
        "  require_agreement: on\n  unagreed_post: hide\n",
        [
            f"{P}:2:5: give only one of 'id', 'alias' or 'name' for a room, not 'alias' and "
            "'name'",
            f"{P}:5:13: expected a list, got 'mod'",
            f"{P}:8:13: 'everyone' is not one of: private, room, both, rules_message",
            f"{P}:9:22: expected true or false, got 'on'",
            f"{P}:10:3: unknown key 'unagreed_post' (did you mean 'unagreed_posts'?)",
        ],
    ),
]


def errors_of(source: str | bytes, path: str = P) -> list[str]:
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_text(source, path)
    return [str(error) for error in caught.value.errors]


@pytest.mark.parametrize(("source", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_policy_is_explained(source: str | bytes, expected: list[str]) -> None:
    assert errors_of(source) == expected


def test_case_table_is_large_and_unique() -> None:
    names = [case[0] for case in CASES]
    assert len(names) >= 25
    assert len(set(names)) == len(names)


def test_error_fields_are_one_based_and_structured() -> None:
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_text("rooms: recovery\nreminder:\n  text: Hi\n", P)
    (error,) = caught.value.errors
    assert (error.path, error.line, error.column) == (P, 1, 8)
    assert str(caught.value) == f"{P}:1:8: expected a list, got 'recovery'"


def test_file_name_that_cannot_be_a_policy_name() -> None:
    assert errors_of(ROOMS + "reminder:\n  text: Hi\n", "policies/Recovery Circle.yaml") == [
        "policies/Recovery Circle.yaml:1:1: the file name 'Recovery Circle' cannot be used as "
        "the policy name (only lowercase letters, digits, '-' and '_'); rename the file or add "
        "a 'name:' line"
    ]


def test_long_values_are_shortened_when_quoted_back() -> None:
    # Long values are shortened when quoted back, so an error line stays readable.
    errors = errors_of(ROOMS + "reminder:\n  text: Hi\n  delivery: " + "a" * 80 + "\n")
    assert errors == [
        f"{P}:6:13: '{'a' * 37}...' is not one of: private, room, both, rules_message"
    ]


def _write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text, encoding="utf-8")


def dir_errors(directory: Path) -> list[str]:
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_dir(directory, display_root=directory.parent)
    return [str(error) for error in caught.value.errors]


def test_two_files_claiming_one_room(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    _write(policies, "a.yaml", ROOMS + "reminder:\n  text: Hi\n")
    _write(
        policies,
        "b.yaml",
        "rooms:\n  - platform: matrix\n    alias: '#b:example.org'\n"
        "  - platform: console\n    name: recovery\nreminder:\n  text: Hello\n",
    )
    assert dir_errors(policies) == [
        "policies/b.yaml:4:5: console room name 'recovery' is already covered by policy 'a' "
        "(policies/a.yaml:2:5); a room can belong to only one policy"
    ]


def test_duplicate_policy_names_across_files(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", "name: circle\n" + ROOMS + "reminder:\n  text: Hi\n")
    _write(
        tmp_path,
        "b.yml",
        "name: circle\nrooms:\n  - platform: console\n    name: other\nreminder:\n  text: Hi\n",
    )
    shown = tmp_path.name
    assert dir_errors(tmp_path) == [
        f"{shown}/b.yml:1:1: the policy name 'circle' is already used by {shown}/a.yaml:1:1; "
        "policy names must be unique"
    ]


def test_alerts_into_another_policys_room(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", ROOMS + "reminder:\n  text: Hi\n")
    _write(
        tmp_path,
        "b.yaml",
        "rooms:\n  - platform: console\n    name: other\nalerts:\n  - platform: console\n"
        "    name: recovery\nreminder:\n  text: Hi\n",
    )
    shown = tmp_path.name
    assert dir_errors(tmp_path) == [
        f"{shown}/b.yaml:5:5: alerts would go to console room name 'recovery', a support room "
        "of policy 'a'; members would see moderator alerts"
    ]


def test_every_broken_file_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", ROOMS + "reminder:\n  text: Hi\n  delivery: daily\n")
    _write(tmp_path, "b.yaml", "rooms: [\n")
    _write(tmp_path, "c.yaml", "rooms: [{platform: console, name: c}]\nreminder: {text: Hi}\n")
    (tmp_path / "d.yaml").write_bytes(b"\xff\xfe")
    shown = tmp_path.name
    assert dir_errors(tmp_path) == [
        f"{shown}/a.yaml:6:13: 'daily' is not one of: private, room, both, rules_message",
        f"{shown}/b.yaml:2:1: the file ends in the middle of a value; is a ']', '}}' or a "
        "quote missing?",
        f"{shown}/d.yaml:1:1: the file is not valid UTF-8 text (byte 0xff); "
        "save it with UTF-8 encoding",
    ]


def test_missing_and_empty_policy_folders(tmp_path: Path) -> None:
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_dir(tmp_path / "nope", display_root=tmp_path)
    assert [str(e) for e in caught.value.errors] == [
        "nope:1:1: the policy folder does not exist or is not a folder"
    ]
    (tmp_path / "notes.txt").write_text("not a policy")
    (tmp_path / ".draft.yaml").write_text("rooms: [")
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_dir(tmp_path, display_root=tmp_path.parent)
    assert [str(e) for e in caught.value.errors] == [
        f"{tmp_path.name}:1:1: the policy folder has no .yaml files"
    ]


def test_paths_outside_display_root_are_absolute(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", "rooms: x\nreminder:\n  text: Hi\n")
    elsewhere = tmp_path / "sub"
    elsewhere.mkdir()
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_dir(tmp_path, display_root=elsewhere)
    assert [str(e) for e in caught.value.errors] == [
        f"{(tmp_path / 'a.yaml').resolve()}:1:8: expected a list, got 'x'"
    ]


def test_same_messages_without_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    # PyYAML may be built without libyaml; the pure-Python path must explain things alike.
    monkeypatch.setattr(yamlpos, "_FastLoader", None)
    for name, source, expected in CASES:
        assert errors_of(source) == expected, name


def test_syntax_error_in_a_large_file_is_still_located() -> None:
    # Large files skip the slower PyYAML re-parse and reword libyaml's message instead.
    source = "# " + "x" * (100 * 1024) + "\nrooms: [\n  {platform: console, name: r}\n"
    started = time.monotonic()
    assert errors_of(source) == [
        f"{P}:2:8: the list opened here with '[' is not closed with ']'"
    ]
    assert time.monotonic() - started < 2.0
