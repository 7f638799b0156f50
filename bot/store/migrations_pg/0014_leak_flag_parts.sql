-- Confidant schema, version 14: a leak flag names every message of a quote posted in parts.
-- A member who posts a confidential quote over two or three messages gets one flag, kept on
-- the message that completed it (leak_flags.message_id); its earlier parts are listed here,
-- oldest first, so /flags and the alert name them all. Message ids only, never text.
CREATE TABLE leak_flag_parts (
    flag_id     BIGINT NOT NULL REFERENCES leak_flags (id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    message_id  TEXT NOT NULL,
    PRIMARY KEY (flag_id, position)
);
