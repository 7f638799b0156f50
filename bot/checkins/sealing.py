"""Answers sealed at rest with AES-GCM.

PyCryptodome does the cryptography: matrix-nio loads it anyway, so a second library (and
its megabytes in every bot process) is not needed. The layout is the standard one, nonce
then ciphertext then the 16-byte tag, under RFC 5869 HKDF-SHA256 with an all-zero salt.

The key is derived from the deployment key with HKDF under its own ``info`` string, so the
check-in key is never the raw key that also keys leak fingerprints, and a database copy
without the key file reveals nothing. The check-in and question ids are the associated
data: a sealed answer moved to another row no longer opens.
"""

from __future__ import annotations

import json
import os

from Crypto.Cipher import AES
from Crypto.Hash import SHA256
from Crypto.Protocol.KDF import HKDF

INFO = b"confidant/checkin-answers/v1"
NONCE_BYTES = 12
TAG_BYTES = 16

Answer = int | str


class SealBroken(ValueError):
    """A sealed answer did not open: another key, or a row that was tampered with."""


def derive_key(deployment_key: bytes) -> bytes:
    derived = HKDF(deployment_key, 32, b"\0" * SHA256.digest_size, SHA256, context=INFO)
    assert isinstance(derived, bytes)
    return derived


class Sealer:
    def __init__(self, deployment_key: bytes) -> None:
        self._key = derive_key(deployment_key)

    @staticmethod
    def _aad(checkin_id: int, question_id: str) -> bytes:
        return f"{checkin_id}\x1f{question_id}".encode()

    def seal(self, checkin_id: int, question_id: str, answer: Answer) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps({"v": answer}, ensure_ascii=False).encode()
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_BYTES)
        cipher.update(self._aad(checkin_id, question_id))
        body, tag = cipher.encrypt_and_digest(plain)
        return nonce + body + tag

    def open(self, checkin_id: int, question_id: str, sealed: bytes) -> Answer:
        nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:-TAG_BYTES]
        tag = sealed[-TAG_BYTES:]
        try:
            if len(sealed) < NONCE_BYTES + TAG_BYTES:
                raise ValueError("too short")
            cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_BYTES)
            cipher.update(self._aad(checkin_id, question_id))
            plain = cipher.decrypt_and_verify(body, tag)
        except ValueError:
            raise SealBroken(f"answer to {question_id} of check-in {checkin_id}") from None
        value = json.loads(plain)["v"]
        if not isinstance(value, int | str):
            raise SealBroken(f"answer to {question_id} of check-in {checkin_id}")
        return value
