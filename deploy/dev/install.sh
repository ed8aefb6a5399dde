# Create .venv from pyproject.toml (sourced by the scripts beside this one).

install_lienthong() {
  local root; root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  if [ ! -x "$root/.venv/bin/python" ]; then python3 -m venv "$root/.venv"; fi
  "$root/.venv/bin/python" -m pip install -q --disable-pip-version-check -e "$root[dev]"
  export PATH="$root/.venv/bin:$PATH"
}
