"""A policy's own texts in several languages: ``text: {es: ..., en: ...}``.

The reminder, the check-in intro, questions and duty-to-warn rule, and the crisis
resources' names may each be one text or one per language. Every text given per language
gives every language the policy uses (its ``language`` and every language any of its texts
names), unless the policy declares ``fallback_language``: then a text without a language is
said in that one. The policy's ``language`` picks the text the rest of the policy works
with; the others are kept in ``Policy.translations`` for members who read another
language. The reminder's version covers every language's text (``Policy.reminder_version``),
so an edit of any of them asks members again.

This runs on the parsed YAML before the model is built, so a missing language is reported
at the text's file:line like any other policy error.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot import i18n
from bot.policy.yamlpos import Document, Loc, Problem

# Where a text may be given per language ("*": every entry of a list).
TEXT_PATHS: tuple[Loc, ...] = (
    ("reminder", "text"),
    ("checkins", "intro"),
    ("checkins", "duty_to_warn"),
    ("checkins", "questions", "*", "prompt"),
    ("checkins", "crisis", "resources", "*", "name"),
)


def _found(data: Any, path: Loc, at: Loc = ()) -> list[tuple[Loc, Any]]:
    """Every value at ``path`` in ``data``, with its full location."""
    if not path:
        return [(at, data)]
    head, rest = path[0], path[1:]
    if head == "*":
        if not isinstance(data, list | tuple):
            return []
        return [hit for i, item in enumerate(data) for hit in _found(item, rest, (*at, i))]
    if isinstance(data, dict) and head in data:
        return _found(data[head], rest, (*at, head))
    return []


def _with(data: Any, loc: Loc, value: Any) -> Any:
    """``data`` with the value at ``loc`` replaced (lists are tuples in parsed YAML)."""
    if not loc:
        return value
    head, rest = loc[0], loc[1:]
    if isinstance(data, tuple):
        assert isinstance(head, int)
        return (*data[:head], _with(data[head], rest, value), *data[head + 1 :])
    return {**data, head: _with(data[head], rest, value)}


def path_key(loc: Loc) -> str:
    """A text's name in ``Policy.translations``: "checkins.questions.0.prompt"."""
    return ".".join(str(step) for step in loc)


def per_language(document: Document) -> tuple[Document, dict[str, dict[str, str]], list[Problem]]:
    """The document with each per-language text replaced by the policy language's text,
    the texts per language by path, and what is wrong with them."""
    data = document.data
    language = data.get("language", i18n.SOURCE)
    fallback = data.get("fallback_language")
    texts = [
        (loc, value)
        for path in TEXT_PATHS
        for loc, value in _found(data, path)
        if isinstance(value, dict)
    ]
    if not texts:
        return document, {}, []
    problems: list[Problem] = []
    used = {language} if isinstance(language, str) else set()
    for loc, value in texts:
        for lang, text in value.items():
            if not isinstance(lang, str) or not i18n.is_language_tag(lang):
                problems.append(
                    Problem(
                        document.key_pos((*loc, lang)),
                        f"'{lang}' is not a language tag; write one like 'en', 'es' or 'es-MX'",
                    )
                )
            elif not isinstance(text, str) or not text.strip():
                problems.append(
                    Problem(document.value_pos((*loc, lang)), f"the '{lang}' text is empty")
                )
            else:
                used.add(lang)
    resolved = data
    translations: dict[str, dict[str, str]] = {}
    for loc, value in texts:
        missing = sorted(used - set(value))
        if problems:
            pass  # the tags are wrong: which languages are missing would only mislead
        elif missing and not (isinstance(fallback, str) and fallback in value):
            also = (
                f"; the fallback_language '{fallback}' has no text here either"
                if isinstance(fallback, str)
                else ", or set 'fallback_language:' to the language said where one is missing"
            )
            problems.append(
                Problem(
                    document.value_pos(loc),
                    f"this text has no {', '.join(repr(m) for m in missing)} version; give "
                    f"every language the policy uses ({', '.join(sorted(used))}){also}",
                )
            )
        else:
            translations[path_key(loc)] = dict(value)
        # The model reads one text here (reported problems keep the policy from loading).
        primary = value.get(language) if isinstance(language, str) else None
        given = [text for text in value.values() if isinstance(text, str)]
        chosen = primary or value.get(fallback) or (given[0] if given else "-")
        resolved = _with(resolved, loc, chosen)
    return replace(document, data=resolved), ({} if problems else translations), problems


def frozen(
    translations: dict[str, dict[str, str]],
) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """The texts per language as ``Policy.translations`` keeps them (hashable)."""
    return tuple((path, tuple(sorted(by.items()))) for path, by in sorted(translations.items()))
