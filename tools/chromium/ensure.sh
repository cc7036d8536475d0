#!/bin/sh
# Makes sure the report tests' real renderers are installed: Debian's headless
# Chromium (the HTML report's screenshot test) and poppler-utils (pdftotext and
# pdftoppm, the PDF report's checks). It installs only what is missing, so a
# machine that has them returns at once. Run as root (or with apt rights).
set -eu
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
{ command -v pdftotext >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1; } || missing="$missing poppler-utils"
[ -z "$missing" ] && exit 0
echo "installing$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO=sudo
if ! $SUDO apt-get install -y --no-install-recommends $missing >&2; then
  $SUDO apt-get update >&2
  $SUDO apt-get install -y --no-install-recommends $missing >&2
fi
