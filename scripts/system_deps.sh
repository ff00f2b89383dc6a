#!/usr/bin/env bash
# Debian packages the test suite needs: espeak-ng speaks the test sentences for transcription;
# gnome-keyring and dbus-daemon give the key store tests a real Secret Service; fonts-noto-cjk
# draws the English and Chinese text the OCR tests read.
# Installs what is missing (as root, with apt-get); elsewhere says what to install and fails.
set -euo pipefail
needed=()
command -v espeak-ng >/dev/null 2>&1 || needed+=(espeak-ng)
command -v gnome-keyring-daemon >/dev/null 2>&1 || needed+=(gnome-keyring)
command -v dbus-daemon >/dev/null 2>&1 || needed+=(dbus-daemon)
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || needed+=(fonts-noto-cjk)
command -v ip >/dev/null 2>&1 || needed+=(iproute2)          # the offline test's namespace
command -v unshare >/dev/null 2>&1 || needed+=(util-linux)
[ ${#needed[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing ${needed[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${needed[@]}" >/dev/null
else
  echo "The tests need: ${needed[*]}. Install them (e.g. sudo apt-get install ${needed[*]})." >&2
  exit 1
fi
