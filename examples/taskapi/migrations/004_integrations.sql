-- Phase 3, the tracker integration. Notifications to the tracker are an outbox: written in the
-- transaction of the move that causes them, sent by the delivery loop, retried with backoff,
-- dead-lettered after N tries. What each call cost (the tracker's usage fields), and the
-- webhook deliveries already applied (a replay is ignored).
CREATE TABLE notifications (
  id INTEGER PRIMARY KEY,
  task_id INTEGER NOT NULL REFERENCES tasks (id),
  event TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at BIGINT NOT NULL DEFAULT 0,
  last_status INTEGER,
  last_error TEXT,
  external_id TEXT,
  created_at TEXT NOT NULL
);
CREATE TABLE api_usage (
  id INTEGER PRIMARY KEY,
  notification_id INTEGER NOT NULL REFERENCES notifications (id),
  task_id INTEGER NOT NULL REFERENCES tasks (id),
  input_tokens BIGINT NOT NULL,
  output_tokens BIGINT NOT NULL,
  cost_micros BIGINT NOT NULL,
  at TEXT NOT NULL
);
CREATE TABLE webhook_deliveries (
  delivery_id TEXT PRIMARY KEY,
  action TEXT NOT NULL,
  task_id INTEGER,
  received_at TEXT NOT NULL
);
