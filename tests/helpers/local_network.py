"""Sockets on 127.0.0.1 that tests hand to the tools: a port for torchrun's rendezvous, and a
hub that never answers. Tests never reach past this machine."""
import socket
from collections.abc import Iterator
from contextlib import contextmanager


def free_port() -> int:
    """A port no process listens on now (the kernel's pick), for ``torchrun --master_port``:
    a fixed port collides with another run on the machine, or with the other xdist worker."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@contextmanager
def silent_hub() -> Iterator[str]:
    """An ``HF_ENDPOINT`` whose connections complete in the kernel's backlog and never get an
    answer: what a client behind a dead proxy meets."""
    with socket.socket() as server:
        server.bind(('127.0.0.1', 0))
        server.listen(8)
        yield f'http://127.0.0.1:{server.getsockname()[1]}'
