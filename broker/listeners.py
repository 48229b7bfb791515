"""Listeners: where clients connect, which connections are let in, and which are closed for idling.

- ``listeners`` / ``advertised.listeners`` / ``listener.security.protocol.map`` /
  ``inter.broker.listener.name`` are read as Kafka reads them. Each listener is PLAINTEXT, SSL,
  SASL_PLAINTEXT or SASL_SSL, with its own settings under ``listener.name.<name>.`` (``broker.security``
  builds them at start-up: a bad key store or JAAS entry stops the broker before it listens). An SSL
  listener completes the TLS handshake before the connection reads a request; a failed handshake is one
  log line ("Failed authentication with /ip (SSL handshake failed)") and a closed socket.
- ``SocketServer`` binds each listener (``socket.listen.backlog.size``) and accepts in a loop of its
  own, as Kafka's Acceptor does, so that it can apply Kafka's connection quotas at accept:
  ``max.connections`` is broker-wide and, when reached, accepting *waits* until a connection closes
  (the new ones wait in the backlog); ``max.connections.per.ip`` (with
  ``max.connections.per.ip.overrides``) closes an extra connection from that address as soon as it is
  accepted, with one log line.
- Out of descriptors (EMFILE and its kin), accepting backs off: one warning when it starts failing,
  one line when it works again, and retries when a connection closes or ``ACCEPT_RETRY_S`` passes.
- A connection with no byte read or written for ``connections.max.idle.ms`` (< 0: never) is closed.
- It knows connections through ``broker.connection`` only; nothing here imports a handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import socket
import ssl
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from broker.config import BrokerConfig, ConfigError
from broker.connection import Connection
from broker.security.authenticator import PROTOCOLS, ConnectionSecurity, ListenerSecurity, SaslAuthenticator
from broker.security.principal import NoMatchingRule, distinguished_name

if TYPE_CHECKING:
    from broker.components import BrokerComponents

log = logging.getLogger(__name__)

ACCEPT_RETRY_S = 1.0
STREAM_LIMIT = 1 << 20
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


@dataclass(frozen=True, slots=True)
class Listener:
    name: str
    bind_host: str
    port: int
    advertised_host: str
    advertised_port: int
    security_protocol: str = "PLAINTEXT"


def parse_listeners(config: BrokerConfig) -> list[Listener]:
    """``listeners`` and ``advertised.listeners`` as Kafka reads them, each with its security protocol."""
    listeners = [_parse_uri(uri) for uri in config.get("listeners")]
    advertised = {name: (host, port) for name, host, port in map(_parse_uri, config.get("advertised.listeners") or [])}
    names = [name for name, _, _ in listeners]
    if len(set(names)) != len(names):
        raise ConfigError(f"Each listener must have a different name, listeners: {','.join(config.get('listeners'))}")
    ports = [port for _, _, port in listeners if port != 0]
    if len(set(ports)) != len(ports):
        raise ConfigError(f"Each listener must have a different port, listeners: {','.join(config.get('listeners'))}")
    for name in advertised:
        if name not in names:
            raise ConfigError(f"advertised.listeners listener {name} is not among listeners")
    result = []
    for name, host, port in listeners:
        security = _security_protocol(config, name)
        adv_host, adv_port = advertised.get(name, (host, port))
        if adv_host in ("0.0.0.0", "::"):
            raise ConfigError(
                f"advertised.listeners cannot use the nonroutable meta-address {adv_host}. Use a routable IP address."
            )
        result.append(Listener(name, host, port, adv_host or socket.getfqdn(), adv_port, security))
    if not result:
        raise ConfigError("listeners is empty")
    inter_broker_listener(config, result)
    return result


def inter_broker_listener(config: BrokerConfig, listeners: list[Listener]) -> Listener:
    """The listener brokers talk to each other on: ``inter.broker.listener.name``, else the listener
    named by ``security.inter.broker.protocol`` (PLAINTEXT by default), as Kafka chooses it."""
    name: str | None = config.get("inter.broker.listener.name")
    if name is not None and config.explicit.get("security.inter.broker.protocol") is not None:
        raise ConfigError("Only one of inter.broker.listener.name and security.inter.broker.protocol should be set.")
    wanted = name.upper() if name is not None else str(config.get("security.inter.broker.protocol"))
    for listener in listeners:
        if listener.name == wanted:
            return listener
    if name is None and config.explicit.get("security.inter.broker.protocol") is None and len(listeners) == 1:
        return listeners[0]  # one listener of another name: Kafka's single-listener setups still start
    raise ConfigError(
        f"inter.broker.listener.name must be a listener name defined in advertised.listeners. "
        f"The valid options based on currently configured listeners are {','.join(lst.name for lst in listeners)}"
    )


def _parse_uri(uri: str) -> tuple[str, str, int]:
    name, sep, rest = uri.partition("://")
    if not sep:
        raise ConfigError(f"listener {uri!r} is not of the form NAME://host:port")
    host, colon, port = rest.rpartition(":")
    if not colon or not port.isdigit():
        raise ConfigError(f"listener {uri!r} has no port")
    if int(port) > 65535:
        raise ConfigError(f"listener {uri!r}: port {port} is not between 0 and 65535")
    return name.upper(), host.strip("[]"), int(port)


def _security_protocol(config: BrokerConfig, listener: str) -> str:
    entries: list[str] = config.get("listener.security.protocol.map")
    for entry in entries:
        name, _, protocol = entry.partition(":")
        if name.strip().upper() == listener:
            protocol = protocol.strip().upper()
            if protocol not in PROTOCOLS:
                raise ConfigError(
                    f"Invalid value {','.join(entries)} for configuration listener.security.protocol.map: "
                    f"unknown security protocol {protocol}"
                )
            return protocol
    raise ConfigError(f"No security protocol defined for listener {listener}")


def client_ip(address: str) -> str:
    """The address a quota counts: IPv4-mapped IPv6 addresses as plain IPv4, as Java reports them."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


