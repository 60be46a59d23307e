"""A small NATS client on the standard library only (socket and threads), enough for a
Job Center worker: connect (with user and password), publish (with a reply subject),
subscribe and unsubscribe, flush, and the server's PING, +OK and -ERR.

    nc = Connection("nats://127.0.0.1:4222", user="P", password=key, name="me")
    sid = nc.subscribe("jobcenter.task.P.abc", lambda msg: nc.publish(msg.reply, b"ok"))
    nc.publish("some.subject", b"payload")
    nc.flush()          # the server has everything sent so far
    nc.close()

The protocol is NATS's text protocol (https://docs.nats.io/reference/reference-protocols/nats-protocol):
INFO, CONNECT, PUB, SUB, UNSUB, MSG, PING, PONG, +OK, -ERR. Headers (HPUB/HMSG) are not
sent; an HMSG, which the server sends only to a client asking for headers, is read and its
headers dropped. TLS is not supported: a server that requires it is refused at connect.

Reading: one thread reads the socket, answers the server's PINGs and hands each message
to its subscription's own thread, so a slow callback delays only its own subscription's
messages (as nats.go's asynchronous subscriptions do).

Reconnect: when the connection drops (and reconnect is on, the default), the reader
tries again every reconnect_wait seconds, for ever, until close(); once back it sends
CONNECT and every subscription again, then what was published meanwhile (up to
reconnect_buffer bytes; a publish past that raises ConnectionError). A subscriber misses
the messages sent while it was away, as with any NATS client.

-ERR: at connect (a bad user or password: "Authorization Violation") it raises NatsError;
later (a permissions violation, say) it is logged on the "jobcenter_sdk.nats" logger and
given to error_callback; the server closes the connection after the fatal ones, which is
then a drop as above.
"""

import json
import logging
import queue
import socket
import threading
import urllib.parse
from typing import Callable, Dict, List, Optional

__all__ = ["Connection", "Msg", "NatsError"]

log = logging.getLogger("jobcenter_sdk.nats")

_CRLF = b"\r\n"
_MAX_CONTROL_LINE = 64 * 1024


class NatsError(Exception):
    """A -ERR from the server, or a protocol failure."""


class Msg:
    """A message received: subject, reply (None when the sender waits for no answer),
    data (bytes) and sid (its subscription)."""

    __slots__ = ("subject", "reply", "data", "sid")

    def __init__(self, subject: str, reply: Optional[str], data: bytes, sid: int):
        self.subject, self.reply, self.data, self.sid = subject, reply, data, sid

    def __repr__(self) -> str:
        return "Msg(subject=%r, reply=%r, data=%r)" % (self.subject, self.reply, self.data[:80])


class _Sub:
    def __init__(self, sid: int, subject: str, queue_group: Optional[str], callback: Callable[[Msg], None]):
        self.sid, self.subject, self.queue_group, self.callback = sid, subject, queue_group, callback
        self.pending: "queue.Queue[Optional[Msg]]" = queue.Queue()
        self.thread = threading.Thread(target=self._deliver, name="nats-sub-%d" % sid, daemon=True)
        self.thread.start()

    def _deliver(self) -> None:
        while True:
            msg = self.pending.get()
            if msg is None:
                return
            try:
                self.callback(msg)
            except Exception:  # a callback's failure must not end the subscription
                log.exception("nats: the callback of %s failed", self.subject)

    def proto(self) -> bytes:
        q = " " + self.queue_group if self.queue_group else ""
        return ("SUB %s%s %d\r\n" % (self.subject, q, self.sid)).encode()


def _check_subject(subject: str, what: str = "subject") -> None:
    if not subject or any(c in subject for c in " \t\r\n"):
        raise ValueError("nats: %s %r must be non-empty, without spaces or line breaks" % (what, subject))


