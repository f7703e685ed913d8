#!/bin/sh
# Writes a Mosquitto password file from "login:password" lines on standard input, hashing every password
# with mosquitto_passwd (PBKDF2-SHA512). Passwords come on standard input, not as arguments, which anyone on
# the machine could read in the process list. The file is replaced whole, readable by its owner only.
#
#   printf '%s\n' "propeller-manager:$MANAGER_API_KEY" "$PROPLET_ENTITY_ID:$PROPLET_API_KEY" |
#     docker/mosquitto/make-passwords.sh passwords
#
# A login is an entity id (the manager's MANAGER_ENTITY_ID, a proplet's PROPLET_ENTITY_ID); it cannot
# contain ':', a password can. Empty lines are skipped.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 PASSWORD_FILE < lines of login:password" >&2
  exit 2
fi
target=$1
plain="$target.plain.$$"
umask 077
trap 'rm -f "$plain"' EXIT
: >"$plain"

count=0
number=0
while IFS= read -r line || [ -n "$line" ]; do
  number=$((number + 1))
  [ -n "$line" ] || continue
  case "$line" in
    *:*) ;;
    *)
      echo "make-passwords.sh: line $number has no ':' (expected login:password)" >&2
      exit 1
      ;;
  esac
  login=${line%%:*}
  if [ -z "$login" ] || [ -z "${line#*:}" ]; then
    echo "make-passwords.sh: line $number has an empty login or password" >&2
    exit 1
  fi
  if awk -F: -v login="$login" '$1 == login { found = 1 } END { exit !found }' "$plain"; then
    echo "make-passwords.sh: login $login is given twice" >&2
    exit 1
  fi
  printf '%s\n' "$line" >>"$plain"
  count=$((count + 1))
done

if [ "$count" -eq 0 ]; then
  echo "make-passwords.sh: no login:password lines on standard input" >&2
  exit 1
fi
# -U hashes a file of plain login:password lines in place.
mosquitto_passwd -U "$plain"
mv "$plain" "$target"
echo "make-passwords.sh: $count logins written to $target"
