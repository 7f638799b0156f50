-- Confidant schema, version 5: recurring check-ins.
-- One standing schedule per member, kept as wall-clock time plus an IANA zone so it fires
-- at the same local time on both sides of a daylight-saving change (see bot/schedules.py).
-- ``days`` is weekday numbers (0 = Monday) joined by commas; ``local_time`` is HH:MM.
-- ``last_fired`` is written before the check-in is sent, so a crash never sends it twice;
-- nothing at or before it is owed. No answers live here, only when to ask.
CREATE TABLE checkin_schedules (
    platform       TEXT NOT NULL,
    member_id      TEXT NOT NULL,
    policy         TEXT NOT NULL,
    days           TEXT NOT NULL,
    local_time     TEXT NOT NULL,
    zone           TEXT NOT NULL,
    paused         BIGINT NOT NULL DEFAULT 0,
    snoozed_until  TEXT,
    last_fired     TEXT,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (platform, member_id)
);
