-- Confidant schema, version 15: who was let into a read-gated room (reminder.gate: read).
-- A row is written when the platform has given the member access (never when it was only
-- asked for), and ended when access was taken away or the member left: /agreements shows
-- who was admitted and when, and a changed text under 'reask: suspend' finds whom to take
-- out. Ids only, never text.
CREATE TABLE room_access (
    platform    TEXT NOT NULL,
    room_id     TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    policy      TEXT NOT NULL,
    room_name   TEXT,
    granted_at  TEXT NOT NULL,
    ended_at    TEXT,                -- revoked or left; NULL while the member has access
    PRIMARY KEY (platform, room_id, member_id, policy)
);
CREATE INDEX room_access_policy ON room_access (policy, ended_at);
