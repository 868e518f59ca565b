"""tools/convert_cityscapes.py: polygons -> labelTrainIds, reproducing the shipped files."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers.cli import tool_process
from PIL import Image

TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'convert_cityscapes.py'
_spec = importlib.util.spec_from_file_location('convert_cityscapes', TOOL)
convert = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(convert)


@pytest.fixture
def polygons_only(synthetic_root, tmp_path) -> Path:
    """A copy of the synthetic gtFine holding nothing but the polygon files."""
    root = tmp_path / 'cs'
    for src in Path(synthetic_root).glob('gtFine/*/*/*_gtFine_polygons.json'):
        dst = root / src.relative_to(synthetic_root)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dst)
    return root


@pytest.mark.integration
def test_reproduces_the_synthetic_label_train_ids(synthetic_root, polygons_only):
    proc = tool_process('convert_cityscapes.py', str(polygons_only), '--nproc', '2')
    assert proc.returncode == 0, proc.stderr
    shipped = sorted(Path(synthetic_root).glob('gtFine/*/*/*_gtFine_labelTrainIds.png'))
    made = sorted(polygons_only.glob('gtFine/*/*/*_gtFine_labelTrainIds.png'))
    assert [p.relative_to(polygons_only) for p in made] == \
        [p.relative_to(synthetic_root) for p in shipped]
    assert len(made) == 6
    for a, b in zip(shipped, made):
        np.testing.assert_array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))
    assert 'wrote 6 ' in proc.stdout


def test_rerun_keeps_up_to_date_files_and_redoes_stale_ones(polygons_only, capsys):
    convert.main([str(polygons_only), '--nproc', '1'])
    made = sorted(polygons_only.glob('gtFine/*/*/*_labelTrainIds.png'))
    stamps = [p.stat().st_mtime_ns for p in made]
    convert.main([str(polygons_only), '--nproc', '1'])
    assert [p.stat().st_mtime_ns for p in made] == stamps
    assert 'wrote 0 ' in capsys.readouterr().out.splitlines()[-1]
    # polygons edited after the conversion: that one label is redone
    json_path = Path(str(made[0]).replace('_labelTrainIds.png', '_polygons.json'))
    doc = json.loads(json_path.read_text())
    doc['objects'] = []
    json_path.write_text(json.dumps(doc))
    convert.main([str(polygons_only), '--nproc', '1'])
    assert 'wrote 1 ' in capsys.readouterr().out.splitlines()[-1]
    assert (np.asarray(Image.open(made[0])) == 255).all()  # nothing drawn: all 'unlabeled'


def test_unknown_label_names_the_file_and_leaves_no_partial_png(polygons_only):
    json_path = sorted(polygons_only.glob('gtFine/*/*/*_polygons.json'))[0]
    doc = json.loads(json_path.read_text())
    doc['objects'].append({'label': 'spaceship', 'polygon': [[0, 0], [5, 0], [5, 5]]})
    json_path.write_text(json.dumps(doc))
    with pytest.raises(RuntimeError, match=rf"{json_path}: ERROR: Label 'spaceship' not known"):
        convert.main([str(polygons_only), '--nproc', '1'])
    assert not list(json_path.parent.glob('*.png'))


def test_no_polygons_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='No polygon files match'):
        convert.main([str(tmp_path)])
