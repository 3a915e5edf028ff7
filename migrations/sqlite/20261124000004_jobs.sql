-- Jobs name the session they are about, so the planner finds open sessions that have no jobs
-- yet with an index instead of re-inserting every session's jobs on each pass.
ALTER TABLE jobs ADD COLUMN session_id BLOB REFERENCES sessions (id);

CREATE INDEX jobs_session_idx ON jobs (session_id, kind);