class ConnectionQuotas:
    """Kafka's connection quotas: counts per IP and in all; ``max.connections`` waits, per IP closes."""

    def __init__(self, config: BrokerConfig) -> None:
        self.max_connections: int = config.get("max.connections")
        self.max_per_ip: int = config.get("max.connections.per.ip")
        self.overrides = parse_overrides(config.get("max.connections.per.ip.overrides"))
        if self.max_per_ip == 0 and not self.overrides:
            raise ConfigError(
                "Value must be greater than 0 for configuration max.connections.per.ip"
                " unless max.connections.per.ip.overrides is set"
            )
        self.total = 0
        self.per_ip: dict[str, int] = {}
        self._freed = asyncio.Event()  # a connection closed: a slot, and a descriptor, are free

    def limit_of(self, ip: str) -> int:
        return self.overrides.get(ip, self.max_per_ip)

    def admit(self, ip: str) -> bool:
        """Count a new connection from ``ip``, or False when that address is at its limit."""
        count = self.per_ip.get(ip, 0)
        if count >= self.limit_of(ip):
            return False
        self.per_ip[ip] = count + 1
        self.total += 1
        return True

    def release(self, ip: str) -> None:
        count = self.per_ip.get(ip, 0) - 1
        if count > 0:
            self.per_ip[ip] = count
        else:
            self.per_ip.pop(ip, None)
        self.total -= 1
        self._freed.set()

    async def slot(self) -> None:
        """Until a connection may be accepted under ``max.connections``."""
        while self.total >= self.max_connections:
            self._freed.clear()
            await self._freed.wait()

    async def freed(self, timeout_s: float) -> None:
        """Until a connection closes, or ``timeout_s`` passes."""
        self._freed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._freed.wait(), timeout_s)


