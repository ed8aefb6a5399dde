# Create .venv from pyproject.toml (sourced by the scripts beside this one).

install_lienthong() {
  local root; root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  if [ ! -x "$root/.venv/bin/python" ]; then python3 -m venv "$root/.venv"; fi
  local log="$root/.venv/install.log"
  if ! "$root/.venv/bin/python" -m pip install --disable-pip-version-check -e "$root[dev]" \
      >"$log" 2>&1; then
    cat "$log" >&2; echo "installing lienthong failed (log above)" >&2; return 1
  fi
  export PATH="$root/.venv/bin:$PATH"
}
