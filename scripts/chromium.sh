#!/usr/bin/env bash
# Headless Chromium for the review page's browser test: Debian's `chromium` package, installed
# when no browser is found (with sudo when not root). Prints the browser's path.
set -euo pipefail

find_browser() {
    if [ -n "${CHROMIUM:-}" ] && [ -x "$CHROMIUM" ]; then
        echo "$CHROMIUM"
        return 0
    fi
    for name in chromium chromium-browser google-chrome; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}

if find_browser; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo -n)
else
    echo "chromium is missing and this user cannot install it (not root, no sudo)" >&2
    exit 1
fi
echo "installing chromium (Debian's package) for the review page's browser test" >&2
"${sudo[@]}" apt-get update -qq >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
find_browser
