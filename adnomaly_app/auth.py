"""The login: one analyst account from the settings (UI_USER / UI_PASSWORD in .env).

Both fields are compared in constant time (hmac.compare_digest) and both comparisons always run,
so neither the timing nor the message tells which field was wrong.
"""

from __future__ import annotations

import hmac

from streaming.settings import Settings


def credentials_match(settings: Settings, user: str, password: str) -> bool:
    """True only for UI_USER with UI_PASSWORD; always False while UI_PASSWORD is unset."""
    expected = settings.ui_password.get_secret_value() if settings.ui_password else ""
    user_ok = hmac.compare_digest(user.encode(), settings.ui_user.encode())
    password_ok = hmac.compare_digest(password.encode(), expected.encode())
    return bool(expected) and user_ok and password_ok
