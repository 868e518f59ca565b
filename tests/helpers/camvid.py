"""Where the tests find the real CamVid images: ``../shared/data/camvid`` beside the checkout
(SegNet's 360x480 release, train and val; see its README.md). CI provides the same folder."""
from __future__ import annotations

import os.path as osp

from helpers.cli import ROOT

CAMVID_ROOT = osp.normpath(osp.join(ROOT, '..', 'shared', 'data', 'camvid'))
