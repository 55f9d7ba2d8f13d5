#!/usr/bin/env bash
# Installs the Python side of trustwarden's integration tests (a moto server
# standing in for AWS, aiosmtpd standing in for a mail relay) into a cached
# virtualenv, once. tests/support runs this same script, so the pins below are
# the only place these versions are named. Prints the virtualenv's path
# ($TRUSTWARDEN_TEST_VENV moves it from ~/.cache/trustwarden/venv).
set -euo pipefail

readonly PINS=("moto[server]==5.2.5" "aiosmtpd==1.4.6")
readonly VENV="${TRUSTWARDEN_TEST_VENV:-$HOME/.cache/trustwarden/venv}"
readonly STAMP="$VENV/.trustwarden-pins"

mkdir -p "$(dirname "$VENV")"
# Test binaries and humans may run this at the same time: one installs, the
# others wait and then find the stamp.
exec 9>"$VENV.lock"
flock 9

if [[ -f $STAMP && "$(cat "$STAMP")" == "${PINS[*]}" ]]; then
    echo "$VENV"
    exit 0
fi

echo "setup-test-env: installing ${PINS[*]} into $VENV" >&2
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}" >&2
# The stamp is written last, so an interrupted install is redone next time.
printf '%s' "${PINS[*]}" >"$STAMP"
echo "$VENV"
