# SPDX-License-Identifier: Apache-2.0
"""The browser tests' web folder: their page files beside the npm packages that the
fixture viewer.npm installed once (`npm ci` from package-lock.json, about 20 s and 190 MB)
for all of them.

    python3 site_folder.py install DIR     the fixture: npm ci into DIR
    make_site(site, page_files)     a test's folder; node_modules links to the install"""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Set by tests/CMakeLists.txt to the fixture's folder.
MODULES_ENV = "S2D_VIEWER_NPM"


def install(folder):
    """npm ci of the pinned packages into folder (emptied first)."""
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(f"{HERE}/{name}", folder)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts",
                    "--prefer-offline", "--loglevel=error"], cwd=folder, check=True)


def make_site(site, page_files):
    """Creates the folder site with page_files (names in this directory) and a node_modules
    link to the fixture's install; the link is all shutil.rmtree(site) removes of it."""
    if MODULES_ENV not in os.environ:
        sys.exit(f"{MODULES_ENV} is not set: run the test through CTest (fixture viewer.npm)")
    modules = os.path.join(os.environ[MODULES_ENV], "node_modules")
    if not os.path.isdir(modules):
        sys.exit(f"{modules} is missing: the fixture test viewer.npm installs it")
    os.makedirs(site, exist_ok=True)
    for name in page_files:
        shutil.copy(f"{HERE}/{name}", site)
    os.symlink(modules, os.path.join(site, "node_modules"))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "install":
        sys.exit(__doc__)
    install(sys.argv[2])
