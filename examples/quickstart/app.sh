#!/bin/sh
# A deliberately tiny "service" for gaterun's bundled example: a task store in a text file.
set -eu
cmd=${1:-}
db=${2:-}
case "$cmd" in
  version) echo "quickstart 0.1.0" ;;
  health) echo "ok" ;;
  migrate)
    [ -e "$db" ] || { echo "schema_version 1" > "$db"; echo "migrated to 1"; exit 0; }
    echo "already at $(head -n 1 "$db")" ;;
  add)
    name=${3:-}
    case "$name" in ""|*[!a-z0-9-]*) echo "invalid name '$name': use a-z, 0-9 and -" >&2; exit 2 ;; esac
    grep -q '^schema_version' "$db" 2>/dev/null || { echo "not migrated: run migrate first" >&2; exit 3; }
    id=$(( $(grep -c '^task ' "$db" || true) + 1 ))
    echo "task $id $name new" >> "$db"
    echo "created id=$id" ;;
  get)
    line=$(grep "^task ${3:-x} " "$db") || { echo "no task ${3:-}" >&2; exit 4; }
    echo "$line" ;;
  work)
    # A background worker: marks every new task done, a little later.
    ( sleep 0.3; sed -i 's/ new$/ done/' "$db" ) &
    echo "worker started" ;;
  *) echo "usage: app.sh version|health|migrate DB|add DB NAME|get DB ID|work DB" >&2; exit 64 ;;
esac
