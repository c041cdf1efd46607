-- Realtime calls: what the /stream bridge measured on a call (agents used, barge-ins and their cut-off,
-- first-audio latency, frames in and out). NULL for turn-based calls.
-- The runner wraps this file in a transaction: no BEGIN/COMMIT here.
ALTER TABLE calls ADD COLUMN stats jsonb NULL;
