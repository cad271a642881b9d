# SPDX-License-Identifier: Apache-2.0
"""slide2dcm from Python: converts a whole-slide image or a medical TIFF into DICOM files
through the installed C library, libslide2dcm.so.0 (ctypes).

    import slide2dcm
    report = slide2dcm.convert("slide.svs", "out", quality=80, patient_id="P1",
                               progress=lambda p: print(p.frames_done, p.frames_total))

The keyword options are the fields of the C library's s2d_convert_options (see
slide2dcm/slide2dcm.h): reencode, tile_size, quality, threads, mpp, metadata_json,
patient_name ..., deidentify=True, label_text="...", windows=[(40, 400)],
pixel_spacing=(0.5, 0.5) ... A failure raises a
subclass of slide2dcm.Error carrying the library's one-line reason.

The library is found through SLIDE2DCM_LIBRARY (a path), else as libslide2dcm.so.0 on the
system's library path.
"""
import ctypes
import json
import os
import threading

__all__ = ["convert", "send", "version", "Progress", "Error", "InputError", "UsageError",
           "IOFailure", "Cancelled", "NotStored", "InternalError"]


class Error(Exception):
    """A conversion failed; str(error) is the library's one-line reason and error.code its
    s2d_error_code (slide2dcm/error.h)."""
    code = None


class InputError(Error):
    """The file or a metadata file is bad or unsupported (the command line's exit 1)."""


class UsageError(Error):
    """Options that cannot work together, or an output folder in use (exit 2)."""


class IOFailure(Error):
    """Reading or writing failed: a full disk, permissions, out of memory (exit 3)."""


class Cancelled(Error):
    """The conversion was cancelled (the cancel event was set)."""


class InternalError(Error):
    """A defect of the library; please report it."""


class NotStored(Error):
    """send(): the archive did not store every file; .outcomes has one dict per file."""
    outcomes = None


# s2d_error_code (slide2dcm/error.h) to the exception raised.
_ERRORS = {1: InputError, 2: UsageError, 3: IOFailure, 4: IOFailure, 5: Cancelled,
           6: InternalError, 7: NotStored}


class _Error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("message", ctypes.c_char * 1024)]


class Progress(ctypes.Structure):
    """Where a conversion stands: pages (True when the frames are a plain TIFF's pages),
    level, frames_done, frames_total, seconds, megapixels (level 0's, or all the pages',
    so that megapixels * frames_done / frames_total / seconds is a rate). The layout is
    s2d_progress's (slide2dcm.h)."""
    _fields_ = [("pages", ctypes.c_bool), ("level", ctypes.c_int), ("frames_done", ctypes.c_uint64),
                ("frames_total", ctypes.c_uint64), ("seconds", ctypes.c_double),
                ("megapixels", ctypes.c_double)]


_PROGRESS_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(Progress))
_WARN_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)
_BYTES_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint64,
                             ctypes.c_uint64)
_lib = None
_lib_lock = threading.Lock()


def _library():
    global _lib
    with _lib_lock:
        if _lib is None:
            lib = ctypes.CDLL(os.environ.get("SLIDE2DCM_LIBRARY") or "libslide2dcm.so.0")
            lib.s2d_version.restype = ctypes.c_char_p
            lib.s2d_version.argtypes = []
            lib.s2d_convert_json.restype = ctypes.c_bool
            lib.s2d_convert_json.argtypes = [
                ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, _PROGRESS_FN, _WARN_FN,
                ctypes.c_void_p, ctypes.POINTER(ctypes.c_int),
                ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(_Error)]
            lib.s2d_send_json.restype = ctypes.c_bool
            lib.s2d_send_json.argtypes = [
                ctypes.c_char_p, ctypes.c_char_p, _BYTES_FN, ctypes.c_void_p,
                ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_void_p),
                ctypes.POINTER(_Error)]
            lib.s2d_free.restype = None
            lib.s2d_free.argtypes = [ctypes.c_void_p]
            _lib = lib
        return _lib


def version():
    """The C library's version, e.g. "0.1.0"."""
    return _library().s2d_version().decode()


def _path(p):
    return os.fsencode(p)


