# SPDX-License-Identifier: Apache-2.0
# The shell cases' side of checks.py, sourced: `fail MESSAGE` records a missed expectation
# and the case goes on, `ok MESSAGE` reports one met, and `result` (the case's last
# command) prints the verdict with the count and returns the exit status.
failures=0

fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

ok() {
    echo "ok   $*"
}

result() {
    if [ "$failures" -eq 0 ]; then
        echo "RESULT: PASS"
        return 0
    fi
    echo "RESULT: FAIL, $failures failure(s)"
    return 1
}
