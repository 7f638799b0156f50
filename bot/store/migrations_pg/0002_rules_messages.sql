-- Confidant schema, version 2: standing rules messages (reminder delivery "rules_message").
-- One row per room and policy: the platform's id of the message and a hash of what it says,
-- so a restart reuses the message (and its Agree button) instead of posting another, and a
-- changed text edits it once. The row is written before the post or edit goes out
-- (posted_at NULL) and completed when the adapter reports the id, like the reminders outbox.

CREATE TABLE rules_messages (
    platform      TEXT NOT NULL,
    room_id       TEXT NOT NULL,
    policy        TEXT NOT NULL,
    room_name     TEXT,
    content_hash  TEXT NOT NULL,
    post_key      TEXT NOT NULL UNIQUE,
    message_id    TEXT,
    updated_at    TEXT NOT NULL,
    posted_at     TEXT,
    PRIMARY KEY (platform, room_id, policy)
);
