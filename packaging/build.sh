#!/usr/bin/env bash
# Build dist/hearth/: the desktop app and the engine sharing one folder of libraries, with the
# embedded default models, a .desktop entry and its icon. `make package` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
scripts/setup.sh run
"$VENV/bin/python" -m pip install -q "pyinstaller>=6.5"
"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/hearth.spec
install -m 0644 packaging/hearth.desktop dist/hearth/hearth.desktop
install -m 0644 packaging/hearth.svg dist/hearth/hearth.svg
du -sh dist/hearth | awk '{print "==> dist/hearth: " $1}'
