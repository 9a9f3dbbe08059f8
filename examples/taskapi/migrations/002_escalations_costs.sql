-- Supporting resources: escalations block progress; costs count against a task's cap.
CREATE TABLE escalations (
  id INTEGER PRIMARY KEY,
  task_id INTEGER NOT NULL REFERENCES tasks (id),
  reason TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved')),
  created_at TEXT NOT NULL
);
CREATE TABLE costs (
  id INTEGER PRIMARY KEY,
  task_id INTEGER NOT NULL REFERENCES tasks (id),
  amount INTEGER NOT NULL CHECK (amount > 0),
  at TEXT NOT NULL
);
