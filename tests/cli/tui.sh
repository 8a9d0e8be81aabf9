#!/usr/bin/env bash
# The live terminal view of `tabledata follow` and `tabledata demo --live`,
# driven in a tmux pane (send-keys, capture-pane):
#   - the grid is redrawn in place: one header on the screen and none in the
#     scrollback, while the version and the source's row count in the footer
#     grow;
#   - changed cells are marked (reverse video) for a cycle;
#   - h / l (and the arrow keys) scroll the columns;
#   - q quits with exit status 0 and the terminal restored (alternate screen
#     left, stty shows icanon and echo again); so does SIGTERM; Ctrl-C ends
#     demo --live the same way.
# Skips (77) when tmux is not installed.
# usage: tui.sh <tabledata program>
set -uo pipefail
prog=$1
command -v tmux >/dev/null || { echo "SKIP: tmux is not installed (scripts/setup-deps.sh installs it)"; exit 77; }
work=$(mktemp -d)
sock="td-tui-$$"
t() { tmux -L "$sock" -f /dev/null "$@"; }
# Ends the tmux server of the previous case and waits until it is gone.
fresh() {
  t kill-server >/dev/null 2>&1
  local i
  for ((i = 0; i < 50; i++)); do t has-session >/dev/null 2>&1 || break; sleep 0.1; done
  sleep 0.2
}
cleanup() { t kill-server >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
ok() { echo "ok: $*"; }

# Starts `cmd` in a fresh 110x20 pane; afterwards the pane shell prints the
# exit status and the terminal modes, then waits.
start() {
  fresh
  rm -f "$work/pid"
  t new-session -d -x 110 -y 20 \
    "sh -c 'echo \$\$ > $work/pid; exec $1'; echo EXIT=\$?; stty -a | tr -s ' ;\\n' ' '; echo; echo END; sleep 600"
}
screen() { t capture-pane -p; }
screen_e() { t capture-pane -p -e; }
# Waits up to $2 seconds for the screen to match the regex $1.
wait_for() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    screen | grep -Eq "$1" && return 0
    sleep 0.1
  done
  return 1
}
footer_field() { # footer_field REGEX-WITH-ONE-NUMBER-GROUP
  screen | sed -nE "s/.*$1.*/\\1/p" | tail -1
}
# The pane after the program ended: exit status 0 and a sane terminal.
check_exit() {
  local what=$1
  if ! wait_for '^END$' 10; then bad "$what: the program did not exit"; screen | tail -5; return; fi
  local s; s=$(screen)
  [[ "$s" == *"EXIT=0"* ]] && ok "$what: exit status 0" || bad "$what: $(grep EXIT= <<<"$s")"
  if grep -Eq '(^| )icanon ' <<<"$s" && grep -Eq '(^| )echo ' <<<"$s"; then ok "$what: terminal restored (icanon echo)"
  else bad "$what: terminal modes not restored: $(grep -o -- '-\?icanon\|-\?echo ' <<<"$s" | tr '\n' ' ')"; fi
  grep -q 'version [0-9]* |' <<<"$s" && bad "$what: the grid is still on the screen (alternate screen not left)"
}

sql="SELECT Ticker, Exchange, count(*) AS n, last(Double) AS px, last(Datetime) AS ts FROM demo GROUP BY Ticker, Exchange"
start "$prog follow --period 200 --rate 40 \"$sql\""
header='^Ticker +\| Exchange +\| n +\| px +\| ts'
if wait_for 'version [1-9][0-9]* \|' 10; then ok "follow: the grid shows"; else bad "follow: no grid after 10 s"; screen; fi
v1=$(footer_field 'version ([0-9]+) \|'); s1=$(footer_field 'source ([0-9]+) rows')
# Marks: some capture shows reverse video (SGR 7) on a row of the grid.
marked=0
for i in $(seq 1 30); do
  screen_e | sed '1,2d;$d' | grep -q $'\e\\[[0-9;]*7m' && { marked=1; break; }
  sleep 0.1
done
((marked)) && ok "follow: changed cells in reverse video" || bad "follow: no cell marked in 3 s"
sleep 1.5
v2=$(footer_field 'version ([0-9]+) \|'); s2=$(footer_field 'source ([0-9]+) rows')
if [[ -n "$v1" && -n "$v2" && $v2 -gt $v1 && -n "$s1" && -n "$s2" && $s2 -gt $s1 ]]; then
  ok "follow: footer grows in place: version $v1 -> $v2, source rows $s1 -> $s2"
else bad "follow: footer did not grow: version '$v1' -> '$v2', source rows '$s1' -> '$s2'"; fi
n_headers=$(screen | grep -Ec "$header")
n_history=$(t capture-pane -p -S - -E - | grep -Ec "$header")
[[ $n_headers == 1 && $n_history == 1 ]] && ok "follow: one header (screen and scrollback)" ||
  bad "follow: $n_headers headers on the screen, $n_history with the scrollback (want 1, 1)"
rows=$(screen | grep -Ec '^(GOOG|MSFT|AAPL|AMZN|NVDA|TSLA|META|IBM|ORCL|INTC) +\| ')
((rows >= 3)) && ok "follow: $rows group rows" || bad "follow: $rows group rows (want >= 3)"
t send-keys l; sleep 0.5
screen | grep -Eq '^Exchange +\| n +\|' && ok "follow: l scrolls one column right" || { bad "follow: l did not scroll"; screen | head -3; }
t send-keys Right; sleep 0.5
screen | grep -Eq '^n +\| px +\|' && ok "follow: -> scrolls right" || { bad "follow: -> did not scroll"; screen | head -3; }
t send-keys h Left; sleep 0.5
screen | grep -Eq "$header" && ok "follow: h and <- scroll back" || { bad "follow: h / <- did not scroll back"; screen | head -3; }
t send-keys q
check_exit "follow, q"

# A narrow terminal: cells are cut to fit, the row ends within the width.
fresh
t new-session -d -x 40 -y 12 "exec $prog follow --period 200 \"SELECT * FROM demo\""
if wait_for 'version [0-9]+' 10; then
  long=$(screen | awk 'length($0) > 40' | wc -l)
  [[ $long == 0 ]] && ok "follow: fits a 40-column terminal" || bad "follow: $long lines wider than 40 columns"
else bad "follow SELECT *: no grid"; fi

# SIGTERM restores the terminal too.
start "$prog follow --period 200 \"$sql\""
wait_for 'version [0-9]+ \|' 10 || bad "follow (SIGTERM): no grid"
kill -TERM "$(cat "$work/pid")"
check_exit "follow, SIGTERM"

# demo --live: newest ticks first, values that change, Ctrl-C quits.
start "$prog demo --live --period 200 --rate 40"
if wait_for 'version [1-9][0-9]* \|' 10; then ok "demo --live: the grid shows"; else bad "demo --live: no grid"; screen; fi
sleep 1
s=$(screen)
[[ $(grep -Ec '^Ticker +\| Exchange +\| Boolean' <<<"$s") == 1 ]] && ok "demo --live: one header" || bad "demo --live: header count"
prices=$(grep -E '^[A-Z]+ +\|' <<<"$s" | awk -F'|' '{print $11}' | sort -u | wc -l)
((prices >= 5)) && ok "demo --live: $prices distinct prices on screen" || bad "demo --live: only $prices distinct prices"
t send-keys C-c
check_exit "demo --live, Ctrl-C"
grep -q '^stopped: [0-9]* rows' <<<"$(screen)" && ok "demo --live: summary after the grid" || bad "demo --live: no summary"

[ $fail -eq 0 ] && echo "tui: passed"
exit $fail
