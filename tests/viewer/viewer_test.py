# SPDX-License-Identifier: Apache-2.0
"""A real browser viewer shows a converted slide: the converted files go to a fresh Orthanc
by STOW-RS; dicom-microscopy-viewer (the engine of Slim, pinned with its dependencies in
package-lock.json) reads them back over DICOMweb in Debian's headless Chromium; the
screenshot is compared with OpenSlide's thumbnail of the source slide (compare.py).

The page is served by Orthanc itself (ServeFolders plugin), so it shares DICOMweb's origin
and needs no CORS. The npm packages come from the fixture viewer.npm (site_folder.py).

usage: viewer_test.py SLIDE2DCM SLIDE CONVERTED_DIR WORKDIR"""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration", "lib"))
from pacs import Orthanc  # noqa: E402
from site_folder import make_site  # noqa: E402

import pydicom  # noqa: E402

PAGE_FILES = ["index.html", "viewer.js", "shoot.mjs"]


def main(slide2dcm, slide, converted, work):
    shutil.rmtree(work, ignore_errors=True)
    site = f"{work}/site"
    make_site(site, PAGE_FILES)
    level0 = pydicom.dcmread(f"{converted}/level-0.dcm", stop_before_pixels=True)
    with Orthanc(work, serve_folders={"/viewer": site}) as orthanc:
        subprocess.run([slide2dcm, "send", converted, "--stow",
                        f"{orthanc.url}/dicom-web/studies", "-q"], check=True)
        page = (f"{orthanc.url}/viewer/index.html?dicomweb={orthanc.url}/dicom-web"
                f"&study={level0.StudyInstanceUID}&series={level0.SeriesInstanceUID}")
        shot = f"{work}/viewer.png"
        subprocess.run(["node", f"{site}/shoot.mjs", page, shot], check=True)
    subprocess.run([sys.executable, f"{HERE}/compare.py", shot, slide], check=True)
    shutil.rmtree(site)


if __name__ == "__main__":
    main(*sys.argv[1:])