class Connection:
    """A connection to a NATS server; see the module's documentation.

    url is nats://host:port (the port defaults to 4222; nats://user:pass@host:port gives
    the credentials too). user and password are sent in CONNECT when given. The
    connection is open when the constructor returns (the server answered a PING), or it
    raises NatsError (the server refused it) or OSError (no server).
    """

    def __init__(self, url: str, user: Optional[str] = None, password: Optional[str] = None, name: str = "",
                 connect_timeout: float = 5.0, reconnect: bool = True, reconnect_wait: float = 1.0,
                 reconnect_buffer: int = 8 << 20, error_callback: Optional[Callable[[NatsError], None]] = None):
        u = urllib.parse.urlsplit(url if "://" in url else "nats://" + url)
        if u.scheme not in ("nats", ""):
            raise ValueError("nats: unsupported URL scheme %r (nats://host:port; TLS is not supported)" % u.scheme)
        self._host, self._port = u.hostname or "127.0.0.1", u.port or 4222
        self._user = user if user is not None else (urllib.parse.unquote(u.username) if u.username else None)
        self._password = password if password is not None else (urllib.parse.unquote(u.password) if u.password else None)
        self._name = name
        self._connect_timeout = connect_timeout
        self._reconnect, self._reconnect_wait, self._reconnect_buffer = reconnect, reconnect_wait, reconnect_buffer
        self._error_callback = error_callback
        self.server_info: Dict = {}
        self.last_error: Optional[NatsError] = None

        self._lock = threading.RLock()  # the socket's writes, the subscriptions, the state below
        self._sock: Optional[socket.socket] = None
        self._subs: Dict[int, _Sub] = {}
        self._next_sid = 1
        self._pongs: List[threading.Event] = []  # the flushes waiting, in order
        self._buffered = bytearray()  # what was published while disconnected
        self._connected = False
        self._closed = False
        self._max_payload = 1 << 20

        self._sock, rest = self._open()
        self._connected = True
        self._reader = threading.Thread(target=self._read_loop, args=(rest,), name="nats-reader", daemon=True)
        self._reader.start()

    # Connecting.

    def _open(self):
        """Dial, read INFO, send CONNECT and PING, and wait for the PONG: the connection is
        accepted. Returns the socket and the bytes read past the PONG."""
        sock = socket.create_connection((self._host, self._port), timeout=self._connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            buf = bytearray()
            line = self._read_line(sock, buf)
            if not line.startswith(b"INFO "):
                raise NatsError("nats: the server at %s:%d did not greet with INFO: %r" % (self._host, self._port, line[:100]))
            info = json.loads(line[5:].decode())
            if info.get("tls_required"):
                raise NatsError("nats: the server at %s:%d requires TLS, which this client does not support"
                                % (self._host, self._port))
            self.server_info = info
            self._max_payload = int(info.get("max_payload") or self._max_payload)
            opts = {"verbose": False, "pedantic": False, "tls_required": False, "name": self._name, "lang": "python3",
                    "version": "0.1.0", "protocol": 1, "headers": False, "no_responders": False}
            if self._user is not None:
                opts["user"] = self._user
            if self._password is not None:
                opts["pass"] = self._password
            sock.sendall(b"CONNECT " + json.dumps(opts).encode() + _CRLF + b"PING" + _CRLF)
            while True:
                line = self._read_line(sock, buf)
                op = line.split(b" ", 1)[0].upper()
                if op == b"PONG":
                    break
                if op == b"-ERR":
                    raise NatsError("nats: the server refused the connection: " + _err_text(line))
                if op == b"PING":
                    sock.sendall(b"PONG" + _CRLF)
                # +OK or a further INFO: nothing to do
            sock.settimeout(None)
            return sock, bytes(buf)
        except BaseException:
            sock.close()
            raise

    @staticmethod
    def _read_line(sock: socket.socket, buf: bytearray) -> bytes:
        while True:
            i = buf.find(_CRLF)
            if i >= 0:
                line = bytes(buf[:i])
                del buf[:i + 2]
                return line
            if len(buf) > _MAX_CONTROL_LINE:
                raise NatsError("nats: control line too long")
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("nats: the server closed the connection")
            buf += chunk

    # Reading.

    def _read_loop(self, rest: bytes) -> None:
        buf = bytearray(rest)
        sock = self._sock
        while True:
            try:
                self._parse(sock, buf)
            except (OSError, NatsError, ValueError) as e:
                with self._lock:
                    self._connected = False
                    self._fail_flushes()
                    closed = self._closed
                try:
                    sock.close()
                except OSError:
                    pass
                if closed:
                    return
                if not self._reconnect:
                    log.warning("nats: connection to %s:%d lost: %s", self._host, self._port, e)
                    self._closed = True
                    self._stop_subs()
                    return
                log.warning("nats: connection to %s:%d lost (%s); reconnecting", self._host, self._port, e)
                got = self._reconnect_loop()
                if got is None:
                    return
                sock, rest = got
                buf = bytearray(rest)

    def _reconnect_loop(self):
        stop = threading.Event()
        while True:
            with self._lock:
                if self._closed:
                    return None
            try:
                sock, rest = self._open()
            except (OSError, NatsError, ValueError) as e:
                # A refusal (a key no longer accepted) is worth seeing; a server still away is not.
                (log.warning if isinstance(e, NatsError) else log.debug)("nats: reconnect failed: %s", e)
                stop.wait(self._reconnect_wait)
                continue
            with self._lock:
                if self._closed:
                    sock.close()
                    return None
                try:
                    out = b"".join(s.proto() for s in self._subs.values()) + bytes(self._buffered)
                    if out:
                        sock.sendall(out)
                except OSError as e:
                    log.debug("nats: reconnect failed: %s", e)
                    sock.close()
                    stop.wait(self._reconnect_wait)
                    continue
                self._buffered.clear()
                self._sock, self._connected = sock, True
            log.info("nats: reconnected to %s:%d", self._host, self._port)
            return sock, rest

    def _parse(self, sock: socket.socket, buf: bytearray) -> None:
        """Read and act on the server's operations until the connection fails (raises)."""
        while True:
            i = buf.find(_CRLF)
            if i < 0:
                if len(buf) > _MAX_CONTROL_LINE:
                    raise NatsError("nats: control line too long")
                self._fill(sock, buf)
                continue
            line = bytes(buf[:i])
            parts = line.split()
            op = parts[0].upper() if parts else b""
            if op in (b"MSG", b"HMSG"):
                # MSG <subject> <sid> [reply-to] <#bytes>
                # HMSG <subject> <sid> [reply-to] <#header bytes> <#total bytes>
                n_sizes = 2 if op == b"HMSG" else 1
                if len(parts) not in (3 + n_sizes, 4 + n_sizes):
                    raise NatsError("nats: bad %s line: %r" % (op.decode(), line[:200]))
                total = int(parts[-1])
                hdr = int(parts[-2]) if op == b"HMSG" else 0
                end = i + 2 + total
                while len(buf) < end + 2:  # the payload and its CRLF may come in many reads
                    self._fill(sock, buf)
                data = bytes(buf[i + 2 + hdr:end])
                if buf[end:end + 2] != _CRLF:
                    raise NatsError("nats: a message's payload does not end with CRLF")
                del buf[:end + 2]
                reply = parts[3].decode() if len(parts) == 4 + n_sizes else None
                self._deliver(Msg(parts[1].decode(), reply, data, int(parts[2])))
                continue
            del buf[:i + 2]
            if op == b"PING":
                self._send(b"PONG" + _CRLF)
            elif op == b"PONG":
                with self._lock:
                    if self._pongs:
                        self._pongs.pop(0).set()
            elif op == b"-ERR":
                err = NatsError("nats: " + _err_text(line))
                self.last_error = err
                log.warning("%s", err)
                if self._error_callback:
                    try:
                        self._error_callback(err)
                    except Exception:
                        log.exception("nats: the error callback failed")
            elif op == b"INFO":
                try:
                    self.server_info = json.loads(line[5:].decode())
                except ValueError:
                    pass
            elif op in (b"+OK", b""):
                pass
            else:
                raise NatsError("nats: unknown operation %r" % line[:100])

    @staticmethod
    def _fill(sock: socket.socket, buf: bytearray) -> None:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        buf += chunk

    def _deliver(self, msg: Msg) -> None:
        with self._lock:
            sub = self._subs.get(msg.sid)
        if sub is not None:
            sub.pending.put(msg)

    def _fail_flushes(self) -> None:
        # The PONGs they wait for will not come: they learn so at their deadline.
        self._pongs.clear()

    # Writing.

    def _send(self, data: bytes, buffer_if_down: bool = False) -> None:
        with self._lock:
            if self._closed:
                raise ConnectionError("nats: the connection is closed")
            if not self._connected:
                if buffer_if_down and len(self._buffered) + len(data) <= self._reconnect_buffer:
                    self._buffered += data
                    return
                raise ConnectionError("nats: not connected (reconnecting)")
            try:
                self._sock.sendall(data)
            except OSError as e:
                # The reader notices the drop and reconnects; this write is kept for then.
                try:
                    self._sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self._connected = False
                if buffer_if_down and len(self._buffered) + len(data) <= self._reconnect_buffer:
                    self._buffered += data
                    return
                raise ConnectionError("nats: write failed: %s" % e) from None

    def publish(self, subject: str, payload: bytes = b"", reply: Optional[str] = None) -> None:
        """Send payload (bytes, or str as UTF-8) on subject, with a reply subject when given."""
        _check_subject(subject)
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        if len(payload) > self._max_payload:
            raise NatsError("nats: payload of %d bytes exceeds the server's max_payload %d" % (len(payload), self._max_payload))
        if reply:
            _check_subject(reply, "reply subject")
        head = "PUB %s %s%d\r\n" % (subject, reply + " " if reply else "", len(payload))
        self._send(head.encode() + bytes(payload) + _CRLF, buffer_if_down=True)

    def subscribe(self, subject: str, callback: Callable[[Msg], None], queue_group: Optional[str] = None) -> int:
        """Call callback(msg) for each message on subject (wildcards allowed), in order,
        on the subscription's own thread; return its sid, for unsubscribe."""
        _check_subject(subject)
        with self._lock:
            sid = self._next_sid
            self._next_sid += 1
            sub = _Sub(sid, subject, queue_group, callback)
            self._subs[sid] = sub
            try:
                if self._connected:
                    self._sock.sendall(sub.proto())
            except OSError:
                pass  # sent again on reconnect
        return sid

    def unsubscribe(self, sid: int) -> None:
        """End a subscription: no message of it is delivered after its messages already
        received (those are)."""
        with self._lock:
            sub = self._subs.pop(sid, None)
        if sub is None:
            return
        sub.pending.put(None)
        try:
            self._send(("UNSUB %d\r\n" % sid).encode())
        except ConnectionError:
            pass  # gone with the connection; not sent again on reconnect

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until the server has processed everything sent so far (a PING's PONG);
        raise TimeoutError when it does not answer within timeout seconds."""
        ev = threading.Event()
        with self._lock:
            self._send(b"PING" + _CRLF)
            self._pongs.append(ev)
        if not ev.wait(timeout):
            with self._lock:
                if ev in self._pongs:
                    self._pongs.remove(ev)
            raise TimeoutError("nats: no PONG within %ss" % timeout)

    @property
    def is_connected(self) -> bool:
        return self._connected and not self._closed

    def close(self) -> None:
        """Close the connection (after trying to flush what was sent); callbacks under way
        finish, no further message is delivered."""
        if self._closed:
            return
        try:
            if self._connected:
                self.flush(2.0)
        except (OSError, TimeoutError, NatsError):
            pass
        with self._lock:
            self._closed = True
            self._connected = False
            sock = self._sock
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()
        self._stop_subs()
        if threading.current_thread() is not self._reader:
            self._reader.join(5)

    def _stop_subs(self) -> None:
        with self._lock:
            subs, self._subs = list(self._subs.values()), {}
        for s in subs:
            s.pending.put(None)

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _err_text(line: bytes) -> str:
    text = line[4:].decode("utf-8", "replace").strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else text
