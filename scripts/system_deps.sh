#!/usr/bin/env bash
# Debian packages Hearth needs beyond Python wheels, by purpose:
#   test (default): espeak-ng speaks the test sentences for transcription; gnome-keyring and
#     dbus-daemon give the key store tests a real Secret Service; fonts-noto-cjk draws the
#     English and Chinese text the OCR tests read; pulseaudio (and pactl) is the private sound
#     server whose virtual microphones the dictation tests speak into; iproute2 and util-linux
#     make the offline test's network namespace; the libraries Qt loads for the desktop tests (offscreen), and
#     those of its xcb plugin, which the test of an unreachable display loads; curl for the
#     README's runnable example.
#   desktop: the X11 libraries Qt's xcb plugin loads, and PulseAudio's client library that Qt
#     Multimedia (the microphone) links (a desktop system has them already).
#   screenshots: the desktop's libraries plus Xvfb, to render the screens without a display.
# Installs what is missing (as root, with apt-get); elsewhere says what to install and fails.
set -euo pipefail
purpose="${1:-test}"
needed=()
need_lib() { { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | grep -q "$1" || needed+=("$2"); }
xcb_libs() {
  need_lib libxcb-cursor.so.0 libxcb-cursor0
  need_lib libxcb-icccm.so.4 libxcb-icccm4
  need_lib libxcb-keysyms.so.1 libxcb-keysyms1
  need_lib libxcb-image.so.0 libxcb-image0
  need_lib libxcb-render-util.so.0 libxcb-render-util0
  need_lib libxcb-shape.so.0 libxcb-shape0
  need_lib libxcb-randr.so.0 libxcb-randr0
  need_lib libxcb-xkb.so.1 libxcb-xkb1
  need_lib libxkbcommon-x11.so.0 libxkbcommon-x11-0
}
case "$purpose" in
  test)
    command -v espeak-ng >/dev/null 2>&1 || needed+=(espeak-ng)
    command -v gnome-keyring-daemon >/dev/null 2>&1 || needed+=(gnome-keyring)
    command -v dbus-daemon >/dev/null 2>&1 || needed+=(dbus-daemon)
    [ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || needed+=(fonts-noto-cjk)
    command -v ip >/dev/null 2>&1 || needed+=(iproute2)
    command -v unshare >/dev/null 2>&1 || needed+=(util-linux)
    command -v curl >/dev/null 2>&1 || needed+=(curl)  # the README's runnable curl block
    command -v pulseaudio >/dev/null 2>&1 || needed+=(pulseaudio)
    command -v pactl >/dev/null 2>&1 || needed+=(pulseaudio-utils)
    need_lib libpulse.so.0 libpulse0  # Qt Multimedia links PulseAudio's client library
    need_lib libEGL.so.1 libegl1
    need_lib libGL.so.1 libgl1
    need_lib libxkbcommon.so.0 libxkbcommon0
    need_lib libfontconfig.so.1 libfontconfig1
    need_lib libdbus-1.so.3 libdbus-1-3
    need_lib libglib-2.0.so.0 libglib2.0-0
    need_lib libX11.so.6 libx11-6
    xcb_libs
    ;;
  desktop|screenshots)
    xcb_libs
    need_lib libpulse.so.0 libpulse0
    need_lib libEGL.so.1 libegl1
    need_lib libfontconfig.so.1 libfontconfig1
    [ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || needed+=(fonts-noto-cjk)
    if [ "$purpose" = screenshots ]; then
      command -v xvfb-run >/dev/null 2>&1 || needed+=(xvfb xauth)
    fi
    ;;
  *) echo "usage: $0 [test|desktop|screenshots]" >&2; exit 2 ;;
esac
[ ${#needed[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing ${needed[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${needed[@]}" >/dev/null
else
  echo "Hearth needs: ${needed[*]}. Install them (e.g. sudo apt-get install ${needed[*]})." >&2
  exit 1
fi
