-- Confidant schema, version 7: which community each audit entry belongs to.
-- One community's moderators must not read another's business in /audit, so each entry
-- records the policy its action concerned. NULL means no community: a member's own
-- /mydata or /forgetme (read by the admin with `confidant audit`, never by a moderator),
-- and every entry written before this column existed, since nothing recorded whose it was.
-- Existing rows are kept as they are.
ALTER TABLE audit_log ADD COLUMN policy TEXT;
CREATE INDEX audit_log_policy ON audit_log (policy, id);
