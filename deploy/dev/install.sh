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
  # not written).
  _byte_compile "$log" "library files, for -OO" -o 2 \
    "$("$root/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
  # lienthong's own modules, which services load at level 0 even under -OO
  # (schemas/own_modules.py): pip compiles them for a normal install, not for this editable one.
  _byte_compile "$log" "lienthong's files" "$root/hub" "$root/schemas" "$root/agency_adapter"
  export PATH="$root/.venv/bin:$PATH"
}

# Like pip, a file that cannot be byte-compiled is not fatal: its module is compiled when a
# service imports it. Said, with where the details are.
_byte_compile() {
  local log="$1" what="$2"; shift 2
  local root; root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  if ! "$root/.venv/bin/python" -m compileall -q -j 0 "$@" >>"$log" 2>&1; then
    echo "note: some $what were not byte-compiled (see $log)" >&2
  fi
}
