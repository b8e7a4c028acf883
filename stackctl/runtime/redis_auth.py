"""The Redis password as Redis reads it, and kept out of everything else.

Redis splits each config line into arguments (``sdssplitargs``): a space ends the password, a
newline starts a new directive. Written as one double-quoted argument, with every byte that is
not printable ASCII (and ``"`` and ``\\``) escaped, any password is one ``requirepass`` value:
``pass word`` stays whole and ``x\\nport 1`` injects nothing. Both runtimes hand Redis this line
in a file (0600 on the host, a compose secret in the container), never in argv or environment.
"""

from __future__ import annotations

from urllib.parse import quote

REDACTED = "***"


def requirepass_line(password: str) -> str:
    out = []
    for byte in password.encode("utf-8"):
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\x{byte:02x}")
    return f'requirepass "{"".join(out)}"\n'


def redact(text: str, password: str | None) -> str:
    """``text`` with the password, in any form stackctl writes it, replaced by ``***``."""
    if not password:
        return text
    quoted = requirepass_line(password)[len('requirepass "'):-2]
    for form in sorted({password, quoted, quote(password, safe="")}, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text
