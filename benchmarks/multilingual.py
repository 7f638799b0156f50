"""Multilingual text for the leak benchmark: real sentences in scripts without spaces.

The false-flag table needs at least 500 different messages per language in Japanese,
Chinese, Korean and Thai that share ordinary phrasing. Django's message catalogues
(``pip install django``, BSD licence) hold about 550-780 distinct human translations per
language of the same English interface sentences ("Enter a valid email address.", "Are you
sure you want to delete ...?"): different messages built from the same stock phrases, which
is exactly what must not be flagged. Being a parallel text, they also measure how many
characters of each script carry one English word, which sets the per-script shingle lengths
in ``bot/leaks/params.py``. Only the installed package's files are read; nothing is
downloaded and nothing here imports Django.

The stop phrases in ``bot/leaks/stop_phrases.txt`` come from another source
(chatterbot-corpus), so this table is never measured on the text it was tuned on.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

LANGUAGES = {"ja": "ja", "zh": "zh_Hans", "ko": "ko", "th": "th"}
"""Benchmark language code -> Django's catalogue folder."""

_MSGID = re.compile(r'^msgid "(.*)"\n((?:".*"\n)*)', re.M)
_MSGSTR = re.compile(r'^msgstr(?:\[\d+\])? "(.*)"\n((?:".*"\n?)*)', re.M)
_CONTINUED = re.compile(r'"(.*)"')
_PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]|%[sdr]|\{\w*\}|<[^>]+>|&\w+;")


@dataclass(frozen=True, slots=True)
class Sentence:
    english: str
    text: str


def django_locale_root() -> Path | None:
    spec = importlib.util.find_spec("django")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def _clean(text: str) -> str:
    text = text.replace('\\"', '"').replace("\\n", " ")
    return " ".join(_PLACEHOLDER.sub(" ", text).split())


def _entries(path: Path) -> Iterator[Sentence]:
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        if "#, fuzzy" in block:
            continue
        block += "\n"
        source = _MSGID.search(block)
        if source is None:
            continue
        english = _clean(source[1] + "".join(_CONTINUED.findall(source[2])))
        for form in _MSGSTR.finditer(block):  # every plural form is a sentence of its own
            text = _clean(form[1] + "".join(_CONTINUED.findall(form[2])))
            if english and text:
                yield Sentence(english, text)


def sentences(language: str) -> list[Sentence]:
    """Distinct translated sentences of ``language`` ("ja", "zh", "ko", "th"), in a fixed order."""
    root = django_locale_root()
    if root is None:
        raise LookupError("Django's catalogues are missing: pip install django")
    folder = LANGUAGES[language]
    seen: set[str] = set()
    found: list[Sentence] = []
    for path in sorted(root.glob(f"**/locale/{folder}/LC_MESSAGES/django*.po")):
        for sentence in _entries(path):
            if sentence.text not in seen:
                seen.add(sentence.text)
                found.append(sentence)
    return found


def source_version() -> str:
    from importlib.metadata import version

    return f"django {version('django')}"
