"""A server's console output: the tail an agent reports, as every agent (real or synthetic) cuts it.

The console lives on the agent's host; the API, maybe on another machine,
asks for it through the log (InstanceConsoleRequested -> the instance table
-> InstanceConsoleOrdered on the host's command topic -> the agent's
InstanceConsoleReported, kept in the instance row). The tail is cut on the
host, so what travels is bounded: the last `length` lines (Nova's tail), and
at most MAX_CONSOLE_BYTES of them (Nova's libvirt driver reads at most
100 KiB of a console log; a row of the instance table carries a few
answers, so less).
"""

from __future__ import annotations

MAX_CONSOLE_BYTES = 64 * 1024

# What a host without a real guest console answers, as Nova's fake driver does: a fixed text, never
# mistaken for a guest's (the libvirt test driver runs no guest; the fake driver runs nothing at all).
FAKE_CONSOLE = "FAKE CONSOLE OUTPUT\nANOTHER\nLAST LINE"


def tail(text: str, length: int | None, max_bytes: int = MAX_CONSOLE_BYTES) -> str:
    """The last `length` lines of `text` (None or a negative length: all of them; 0: nothing), then its last `max_bytes` bytes.

    Lines are split on "\\n" as Nova's compute manager splits them, so a
    console ending with a newline has an empty last line, which counts.
    """
    if length is not None and length == 0:
        return ""
    lines = text if length is None or length < 0 else "\n".join(text.split("\n")[-length:])
    encoded = lines.encode()
    if len(encoded) <= max_bytes:
        return lines
    return encoded[-max_bytes:].decode(errors="ignore")
