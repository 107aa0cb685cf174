#!/usr/bin/env bash
# install.sh: get klubkasse built and running, or tested, on a Debian machine.
#
#   ./install.sh --demo            build and start the kiosk with sample data
#   ./install.sh --test            install test dependencies, then fmt, clippy, tests
#   ./install.sh --system [--demo] also install to /usr/local (binary and data files)
#   ./install.sh --system --ledger also install klubkasse-ledger and its systemd unit
#
# Safe to run again: packages already installed are not reinstalled, and files
# installed by --system are simply replaced.
set -euo pipefail

# The oldest toolchain that builds klubkasse (Cargo.toml's rust-version).
readonly MIN_RUST="1.94"

# Debian packages needed to build and run the kiosk: the pcsc crate links
# libpcsclite (found with pkg-config), and a real card reader needs pcscd.
DEMO_PACKAGES=(build-essential pkg-config ca-certificates libpcsclite-dev pcscd)
# Debian packages the tests need on top of DEMO_PACKAGES: tmux for the
# terminal tests; the vpcd virtual reader and pcsc_scan for the PC/SC tests.
# vsmartcard-vpcd listens on the network: never install it on a real counter.
TEST_PACKAGES=(tmux pcsc-tools vsmartcard-vpcd)
# The ledger's tests run against a real PostgreSQL (see pg_test_start).
TEST_PACKAGES+=(postgresql)
# The portal's browser tests: Debian's chromium driven through chromedriver,
# logging in at a real OpenID provider run from a Python venv (see
# oidc_provider_install).
TEST_PACKAGES+=(chromium chromium-driver python3 python3-venv)
# The OpenID provider the portal's tests log in at, the real mail server
# the mail tests send to, and the stateful fake of Stripe the payment
# tests pay at (all PyPI), pinned.
readonly OIDC_PROVIDER_PACKAGE="oidc-provider-mock==0.3.4"
readonly SMTP_SERVER_PACKAGE="aiosmtpd==1.4.6"
readonly STRIPE_SERVER_PACKAGE="localstripe==1.15.10"

# Where --system installs. /usr/local unless PREFIX says otherwise.
PREFIX="${PREFIX:-/usr/local}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

usage() {
    cat <<'EOF'
Usage: ./install.sh MODE...

Modes:
  --demo     Install build dependencies (apt), check the Rust toolchain, build
             a release binary and start the kiosk in demo mode (sample children,
             sample menu, demo cards on F1-F8). Needs a terminal.
  --test     Install build and test dependencies (apt), start a throwaway
             PostgreSQL on 127.0.0.1:55432 for the ledger's tests and pcscd
             with the vpcd virtual reader for the card reader tests (unless
             one already runs), then run in order: cargo fmt --check,
             cargo clippy (warnings are errors), cargo build --bins (the
             tests run them), cargo test; each over the whole workspace. What was
             started is stopped on exit. Exits non-zero if any step fails.
  --bench    Install what --test installs, start PostgreSQL and pcscd the same
             way, and run the benchmark suite (cargo bench: domain, store,
             tap_latency, ledger, office), which prints every figure next
             to its baseline. Takes about 35 minutes (office generates
             10,000,000 entries); see BENCHMARKS.md.
  --system   Build a release binary and install it to $PREFIX/bin/klubkasse, with
             assets/ and keymaps/ under $PREFIX/share/klubkasse/ (PREFIX defaults
             to /usr/local). May be combined with --demo.
  --ledger   With --system: also install $PREFIX/bin/klubkasse-ledger and the
             systemd unit /etc/systemd/system/klubkasse-ledger.service (not
             enabled, not started; see README.md, "Ledger").
  -h, --help Show this help.

Needs Debian (apt-get) for system packages and Rust >= 1.94 (cargo, rustc).
Uses sudo for apt-get and --system when not run as root.
Respects CARGO_TARGET_DIR.
EOF
}

heading() {
    printf '\n==== %s ====\n' "$*"
}

note() {
    printf 'install.sh: %s\n' "$*"
}

die() {
    printf 'install.sh: error: %s\n' "$*" >&2
    exit 1
}

