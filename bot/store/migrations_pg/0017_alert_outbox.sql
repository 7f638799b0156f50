-- Confidant schema, version 17: moderator alerts that could not be delivered yet.
-- An alert is written here before it is sent and marked when the platform took it, so an
-- alert room the bot cannot reach yet (not joined, rate limited, an outage) or a crash
-- mid-send delays it instead of losing it; a resend carries the same key, which the
-- platforms use to drop a repeat (Matrix transaction id, Discord nonce). ``alert`` is the
-- alert sealed with a key derived from the deployment key (an alert never quotes a
-- confidential room, but a contact request carries the check-in answers a member chose to
-- share, and a report the reporter's words); ``member_key`` is the keyed hash of the member
-- whose words or answers it carries, so their erase request removes it. Delivered or
-- given-up rows are purged after a week.
CREATE TABLE alert_outbox (
    key           TEXT PRIMARY KEY,
    platform      TEXT NOT NULL,
    alert         BYTEA NOT NULL,
    member_key    BYTEA,
    created_at    TEXT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    next_at       TEXT NOT NULL,
    delivered_at  TEXT,
    given_up_at   TEXT
);
CREATE INDEX alert_outbox_due ON alert_outbox (next_at)
    WHERE delivered_at IS NULL AND given_up_at IS NULL;
CREATE INDEX alert_outbox_member ON alert_outbox (member_key) WHERE member_key IS NOT NULL;
