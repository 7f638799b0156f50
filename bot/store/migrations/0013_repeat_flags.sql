-- Confidant schema, version 13: repeat leakers, and what the bot did about them.
-- A confirmed flag (a moderator resolved it as real, not a false positive) is counted per
-- member under a keyed hash of the member (the same key and hash as a fingerprint's author,
-- kept outside the database), never their id or any text: the count is all that is asked of
-- it ("3rd confirmed flag in 30 days"), and an erase request finds its rows by the same hash.
CREATE TABLE confirmed_flags (
    author        BLOB NOT NULL,
    policy        TEXT NOT NULL,
    flag_id       INTEGER NOT NULL,
    confirmed_at  TEXT NOT NULL,
    PRIMARY KEY (flag_id)
);
CREATE INDEX confirmed_flags_author ON confirmed_flags (author, policy, confirmed_at);

-- A consequence the policy sets after N confirmed flags within D days: a timeout or a
-- removal from the confidential rooms. It waits for a moderator's confirm ('proposed')
-- unless the policy says automatic; a timeout carries the time it ends, so the restoration
-- survives a restart (the periodic tick restores what is due). Ids only, never text.
CREATE TABLE repeat_actions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    platform    TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    policy      TEXT NOT NULL,
    kind        TEXT NOT NULL,          -- 'timeout' or 'remove'
    flag_id     INTEGER NOT NULL,       -- the confirmed flag that reached the threshold
    status      TEXT NOT NULL,          -- 'proposed', 'done', 'restored'
    minutes     INTEGER,                -- a timeout's length
    until       TEXT,                   -- a timeout's end, once done
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX repeat_actions_due ON repeat_actions (status, until);