# Runs a command as root: directly when root, else through sudo.
as_root() {
    if [[ "${EUID}" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root for: $* (run as root, or install sudo)"
    fi
}

is_installed() {
    local status
    status="$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)"
    [[ "$status" == "install ok installed" ]]
}

# Installs the given Debian packages that are not installed yet.
install_packages() {
    local missing=() pkg
    if command -v dpkg-query >/dev/null 2>&1; then
        for pkg in "$@"; do
            is_installed "$pkg" || missing+=("$pkg")
        done
    else
        missing=("$@")
    fi
    if [[ ${#missing[@]} -eq 0 ]]; then
        note "Debian packages already installed: $*"
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        die "apt-get not found. Install these packages (or your system's equivalents) and run again: ${missing[*]}"
    fi
    heading "apt-get install ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

rust_help() {
    cat >&2 <<EOF
install.sh: klubkasse needs Rust ${MIN_RUST} or newer (cargo and rustc). $1
Get or update it with rustup:

    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh
    rustup update stable

then open a new shell (or run: . "\$HOME/.cargo/env") and run this script again.
EOF
    exit 1
}

# Prints "MAJOR MINOR" from a version line such as "rustc 1.95.0 (...)".
version_of() {
    local line="$1"
    if [[ "$line" =~ ([0-9]+)\.([0-9]+)\.[0-9]+ ]]; then
        printf '%s %s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
    else
        printf '0 0\n'
    fi
}

check_rust() {
    # rustup installs to ~/.cargo/bin, which a fresh shell or sudo may not have on PATH.
    if ! command -v cargo >/dev/null 2>&1 && [[ -x "${HOME}/.cargo/bin/cargo" ]]; then
        export PATH="${HOME}/.cargo/bin:${PATH}"
    fi
    command -v cargo >/dev/null 2>&1 || rust_help "cargo was not found."
    command -v rustc >/dev/null 2>&1 || rust_help "rustc was not found."

    local min_major min_minor tool line major minor
    read -r min_major min_minor <<<"${MIN_RUST/./ }"
    for tool in cargo rustc; do
        line="$("$tool" --version 2>/dev/null || true)"
        read -r major minor <<<"$(version_of "$line")"
        if ((major < min_major || (major == min_major && minor < min_minor))); then
            rust_help "Found: ${line:-$tool (no version)}."
        fi
        note "found ${line}"
    done
}

# rustfmt and clippy ship as rustup components; add them when missing.
check_rust_components() {
    if cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1; then
        return 0
    fi
    if command -v rustup >/dev/null 2>&1; then
        heading "rustup component add rustfmt clippy"
        rustup component add rustfmt clippy
    else
        die "cargo fmt or cargo clippy is missing and rustup was not found; install rustfmt and clippy for your toolchain"
    fi
}

LOCKED=()
if [[ -f Cargo.lock ]]; then
    LOCKED=(--locked)
fi

TARGET_DIR="${CARGO_TARGET_DIR:-${ROOT}/target}"
BINARY="${TARGET_DIR}/release/klubkasse"

# Builds the counter, and with --ledger the ledger: each package builds only
# what its role needs (the counter no web server, the ledger no card stack).
build_release() {
    local packages=(-p klubkasse)
    if ((${1:-0})); then
        packages+=(-p klubkasse-ledger)
    fi
    heading "cargo build --release ${LOCKED[*]} ${packages[*]}"
    cargo build --release "${LOCKED[@]}" "${packages[@]}"
    [[ -x "$BINARY" ]] || die "build finished but ${BINARY} is missing"
}

# Installs only the kiosk binary. The klubkasse-vcard test binary (a virtual
# card for the vpcd reader) is deliberately never installed.
install_system() {
    heading "install to ${PREFIX}"
    as_root install -D -m 0755 "$BINARY" "${PREFIX}/bin/klubkasse"
    note "installed ${PREFIX}/bin/klubkasse"
    local dir file
    for dir in assets keymaps; do
        if [[ ! -d "$dir" ]]; then
            note "no ${dir}/ folder in this checkout; skipped"
            continue
        fi
        while IFS= read -r -d '' file; do
            as_root install -D -m 0644 "$file" "${PREFIX}/share/klubkasse/${file}"
        done < <(find "$dir" -type f -print0)
        note "installed ${dir}/ to ${PREFIX}/share/klubkasse/${dir}/"
    done
}

# ---- Exit hooks: each test service adds its own stop function. ----
EXIT_HOOKS=()
run_exit_hooks() {
    local hook
    for hook in "${EXIT_HOOKS[@]}"; do
        "$hook" || true
    done
}
add_exit_hook() {
    EXIT_HOOKS+=("$1")
    trap run_exit_hooks EXIT
}

# ---- PostgreSQL for the ledger's tests: a throwaway cluster in a temp dir,
# run as the postgres user on a loopback port, as ARCHITECTURE.md shows. ----
readonly PG_TEST_PORT=55432
PG_TEST_DIR=""
PG_BIN=""

as_postgres() {
    # From /: the checkout may be in a folder the postgres user cannot enter.
    (cd / && as_root su postgres -s /bin/sh -c "$1")
}

pg_test_start() {
    PG_BIN="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -1)"
    [[ -n "$PG_BIN" && -x "${PG_BIN}/initdb" ]] || die "PostgreSQL's initdb not found under /usr/lib/postgresql/*/bin (Debian package postgresql)"
    PG_TEST_DIR="$(mktemp -d /tmp/klubkasse-pg.XXXXXX)"
    as_root chown postgres "$PG_TEST_DIR"
    add_exit_hook pg_test_stop
    heading "PostgreSQL for the tests on 127.0.0.1:${PG_TEST_PORT}"
    as_postgres "${PG_BIN}/initdb -D ${PG_TEST_DIR}/data -U postgres --auth=trust -E UTF8" >/dev/null
    as_postgres "${PG_BIN}/pg_ctl -D ${PG_TEST_DIR}/data -l ${PG_TEST_DIR}/log -o '-p ${PG_TEST_PORT} -k ${PG_TEST_DIR} -c listen_addresses=127.0.0.1 -c max_connections=300' -w start" \
        || { cat "${PG_TEST_DIR}/log" >&2 || true; die "PostgreSQL did not start (is port ${PG_TEST_PORT} taken?)"; }
    export KLUBKASSE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:${PG_TEST_PORT}/postgres"
    note "KLUBKASSE_TEST_DATABASE_URL=${KLUBKASSE_TEST_DATABASE_URL}"
}

# A venv of its own, made once and kept: the tests find the provider
# through KLUBKASSE_OIDC_PROVIDER.
oidc_provider_install() {
    local venv="${XDG_CACHE_HOME:-${HOME}/.cache}/klubkasse/oidc-venv"
    if [[ ! -x "${venv}/bin/oidc-provider-mock" || ! -x "${venv}/bin/aiosmtpd" \
        || ! -x "${venv}/bin/localstripe" ]]; then
        heading "pip install ${OIDC_PROVIDER_PACKAGE} ${SMTP_SERVER_PACKAGE} ${STRIPE_SERVER_PACKAGE} (into ${venv})"
        python3 -m venv "$venv" || die "python3 -m venv failed (Debian package python3-venv)"
        "${venv}/bin/pip" install --quiet "$OIDC_PROVIDER_PACKAGE" "$SMTP_SERVER_PACKAGE" \
            "$STRIPE_SERVER_PACKAGE" \
            || die "could not install ${OIDC_PROVIDER_PACKAGE} ${SMTP_SERVER_PACKAGE} ${STRIPE_SERVER_PACKAGE} from PyPI"
    fi
    export KLUBKASSE_OIDC_PROVIDER="${venv}/bin/oidc-provider-mock"
    note "KLUBKASSE_OIDC_PROVIDER=${KLUBKASSE_OIDC_PROVIDER}"
}

pg_test_stop() {
    [[ -n "$PG_TEST_DIR" ]] || return 0
    if [[ -f "${PG_TEST_DIR}/data/postmaster.pid" ]]; then
        as_postgres "${PG_BIN}/pg_ctl -D ${PG_TEST_DIR}/data -m fast -w stop" >/dev/null || true
    fi
    as_root rm -rf "$PG_TEST_DIR"
    PG_TEST_DIR=""
}

# ---- The ledger as a system service (--system --ledger). ----
LEDGER_BINARY="${TARGET_DIR}/release/klubkasse-ledger"
readonly LEDGER_UNIT=/etc/systemd/system/klubkasse-ledger.service

install_ledger() {
    heading "install klubkasse-ledger to ${PREFIX}"
    [[ -x "$LEDGER_BINARY" ]] || die "build finished but ${LEDGER_BINARY} is missing"
    as_root install -D -m 0755 "$LEDGER_BINARY" "${PREFIX}/bin/klubkasse-ledger"
    note "installed ${PREFIX}/bin/klubkasse-ledger"
    local unit
    unit="$(mktemp)"
    sed "s|/usr/local/bin/klubkasse-ledger|${PREFIX}/bin/klubkasse-ledger|g" assets/klubkasse-ledger.service >"$unit"
    as_root install -D -m 0644 "$unit" "$LEDGER_UNIT"
    rm -f "$unit"
    if [[ ! -f /etc/klubkasse/ledger.env ]]; then
        as_root install -d -m 0750 /etc/klubkasse
        printf '%s\n' '# klubkasse-ledger settings (read by the systemd unit)' \
            'DATABASE_URL=postgres://klubkasse@localhost/klubkasse' \
            'LEDGER_LISTEN=127.0.0.1:8080' \
            'LEDGER_ARGS=' \
            '# The parents'"'"' portal (HTTPS only): add to LEDGER_ARGS' \
            '#   --portal-url https://kasse.example.dk --oidc-issuer https://broker.example.dk --oidc-client-id klubkasse' \
            '# and the client secret here:' \
            '#OIDC_CLIENT_SECRET=' | as_root install -m 0640 /dev/stdin /etc/klubkasse/ledger.env
        note "wrote /etc/klubkasse/ledger.env: set DATABASE_URL there"
    fi
    if command -v systemctl >/dev/null 2>&1; then
        # Quiet where systemd is installed but not running (containers).
        as_root systemctl daemon-reload 2>/dev/null || true
    fi
    note "installed ${LEDGER_UNIT} (not enabled, not started). Next:"
    note "  klubkasse-ledger migrate --database-url URL; then: systemctl enable --now klubkasse-ledger"
}

# pcscd for the PC/SC tests. Only one pcscd can run on a machine (fixed
# socket), and it reads its driver config (vpcd) only when it starts.
readonly VIRTUAL_READER="Virtual PCD 00 00"
PCSCD_OURS=0     # 1 when this script started pcscd, so it stops it again
PCSCD_PID=""     # the pcscd this script started
PCSCD_LOG=""
PCSCD_KEEP_LOG=0 # 1 to keep the log (the tests failed)
PCSCD_SYSTEMD=0  # 1 when systemd's pcscd.socket was stopped for the tests

lists_virtual_reader() {
    timeout 3 pcsc_scan -r 2>/dev/null | grep -qF "$VIRTUAL_READER"
}

start_test_pcscd() {
    heading "pcscd with the vpcd virtual reader"
    export KLUBKASSE_PCSCD=1
    if pgrep -x pcscd >/dev/null; then
        note "pcscd already runs (pid $(pgrep -x pcscd | tr '\n' ' ')); using it and leaving it running"
        lists_virtual_reader && return 0
        die "the running pcscd does not list \"${VIRTUAL_READER}\": it was probably started before vsmartcard-vpcd was installed. Restart pcscd and run again."
    fi
    # On a systemd machine pcscd.socket holds pcscd's socket and would start
    # a pcscd of its own; stop it for the tests, start it again after.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet pcscd.socket 2>/dev/null; then
        note "stopping systemd's pcscd.socket for the tests (started again at the end)"
        as_root systemctl stop pcscd.socket pcscd.service
        PCSCD_SYSTEMD=1
    fi
    PCSCD_LOG="$(mktemp -t klubkasse-pcscd.XXXXXX)"
    # Not through as_root: a function in the background is a subshell, and
    # $! must be pcscd itself (or sudo, which passes signals on).
    local sudo=()
    ((EUID == 0)) || sudo=(sudo)
    "${sudo[@]}" pcscd --foreground >"$PCSCD_LOG" 2>&1 &
    PCSCD_PID=$!
    PCSCD_OURS=1
    note "started pcscd (pid ${PCSCD_PID}, log ${PCSCD_LOG})"
    local deadline=$((SECONDS + 10))
    until lists_virtual_reader; do
        if ((SECONDS >= deadline)) || ! kill -0 "$PCSCD_PID" 2>/dev/null; then
            printf '%s\n' "---- ${PCSCD_LOG}" >&2
            cat "$PCSCD_LOG" >&2 || true
            die "pcscd did not list \"${VIRTUAL_READER}\" within 10 s (is vsmartcard-vpcd installed?)"
        fi
        sleep 0.2
    done
    note "pcscd lists \"${VIRTUAL_READER}\""
}

# At exit: stops the pcscd this script started, and any pcscd the tests
# started in its place (they restart it). A pcscd that ran before the
# script is left alone.
stop_test_pcscd() {
    if ((PCSCD_OURS)); then
        if [[ -n "$PCSCD_PID" ]] && kill -0 "$PCSCD_PID" 2>/dev/null; then
            as_root kill "$PCSCD_PID" 2>/dev/null || true
            wait "$PCSCD_PID" 2>/dev/null || true
        fi
        if pgrep -x pcscd >/dev/null; then
            as_root pkill -x pcscd || true
        fi
        local deadline=$((SECONDS + 10))
        while pgrep -x pcscd >/dev/null && ((SECONDS < deadline)); do
            sleep 0.1
        done
        if pgrep -x pcscd >/dev/null; then
            note "warning: pcscd did not stop: $(pgrep -x pcscd | tr '\n' ' ')"
        else
            note "stopped pcscd"
        fi
        PCSCD_OURS=0
        if ((PCSCD_KEEP_LOG)); then
            note "pcscd's log is kept in ${PCSCD_LOG}"
        else
            rm -f "$PCSCD_LOG"
        fi
    fi
    if ((PCSCD_SYSTEMD)); then
        as_root systemctl start pcscd.socket || note "warning: could not start pcscd.socket again"
        PCSCD_SYSTEMD=0
    fi
}

run_tests() {
    if [[ -z "${TERM:-}" || "${TERM}" == "dumb" ]]; then
        export TERM=xterm-256color
    fi
    local failed=()
    heading "cargo fmt --check"
    cargo fmt --check || failed+=("cargo fmt --check")
    heading "cargo clippy --all-targets ${LOCKED[*]} -- -D warnings"
    cargo clippy --all-targets "${LOCKED[@]}" -- -D warnings || failed+=("cargo clippy")
    # Tests run the workspace's binaries (the kiosk, the ledger, the virtual
    # card); cargo builds only a test's own package's binaries for it.
    heading "cargo build --workspace --bins ${LOCKED[*]}"
    cargo build --workspace --bins "${LOCKED[@]}" || failed+=("cargo build")
    add_exit_hook stop_test_pcscd
    start_test_pcscd
    heading "cargo test ${LOCKED[*]}"
    cargo test "${LOCKED[@]}" || {
        failed+=("cargo test")
        PCSCD_KEEP_LOG=1
    }
    stop_test_pcscd

    heading "summary"
    if [[ ${#failed[@]} -gt 0 ]]; then
        printf 'FAILED: %s\n' "${failed[@]}"
        return 1
    fi
    printf 'all checks passed: fmt, clippy, test\n'
}

run_benchmarks() {
    add_exit_hook stop_test_pcscd
    start_test_pcscd
    export KLUBKASSE_BENCH_DATABASE_URL="${KLUBKASSE_TEST_DATABASE_URL}"
    heading "cargo build --release --workspace --bins ${LOCKED[*]}"
    cargo build --release --workspace --bins "${LOCKED[@]}" || die "the release build failed"
    local bench
    for bench in domain store tap_latency ledger office; do
        heading "cargo bench --bench ${bench}"
        cargo bench "${LOCKED[@]}" --bench "$bench" || die "benchmark ${bench} failed"
    done
    stop_test_pcscd
}

start_demo() {
    if [[ ! -t 0 ]]; then
        die "the demo is a full-screen kiosk and needs a terminal (stdin is not one). Start it from a terminal: ${BINARY} demo"
    fi
    heading "klubkasse demo"
    exec "$BINARY" demo
}

main() {
    if [[ $# -eq 0 ]]; then
        usage >&2
        exit 2
    fi
    local demo=0 test=0 bench=0 system=0 ledger=0 arg
    for arg in "$@"; do
        case "$arg" in
            --demo) demo=1 ;;
            --test) test=1 ;;
            --bench) bench=1 ;;
            --system) system=1 ;;
            --ledger) ledger=1 ;;
            -h | --help)
                usage
                exit 0
                ;;
            *)
                printf 'install.sh: unknown argument: %s\n\n' "$arg" >&2
                usage >&2
                exit 2
                ;;
        esac
    done

    local packages=("${DEMO_PACKAGES[@]}")
    if ((test || bench)); then
        packages+=("${TEST_PACKAGES[@]}")
    fi
    install_packages "${packages[@]}"
    check_rust

    if ((ledger && !system)); then
        die "--ledger goes with --system"
    fi
    if ((test)); then
        check_rust_components
        pg_test_start
        oidc_provider_install
        run_tests
    fi
    if ((bench)); then
        [[ -n "$PG_TEST_DIR" ]] || pg_test_start
        run_benchmarks
    fi
    if ((demo || system)); then
        build_release "$ledger"
    fi
    if ((system)); then
        install_system
    fi
    if ((ledger)); then
        install_ledger
    fi
    if ((demo)); then
        start_demo
    fi
}

main "$@"
