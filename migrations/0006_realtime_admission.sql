-- Realtime admission: a domain's own cap on concurrent realtime calls (conversation::CallAdmission).
-- NULL = the configured default (realtime.max_calls_per_domain), 0 = no cap for this domain.
-- The runner wraps this file in a transaction: no BEGIN/COMMIT here.
ALTER TABLE domains ADD COLUMN max_realtime_calls integer NULL
    CHECK (max_realtime_calls IS NULL OR max_realtime_calls >= 0);
