# SPDX-License-Identifier: Apache-2.0
"""For the cases that change a slide's macro directory and look at the overview written."""
import io
import shutil
from pathlib import Path

import numpy as np
import pydicom
from pydicom.encaps import generate_pixel_data_frame
from PIL import Image

import tiffdirs


def macro_case(argv):
    """(converter, source path, emptied work directory, source bytes, its directories,
    the index of the macro's) from the command line SLIDE2DCM SOURCE WORKDIR."""
    binary, source, work = argv[1], argv[2], Path(argv[3])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    data = open(source, "rb").read()
    dirs = list(tiffdirs.directories(data))
    macro = next(i for i, d in enumerate(dirs) if "macro" in tiffdirs.text(d, tiffdirs.DESCRIPTION))
    return binary, source, work, data, dirs, macro


def overview_pixels(out):
    """The dataset of OUT/overview.dcm and its frame decoded as RGB (PIL reads the colour
    space from the JPEG's markers, which the converter's frames carry)."""
    ds = pydicom.dcmread(str(out / "overview.dcm"))
    frame = next(generate_pixel_data_frame(ds.PixelData, 1))
    return ds, np.asarray(Image.open(io.BytesIO(frame)).convert("RGB"))
