#!/usr/bin/env bash
# Screenshots of a study report for README.md: the top of the page (findings first) and the
# chart grid, both at 1400 px wide, with headless Chromium (Debian's `chromium`).
#
#   bash docs/screenshots.sh reports/<study> docs
#
# writes docs/report-top.png and docs/report-charts.png. The report test runs this script
# on a fixture report, so it keeps working.
set -euo pipefail
report=${1:?usage: docs/screenshots.sh REPORT_DIR OUT_DIR}
out=${2:?usage: docs/screenshots.sh REPORT_DIR OUT_DIR}
page=$(cd "$report" && pwd)/index.html
[ -f "$page" ] || { echo "no $page: render the report first (harness report results/<study>)" >&2; exit 2; }
chromium=${HARNESS_CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
[ -n "$chromium" ] || { echo "no Chromium: install Debian's chromium (bash .ci/install --tests does)" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
shot() { # URL FILE HEIGHT
  "$chromium" --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
    --disable-background-networking --disable-component-update --user-data-dir="$profile" \
    --force-device-scale-factor=1 --window-size="1400,$3" --screenshot="$2" "$1" >/dev/null 2>&1
}
shot "file://$page" "$out/report-top.png" 1000
# The chart grid: the page scrolled to #charts inside a frame (a headless screenshot of the
# page itself is always taken from its top).
frame=$profile/charts.html
printf '<!doctype html><html><body style="margin:0"><iframe src="file://%s#charts" style="width:1400px;height:1400px;border:0"></iframe></body></html>' "$page" > "$frame"
shot "file://$frame" "$out/report-charts.png" 1400
echo "$out/report-top.png $out/report-charts.png"
