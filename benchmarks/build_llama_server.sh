#!/usr/bin/env bash
# Build llama.cpp's own `llama-server` from the llama.cpp that llama-cpp-python vendors (same
# version as the engine's), once, for the chat benchmark's reference. Prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
version="$(sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' pyproject.toml)"
home="${XDG_CACHE_HOME:-$HOME/.cache}/hearth/llama-server-$version"
binary="$home/build/bin/llama-server"
if [ ! -x "$binary" ]; then
  mkdir -p "$home"
  echo "==> building llama.cpp's llama-server $version (once; a few minutes)" >&2
  "$VENV/bin/python" -m pip download -q --no-deps --no-binary :all: -d "$home" \
    "llama-cpp-python==$version" >&2
  tar -xzf "$home"/llama_cpp_python-"$version".tar.gz -C "$home"
  src="$home/llama_cpp_python-$version/vendor/llama.cpp"
  cmake -S "$src" -B "$home/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON >&2
  cmake --build "$home/build" --target llama-server -j "$(nproc)" >&2
fi
echo "$binary"
