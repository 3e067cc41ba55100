#!/usr/bin/env bash
# The GitHub Action's steps (action.yml), as plain shell so that the test
# suite runs them (tests/it/action.rs) with a made-up GITHUB_* environment.
#
#   action.sh install   put roleguard on PATH: the release binary of
#                       ROLEGUARD_VERSION for this runner, checked against the
#                       release's SHA256SUMS; else cargo install --locked from
#                       the action's own checkout
#   action.sh run       roleguard check INPUT_PATHS --format sarif, the SARIF
#                       to INPUT_SARIF_FILE, a summary to GITHUB_STEP_SUMMARY,
#                       outputs sarif-file and exit-code; never fails itself
#   action.sh verdict   exit with EXIT_CODE (after the SARIF is uploaded)
set -euo pipefail

install() {
  local bin="${RUNNER_TEMP:-/tmp}/roleguard-bin"
  mkdir -p "$bin"
  local os arch target=""
  os="$(uname -s)"; arch="$(uname -m)"
  case "$os/$arch" in
    Linux/x86_64) target=x86_64-unknown-linux-gnu ;;
    Linux/aarch64|Linux/arm64) target=aarch64-unknown-linux-gnu ;;
    Darwin/x86_64) target=x86_64-apple-darwin ;;
    Darwin/arm64) target=aarch64-apple-darwin ;;
  esac
  local version="${ROLEGUARD_VERSION:-}" repo="${ROLEGUARD_REPOSITORY:-}"
  if [[ -n "$target" && -n "$repo" && "$version" == v* ]]; then
    # ROLEGUARD_RELEASE_BASE: another place for the releases (the tests use file://).
    local base="${ROLEGUARD_RELEASE_BASE:-https://github.com/$repo/releases/download}/$version"
    local archive="roleguard-$version-$target.tar.gz"
    if curl -fsSL -o "$bin/$archive" "$base/$archive" \
      && curl -fsSL -o "$bin/SHA256SUMS" "$base/SHA256SUMS"; then
      (cd "$bin" && grep " $archive\$" SHA256SUMS | sha256sum -c -) || {
        echo "::error::roleguard $version: $archive does not match SHA256SUMS" >&2
        exit 1
      }
      tar -xzf "$bin/$archive" -C "$bin"
      echo "$bin" >> "${GITHUB_PATH:-/dev/null}"
      echo "roleguard $version ($target) from the release"
      return
    fi
    echo "no release binary for $version/$target: building from source"
  fi
  cargo install --locked --root "$bin/.." --path "${GITHUB_ACTION_PATH:-.}" --bin roleguard
  echo "$bin/../bin" >> "${GITHUB_PATH:-/dev/null}"
}

run() {
  local sarif="${INPUT_SARIF_FILE:-roleguard.sarif}"
  local fail_on="${INPUT_FAIL_ON:-high}"
  local -a paths
  read -r -a paths <<< "${INPUT_PATHS:-.}"
  local -a args=(check --format sarif --fail-on "$fail_on")
  if [[ -n "${INPUT_CONFIG:-}" ]]; then args+=(--config "$INPUT_CONFIG"); fi
  local code=0
  "${ROLEGUARD:-roleguard}" "${args[@]}" "${paths[@]}" > "$sarif" || code=$?
  local results
  results="$( (grep -o '"ruleId"' "$sarif" || true) | wc -l | tr -d ' ')"
  {
    echo "sarif-file=$sarif"
    echo "exit-code=$code"
  } >> "${GITHUB_OUTPUT:-/dev/null}"
  {
    echo "### roleguard"
    echo
    echo "Checked: \`${paths[*]}\`; $results findings; fail on: $fail_on."
    case "$code" in
      0) echo "No finding at or above $fail_on." ;;
      1) echo "**Findings at or above $fail_on**: see the code scanning alerts." ;;
      *) echo "**Some inputs could not be read** (exit $code): see the log." ;;
    esac
  } >> "${GITHUB_STEP_SUMMARY:-/dev/null}"
  if [[ "$code" != 0 ]]; then
    # The findings in the log too, as text.
    "${ROLEGUARD:-roleguard}" check --fail-on "$fail_on" ${INPUT_CONFIG:+--config "$INPUT_CONFIG"} "${paths[@]}" || true
  fi
}

verdict() {
  local code="${EXIT_CODE:-2}"
  if [[ "$code" != 0 ]]; then
    echo "::error::roleguard check exited $code (fail-on ${INPUT_FAIL_ON:-high})"
  fi
  exit "$code"
}

case "${1:-}" in
  install) install ;;
  run) run ;;
  verdict) verdict ;;
  *) echo "usage: action.sh install|run|verdict" >&2; exit 2 ;;
esac
