#!/usr/bin/env bash
# Sets up .venv on a fresh machine: the project, llama-cpp-python from a cached wheel (built once
# per CMAKE_ARGS), and the embedded default models with their sha256 checked.
#   scripts/setup.sh run   - what `make run` needs
#   scripts/setup.sh dev   - plus the test and lint tools (`make test`)
set -euo pipefail
cd "$(dirname "$0")/.."

profile="${1:-run}"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
LLAMA_VERSION="$(sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' pyproject.toml)"

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 13)))' || {
    echo "Hearth needs Python 3.10 to 3.13; $PYTHON is $("$PYTHON" -V 2>&1)." >&2; exit 1; }
  echo "==> creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
py="$VENV/bin/python"

# One wheel folder per build flavour, outside the checkout so fresh clones reuse it.
flavour="cpu"
if [ -n "${CMAKE_ARGS:-}" ]; then
  flavour="cmake-$(printf '%s' "$CMAKE_ARGS" | sha256sum | cut -c1-12)"
fi
wheels="${HEARTH_WHEEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hearth/wheels}/$flavour"
mkdir -p "$wheels"
if ! ls "$wheels"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
  echo "==> building llama-cpp-python $LLAMA_VERSION ($flavour); this takes a few minutes once"
  "$py" -m pip wheel --no-deps --no-cache-dir -w "$wheels" "llama-cpp-python==$LLAMA_VERSION"
fi

extras=""
[ "$profile" = "dev" ] && extras="[dev]"
stamp="$VENV/.hearth-$profile-$(cat pyproject.toml | sha256sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "==> installing hearth$extras"
  "$py" -m pip install -q --find-links "$wheels" -e ".$extras"
  touch "$stamp"
fi

echo "==> embedded models"
"$py" -m engine install-models
if [ "$profile" = "dev" ]; then
  echo "==> test models"
  "$py" scripts/test_models.py
fi

# The desktop's translations: compiled from the .ts sources the repository keeps.
for ts in app/ui/i18n/*.ts; do
  qm="${ts%.ts}.qm"
  if [ ! -f "$qm" ] || [ "$ts" -nt "$qm" ]; then
    "$VENV/bin/pyside6-lrelease" -silent "$ts" -qm "$qm"
  fi
done
