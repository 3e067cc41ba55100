# Sourced by scripts/test and scripts/demo: the Python tools they run (moto
# server and cargo-lambda, pinned in requirements-test.txt) in .venv, and on PATH.
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-test.txt
export MOTO_SERVER="$PWD/.venv/bin/moto_server"
export PATH="$PWD/.venv/bin:$PATH"
