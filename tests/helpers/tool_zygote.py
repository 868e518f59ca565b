"""A Python that has imported the heavy third-party libraries once and forks one child per tool
run, so that a test's ``python tools/<tool>.py ...`` starts in a fraction of a second instead
of the 3-5 s that importing torch, mmengine, timm, smp and albumentations takes on 2 cores
(most of the suite's time is tools run as processes).

Run as a script by :mod:`helpers.tool_runner`, which speaks to it in JSON lines. Each request
(``argv``, ``env``, ``cwd`` and the files for stdout and stderr) forks a child that becomes the
tool's process as ``python argv[0] argv[1:]`` would start it: the environment replaced, the
script's folder first on ``sys.path``, fresh random seeds, stdin from /dev/null, and the script
run as ``__main__``; its exit, traceback, status and atexit handlers are the interpreter's own.
The zygote answers the child's pid, then its exit status.

cityseg itself is not imported here: each tool imports (and so registers) what it uses, as a
user's process does.
"""
import json
import os
import sys

import albumentations  # noqa: F401
import cityscapesscripts.helpers.labels  # noqa: F401
import cv2  # noqa: F401
import matplotlib.figure  # noqa: F401 (no backend chosen: pyplot is left to the tool)
import mmcv  # noqa: F401
import mmengine.runner  # noqa: F401
import numpy as np
import segmentation_models_pytorch  # noqa: F401
import terminaltables  # noqa: F401
import timm  # noqa: F401
import torch


def become_tool(request: dict) -> None:
    """In the forked child: set up the process as the interpreter would for the script."""
    import random
    import runpy
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    for fd, path in ((1, request['stdout']), (2, request['stderr'])):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
    os.chdir(request['cwd'])
    os.environ.clear()
    os.environ.update(request['env'])
    script = request['argv'][0]
    sys.argv = list(request['argv'])
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    random.seed()  # a fresh interpreter draws new seeds; forked children would share these
    np.random.seed()
    torch.seed()
    runpy.run_path(script, run_name='__main__')
    sys.exit(0)


def serve() -> None:
    """Fork one child per request line on stdin until stdin closes."""
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            become_tool(request)  # never returns: the script's exit ends the child
        print(json.dumps({'pid': pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({'returncode': os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == '__main__':
    serve()
