-- Command jobs of ML workspaces. A status change and the Run events it raises commit together (outbox);
-- `sequencer` counts the changes of one job and orders its events.
CREATE TABLE jobs (
  key            TEXT PRIMARY KEY,             -- lower-cased {workspace id}/jobs/{name}
  workspace_key  TEXT NOT NULL,
  name           TEXT NOT NULL,
  spec           TEXT NOT NULL,
  status         TEXT NOT NULL,
  status_history TEXT NOT NULL,                -- JSON [{status, time}], oldest first
  sequencer      INTEGER NOT NULL,
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL,
  started_at     TEXT,
  ended_at       TEXT,
  exit_code      INTEGER,
  failure_reason TEXT,
  runner_id      TEXT,                         -- the server process running it; NULL when none
  lease_until    INTEGER,                      -- epoch ms; another node may take over after it
  process        TEXT                          -- JSON {host, pid, startTicks}: to stop an orphan after a crash
);
CREATE INDEX jobs_by_workspace ON jobs (workspace_key, created_at);
CREATE INDEX jobs_by_status ON jobs (status, created_at);
