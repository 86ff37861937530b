#!/bin/sh
# `make serve`: the review server of one case on this machine only (127.0.0.1), with an
# admin account to sign in with. Usage: serve-case.sh VENV_BIN CASE PORT
#
# demo-case (the default) is made by `clearsight demo` if missing. Where it has no admin,
# two accounts are made with generated passwords, kept in demo-case/logins.txt (mode
# 0600): `admin` (accounts, banks, settings) and `supervisor`, who reviews, decides and
# exports (an admin does not review). The demo holds only the bundled benign samples,
# and a newcomer should not have to invent passwords to look at it.
# Any other case must exist already, and its first admin's password is typed at a
# prompt: a real case's password is never written to a file.
set -eu
bin=$1 case_dir=$2 port=$3
clearsight="$bin/clearsight"

if [ ! -f "$case_dir/case.sqlite" ]; then
    if [ "$case_dir" = demo-case ]; then
        "$clearsight" demo --case demo-case
    else
        echo "make serve: no case at $case_dir: scan into it first ($clearsight scan FOLDER --case $case_dir)" >&2
        exit 2
    fi
fi

has_admin() {
    "$clearsight" user list --case "$case_dir" --json | "$bin/python" -c '
import json, sys
accounts = json.load(sys.stdin)
sys.exit(0 if any(a["role"] == "admin" and not a["disabled"] for a in accounts) else 1)'
}

login="$case_dir/logins.txt"
add_with_password() { # NAME ROLE WHAT: an account with a generated password, noted in $login
    password=$("$bin/python" -c 'import secrets; print(secrets.token_urlsafe(12))')
    printf '%s\n' "$password" | "$clearsight" user add --case "$case_dir" "$1" --role "$2" --password-stdin
    (umask 077 && printf '    %-10s  password %s   (%s)\n' "$1" "$password" "$3" >>"$login")
}
if ! has_admin; then
    if [ "$case_dir" = demo-case ]; then
        rm -f "$login"
        add_with_password admin admin "accounts, banks, settings"
        add_with_password supervisor supervisor "reviews, decides, exports"
    else
        echo "No admin account in $case_dir yet: choose a password (12 characters or more) for 'admin'."
        "$clearsight" user add --case "$case_dir" admin --role admin
    fi
fi

echo
echo "Open http://127.0.0.1:$port/ in a browser on this machine and sign in as:"
if [ "$case_dir" = demo-case ] && [ -f "$login" ]; then
    cat "$login"
else
    echo "    an account of $case_dir: admins manage accounts, supervisors and reviewers review"
    echo "    (list them: $clearsight user list --case $case_dir)"
fi
echo "Stop the server with Ctrl-C."
echo
exec "$clearsight" serve --case "$case_dir" --host 127.0.0.1 --port "$port"
