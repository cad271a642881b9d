# SPDX-License-Identifier: Apache-2.0
"""A command run on a pseudo-terminal, and what a user reads on it afterwards.

run_on_pty() gives the command a terminal of known size as standard error (and standard
output) and collects every byte it writes, with the time each chunk arrived. screen() plays
those bytes on a small emulator of the sequences slide2dcm uses (CR, LF, cursor up ESC[nA,
erase ESC[J and ESC[K), keeping the lines that scrolled away: the text a user sees after the
run. Any other escape sequence is an error, so a stray control sequence fails the test."""
import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time

ESCAPE = re.compile(rb"\x1b\[(\d*)([A-Za-z])")


def run_on_pty(argv, cols=120, rows=40, timeout=600, env=None):
    """(exit status, [(seconds since start, bytes)...]) of argv run with a terminal as
    stdout and stderr."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    start = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                         env=dict(os.environ, **(env or {})))
    os.close(slave)
    chunks = []
    while time.monotonic() - start < timeout:
        ready, _, _ = select.select([master], [], [], 1.0)
        if not ready:
            if p.poll() is not None:
                break
            continue
        try:
            data = os.read(master, 65536)
        except OSError:   # EIO: every writer closed the terminal
            break
        if not data:
            break
        chunks.append((time.monotonic() - start, data))
    p.wait(timeout=max(1, timeout - (time.monotonic() - start)))
    os.close(master)
    return p.returncode, chunks


def raw(chunks):
    return b"".join(data for _, data in chunks)


def screen(data, cols=120):
    """The lines a user reads after data was written to a terminal cols wide, a line the
    terminal wrapped given whole."""
    lines, row, col = [""], 0, 0
    wrapped = set()   # rows that continue the row above
    i = 0
    while i < len(data):
        m = ESCAPE.match(data, i)
        if m:
            n = int(m.group(1) or 1)
            op = m.group(2)
            if op == b"A":
                row = max(0, row - n)
            elif op == b"J":
                lines[row] = lines[row][:col]
                del lines[row + 1:]
                wrapped = {r for r in wrapped if r <= row}
            elif op == b"K":
                lines[row] = lines[row][:col]
            else:
                raise ValueError("unexpected escape sequence %r" % m.group(0))
            i = m.end()
            continue
        c = data[i:i + 1]
        i += 1
        if c == b"\r":
            col = 0
        elif c == b"\n":
            row += 1
            if row == len(lines):
                lines.append("")
        elif c == b"\x1b" or (c < b" " and c != b"\t"):
            raise ValueError("unexpected control byte %r at %d" % (c, i - 1))
        else:
            # One byte, one column: the tests' names are ASCII.
            if col >= cols:
                row, col = row + 1, 0
                if row == len(lines):
                    lines.append("")
                wrapped.add(row)
            line = lines[row].ljust(col)
            text = c.decode("latin-1")
            lines[row] = line[:col] + text + line[col + 1:]
            col += 1
    logical = []
    for n, line in enumerate(lines):
        if n in wrapped and logical:
            logical[-1] += line
        else:
            logical.append(line)
    while logical and not logical[-1]:
        logical.pop()
    return logical
