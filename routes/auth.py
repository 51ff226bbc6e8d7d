"""Login for every page, the API and the event stream; CSRF for browser sessions; API tokens for scripts.

Browsers log in with ADMIN_USERNAME and ADMIN_PASSWORD and then carry a session cookie (HttpOnly,
SameSite=Lax, Secure over HTTPS); every state-changing request from a session must carry the
session's CSRF token (form field `csrf_token` or header `X-CSRF-Token`). Scripts send
`Authorization: Bearer <API_TOKEN>` instead and need no CSRF token, since browsers never add that header.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from operations import sessions
from operations.auth import AttemptLimiter, Credentials, client_key
from routes import unit_of_work, wants_json

auth = Blueprint("auth", __name__)
login_manager = LoginManager()

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
PUBLIC_ENDPOINTS = {"auth.login", "static", "pages.favicon"}


class Admin(UserMixin):
    """The one user. Its session id carries a mark that logout and a password change invalidate."""

    def __init__(self, mark: str):
        self.id = f"admin:{mark}"


def _current_mark() -> str:
    secret_key = current_app.secret_key
    assert isinstance(secret_key, str)  # create_app sets SECRET_KEY from settings.flask_secret_key, a str
    return _credentials().session_mark(secret_key, sessions.session_generation(unit_of_work()))


@login_manager.user_loader
def load_user(user_id: str) -> Admin | None:
    kind, _, mark = user_id.partition(":")
    if kind != "admin" or not hmac.compare_digest(mark.encode(), _current_mark().encode()):
        return None  # logged out everywhere since, or the password changed
    return Admin(mark)


class _SessionInterface(SecureCookieSessionInterface):
    """SESSION_COOKIE_SECURE=auto: mark the cookie Secure whenever the request came over HTTPS."""

    def __init__(self, mode: str):
        self.mode = mode

    def get_cookie_secure(self, app: Flask) -> bool:
        if self.mode == "auto":
            return request.is_secure
        return self.mode == "true"


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _csrf_ok() -> bool:
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")
    expected = session.get("csrf", "")
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def _credentials() -> Credentials:
    return current_app.extensions["credentials"]


def _refuse(status: int, message: str):
    if wants_json():
        return jsonify(error=message), status
    return render_template("error.html", code=status, message=message), status


def require_login():
    """Runs before every request."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        if _credentials().check_token(header[7:].strip()):
            return None
        return _refuse(401, "invalid API token: send Authorization: Bearer <API_TOKEN> from .env")
    if current_user.is_authenticated:
        if request.method not in SAFE_METHODS and not _csrf_ok():
            return _refuse(403, "missing or stale CSRF token: reload the page and try again")
        return None
    if wants_json():
        return _refuse(401, "log in first, or send Authorization: Bearer <API_TOKEN>")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _safe_next(target: str | None) -> str:
    """Only paths on this site, so the login form cannot bounce a user elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return url_for("pages.dashboard")
    return target


@auth.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""))
    if not _csrf_ok():
        flash("The form expired. Please try again.", "warning")
        return render_template("login.html", next=request.form.get("next", "")), 400
    limiter: AttemptLimiter = current_app.extensions["login_limiter"]
    client = client_key(request.remote_addr or "unknown")
    wait = limiter.reserve(client)  # counted before the (slow) check, so a burst cannot outrun the count
    if wait:
        flash(f"Too many failed attempts. Try again in {int(wait) + 1} seconds.", "danger")
        return render_template("login.html", next=request.form.get("next", "")), 429
    if not _credentials().check_password(request.form.get("username", ""), request.form.get("password", "")):
        flash("Wrong user name or password.", "danger")
        return render_template("login.html", next=request.form.get("next", "")), 401
    limiter.succeeded(client)
    session.clear()  # a fresh session on login: no fixation
    session.permanent = True  # expires SESSION_LIFETIME_HOURS after the last request
    login_user(Admin(_current_mark()))
    csrf_token()
    return redirect(_safe_next(request.form.get("next")))


@auth.post("/logout")
def logout():
    """Ends this session and every other one (other browsers, stolen cookies)."""
    sessions.end_all_sessions(unit_of_work())
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


def init_auth(
    app: Flask, credentials: Credentials, limiter: AttemptLimiter, cookie_secure: str, lifetime_hours: int
) -> None:
    app.extensions["credentials"] = credentials
    app.extensions["login_limiter"] = limiter
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="clipper",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=lifetime_hours),
    )
    app.session_interface = _SessionInterface(cookie_secure)
    login_manager.init_app(app)
    app.before_request(require_login)
    app.context_processor(lambda: {"csrf_token": csrf_token})
    app.register_blueprint(auth)