def parse_overrides(text: str | None) -> dict[str, int]:
    """``host:count,host:count`` with host names resolved to addresses, as Kafka resolves them."""
    result: dict[str, int] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        host, sep, count = item.strip().rpartition(":")
        host = host.strip().strip("[]")
        if not sep or not host or not count.strip().isdigit():
            raise ConfigError(
                f"Invalid value {text} for configuration max.connections.per.ip.overrides: expected host:count"
            )
        try:
            address = client_ip(socket.gethostbyname(host) if not _is_ip(host) else host)
        except OSError:
            raise ConfigError(f"max.connections.per.ip.overrides: unknown host {host}") from None
        result[address] = int(count)
    return result


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class _ClientProtocol(asyncio.StreamReaderProtocol):
    """A stream protocol that also tells its connection when the client's side ends, so a connection
    that is not reading (its requests are all being handled) still learns that its client left."""

    connection: Connection | None = None

    def eof_received(self) -> bool:
        keep_open = bool(super().eof_received())
        if self.connection is not None:
            self.connection.peer_closed()
        return keep_open

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.connection is not None:
            self.connection.peer_closed()


class SocketServer:
    """The listeners' sockets, the accept loops, the quotas, and every open connection."""

    def __init__(self, config: BrokerConfig, listeners: list[Listener]) -> None:
        self.config = config
        self.listeners = list(listeners)
        self.quotas = ConnectionQuotas(config)
        self.security = {lst.name: ListenerSecurity.build(config, lst.name, lst.security_protocol) for lst in listeners}
        self.components: BrokerComponents | None = None  # given by ``start``
        self.connections: dict[asyncio.Task[None], Connection | None] = {}  # None: being set up
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, components: BrokerComponents) -> list[Listener]:
        """Bind every listener and start accepting, handing ``components`` to every connection;
        returns the listeners with the ports bound."""
        self.components = components
        for index, listener in enumerate(self.listeners):
            sockets = self._bind(listener)
            if listener.port == 0:  # an ephemeral port: advertise the one we got
                port = sockets[0].getsockname()[1]
                self.listeners[index] = listener = replace(listener, port=port, advertised_port=port)
            for sock in sockets:
                self._tasks.append(asyncio.create_task(self._accept_loop(sock, listener), name=f"accept {listener}"))
        idle_ms: int = self.config.get("connections.max.idle.ms")
        if idle_ms >= 0:
            self._tasks.append(asyncio.create_task(self._close_idle(idle_ms / 1000), name="idle connections"))
        return self.listeners

    def _bind(self, listener: Listener) -> list[socket.socket]:
        """As asyncio's start_server binds: every address of the host (all interfaces when empty)."""
        infos = socket.getaddrinfo(
            listener.bind_host or None, listener.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        backlog: int = self.config.get("socket.listen.backlog.size")
        receive_buffer: int = self.config.get("socket.receive.buffer.bytes")
        sockets: list[socket.socket] = []
        port = listener.port
        try:
            for family, kind, proto, _, address in dict.fromkeys(infos):
                address = (address[0], port, *address[2:])  # port 0: the one the first address got, for all
                sock = socket.socket(family, kind, proto)
                sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                if receive_buffer != -1:  # as Kafka: on the listening socket, so accepted ones inherit it
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
                sock.bind(address)
                port = sock.getsockname()[1]
                sock.listen(backlog)
                sock.setblocking(False)
        except OSError:
            for sock in sockets:
                sock.close()
            raise
        return sockets

    def stop_accepting(self) -> None:
        """Shutdown: the accept loops end and close their listening sockets."""
        for task in self._tasks:
            task.cancel()

    async def _accept_loop(self, server: socket.socket, listener: Listener) -> None:
        try:
            await self._accept(server, listener)
        except Exception:
            log.exception("stopped accepting connections on %s", listener.name)
        finally:
            server.close()

    async def _accept(self, server: socket.socket, listener: Listener) -> None:
        loop = asyncio.get_running_loop()
        failing = 0
        while True:
            await self.quotas.slot()
            try:
                sock, address = await loop.sock_accept(server)
            except OSError as exc:
                if exc.errno not in _OUT_OF_RESOURCES:
                    if exc.errno in (errno.ECONNABORTED, errno.EPROTO, errno.EPERM):
                        continue  # the client left before it was accepted
                    raise
                if not failing:
                    log.warning(
                        "cannot accept connections on %s: %s; retrying as connections close",
                        listener.name, exc.strerror,
                    )  # fmt: skip
                failing += 1
                await self.quotas.freed(ACCEPT_RETRY_S)
                continue
            if failing:
                log.info("accepting connections on %s again after %d failed attempts", listener.name, failing)
                failing = 0
            ip = client_ip(str(address[0]))
            if not self.quotas.admit(ip):
                log.info(
                    "Rejected connection from %s:%s, address already has the configured maximum of %d connections.",
                    ip, address[1], self.quotas.limit_of(ip),
                )  # fmt: skip
                sock.close()
                continue
            task = asyncio.create_task(self._serve(sock, listener, ip), name=f"connection {ip}:{address[1]}")
            self.connections[task] = None

    async def _serve(self, sock: socket.socket, listener: Listener, ip: str) -> None:
        task = asyncio.current_task()
        assert task is not None
        try:
            self._configure(sock)
            loop = asyncio.get_running_loop()
            reader = asyncio.StreamReader(limit=STREAM_LIMIT, loop=loop)
            protocol = _ClientProtocol(reader, loop=loop)
            security = self.security[listener.name]
            try:
                transport, _ = await loop.connect_accepted_socket(lambda: protocol, sock=sock, ssl=security.ssl_context)
            except (ssl.SSLError, ConnectionError, TimeoutError) as exc:
                if security.ssl_context is None:
                    raise
                log.info("Failed authentication with /%s (SSL handshake failed: %s)", ip, _reason(exc))
                sock.close()
                return
            writer = asyncio.StreamWriter(transport, protocol, reader, loop)
            assert self.components is not None
            session = self._session(security, writer, ip)
            if session is None:
                transport.abort()
                return
            connection = Connection(self.components, reader, writer, listener.name, session)
            protocol.connection = connection
            self.connections[task] = connection
            await connection.run()
        except OSError as exc:
            log.info("closing a connection from %s: %s", ip, exc)
            sock.close()
        finally:
            self.connections.pop(task, None)
            self.quotas.release(ip)

    def _session(self, security: ListenerSecurity, writer: asyncio.StreamWriter, ip: str) -> ConnectionSecurity | None:
        """The connection's security state: its certificate's principal, a SASL authenticator; None: refused."""
        session = ConnectionSecurity(security)
        if security.principal_mapper is not None:
            peercert = writer.get_extra_info("peercert")
            if peercert:
                try:
                    session.tls_principal = "User:" + security.principal_mapper.name(distinguished_name(peercert))
                except NoMatchingRule as exc:
                    log.info("Failed authentication with /%s (%s)", ip, exc)
                    return None
        if security.sasl:
            assert self.components is not None
            session.sasl = SaslAuthenticator(security, self.components.scram_credentials, f"/{ip}")
        return session

    def _configure(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            send_buffer: int = self.config.get("socket.send.buffer.bytes")
            if send_buffer != -1:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)

    async def _close_idle(self, idle_s: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(max(0.05, min(idle_s / 2, 1.0)))
            now = loop.time()
            for connection in list(self.connections.values()):
                if connection is not None and now - connection.last_active > idle_s:
                    connection.close_idle()

    def stop_reading(self) -> None:
        """Shutdown: every connection reads no more requests; those already read are still answered."""
        for connection in self.connections.values():
            if connection is not None:
                connection.stop_reading()

    async def close_connections(self, grace_s: float) -> None:
        """Shutdown: give the connections ``grace_s`` to answer what they have read, then cancel them."""
        if self.connections:
            _, pending = await asyncio.wait(set(self.connections), timeout=grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc)
    return str(exc) or type(exc).__name__
