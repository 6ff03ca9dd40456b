"""A small FastCGI client, to talk to fcgi-users' socket directly where nginx
would hide what is tested: a request kept in flight, a body shorter than its
Content-Length, the AUTHORIZER role."""
import json
import socket
import struct
import time

BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 2, 3, 4, 5, 6, 7
RESPONDER, AUTHORIZER = 1, 2


def record(rtype, content, request_id=1):
    out = b""
    while True:
        chunk, content = content[:65535], content[65535:]
        pad = (8 - len(chunk) % 8) % 8
        out += struct.pack(">BBHHBx", 1, rtype, request_id, len(chunk), pad) + chunk + b"\0" * pad
        if not content:
            return out


def _length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def encode_params(params):
    body = b""
    for k, v in params.items():
        k, v = k.encode(), v.encode()
        body += _length(len(k)) + _length(len(v)) + k + v
    return body


class Connection:
    def __init__(self, path):
        """path: a unix socket's path, or a (host, port) pair for TCP."""
        family = socket.AF_INET if isinstance(path, tuple) else socket.AF_UNIX
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(path)

    def begin(self, params, role=RESPONDER, keep=False):
        """keep: FCGI_KEEP_CONN, the connection stays open for another request."""
        self.sock.sendall(record(BEGIN_REQUEST, struct.pack(">HB5x", role, 1 if keep else 0))
                          + record(PARAMS, encode_params(params)) + record(PARAMS, b""))

    def send_stdin(self, data):
        if data:
            self.sock.sendall(record(STDIN, data))

    def end_stdin(self):
        self.sock.sendall(record(STDIN, b""))

    def response(self):
        """(status, headers dict with lower-case names, body bytes)."""
        stdout, buf = b"", b""
        while True:
            while len(buf) < 8:
                more = self.sock.recv(65536)
                if not more:
                    raise ConnectionError("connection closed before END_REQUEST")
                buf += more
            _, rtype, _, length, pad = struct.unpack(">BBHHBx", buf[:8])
            while len(buf) < 8 + length + pad:
                more = self.sock.recv(65536)
                if not more:
                    raise ConnectionError("connection closed inside a record")
                buf += more
            content, buf = buf[8:8 + length], buf[8 + length + pad:]
            if rtype == STDOUT:
                stdout += content
            elif rtype == END_REQUEST:
                break
        head, _, body = stdout.partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        status = int(headers.get("status", "200").split()[0])
        return status, headers, body

    def register_across(self, event, email, password, keep=False):
        """POST /auth/register with its body sent in two parts, event() called
        between them (while a worker reads the body); (status, headers, body)."""
        body = json.dumps({"email": email, "password": password}).encode()
        self.begin({"REQUEST_METHOD": "POST", "REQUEST_URI": "/auth/register", "CONTENT_TYPE": "application/json",
                    "CONTENT_LENGTH": str(len(body))}, keep=keep)
        self.send_stdin(body[:10])
        time.sleep(0.3)  # a worker is now reading this request's body
        event()
        time.sleep(0.3)
        self.send_stdin(body[10:])
        self.end_stdin()
        return self.response()

    def request(self, params, body=b"", keep=True):
        """One whole request on this connection; (status, headers, body)."""
        self.begin(params, keep=keep)
        self.send_stdin(body)
        self.end_stdin()
        return self.response()

    def next_bytes(self, timeout=5):
        """What the other side sends next within timeout seconds: None when
        nothing came (the connection is open and silent), b"" when it closed."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(65536)
        except socket.timeout:
            return None
        except ConnectionResetError:
            return b""
        finally:
            self.sock.settimeout(30)

    def close(self):
        self.sock.close()


def request(path, params, body=b"", role=RESPONDER):
    c = Connection(path)
    try:
        c.begin(params, role)
        c.send_stdin(body)
        c.end_stdin()
        return c.response()
    finally:
        c.close()
