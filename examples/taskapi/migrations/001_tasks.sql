-- Tasks and their audit trail. Plain SQL that SQLite and PostgreSQL both accept.
CREATE TABLE tasks (
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL CHECK (length(title) > 0),
  state TEXT NOT NULL DEFAULT 'new'
    CHECK (state IN ('new', 'planned', 'in_progress', 'review', 'done')),
  cost_cap INTEGER NOT NULL DEFAULT 100 CHECK (cost_cap >= 0),
  created_at TEXT NOT NULL
);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  task_id INTEGER NOT NULL REFERENCES tasks (id),
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  at TEXT NOT NULL
);
