"""Write bot/leaks/stop_phrases.txt: everyday chat lines in many languages, from a public corpus.

The bot's background stop list must hold what every support group says in every language it
is used in ("thank you", "how are you", "I'm sorry to hear that"), never anything taken from
members' messages. chatterbot-corpus (``pip install chatterbot-corpus``, BSD-3-Clause) is a
multilingual dialogue corpus written by people for chat bots; its greetings, conversations,
emotion and compliment files are exactly such lines, in 27 languages (Japanese, Chinese,
Korean, Thai, Spanish, German, French, Portuguese, Russian, ...). Its trivia and topic files
(facts, not phrasing) are left out. The bot reads the written file at start and hashes each
line under the deployment key (``bot/leaks/stoplist.py``); the corpus is not needed at run
time. Run again after upgrading the corpus:

    python benchmarks/make_stop_phrases.py
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.metadata import version
from pathlib import Path

import yaml

from bot.leaks import normalize, tokenize
from bot.leaks.tokenize import token_units, word_count

OUT = Path(__file__).resolve().parent.parent / "bot" / "leaks" / "stop_phrases.txt"
FILES = frozenset({"greetings", "greeting", "conversations", "emotion", "emociones", "compliment"})
LANGUAGES = {
    "bengali": "bn", "chinese": "zh", "dutch": "nl", "english": "en", "french": "fr",
    "german": "de", "hebrew": "he", "hindi": "hi", "indonesian": "id", "italian": "it",
    "japanese": "ja", "korean": "ko", "marathi": "mr", "persian": "fa", "portuguese": "pt",
    "russian": "ru", "spanish": "es", "swedish": "sv", "tamil": "ta", "telugu": "te",
    "thai": "th", "traditionalchinese": "zh-Hant", "turkish": "tr", "ukrainian": "uk",
    "urdu": "ur", "yoruba": "yo", "hinglish": "hi-Latn", "oriya": "or",
}
MAX_WORDS = 24
"""Longer lines are stories, not stock phrases."""


def lines(path: Path) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found: list[str] = []
    for conversation in data.get("conversations") or ():
        for line in conversation or ():
            if isinstance(line, str):
                found.append(line)
    return found


def main() -> int:
    spec = importlib.util.find_spec("chatterbot_corpus")
    if spec is None or spec.origin is None:
        sys.exit("chatterbot-corpus is missing: pip install chatterbot-corpus")
    root = Path(spec.origin).parent / "data"
    kept: dict[str, None] = {}
    for folder in sorted(root.iterdir()):
        code = LANGUAGES.get(folder.name)
        if code is None:
            continue
        for path in sorted(folder.glob("*.yml")):
            if path.stem not in FILES:
                continue
            for line in lines(path):
                form = normalize(line)
                tokens = tokenize(form)
                if form and word_count(tokens, token_units(tokens)) <= MAX_WORDS:
                    kept.setdefault(f"{code}\t{form}", None)
    header = (
        f"# Everyday chat lines, normalised, one per line as language<TAB>phrase.\n"
        f"# From chatterbot-corpus {version('chatterbot-corpus')} (BSD-3-Clause): its "
        f"{', '.join(sorted(FILES))} files.\n"
        f"# Written by benchmarks/make_stop_phrases.py; do not edit by hand.\n"
    )
    OUT.write_text(header + "".join(f"{entry}\n" for entry in kept), encoding="utf-8")
    print(f"{len(kept)} phrases -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
