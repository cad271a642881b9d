# SPDX-License-Identifier: Apache-2.0
"""Real archives for the sending tests: Debian's Orthanc (with its DICOMweb plugin) and
dcmtk's storescp, each started on free loopback ports with its own storage in a temporary
directory, and always stopped by the `with` block that started it. Then the faulty servers
no real archive imitates: a proxy that cuts connections, a black hole, and FakeStow, a
STOW-RS resource whose every answer a test writes."""
import hashlib
import http.server
import io
import json
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pydicom

ORTHANC = "/usr/sbin/Orthanc"
PLUGINS = "/usr/share/orthanc/plugins"
WSI_PLUGIN = "/usr/lib/orthanc/libOrthancWSI.so.1.1"   # Debian 12's orthanc-wsi


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256(path_or_bytes):
    if isinstance(path_or_bytes, bytes):
        return hashlib.sha256(path_or_bytes).hexdigest()
    h = hashlib.sha256()
    with open(path_or_bytes, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Orthanc:
    """`with Orthanc(tmp) as o:` starts Orthanc, `o.url`, `o.dicom_port`; stopped on exit.
    users: {name: password} turns on HTTP basic authentication.
    wsi: also load Debian's Orthanc WSI plugin (1.1), whose /wsi/pyramids/{series} lists
    the levels it makes of a series.
    max_storage_mb: a storage area this small refuses larger instances (a real refusal:
    C-STORE answers 0xA700; STOW-RS leaves the instance out of its Referenced SOP Sequence).
    (A Lua ReceivedInstanceFilter is no use for that: Orthanc 1.10 reports success for
    instances it filters out.)"""

    def __init__(self, workdir, users=None, max_storage_mb=None, check_called_aet=False,
                 serve_folders=None, wsi=False):
        self.dir = tempfile.mkdtemp(prefix="orthanc-", dir=workdir)
        self.http_port, self.dicom_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.users = users
        config = {
            "Name": "slide2dcm-test",
            "StorageDirectory": f"{self.dir}/db", "IndexDirectory": f"{self.dir}/db",
            "HttpPort": self.http_port, "DicomPort": self.dicom_port, "DicomAet": "ORTHANC",
            "RemoteAccessAllowed": False, "AuthenticationEnabled": bool(users),
            "DicomCheckCalledAet": check_called_aet, "StorageCompression": False,
            "HttpTimeout": 60, "DicomScpTimeout": 60,
            "Plugins": [f"{PLUGINS}/libOrthancDicomWeb.so"],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        }
        if users:
            config["RegisteredUsers"] = users
        if max_storage_mb:
            config["MaximumStorageSize"] = max_storage_mb
        if wsi:
            config["Plugins"].append(WSI_PLUGIN)
        if serve_folders:
            config["Plugins"].append(f"{PLUGINS}/libServeFolders.so")
            config["ServeFolders"] = serve_folders
        self.config = f"{self.dir}/config.json"
        with open(self.config, "w") as f:
            json.dump(config, f)
        self.proc = None

    def __enter__(self):
        self.log = open(f"{self.dir}/orthanc.log", "wb")
        self.proc = subprocess.Popen([ORTHANC, self.config], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        # Ready when the REST API answers; a dead process is a failed start.
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Orthanc exited with {self.proc.returncode}; "
                                   f"see {self.dir}/orthanc.log")
            try:
                self.get("/system")
                return self
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def request(self, method, path, data=None):
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if self.users:
            import base64
            name, password = next(iter(self.users.items()))
            token = base64.b64encode(f"{name}:{password}".encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.read()

    def get(self, path):
        return self.request("GET", path)

    def get_json(self, path):
        return json.loads(self.get(path))

    def instances(self):
        """{SOP Instance UID: Orthanc id} of everything stored."""
        out = {}
        for oid in self.get_json("/instances"):
            tags = self.get_json(f"/instances/{oid}/simplified-tags")
            out[tags["SOPInstanceUID"]] = oid
        return out

    def clear(self):
        for pid in self.get_json("/patients"):
            self.request("DELETE", f"/patients/{pid}")


class StoreSCP:
    """dcmtk's storescp on a free port, accepting every SOP class (-pm: promiscuous is not
    needed; the VL WSM class is in its defaults), files written into a directory."""

    def __init__(self, workdir, aet="STORESCP"):
        self.dir = tempfile.mkdtemp(prefix="storescp-", dir=workdir)
        self.port = free_port()
        self.aet = aet

    def __enter__(self):
        self.log = open(f"{self.dir}.log", "wb")
        self.proc = subprocess.Popen(
            ["storescp", "-aet", self.aet, "-od", self.dir, "+xa", "-uf",
             str(self.port)], stdout=self.log, stderr=subprocess.STDOUT)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"storescp exited with {self.proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()


class LoopbackServer:
    """The frame of the faulty servers here and in the cases: a listening socket on a free
    loopback port (`port`) whose own thread hands every connection it accepts to
    self.accepted_connection(conn) until close(). A subclass sets what that method uses
    before calling this __init__, which starts the thread."""

    def __init__(self, backlog=8):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:   # closed
                return
            self.accepted_connection(conn)

    def accepted_connection(self, conn):
        raise NotImplementedError

    def close(self):
        self.sock.close()


class CuttingProxy(LoopbackServer):
    """A TCP relay to (host, port) that closes both sides after `limit` bytes from the
    client: the connection dies mid-transfer, as when a network drops."""

    def __init__(self, port, limit):
        self.target = port
        self.limit = limit
        self.connections = 0
        super().__init__()

    def accepted_connection(self, client):
        self.connections += 1
        threading.Thread(target=self.relay, args=(client,), daemon=True).start()

    def relay(self, client):
        server = socket.create_connection(("127.0.0.1", self.target))

        def back():
            try:
                while data := server.recv(65536):
                    client.sendall(data)
            except OSError:
                pass
        threading.Thread(target=back, daemon=True).start()
        sent = 0
        try:
            while sent < self.limit and (data := client.recv(min(65536, self.limit - sent))):
                server.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (client, server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class BlackHole(LoopbackServer):
    """A server that accepts connections and never answers nor reads: a hung archive.
    `accepted` is set once a client has connected."""

    def __init__(self):
        self.accepted = threading.Event()
        self.held = []
        super().__init__()

    def accepted_connection(self, client):
        self.held.append(client)
        self.accepted.set()

    def close(self):
        super().close()
        for c in self.held:
            c.close()


class FakeStow:
    """A STOW-RS studies resource on 127.0.0.1, served by a thread of its own, that answers
    each POST with on_post(request, posts): request is the http.server handler (headers,
    path, rfile, wfile: read_body() and answer() below use it), posts the POSTs received so
    far, this one included. `url` is the resource."""

    def __init__(self, on_post):
        fake = self
        self.posts = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                fake.posts += 1
                on_post(self, fake.posts)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/dicom-web/studies" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def read_body(request, chunk=None, pause=0.0):
    """The request's body; with chunk, read that many bytes at a time with a pause after each
    (a slow archive)."""
    left = int(request.headers["Content-Length"])
    if not chunk:
        return request.rfile.read(left)
    body = b""
    while left:
        part = request.rfile.read(min(left, chunk))
        body += part
        left -= len(part)
        time.sleep(pause)
    return body


def answer(request, status, body, ctype="application/dicom+json"):
    request.send_response(status)
    request.send_header("Content-Type", ctype)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


def posted_uids(body, ctype):
    """The SOP Class and Instance UIDs of the one Part 10 file in a multipart/related body."""
    boundary = ctype.split("boundary=")[1].strip('"').encode()
    part = body.split(b"--" + boundary)[1]
    data = part.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n", 1)[0]
    meta = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).file_meta
    return str(meta.MediaStorageSOPClassUID), str(meta.MediaStorageSOPInstanceUID)


def store_response(items):
    """A STOW-RS response body (DICOM JSON) whose Referenced SOP Sequence lists the
    (SOP Class UID, SOP Instance UID) pairs given."""
    seq = [{"00081150": {"vr": "UI", "Value": [c]}, "00081155": {"vr": "UI", "Value": [i]}}
           for c, i in items]
    return json.dumps({"00081199": {"vr": "SQ", "Value": seq}}).encode()
