-- Confidant schema, version 12: a copy taken down for review, kept sealed until a moderator
-- has read it once. ``sealed`` is nonce||ciphertext||tag under a key derived from the key
-- file (never stored here), with the flag id as associated data: this file alone holds no
-- text. The row goes when a moderator reads it (/flag show), when the flag is closed, or at
-- ``expires_at`` (the policy's review time), whichever comes first.
CREATE TABLE held_copies (
    flag_id     BIGINT PRIMARY KEY REFERENCES leak_flags (id) ON DELETE CASCADE,
    sealed      BYTEA NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX held_copies_expiry ON held_copies (expires_at);
