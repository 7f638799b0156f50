"""Answers sealed at rest with AES-GCM.

The key is derived from the deployment key with HKDF under its own ``info`` string, so the
check-in key is never the raw key that also keys leak fingerprints, and a database copy
without the key file reveals nothing. The check-in and question ids are the associated
data: a sealed answer moved to another row no longer opens.
"""

from __future__ import annotations

import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"confidant/checkin-answers/v1"
NONCE_BYTES = 12

Answer = int | str


class SealBroken(ValueError):
    """A sealed answer did not open: another key, or a row that was tampered with."""


def derive_key(deployment_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(
        deployment_key
    )


class Sealer:
    def __init__(self, deployment_key: bytes) -> None:
        self._aead = AESGCM(derive_key(deployment_key))

    @staticmethod
    def _aad(checkin_id: int, question_id: str) -> bytes:
        return f"{checkin_id}\x1f{question_id}".encode()

    def seal(self, checkin_id: int, question_id: str, answer: Answer) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps({"v": answer}, ensure_ascii=False).encode()
        return nonce + self._aead.encrypt(nonce, plain, self._aad(checkin_id, question_id))

    def open(self, checkin_id: int, question_id: str, sealed: bytes) -> Answer:
        nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        try:
            plain = self._aead.decrypt(nonce, body, self._aad(checkin_id, question_id))
        except InvalidTag:
            raise SealBroken(f"answer to {question_id} of check-in {checkin_id}") from None
        value = json.loads(plain)["v"]
        if not isinstance(value, int | str):
            raise SealBroken(f"answer to {question_id} of check-in {checkin_id}")
        return value
