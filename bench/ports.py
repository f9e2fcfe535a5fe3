"""Ports for the servers a benchmark starts: whichever the OS has free, never a fixed number.

Fixed ports collide with anything else serving on the machine (another
benchmark, a development server); the OS hands out a free one on request.
"""

import socket


def free_port() -> int:
    """Return a TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
