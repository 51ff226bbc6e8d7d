"""What a request's headers alone say about its login, for the web server to judge before it reads a body.

The server's budget for request bodies (WEB_MAX_BUFFERED_BODY_MB) counts only clients that are not
logged in, so a flood of anonymous uploads cannot stall a logged-in person's. It runs on the server's
event loop, with no database: a request counts as logged in when it carries the API token, or a session
cookie signed with this app's key, still within SESSION_LIFETIME_HOURS, that a login wrote. A session
ended since (logout, a new password) still passes here; the login check refuses it as the app runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature
from werkzeug.http import parse_cookie

from operations.auth import Credentials


def carries_credentials(app: Flask) -> Callable[[Mapping[str, str]], bool]:
    """A check of waitress's header mapping (keys AUTHORIZATION, COOKIE) for the app's credentials."""
    credentials: Credentials = app.extensions["credentials"]
    interface = app.session_interface
    assert isinstance(interface, SecureCookieSessionInterface)  # init_auth installs one (signed cookies)
    serializer = interface.get_signing_serializer(app)
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    max_age = int(app.permanent_session_lifetime.total_seconds())

    def check(headers: Mapping[str, str]) -> bool:
        authorization = headers.get("AUTHORIZATION", "")
        if authorization.startswith("Bearer "):
            return credentials.check_token(authorization[7:].strip())
        cookie = parse_cookie(headers.get("COOKIE", "")).get(cookie_name)
        if not cookie or serializer is None:
            return False
        try:
            session = serializer.loads(cookie, max_age=max_age)
        except BadSignature:
            return False
        return isinstance(session, dict) and str(session.get("_user_id", "")).startswith("admin:")

    return check
