-- Confidant schema, version 1.
-- No message text is stored anywhere: only who was reminded of which policy text (by hash),
-- who agreed, room membership and counters. Times are ISO-8601 UTC strings.

CREATE TABLE memberships (
    platform   TEXT NOT NULL,
    room_id    TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    joined_at  TEXT NOT NULL,
    left_at    TEXT,
    PRIMARY KEY (platform, room_id, member_id)
);

-- One row per member, room, policy and reminder text. The row is written before the reminder
-- is sent (delivered_at NULL) and completed after, so a restart resends an interrupted
-- reminder with the same idempotency key instead of forgetting or duplicating it.
CREATE TABLE reminders (
    key          TEXT PRIMARY KEY,
    platform     TEXT NOT NULL,
    room_id      TEXT NOT NULL,
    room_name    TEXT,
    member_id    TEXT NOT NULL,
    policy       TEXT NOT NULL,
    text_hash    TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    delivered_at TEXT,
    channel      TEXT,
    UNIQUE (platform, room_id, member_id, policy, text_hash)
);
CREATE INDEX reminders_pending ON reminders (delivered_at) WHERE delivered_at IS NULL;
CREATE INDEX reminders_policy ON reminders (policy, text_hash);

CREATE TABLE agreements (
    platform   TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    policy     TEXT NOT NULL,
    text_hash  TEXT NOT NULL,
    agreed_at  TEXT NOT NULL,
    PRIMARY KEY (platform, member_id, policy, text_hash)
);

-- Per room and policy: what the periodic in-room re-reminder needs.
CREATE TABLE room_state (
    platform          TEXT NOT NULL,
    room_id           TEXT NOT NULL,
    policy            TEXT NOT NULL,
    room_name         TEXT,
    messages_since    INTEGER NOT NULL DEFAULT 0,
    last_reminded_at  TEXT NOT NULL,
    PRIMARY KEY (platform, room_id, policy)
);

-- What moderators and members did that others may need to account for. Never content.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    platform    TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
);
