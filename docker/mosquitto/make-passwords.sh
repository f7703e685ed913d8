#!/bin/sh
# Writes a Mosquitto password file from "login:password" lines on standard input, hashing every password
# with mosquitto_passwd (PBKDF2-SHA512). Passwords travel through pipes, never as arguments, which anyone on
# the machine could read in the process list. The file is replaced whole, readable by its owner only.
#
#   printf '%s\n' "propeller-manager:$MANAGER_API_KEY" "$PROPLET_ENTITY_ID:$PROPLET_API_KEY" |
#     docker/mosquitto/make-passwords.sh passwords
#
# A login is an entity id (the manager's MANAGER_ENTITY_ID, a proplet's PROPLET_ENTITY_ID) and ends at the
# first ':'; the password is the rest of the line, colons included. Empty lines are skipped.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 PASSWORD_FILE < lines of login:password" >&2
  exit 2
fi
target=$1
hashed="$target.new.$$"
umask 077
trap 'rm -f "$hashed"' EXIT
: >"$hashed"

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
  password=${line#*:}
  if [ -z "$login" ] || [ -z "$password" ]; then
    echo "make-passwords.sh: line $number has an empty login or password" >&2
    exit 1
  fi
  if awk -F: -v login="$login" '$1 == login { found = 1 } END { exit !found }' "$hashed"; then
    echo "make-passwords.sh: login $login is given twice" >&2
    exit 1
  fi
  # mosquitto_passwd asks for the password twice, on its standard input when that is no terminal. (Its -U
  # mode, which hashes a plain file in place, would cut a password at its first ':'.)
  if ! printf '%s\n%s\n' "$password" "$password" | mosquitto_passwd "$hashed" "$login" >/dev/null 2>&1; then
    echo "make-passwords.sh: mosquitto_passwd could not add login $login" >&2
    exit 1
  fi
  count=$((count + 1))
done

if [ "$count" -eq 0 ]; then
  echo "make-passwords.sh: no login:password lines on standard input" >&2
  exit 1
fi
mv "$hashed" "$target"
echo "make-passwords.sh: $count logins written to $target"
