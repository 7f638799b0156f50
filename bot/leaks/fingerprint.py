"""Keyed fingerprints of one message: enough to recognise a quote, never enough to read it.

Hashes are keyed with the per-deployment secret, so a stolen fingerprint table cannot be
tested against guessed sentences without the key file too. The text is dropped as soon as
the hashes exist: nothing here keeps it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

from bot.leaks.normalize import VERSION as NORMALIZATION
from bot.leaks.normalize import normalize
from bot.leaks.normalize_v1 import tokens_v1
from bot.leaks.params import WORD_UNITS, LeakParams
from bot.leaks.tokenize import is_unspaced, token_units, tokenize, word_count
from bot.leaks.winnow import winnow


def _tokens(text: str) -> list[str]:
    return tokenize(normalize(text))


TOKENISERS: dict[int, Callable[[str], list[str]]] = {1: tokens_v1, NORMALIZATION: _tokens}
"""Text to tokens, by normalisation version: the current one, and every earlier one whose
fingerprints may still be stored (frozen, so those keep matching until retention ends them).
The version is not part of the hash: text that both versions read alike (all plain ASCII)
hashes alike, so a phrase moderators stopped under one version stays stopped under the
next; stored fingerprints say their version in their scheme (see bot/leaks_flow/engines.py)."""

FINGERPRINT_BITS = 60
"""Digests are 8 bytes; keeping 60 bits lets every fingerprint fit SQLite's signed INTEGER
and a two-digit CPython int (32 bytes instead of 36). With a million stored fingerprints the
chance that an unrelated hash collides with one of them is about 1e-12 per lookup."""
_MASK = (1 << FINGERPRINT_BITS) - 1

# Domain separation: BLAKE2b's personalisation keeps these hashes apart from any other use
# of the deployment key, and a one-byte prefix keeps whole-message hashes apart from
# shingle hashes (and shingles of different k apart from each other).
_PERSON = b"confidant-leak/1"
_AUTHOR_PERSON = b"confidant-author"
_WHOLE = b"W"
_NEAR = b"N"  # near shingles (short, for edited quotes) never equal a main shingle hash
_SEP = "\x1f"  # unit separator: cannot occur inside a normalised token
_MIN_KEY_BYTES = 16


@dataclass(frozen=True, slots=True)
class Fingerprints:
    """What one message contributes to leak detection: hashes only, never words."""

    values: frozenset[int]
    whole_message: bool
    """True when ``values`` is the single whole-message hash of a short message."""
    token_count: int
    """Words' worth of tokens (characters of unspaced scripts count as fractions of a word)."""

    def __len__(self) -> int:
        return len(self.values)

    def __bool__(self) -> bool:
        return bool(self.values)


EMPTY = Fingerprints(frozenset(), whole_message=False, token_count=0)


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) < _MIN_KEY_BYTES:
        raise ValueError(f"the leak key must be at least {_MIN_KEY_BYTES} secret bytes")
    if len(key) > hashlib.blake2b.MAX_KEY_SIZE:
        raise ValueError(f"the leak key must be at most {hashlib.blake2b.MAX_KEY_SIZE} bytes")


