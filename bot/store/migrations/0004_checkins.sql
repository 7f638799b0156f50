-- Confidant schema, version 4: private check-ins.
-- Answers are sealed (AES-GCM, a key derived from the key file, never stored here): this
-- database alone never reveals what a member answered. Declining consent stores nothing.

-- A member agreed to the check-in intro of a policy (a changed intro asks again).
CREATE TABLE checkin_consents (
    platform    TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    policy      TEXT NOT NULL,
    intro_hash  TEXT NOT NULL,
    agreed_at   TEXT NOT NULL,
    PRIMARY KEY (platform, member_id, policy)
);

-- One check-in. ``step`` is the question asked now and ``awaiting`` what a reply answers
-- ('question', 'contact' or 'share'), so a restart resumes where the member was.
-- status: open, complete, stopped, timed_out.
CREATE TABLE checkins (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    platform       TEXT NOT NULL,
    member_id      TEXT NOT NULL,
    policy         TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'open',
    step           INTEGER NOT NULL DEFAULT 0,
    awaiting       TEXT NOT NULL DEFAULT 'question',
    crisis_shown   INTEGER NOT NULL DEFAULT 0,
    asked_contact  INTEGER NOT NULL DEFAULT 0,
    started_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    ended_at       TEXT
);
CREATE INDEX checkins_member ON checkins (platform, member_id, status);
CREATE INDEX checkins_open ON checkins (status, updated_at);

-- One answer (or skip) per question, committed as it comes. ``sealed`` is nonce||ciphertext.
CREATE TABLE checkin_answers (
    checkin_id   INTEGER NOT NULL REFERENCES checkins (id) ON DELETE CASCADE,
    question_id  TEXT NOT NULL,
    skipped      INTEGER NOT NULL DEFAULT 0,
    sealed       BLOB,
    answered_at  TEXT NOT NULL,
    PRIMARY KEY (checkin_id, question_id)
);

-- A member's yes to contact with a peer supporter (or a duty-to-warn rule that applied).
-- ``claimed_by`` is set once, by a conditional UPDATE, so two supporters never both answer.
CREATE TABLE checkin_escalations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    checkin_id  INTEGER REFERENCES checkins (id) ON DELETE SET NULL,
    platform    TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    policy      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    shared      INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    claimed_by  TEXT,
    claimed_at  TEXT
);
