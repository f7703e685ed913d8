#!/bin/sh
# The command of the compose file's mosquitto service: writes the password file from the environment, then
# runs the broker with docker/mosquitto/mosquitto.conf and its ACL.
#
#   MANAGER_ENTITY_ID, MANAGER_API_KEY  the manager's login, the same values the manager containers get
#   PROPLET_LOGINS                      the proplets' logins: entity id:API key pairs, separated by spaces
#                                       (PROPLET_ENTITY_ID and PROPLET_API_KEY of each proplet)
#
# The compose health check gets a login of its own with a new random password at every start.
set -eu

config=${MOSQUITTO_CONFIG_DIR:-/mosquitto/config}
here=$(dirname "$0")
: "${MANAGER_ENTITY_ID:?the manager's login (its MANAGER_ENTITY_ID)}"
: "${MANAGER_API_KEY:?the manager's password (its MANAGER_API_KEY)}"

# A manager renamed without the ACL would be refused every command; say so now rather than then.
if ! grep -qx "user $MANAGER_ENTITY_ID" "$config/acl"; then
  echo "start.sh: the ACL has no 'user $MANAGER_ENTITY_ID' block: put the manager's entity id in docker/mosquitto/acl" >&2
  exit 1
fi

healthcheck=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
# No globbing while the logins are split at spaces.
set -f
{
  printf '%s:%s\n' "$MANAGER_ENTITY_ID" "$MANAGER_API_KEY"
  printf 'healthcheck:%s\n' "$healthcheck"
  for login in ${PROPLET_LOGINS:-}; do printf '%s\n' "$login"; done
} | sh "$here/make-passwords.sh" "$config/passwords"
set +f
(umask 077 && printf '%s\n' "$healthcheck" >"$config/healthcheck-password")

# As root, Mosquitto drops to its own user before it reads the password file.
if [ "$(id -u)" = 0 ]; then chown mosquitto:mosquitto "$config/passwords" "$config/healthcheck-password"; fi
exec mosquitto -c "$config/mosquitto.conf"