def convert(path, outdir, *, progress=None, warn=None, cancel=None, **options):
    """Converts path into outdir (created if missing) and returns the report as a dict:
    "files" (name, flavor, sop_class_uid, the study, series and SOP instance UIDs, width,
    height, tiles, bytes, mode, transfer_syntax ...), "warnings", "seconds", "kind"
    for plain TIFFs, and "deidentified" (the Container Identifier written) with deidentify.

    progress(p): called with a Progress after each frame written, from a library thread.
    warn(message): called with each warning, from any library thread.
    cancel: a threading.Event; once it is set the conversion stops (at the next frame),
    removes what it wrote and raises Cancelled.
    Exceptions raised by the callbacks are printed by ctypes and otherwise ignored.
    """
    lib = _library()
    interrupt = ctypes.c_int(0)

    def on_progress(_ctx, p):
        if cancel is not None and cancel.is_set():
            interrupt.value = 1
        if progress is not None:
            progress(p.contents)

    def on_warning(_ctx, message):
        if warn is not None:
            warn(message.decode(errors="replace"))

    # Kept in locals until the call returns: ctypes frees a callback whose object dies.
    progress_fn = _PROGRESS_FN(on_progress)
    warn_fn = _WARN_FN(on_warning)
    if cancel is not None and cancel.is_set():
        interrupt.value = 1
    # Paths in options (metadata_json) go as file system strings, like the others.
    options = {k: (os.fsdecode(v) if isinstance(v, (bytes, os.PathLike)) else v)
               for k, v in options.items()}
    report = ctypes.c_void_p()
    err = _Error()
    ok = lib.s2d_convert_json(_path(path), _path(outdir), json.dumps(options).encode(),
                              progress_fn, warn_fn, None, ctypes.byref(interrupt),
                              ctypes.byref(report), ctypes.byref(err))
    if not ok:
        # As the command line words it: the file, then the reason.
        reason = err.message.decode(errors="replace")
        error = _ERRORS.get(err.code, Error)("%s: %s" % (os.fsdecode(path), reason))
        error.code = err.code
        raise error
    return _take_json(lib, report)


def _take_json(lib, pointer):
    """The library's malloc'd JSON text as a Python value, freed."""
    if not pointer.value:
        return None
    try:
        return json.loads(ctypes.string_at(pointer.value).decode())
    finally:
        lib.s2d_free(pointer)


def send(paths, *, stow=None, cstore=None, progress=None, cancel=None, **options):
    """Sends DICOM Part 10 files to an archive: stow="http://host/dicom-web/studies" or
    cstore="host:port". paths: file names, or folders (their .dcm files, by name). Returns
    one dict per file (path, status "stored" or "stored-with-warning", the UIDs, bytes,
    attempts, detail) when every file was stored; otherwise raises NotStored, whose
    .outcomes says which were not, or another Error.

    options: the fields of s2d_send_options (slide2dcm/send.h): bearer_token, basic_auth,
    ca_file, calling_aet, called_aet, max_pdu, retries, retry_wait, timeout, deadline.
    progress(path, sent, size): bytes of the current file sent, from a library thread.
    cancel: a threading.Event; once set, sending stops and raises Cancelled.
    """
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    files = []
    for p in paths:
        p = os.fsdecode(p)
        if os.path.isdir(p):
            files += [os.path.join(p, f) for f in sorted(os.listdir(p))
                      if f.endswith(".dcm") and not f.startswith(".")]
        else:
            files.append(p)
    if stow is not None:
        options["stow"] = stow
    if cstore is not None:
        options["cstore"] = cstore
    lib = _library()
    interrupt = ctypes.c_int(1 if cancel is not None and cancel.is_set() else 0)

    def on_bytes(_ctx, path, sent, size):
        if cancel is not None and cancel.is_set():
            interrupt.value = 1
        if progress is not None:
            progress(os.fsdecode(path), sent, size)

    bytes_fn = _BYTES_FN(on_bytes)   # alive until the call returns
    outcomes = ctypes.c_void_p()
    err = _Error()
    ok = lib.s2d_send_json(json.dumps(files).encode(), json.dumps(options).encode(), bytes_fn,
                           None, ctypes.byref(interrupt), ctypes.byref(outcomes),
                           ctypes.byref(err))
    result = _take_json(lib, outcomes)
    if not ok:
        error = _ERRORS.get(err.code, Error)(err.message.decode(errors="replace"))
        error.code = err.code
        error.outcomes = result
        raise error
    return result
