#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cli.sh SLIDE2DCM SOURCE_DIR BUILD_DIR SLIDE WORKDIR
# What a user meets before converting anything: a bare or mistaken command line gets one
# line, `help` and --help the texts, --version (of every command) the libraries, the man
# page renders without a warning, bash completes the options from --help, --json-report -
# writes JSON to standard output, and `cmake --install` puts the program, the man page and
# the completion under a prefix.
set -uo pipefail
bin=$1 src=$2 build=$3 slide=$4 work=$5
rm -rf "$work"
mkdir -p "$work"
. "$(dirname "$0")/../lib/checks.sh"

# one_line NAME WANT_EXIT REGEX -- ARGS: exit status and a single stderr line matching REGEX.
one_line() {
    local name=$1 want=$2 regex=$3
    shift 4
    "$bin" "$@" >"$work/$name.out" 2>"$work/$name.err"
    local rc=$? lines
    lines=$(grep -c . "$work/$name.err")
    if [ "$rc" -ne "$want" ] || [ "$lines" -ne 1 ] || ! grep -Eq -- "$regex" "$work/$name.err" ||
        [ -s "$work/$name.out" ]; then
        fail "$name: exit $rc (want $want), $lines stderr lines: $(head -c 300 "$work/$name.err")"
    else
        ok "$name: $(cat "$work/$name.err")"
    fi
}
one_line bare 2 "^usage: slide2dcm convert\|batch\|send\|help" --
one_line unknown 2 "unknown command frobnicate" -- frobnicate
one_line help-unknown 2 "unknown command frobnicate" -- help frobnicate

# help, help COMMAND and COMMAND --help.
if "$bin" help >"$work/help.out" && grep -q "^  convert " "$work/help.out" &&
    grep -q "^  send " "$work/help.out" && cmp -s "$work/help.out" <("$bin" --help); then
    ok "help lists the commands, as --help does"
else
    fail "help: $(head -c 300 "$work/help.out")"
fi
for command in convert batch send; do
    if "$bin" help "$command" >"$work/help-$command.out" &&
        cmp -s "$work/help-$command.out" <("$bin" "$command" --help) &&
        grep -q -- "--version" "$work/help-$command.out"; then
        ok "help $command is $command --help and lists --version"
    else
        fail "help $command differs from $command --help or lacks --version"
    fi
    "$bin" "$command" --version >"$work/version-$command.out" 2>&1
    if grep -Eq "^slide2dcm [0-9]+\.[0-9]+" "$work/version-$command.out" &&
        grep -q "libtiff [0-9]" "$work/version-$command.out" &&
        grep -q "OpenJPEG [0-9]" "$work/version-$command.out" &&
        grep -q "libopenslide.so" "$work/version-$command.out"; then
        ok "$command --version: $(tr '\n' ' ' <"$work/version-$command.out" | head -c 200)"
    else
        fail "$command --version: $(cat "$work/version-$command.out")"
    fi
done
convert_help=$("$bin" convert --help)
if grep -q -- "--eot-threshold" <<<"$convert_help"; then
    fail "convert --help shows the test hook --eot-threshold"
else
    ok "the test hook --eot-threshold is not in convert --help"
fi
if grep -q "^Exit status: 0" <<<"$convert_help"; then
    ok "convert --help gives the exit statuses"
else
    fail "convert --help lacks the exit statuses"
fi

# The man page renders without a warning.
if groff -man -ww -z "$build/slide2dcm.1" 2>"$work/groff.err" && [ ! -s "$work/groff.err" ]; then
    ok "the man page renders without warnings"
else
    fail "groff: $(head -c 300 "$work/groff.err")"
fi

# Completion of options, from the command's --help.
completed=$(bash -c '. "$1"; COMP_WORDS=("$2" convert --tile-s); COMP_CWORD=2; _slide2dcm
                     echo "${COMPREPLY[*]}"' _ "$src/dist/slide2dcm.bash-completion" "$bin")
if [ "$completed" = "--tile-size" ]; then
    ok "bash completes convert --tile-s to --tile-size"
else
    fail "bash completion of convert --tile-s gave '$completed'"
fi

# --json-report - : the report on standard output, as JSON, naming the files; -o's missing
# parents are made, as "created if missing" promises.
"$bin" convert "$slide" -o "$work/new/deeper/converted" --json-report - -q \
    >"$work/report.json" 2>"$work/report.err"
rc=$?
if [ "$rc" -eq 0 ] && [ ! -e "$work/-" ] && [ ! -e ./- ] &&
    [ -s "$work/new/deeper/converted/level-0.dcm" ] &&
    /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["ok"] and r["files"]' \
        "$work/report.json"; then
    ok "--json-report - wrote the JSON report to standard output; -o's parents were made"
else
    fail "--json-report -: exit $rc: $(head -c 300 "$work/report.err")"
fi

# cmake --install: the program, the man page and the completion under a prefix.
prefix="$work/prefix"
if cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 &&
    [ -x "$prefix/bin/slide2dcm" ] && [ -s "$prefix/share/man/man1/slide2dcm.1" ] &&
    [ -s "$prefix/share/bash-completion/completions/slide2dcm" ] &&
    "$prefix/bin/slide2dcm" --version >/dev/null &&
    ! grep -q "@PROJECT_VERSION@" "$prefix/share/man/man1/slide2dcm.1"; then
    ok "cmake --install: bin/slide2dcm, man1/slide2dcm.1, bash completion"
else
    fail "cmake --install: $(tail -c 300 "$work/install.log")"
fi
result
