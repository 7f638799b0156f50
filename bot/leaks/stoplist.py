"""Background stop list: phrases every support group says, which prove nothing when repeated.

MOSS ignores code that appears in many submissions; likewise "thank you so much for
sharing" in two rooms is kindness, not a leak. The list is kept as phrases (not hashes)
because fingerprints are keyed: each deployment hashes it under its own key at start-up.

Two sources: the support-group phrases below, and ``stop_phrases.txt``, everyday chat lines
in 27 languages (greetings, thanks, how are you, I'm sorry) taken from a public dialogue
corpus by ``benchmarks/make_stop_phrases.py``, which names the corpus and its version in the
file's header. Neither comes from anyone's messages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from importlib.resources import files

from bot.leaks.fingerprint import Fingerprinter

BUILTIN_PHRASES: tuple[str, ...] = (
    # English: short replies (whole-message hashes) ...
    "thank you so much for sharing",
    "thank you for sharing",
    "thanks for sharing",
    "thank you all so much",
    "i know how you feel",
    "i know exactly how you feel",
    "sending you hugs",
    "sending you lots of love",
    "sending hugs and love",
    "you are not alone",
    "you're not alone in this",
    "one day at a time",
    "just for today",
    "keep coming back",
    "it works if you work it",
    "i hear you",
    "i'm here for you",
    "i am so sorry to hear that",
    "i'm so proud of you",
    "that sounds really hard",
    "take care of yourself",
    "be gentle with yourself",
    "we're all here for you",
    "welcome to the group",
    "glad you're here",
    "hugs to everyone",
    "how is everyone doing today",
    "how are you feeling today",
    "good morning everyone",
    "good night everyone",
    # ... and longer ones, whose every 8-word shingle is stopped inside any message.
    "thank you so much for sharing that with us",
    "thank you so much for sharing your story with us",
    "thank you for being so open and honest with us",
    "i know exactly how you feel and you are not alone",
    "i'm so sorry you're going through this right now",
    "i am so sorry that you are going through this",
    "sending you lots of love and hugs today",
    "you are not alone in this we are here for you",
    "please be gentle with yourself you are doing the best you can",
    "remember to take it one day at a time",
    "it is okay to not be okay sometimes",
    "it's okay not to be okay",
    "if you need to talk my dms are open",
    "feel free to reach out if you need anything",
    "congratulations on your days clean that is amazing",
    "we are so proud of you keep coming back",
    "reach out to a crisis line if you are in danger",
    # A few in other languages the bot is used in.
    "danke fürs teilen",
    "vielen dank, dass du das mit uns teilst",
    "du bist nicht allein",
    "gracias por compartir",
    "no estás solo",
    "merci de nous avoir partagé ça",
    "tu n'es pas seul",
    "спасибо, что поделился",
    "ты не один",
)


def corpus_phrases() -> tuple[str, ...]:
    """The everyday chat lines of ``stop_phrases.txt`` (about 4,700 lines).

    Read again at each leak index load (start-up, a policy change to the leak settings)
    rather than cached: only their fingerprints are needed afterwards, and the lines
    themselves would hold about 0.45 MB for the life of the process."""
    text = files("bot.leaks").joinpath("stop_phrases.txt").read_text(encoding="utf-8")
    return tuple(
        entry.partition("\t")[2] for entry in text.splitlines() if entry and entry[0] != "#"
    )


def default_phrases() -> tuple[str, ...]:
    return BUILTIN_PHRASES + corpus_phrases()


def background_fingerprints(
    fingerprinter: Fingerprinter, phrases: Iterable[str] | None = None
) -> frozenset[int]:
    """Every hash through which one of ``phrases`` (by default the built-in support-group
    phrases and the corpus's everyday lines) could show up in a message."""
    if phrases is None:
        phrases = default_phrases()
    hashes: set[int] = set()
    for phrase in phrases:
        hashes |= fingerprinter.all_hashes(phrase)
    return frozenset(hashes)


def common_fingerprints(
    fingerprinter: Fingerprinter, texts: Iterable[str], min_texts: int
) -> frozenset[int]:
    """Fingerprints found in at least ``min_texts`` of a background corpus.

    For building a deployment's own stop list from public, non-confidential chat: phrasing
    common there is common everywhere. Only the hashes are returned; the texts are not kept.
    """
    if min_texts < 1:
        raise ValueError("min_texts must be at least 1")
    seen: Counter[int] = Counter()
    for text in texts:
        seen.update(fingerprinter.fingerprints(text).values)
    return frozenset(value for value, count in seen.items() if count >= min_texts)
