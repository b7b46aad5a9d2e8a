"""Where the shared Redis index lives: ``redis://`` URLs parsed and checked, the password from the environment.

The URL form is ``redis://HOST:PORT/DB?prefix=NAME`` (``rediss://`` for TLS); the password is never taken from
the URL's text into messages. See :mod:`dedupe.index.redis` for the index itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote

DEFAULT_PORT = 6379
DEFAULT_DB = 0
DEFAULT_PREFIX = "dedupe"
PASSWORD_ENV = "DEDUPE_REDIS_PASSWORD"
_URL_FORM = "redis://HOST:PORT/DB?prefix=NAME"
_DIGITS = re.compile(r"[0-9]+")


class SharedIndexError(Exception):
    """A problem with the shared index a user can fix: the message says what and how (never with a password)."""


@dataclass(frozen=True)
class RedisTarget:
    """Where a shared index lives: the parts of a Redis URL (there is never a password here).

    Attributes:
        host: Host name or IP address (an IPv6 address without brackets).
        port: TCP port.
        db: Redis database number.
        prefix: Every key of the index starts with ``prefix + ":"``.
        username: ACL user name, or None for the default user.
        tls: True for ``rediss://``.

    Example:
        >>> RedisTarget("cache.example", 6380, 2, "corpus-a", "ingest").display()
        'redis://ingest@cache.example:6380/2?prefix=corpus-a'
    """

    host: str
    port: int = DEFAULT_PORT
    db: int = DEFAULT_DB
    prefix: str = DEFAULT_PREFIX
    username: str | None = None
    tls: bool = False

    @property
    def address(self) -> str:
        """``host:port`` (an IPv6 host in brackets), for messages."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def display(self) -> str:
        """The URL of this target, which holds no secret and parses back to the same target.

        Example:
            >>> parse_redis_url("rediss://[::1]/3").display()
            'rediss://[::1]:6379/3?prefix=dedupe'
        """
        scheme = "rediss" if self.tls else "redis"
        user = f"{quote(self.username, safe='')}@" if self.username is not None else ""
        return f"{scheme}://{user}{self.address}/{self.db}?prefix={quote(self.prefix, safe=':')}"


def _url_error(problem: str) -> SharedIndexError:
    return SharedIndexError(f"bad Redis URL: {problem} (expected {_URL_FORM})")


def parse_redis_url(url: str) -> RedisTarget:
    """Parse ``redis://[USER@]HOST[:PORT][/DB][?prefix=NAME]`` (or ``rediss://`` for TLS).

    Port 6379, db 0 and prefix ``dedupe`` by default. A password in the URL is
    refused: set the environment variable ``DEDUPE_REDIS_PASSWORD`` instead.
    Messages name the faulty part, never the whole URL.

    Raises:
        SharedIndexError: The URL is not of that form.

    Example:
        >>> parse_redis_url("redis://10.0.0.5:7000/1?prefix=crawl")
        RedisTarget(host='10.0.0.5', port=7000, db=1, prefix='crawl', username=None, tls=False)
        >>> parse_redis_url("redis://localhost").display()
        'redis://localhost:6379/0?prefix=dedupe'
        >>> parse_redis_url("redis://bob:hunter2@localhost/0")
        Traceback (most recent call last):
        ...
        dedupe.index.redis_url.SharedIndexError: bad Redis URL: it contains a password ... DEDUPE_REDIS_PASSWORD ...
    """
    if not isinstance(url, str):
        raise TypeError(f"a Redis URL must be a str, not {type(url).__name__}")
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        raise _url_error("no '://' after the scheme")
    scheme = scheme.lower()
    if scheme not in ("redis", "rediss"):
        raise _url_error(f"unsupported scheme {scheme!r}: use redis:// (or rediss:// for TLS)")
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    if "@" in tail:
        # Most likely a password holding '/', '?' or '#' that split the URL in
        # the wrong place: say nothing of the pieces, they may be secret.
        raise _url_error(
            "'@' after the host (a password in the URL?): a password never goes in the URL, "
            f"set the environment variable {PASSWORD_ENV} instead"
        )
    username: str | None = None
    if "@" in authority:
        userinfo, _, authority = authority.rpartition("@")
        if ":" in userinfo:
            raise _url_error(
                "it contains a password (USER:PASSWORD@): remove it from the URL and set the environment "
                f"variable {PASSWORD_ENV} instead (a URL ends up in process lists, shell history and reports)"
            )
        username = unquote(userinfo)
        if not username:
            raise _url_error("empty user name before '@': remove the '@' or write USER@HOST")
    host, port = _host_port(authority)
    if "#" in tail:
        raise _url_error("a fragment ('#...') is not allowed")
    path, _, query = tail.partition("?")
    db = DEFAULT_DB
    if path not in ("", "/"):
        number = path[1:]
        if not _DIGITS.fullmatch(number):
            raise _url_error(f"database {unquote(number)!r} is not a number: the path is /DB, e.g. /0")
        db = int(number)
    prefix = DEFAULT_PREFIX
    seen_prefix = False
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key != "prefix":
            raise _url_error(f"unknown query parameter {key!r}: the only one is prefix")
        if seen_prefix:
            raise _url_error("prefix is given twice")
        seen_prefix, prefix = True, value
    _check_prefix(prefix)
    return RedisTarget(host=host, port=port, db=db, prefix=prefix, username=username, tls=scheme == "rediss")


def _host_port(authority: str) -> tuple[str, int]:
    port_text: str | None = None
    if authority.startswith("["):
        host, bracket, after = authority[1:].partition("]")
        if not bracket:
            raise _url_error("an IPv6 address in '[' has no closing ']'")
        if after:
            if not after.startswith(":"):
                raise _url_error(f"unexpected {after!r} after the IPv6 address")
            port_text = after[1:]
    else:
        if authority.count(":") > 1:
            raise _url_error("put an IPv6 address in brackets: redis://[::1]:6379/0")
        host, colon, after = authority.partition(":")
        if colon:
            port_text = after
    host = unquote(host)
    if not host:
        raise _url_error("no host: write e.g. redis://localhost:6379/0")
    if any(c.isspace() or not c.isprintable() for c in host):
        raise _url_error(f"the host {host!r} contains whitespace or control characters")
    if port_text is None:
        return host, DEFAULT_PORT
    if not _DIGITS.fullmatch(port_text):
        raise _url_error(f"port {port_text!r} is not a number")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise _url_error(f"port {port} is out of range (1 to 65535)")
    return host, port


def _check_prefix(prefix: str) -> None:
    if not prefix:
        raise _url_error("empty prefix: write ?prefix=NAME or leave it out for the default 'dedupe'")
    if any(c.isspace() for c in prefix):
        raise _url_error(f"prefix {prefix!r} contains whitespace")
    if not prefix.isprintable():
        raise _url_error(f"prefix {prefix!r} contains control characters")
    if prefix.startswith(":") or prefix.endswith(":"):
        raise _url_error(f"prefix {prefix!r} starts or ends with ':' (the ':' after it is added to every key)")