class Fingerprinter:
    """Turns message text into :class:`Fingerprints` under one deployment key.

    The key lives only inside a prepared BLAKE2b state (not as an attribute), and the object
    refuses to be pickled or shown, so neither the key nor any text can leak through it.
    ``normalization`` picks the text pipeline (:data:`TOKENISERS`); the default is today's.
    """

    __slots__ = ("_base", "_near_base", "_shingle_base", "_tokens", "normalization", "params")

    def __init__(
        self, key: bytes, params: LeakParams | None = None, normalization: int = NORMALIZATION
    ) -> None:
        _check_key(key)
        if normalization not in TOKENISERS:
            raise ValueError(f"unknown normalisation version {normalization}")
        self.params = params or LeakParams()
        self.normalization = normalization
        self._tokens = TOKENISERS[normalization]
        # Keying BLAKE2b costs a compression; copying a keyed state is ~40% cheaper per hash.
        self._base = hashlib.blake2b(key=bytes(key), digest_size=8, person=_PERSON)
        self._shingle_base = self._base.copy()
        self._shingle_base.update(b"S" + self.params.k.to_bytes(2, "big"))
        self._near_base = self._base.copy()
        self._near_base.update(_NEAR + self.params.near_k.to_bytes(2, "big"))

    def __repr__(self) -> str:
        return f"Fingerprinter({self.params!r}, normalization={self.normalization})"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a Fingerprinter holds the deployment key and is not serialisable")

    def _hash(self, data: bytes) -> int:
        state = self._base.copy()
        state.update(data)
        return int.from_bytes(state.digest(), "big") & _MASK

    def tokens(self, text: str) -> list[str]:
        return self._tokens(text)

    def _units(self, tokens: list[str]) -> list[int] | None:
        """Each token's weight in word units; None (a token is a word) under version 1,
        whose shingles were counted in tokens in every script, frozen with its tokeniser."""
        return None if self.normalization == 1 else token_units(tokens)

    def shingle_hashes(self, tokens: list[str]) -> list[int]:
        """The keyed hash of every k-word shingle, in order (empty when fewer than k words).

        A shingle starts at each token and takes the fewest tokens that weigh k words: k
        tokens of a spaced script, more characters of an unspaced one. The tokens are
        joined and encoded once; each shingle is then a byte slice of that buffer, so the
        per-shingle cost is little more than the hash itself.
        """
        return self._shingles(tokens, self.params.k, self._shingle_base, self._units(tokens))

    def near_hashes(self, tokens: list[str]) -> tuple[int, ...]:
        """The keyed hash of every ``near_k``-token shingle, in order, each value once.

        Kept whole (not winnowed) so that how many of a copy's near shingles one source
        message contains says how much of it was copied, an edited word or two apart.
        """
        k = self.params.near_k
        hashes = self._shingles(tokens, k, self._near_base, None)
        # Scripts without spaces count a character as a token, so a near shingle there would
        # be a few characters: ordinary phrasing, not a quote. Their quotes need no near
        # shingles either: a changed character in a sentence leaves runs longer than the main
        # guarantee. So near shingles span only words of spaced scripts.
        unspaced = [at for at, token in enumerate(tokens)
                    if not token.isascii() and is_unspaced(token[0])]
        if unspaced:
            broken = {start for at in unspaced for start in range(at - k + 1, at + 1)}
            hashes = [value for start, value in enumerate(hashes) if start not in broken]
        return tuple(dict.fromkeys(hashes))

    def _shingles(
        self, tokens: list[str], k: int, base: hashlib.blake2b, units: list[int] | None
    ) -> list[int]:
        if word_count(tokens, units) < k:
            return []
        data = _SEP.join(tokens).encode()
        if len(data) == len(tokens) - 1 + sum(map(len, tokens)):
            lengths = list(map(len, tokens))  # ASCII: characters are bytes
        else:
            lengths = [len(token.encode()) for token in tokens]
        starts = [0, *accumulate(length + 1 for length in lengths[:-1])]
        ends = [start + length for start, length in zip(starts, lengths, strict=True)]
        if units is None:
            spans = zip(starts, ends[k - 1 :], strict=False)
        else:
            spans = zip(starts, (ends[last] for last in _last_tokens(units, k)), strict=False)
        copy = base.copy
        from_bytes = int.from_bytes
        hashes: list[int] = []
        append = hashes.append
        for start, end in spans:
            state = copy()
            state.update(data[start:end])
            append(from_bytes(state.digest(), "big") & _MASK)
        return hashes

    def whole_hash(self, tokens: list[str]) -> int:
        return self._hash(_WHOLE + _SEP.join(tokens).encode())

    def fingerprints(self, text: str) -> Fingerprints:
        """Winnowed shingle hashes, one whole-message hash, or nothing for tiny messages."""
        return self.fingerprints_of_tokens(self.tokens(text))

    def fingerprints_of_tokens(self, tokens: list[str]) -> Fingerprints:
        count = word_count(tokens, self._units(tokens))
        params = self.params
        if count >= params.k:
            values = winnow(self.shingle_hashes(tokens), params.w)
            return Fingerprints(values, whole_message=False, token_count=count)
        if count >= params.min_tokens_whole:
            return Fingerprints(
                frozenset((self.whole_hash(tokens),)), whole_message=True, token_count=count
            )
        return Fingerprints(frozenset(), whole_message=False, token_count=count)

    def all_hashes(self, text: str) -> frozenset[int]:
        """Every hash a message containing ``text`` could select: for stop lists.

        A common phrase of k or more tokens contributes all its shingle hashes (winnowing
        in a longer message may pick any of them); a shorter one its whole-message hash,
        which only ever matches a message that is exactly that phrase.
        """
        tokens = self.tokens(text)
        count = word_count(tokens, self._units(tokens))
        if count >= self.params.k:
            return frozenset(self.shingle_hashes(tokens))
        if count >= self.params.min_tokens_whole:
            return frozenset((self.whole_hash(tokens),))
        return frozenset()


def _last_tokens(units: list[int], k: int) -> list[int]:
    """For each start token in turn, the last token of the shortest run weighing k words;
    the list stops at the first start with less than k words left."""
    need = k * WORD_UNITS
    count = len(units)
    last: list[int] = []
    total = 0
    end = 0
    for start in range(count):
        while end < count and total < need:
            total += units[end]
            end += 1
        if total < need:
            break
        last.append(end - 1)
        total -= units[start]
    return last


def author_key(key: bytes, platform: str, user_id: str) -> bytes:
    """A keyed, stable stand-in for an author, so an erase request can find their hashes.

    Stored beside fingerprints instead of the user id: without the key file it cannot be
    linked back to an account.
    """
    _check_key(key)
    state = hashlib.blake2b(key=bytes(key), digest_size=16, person=_AUTHOR_PERSON)
    state.update(platform.encode() + b"\x00" + user_id.encode())
    return state.digest()
