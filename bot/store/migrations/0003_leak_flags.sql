-- Confidant schema, version 3: leak flagging without plaintext.
-- Fingerprints are keyed hashes (the key lives in the key file, never here) of what was said
-- in confidential rooms; with them only the room, the day, and keyed hashes of the author
-- and of the message id, so an edit, a delete or an erase request finds its rows without
-- any text. ``scheme`` names the shingle settings (e.g. k11w2): hashes under another k
-- never compare.
CREATE TABLE fingerprints (
    fingerprint  INTEGER NOT NULL,
    scheme       TEXT NOT NULL,
    room_key     TEXT NOT NULL,
    policy       TEXT NOT NULL,
    day          INTEGER NOT NULL,
    author       BLOB NOT NULL,
    message      BLOB NOT NULL
);
CREATE INDEX fingerprints_lookup ON fingerprints (room_key, fingerprint);
CREATE INDEX fingerprints_message ON fingerprints (message);
CREATE INDEX fingerprints_author ON fingerprints (author);
CREATE INDEX fingerprints_day ON fingerprints (policy, day);

-- Fingerprints moderators marked as false positives: common phrasing, never a leak.
CREATE TABLE leak_stoplist (
    fingerprint  INTEGER PRIMARY KEY,
    added_at     TEXT NOT NULL
);

-- A suspected copy of a confidential room's content: where it is, where it seems to come
-- from, how it was detected and how confidently. Never the text. One row per copy and
-- source room, so an edited or deleted copy updates its flag instead of adding one.
CREATE TABLE leak_flags (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    platform          TEXT NOT NULL,
    room_id           TEXT NOT NULL,
    room_name         TEXT,
    message_id        TEXT NOT NULL,
    source_platform   TEXT NOT NULL,
    source_room_id    TEXT NOT NULL,
    source_room_name  TEXT,
    policy            TEXT NOT NULL,
    signal            TEXT NOT NULL,
    matched           INTEGER NOT NULL DEFAULT 0,
    whole_message     INTEGER NOT NULL DEFAULT 0,
    poster_id         TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'open',
    copy_state        TEXT NOT NULL DEFAULT 'posted',
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    closed_by         TEXT,
    UNIQUE (platform, room_id, message_id, source_platform, source_room_id)
);
CREATE INDEX leak_flags_open ON leak_flags (status, id);

-- The fingerprints that matched for a quote flag, so a false positive can be stopped.
CREATE TABLE leak_flag_fingerprints (
    flag_id      INTEGER NOT NULL REFERENCES leak_flags (id) ON DELETE CASCADE,
    fingerprint  INTEGER NOT NULL,
    PRIMARY KEY (flag_id, fingerprint)
);
