#!/usr/bin/env bash
# kiosk-screenshots.sh: the README's pictures of the counter, taken from a
# real terminal: xterm with DejaVu Sans Mono (both Debian packages) under
# Xvfb, the idle, sale and result screens of `klubkasse demo`, once with
# each theme. The xterm keeps its own default colours (black on white, a
# light terminal): what the pictures show is the kiosk's own painting.
#
#   tools/kiosk-screenshots.sh [OUT_DIR]     default: assets/screenshots
#
# Needs: xvfb xterm fonts-dejavu-core xdotool imagemagick (installed with
# apt-get when run as root and they are missing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/assets/screenshots}"
PACKAGES=(xvfb xterm fonts-dejavu-core xdotool imagemagick)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
        apt-get install -y --no-install-recommends "${missing[@]}"
    else
        echo "kiosk-screenshots.sh: install first: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi

cd "$ROOT"
cargo build --release -p klubkasse --bin klubkasse
KIOSK="${CARGO_TARGET_DIR:-$ROOT/target}/release/klubkasse"
mkdir -p "$OUT"
WORK="$(mktemp -d)"
XVFB_PID=""
cleanup() {
    [[ -n "$XVFB_PID" ]] && kill "$XVFB_PID" 2>/dev/null || true
    # A kiosk whose terminal went away writes its backup as it quits.
    sleep 1
    rm -rf "$WORK" 2>/dev/null || true
}
trap cleanup EXIT

# A display of our own: the first free number from 91.
DISPLAY_NUMBER=91
while [[ -e "/tmp/.X11-unix/X$DISPLAY_NUMBER" || -e "/tmp/.X$DISPLAY_NUMBER-lock" ]]; do
    DISPLAY_NUMBER=$((DISPLAY_NUMBER + 1))
done
export DISPLAY=":$DISPLAY_NUMBER"
Xvfb "$DISPLAY" -screen 0 1600x1000x24 -nolisten tcp &
XVFB_PID=$!
for _ in $(seq 50); do
    xdpyinfo >/dev/null 2>&1 && break
    sleep 0.1
done

# Waits until the screen has stopped changing (the kiosk has drawn it).
settle() {
    local window=$1 before="" now
    for _ in $(seq 40); do
        sleep 0.25
        now="$(import -window "$window" -depth 8 rgb:- 2>/dev/null | md5sum)"
        [[ "$now" == "$before" ]] && return
        before="$now"
    done
}

shot() {
    local window=$1 name=$2
    settle "$window"
    import -window "$window" "$OUT/$name.png"
    echo "kiosk-screenshots.sh: $OUT/$name.png"
}

for theme in dark light; do
    data="$WORK/$theme"
    xterm -fa "DejaVu Sans Mono" -fs 11 -geometry 100x30 -title "klubkasse-$theme" \
        -e "$KIOSK" demo --data-dir "$data" --theme "$theme" &
    xterm_pid=$!
    window="$(xdotool search --sync --name "klubkasse-$theme" | head -1)"
    xdotool windowfocus --sync "$window"
    shot "$window" "kiosk-idle-$theme"
    # Noah (F6): two toasts, a saftevand, a piece of fruit.
    xdotool key --delay 80 F6
    sleep 0.5
    xdotool key --delay 80 1 1 4 2
    shot "$window" "kiosk-sale-$theme"
    xdotool key Return
    shot "$window" "kiosk-paid-$theme"
    # The demo's store is thrown away: no need to quit it politely.
    kill "$xterm_pid"
    wait "$xterm_pid" 2>/dev/null || true
done
