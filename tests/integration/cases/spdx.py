#!/usr/bin/python3
"""Every source file of the tree carries its licence, `SPDX-License-Identifier: Apache-2.0`,
in its first lines (after a #! line), and the tree has LICENSE. Source files: C and C++,
Python, shell, CMake, the Snakefile, JavaScript and HTML of the viewer tests, the man page,
the packaging's rules and templates. Data (fuzz corpora, golden sums, JSON) has none.

usage: spdx.py SOURCE_DIR
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402

TAG = "SPDX-License-Identifier: Apache-2.0"
SOURCE_EXT = {".c", ".h", ".cpp", ".py", ".sh", ".cmake", ".js", ".mjs", ".html", ".toml", ".in",
              ".supp"}
SOURCE_NAMES = {"CMakeLists.txt", "Snakefile", "rules", "run"}
SKIP_DIRS = {".git", "node_modules", "corpus", "__pycache__", ".snakemake"}

root = sys.argv[1]
checks = Checks(show="failures")
seen = 0
for d, dirs, files in os.walk(root):
    rel_dir = os.path.relpath(d, root)
    dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS and not x.startswith("build")
                     and not x.endswith(".egg-info") and not (rel_dir == "." and x == "obj"))
    for name in sorted(files):
        if os.path.splitext(name)[1] not in SOURCE_EXT and name not in SOURCE_NAMES:
            continue
        path = os.path.join(d, name)
        with open(path, encoding="utf-8", errors="replace") as f:
            head = "".join(f.readline() for _ in range(3))
        seen += 1
        checks.expect(TAG in head, "%s: no SPDX line in its first lines" % os.path.relpath(path, root))
checks.expect(seen > 200, "source files found: %d" % seen)
checks.expect(os.path.isfile(os.path.join(root, "LICENSE")) and
              "Apache License" in open(os.path.join(root, "LICENSE")).read(), "LICENSE is Apache-2.0")
print("%d source files checked" % seen)
sys.exit(checks.result())
