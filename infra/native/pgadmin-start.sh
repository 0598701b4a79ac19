#!/bin/sh
# pgAdmin for the native stack, run by supervisord with pgAdmin's own venv (tools dir).
# Prepares the config database (the login from .env, the stack's PostgreSQL pre-registered),
# then serves. Environment: PGADMIN_PYTHON, CONFIG_DISTRO_FILE_PATH, PGADMIN_SETUP_EMAIL,
# PGADMIN_SETUP_PASSWORD, PGADMIN_SERVERS_JSON, PGADMIN_DATA_DIR.
set -eu
cd "$("$PGADMIN_PYTHON" -c 'import pgadmin4; print(list(pgadmin4.__path__)[0])')"
login_stamp="$PGADMIN_DATA_DIR/login.sha256"
login="$(printf '%s\n%s' "$PGADMIN_SETUP_EMAIL" "$PGADMIN_SETUP_PASSWORD" | sha256sum | cut -d' ' -f1)"
fresh=0
[ -f "$PGADMIN_DATA_DIR/pgadmin4.db" ] || fresh=1
# creates the config database and, when fresh, the login user from PGADMIN_SETUP_*; migrates otherwise
"$PGADMIN_PYTHON" setup.py setup-db >/dev/null
if [ "$fresh" = 0 ] && [ "$(cat "$login_stamp" 2>/dev/null)" != "$login" ]; then
  # .env changed the login since the database was made
  out="$("$PGADMIN_PYTHON" setup.py update-user "$PGADMIN_SETUP_EMAIL" \
    --password "$PGADMIN_SETUP_PASSWORD" --admin 2>&1)"
  case "$out" in
    *"not found"*) "$PGADMIN_PYTHON" setup.py add-user "$PGADMIN_SETUP_EMAIL" \
      "$PGADMIN_SETUP_PASSWORD" --admin >/dev/null ;;
  esac
fi
printf '%s' "$login" > "$login_stamp"
"$PGADMIN_PYTHON" setup.py load-servers "$PGADMIN_SERVERS_JSON" --user "$PGADMIN_SETUP_EMAIL" --replace >/dev/null
exec "$(dirname "$PGADMIN_PYTHON")/pgadmin4"
