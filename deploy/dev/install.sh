# Create .venv from pyproject.toml (sourced by the scripts beside this one).

install_lienthong() {
  local root; root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  if [ ! -x "$root/.venv/bin/python" ]; then python3 -m venv "$root/.venv"; fi
  local log="$root/.venv/install.log"
  if ! "$root/.venv/bin/python" -m pip install --disable-pip-version-check -e "$root[dev]" \
      >"$log" 2>&1; then
    cat "$log" >&2; echo "installing lienthong failed (log above)" >&2; return 1
  fi
  # Services run with -OO (schemas/serving.py), which reads the libraries' .opt-2.pyc files;
  # without them a service compiles every library as it starts (each time, where bytecode is
  # not written). Like pip, a file that cannot be compiled is not fatal: that module is
  # compiled when a service imports it.
  if ! "$root/.venv/bin/python" -m compileall -q -j 0 -o 2 \
      "$("$root/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" \
      >>"$log" 2>&1; then
    echo "note: some library files were not byte-compiled for -OO (see $log)" >&2
  fi
  # lienthong's own modules, which services load at level 0 even under -OO
  # (schemas/own_modules.py): pip compiles them for a normal install, not for this editable one.
  if ! "$root/.venv/bin/python" -m compileall -q -j 0 "$root/hub" "$root/schemas" \
      "$root/agency_adapter" >>"$log" 2>&1; then
    echo "note: some of lienthong's files were not byte-compiled (see $log)" >&2
  fi
  export PATH="$root/.venv/bin:$PATH"
}
