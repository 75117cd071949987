#!/bin/sh
# Prepare the real SimpleSAMLphp IdP the saml-form tests log in to: PHP from Debian, and Debian's
# simplesamlphp package unpacked (not installed: installing would pull in and start apache2).
# Idempotent: when everything is in place it returns at once. Needs root (or sudo) only for apt-get.
set -eu

dest=${SHELLENV_SIMPLESAMLPHP_DIR:-/var/cache/shellenv-test/simplesamlphp}
php_packages="php-cli php-xml php-mbstring php-curl"

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

missing=""
for package in $php_packages; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
        || missing="$missing $package"
done
if [ -n "$missing" ]; then
    echo "setup.sh: installing$missing" >&2
    # shellcheck disable=SC2086 # $missing is a list of package names, split on purpose
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2 \
        || { as_root apt-get update -q >&2 \
             && as_root env DEBIAN_FRONTEND=noninteractive \
                apt-get install -y -q --no-install-recommends $missing >&2; }
fi

if [ -f "$dest/.unpacked" ]; then
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "setup.sh: downloading simplesamlphp into $dest" >&2
(cd "$work" && apt-get download simplesamlphp >&2) \
    || { as_root apt-get update -q >&2 && (cd "$work" && apt-get download simplesamlphp >&2); }
dpkg-deb -x "$work"/simplesamlphp_*.deb "$work/root"
mkdir -p "$(dirname "$dest")"
rm -rf "$dest"
mv "$work/root/usr/share/simplesamlphp" "$dest"
basename "$work"/simplesamlphp_*.deb > "$dest/.unpacked"
echo "setup.sh: simplesamlphp ready in $dest" >&2
