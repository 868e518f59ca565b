"""The evaluation report: WorstImagesHook ranks by the metric's own per-image scores,
build_report's page and figures, ``tools/test.py --report --compare`` end to end, and the page
in a real browser (headless Chromium via Playwright)."""
import hashlib
import json
import os.path as osp
import re
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import mmcv
import numpy as np
import pytest
import torch
from helpers.cli import QUICKSTART, run_tool, tiny_cfg_options, val_files
from helpers.label_maps import histogram_reference
from mmengine.structures import PixelData
from PIL import Image

from cityseg.datasets.labels import ID_TO_TRAIN_ID, TRAIN_ID_TO_COLOR
from cityseg.engine.hooks import WorstImagesHook
from cityseg.engine.hooks.worst_images_hook import picture_path
from cityseg.evaluation import IoUMetric
from cityseg.report import build_report, load_metrics
from cityseg.report.test_run import REPORT_KIND
from cityseg.structures import SegDataSample
from cityseg.utils.output_dir import check_output_dir
from cityseg.visualization import error_map

# Runs a tool as a subprocess or trains: the integration tier (docs/contributing.md).
pytestmark = pytest.mark.integration

CHROMIUM = '/usr/bin/chromium'  # Debian's package, installed by tools/install.sh --dev
CELL_JS = '''([row, column]) => {
  const table = document.querySelector('#per-class');
  const i = [...table.tHead.rows[0].cells].findIndex(c => c.textContent.trim() === column);
  const tr = [...table.tBodies[0].rows].find(r => r.cells[0].textContent.trim() === row);
  return tr.cells[i].textContent.trim();
}'''


def _miou(pred: np.ndarray, gt: np.ndarray, num_classes: int) -> float:
    """Mean IoU over the classes present in ground truth or prediction, by numpy."""
    conf = histogram_reference(pred, gt, num_classes).astype(float)
    tp, union = np.diag(conf), conf.sum(0) + conf.sum(1) - np.diag(conf)
    return float((tp[union > 0] / union[union > 0]).mean())


def test_error_map_marks_wrong_red_ignore_black_rest_dimmed_grey():
    image = np.array([[[200, 100, 0], [10, 20, 30], [90, 90, 90]]], np.uint8)
    gt = np.array([[1, 2, 255]], np.uint8)
    pred = np.array([[1, 0, 0]], np.uint8)
    out = error_map(image, gt, pred)
    assert out.tolist() == [[[50, 50, 50], [255, 0, 0], [0, 0, 0]]]  # (200+100+0)/3 * 0.5 = 50
    with pytest.raises(ValueError, match='same height and width'):
        error_map(image, gt[:, :2], pred[:, :2])


def _runner(metric: IoUMetric, palette=None) -> SimpleNamespace:
    """What the hook uses of a Runner: the test evaluator's metrics and the dataset's meta."""
    return SimpleNamespace(
        test_loop=SimpleNamespace(evaluator=SimpleNamespace(metrics=[metric])),
        test_dataloader=SimpleNamespace(dataset=SimpleNamespace(
            metainfo={} if palette is None else {'palette': palette})))


def _sample(pred: np.ndarray, gt: np.ndarray, img_path: str) -> SegDataSample:
    sample = SegDataSample(metainfo=dict(img_path=img_path))
    sample.pred_sem_seg = PixelData(data=torch.from_numpy(pred.astype(np.int64))[None])
    sample.gt_sem_seg = PixelData(data=torch.from_numpy(gt.astype(np.int64))[None])
    return sample


def test_worst_images_hook_keeps_the_lowest_miou_by_the_metrics_results(tmp_path, monkeypatch):
    """Seven images in batches of three: the hook keeps the three with the lowest per-image
    mIoU (numpy's), reads only those three images back, and draws them in the palette."""
    rng = np.random.default_rng(0)
    palette = [(10, 20, 30), (200, 0, 0), (0, 200, 0)]
    metric = IoUMetric(num_classes=3)
    hook = WorstImagesHook(str(tmp_path / 'worst'), num=3, palette=palette, thumb_width=4)
    hook.before_test(_runner(metric))
    gts, preds, paths = [], [], []
    for i in range(7):
        gt = rng.integers(0, 3, (6, 8)).astype(np.uint8)
        gt[0, 0] = 255
        pred = np.where(rng.random((6, 8)) < 0.1 * i, (gt + 1) % 3, gt).astype(np.uint8)
        pred[0, 0] = 0  # a class, where the ground truth is void
        path = str(tmp_path / f'img{i}.png')
        mmcv.imwrite(rng.integers(0, 255, (6, 8, 3)).astype(np.uint8), path)
        gts.append(gt), preds.append(pred), paths.append(path)
    reads = []
    real_imread = mmcv.imread
    monkeypatch.setattr(mmcv, 'imread', lambda *a, **k: reads.append(a[0]) or real_imread(*a, **k))
    for start in range(0, 7, 3):
        batch = [_sample(p, g, f) for p, g, f in zip(preds[start:start + 3],
                                                     gts[start:start + 3], paths[start:start + 3])]
        metric.process(None, [s.to_dict() for s in batch])  # as mmengine's Evaluator does
        hook.after_test_iter(None, start // 3, outputs=batch)
    hook.after_test_epoch(None)

    scores = [_miou(p, g, 3) for p, g in zip(preds, gts)]
    worst = sorted(range(7), key=scores.__getitem__)[:3]
    assert sorted(reads) == sorted(paths[i] for i in worst)
    written = sorted(p.name for p in (tmp_path / 'worst').glob('*.png'))
    assert written == sorted(f'img{i}_{k}.png' for i in worst
                             for k in ('image', 'gt', 'pred', 'error'))
    i = worst[0]
    lut = np.zeros((256, 3), np.uint8)
    lut[:3] = palette
    pred_pic = mmcv.imread(picture_path(str(tmp_path / 'worst'), paths[i], 'pred'),
                           channel_order='rgb')
    assert np.array_equal(pred_pic, lut[preds[i]])
    error = mmcv.imread(picture_path(str(tmp_path / 'worst'), paths[i], 'error'),
                        channel_order='rgb')
    wrong = (preds[i] != gts[i]) & (gts[i] != 255)
    assert (error[wrong] == [255, 0, 0]).all() and (error[0, 0] == 0).all()
    thumb = Image.open(picture_path(str(tmp_path / 'worst'), paths[i], 'gt', thumbnail=True))
    assert thumb.size == (4, 3)


def test_worst_images_hook_needs_a_scoring_iou_metric(tmp_path):
    with pytest.raises(ValueError, match='format_only'):
        WorstImagesHook(str(tmp_path)).before_test(_runner(IoUMetric(format_only=True)))
    with pytest.raises(ValueError, match='at least one'):
        WorstImagesHook(str(tmp_path), num=0)


def _metrics(classes, iou, per_image, conf) -> dict:
    return dict(config='configs/x.py', checkpoint='x.pth', aAcc=0.9, mIoU=0.5,
                per_class={c: dict(IoU=v, Acc=v) for c, v in zip(classes, iou)},
                confusion_matrix=dict(classes=classes, counts=conf), per_image=per_image)


def test_build_report_custom_palette_compare_and_missing_pictures(tmp_path):
    classes = ['sky', 'car', 'boat']
    palette = [(1, 2, 3), (250, 128, 0), (0, 0, 255)]
    per_image = [dict(file='/d/a.png', mIoU=0.5, aAcc=0.8)]
    conf = [[5, 1, 0], [0, 4, 0], [0, 0, 0]]
    now = _metrics(classes, [0.75, 0.5, None], per_image, conf)
    before = _metrics(classes, [0.5, 0.625, None], per_image, conf)
    page = build_report(now, str(tmp_path / 'r'), compare=before, palette=palette,
                        meta=dict(command='python tools/test.py x'))
    with open(page) as f:
        html = f.read()
    for rgb in palette:
        assert 'background: #{:02x}{:02x}{:02x}'.format(*rgb) in html
    assert '+25.00' in html and '-12.50' in html  # IoU differences of sky and car, in points
    assert 'python tools/test.py x' in html and 'http' not in html
    for fig in ('class_scores', 'class_delta', 'confusion'):
        assert Image.open(tmp_path / 'r' / 'figures' / f'{fig}.png').size[0] > 400
    assert load_metrics(str(tmp_path / 'r')) == now  # a report folder is comparable later
    with pytest.raises(FileNotFoundError, match='a_image.png does not exist'):
        build_report(now, str(tmp_path / 'r2'), worst_dir=str(tmp_path / 'none'), num_worst=1)
    with pytest.raises(FileNotFoundError, match='nowhere'):
        load_metrics(str(tmp_path / 'nowhere'))


def test_report_shows_the_class_subset_means_after_miou(tmp_path):
    classes = ['sky', 'car', 'boat']
    metrics = _metrics(classes, [0.75, 0.5, None], [dict(file='/d/a.png', mIoU=0.5, aAcc=0.8)],
                       [[5, 1, 0], [0, 4, 0], [0, 0, 0]])
    metrics.update(mIoU2=0.625, class_subsets=dict(mIoU2=['sky', 'car']))
    with open(build_report(metrics, str(tmp_path / 'r'))) as f:
        html = f.read()
    assert html.index('>mIoU<') < html.index('>mIoU2<')
    assert '62.50' in html


def test_report_escapes_class_and_file_names_in_headless_chromium(tmp_path):
    """A class name and an image file name holding markup show as text in Chromium: neither
    the <script> nor the <img onerror> runs (issue 23: the .j2 template was not escaped)."""
    from playwright.sync_api import sync_playwright  # installed by tools/install.sh --dev
    assert osp.isfile(CHROMIUM), f'{CHROMIUM} is missing: run bash tools/install.sh --dev'
    script = "<script>document.body.setAttribute('data-x','1')</script>"
    img = "<img src=x onerror=\"document.body.setAttribute('data-y','1')\">.png"
    classes = ['sky', script]
    metrics = _metrics(classes, [0.5, 0.25], [dict(file='/d/' + img, mIoU=0.5, aAcc=0.8)],
                       [[5, 1], [0, 4]])
    page_path = build_report(metrics, str(tmp_path / 'r'))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox'])
        page = browser.new_page()
        page.goto(Path(page_path).as_uri(), wait_until='load')
        ran = page.evaluate("[document.body.getAttribute('data-x'), "
                            "document.body.getAttribute('data-y')]")
        table = page.inner_text('#per-class')
        files = page.inner_text('#per-image')
        browser.close()
    assert ran == [None, None]
    assert script in table and img in files  # shown as text, not parsed as markup


# --- tools/test.py --report, end to end on the tiny checkpoint ---------------------------

def _test_tool(ckpt: str, synthetic_root: str, work_dir, *extra: str) -> float:
    """Run tools/test.py on the tiny run's val images; return its wall time in seconds."""
    start = time.perf_counter()
    run_tool('test.py', QUICKSTART, ckpt, *extra, '--cfg-options',
             *tiny_cfg_options(synthetic_root, str(work_dir)))
    return time.perf_counter() - start


@pytest.fixture(scope='module')
def reports(tiny_work_dir, synthetic_root, tmp_path_factory):
    """iter_2's report, then iter_4's compared with it (and its --out files)."""
    tmp = tmp_path_factory.mktemp('reports')
    _test_tool(osp.join(tiny_work_dir, 'iter_2.pth'), synthetic_root, tmp / 'w2',
               '--report', str(tmp / 'r2'))
    _test_tool(osp.join(tiny_work_dir, 'iter_4.pth'), synthetic_root, tmp / 'w4',
               '--report', str(tmp / 'r4'), '--compare', str(tmp / 'r2'),
               '--report-worst', '1', '--out', str(tmp / 'out'), '--calibration')
    return tmp


def test_report_reads_the_runs_metrics_and_draws_the_worst_image(reports, synthetic_root):
    (run_metrics,) = (reports / 'w4').glob('*/metrics.json')
    metrics = json.loads(run_metrics.read_text())
    assert load_metrics(str(reports / 'r4')) == metrics
    html = (reports / 'r4' / 'index.html').read_text()
    with open(metrics['checkpoint'], 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest()[:12] in html
    assert '>4</td>' in html  # the iteration of iter_4.pth
    assert f'{100 * metrics["mIoU"]:.2f}' in html
    # The one worst image is the lowest per-image mIoU, and its pictures are the --out file's.
    worst = min(metrics['per_image'], key=lambda e: e['mIoU'])
    stem = osp.basename(worst['file'])[:-4]
    pred = ID_TO_TRAIN_ID[np.asarray(Image.open(reports / 'out' / f'{stem}.png'))]
    (gt_file,) = [f for f in val_files(synthetic_root, 'gtFine')
                  if osp.basename(f) == stem.replace('leftImg8bit', 'gtFine_labelIds.png')]
    gt = ID_TO_TRAIN_ID[np.asarray(Image.open(gt_file))]
    pictures = reports / 'r4' / 'worst'
    assert sorted(p.name for p in pictures.glob('*.png')) == sorted(
        f'{stem}_{k}.png' for k in ('error', 'gt', 'image', 'pred'))
    assert np.array_equal(np.asarray(Image.open(pictures / f'{stem}_pred.png')),
                          TRAIN_ID_TO_COLOR[pred])
    error = np.asarray(Image.open(pictures / f'{stem}_error.png'))
    assert ((error == [255, 0, 0]).all(-1) == ((pred != gt) & (gt != 255))).all()
    assert (error[gt == 255] == 0).all()
    assert f'worst/{stem}_pred.png' in html and f'worst/thumbs/{stem}_pred.png' in html
    check_output_dir(reports / 'r4', REPORT_KIND)  # its manifest lists every file in it


def test_report_into_a_users_folder_is_refused_before_the_evaluation(tiny_work_dir,
                                                                     synthetic_root, tmp_path):
    """Issue 23: the user's index.html, metrics.json and figures/confusion.png were
    overwritten."""
    mine = tmp_path / 'mine'
    (mine / 'figures').mkdir(parents=True)
    for name in ('index.html', 'metrics.json', 'figures/confusion.png'):
        (mine / name).write_text(f'my {name}')
    log = run_tool('test.py', QUICKSTART, osp.join(tiny_work_dir, 'iter_4.pth'),
                   '--report', str(mine), '--cfg-options',
                   *tiny_cfg_options(synthetic_root, str(tmp_path / 'w')), expect_failure=True)
    assert (f'error: {mine} holds files cityseg did not write (figures/confusion.png, '
            'index.html, metrics.json;') in log
    assert 'Iter(test)' not in log
    for name in ('index.html', 'metrics.json', 'figures/confusion.png'):
        assert (mine / name).read_text() == f'my {name}'


def test_an_earlier_report_is_rewritten_without_its_old_pictures(reports, tiny_work_dir,
                                                                 synthetic_root, tmp_path):
    report = tmp_path / 'r'
    shutil.copytree(reports / 'r2', report)
    assert len(list((report / 'worst').glob('*.png'))) == 8  # two worst images drawn
    _test_tool(osp.join(tiny_work_dir, 'iter_4.pth'), synthetic_root, tmp_path / 'w',
               '--report', str(report), '--report-worst', '1')
    assert len(list((report / 'worst').glob('*.png'))) == 4  # one image's pictures, not two
    assert load_metrics(str(report))['checkpoint'].endswith('iter_4.pth')
    check_output_dir(report, REPORT_KIND)


def test_report_flags_are_checked(tiny_work_dir, synthetic_root, tmp_path):
    ckpt = osp.join(tiny_work_dir, 'iter_4.pth')
    log = run_tool('test.py', QUICKSTART, ckpt, '--compare', 'x.json', expect_failure=True)
    assert '--compare needs --report' in log
    log = run_tool('test.py', QUICKSTART, ckpt, '--report', str(tmp_path), '--split', 'test',
                   '--cfg-options', *tiny_cfg_options(synthetic_root, str(tmp_path / 'w')),
                   expect_failure=True)
    assert 'the test split lacks' in log
    bad = tmp_path / 'bad.json'
    bad.write_text('{"mIoU": 0.5,')
    log = run_tool('test.py', QUICKSTART, ckpt, '--report', str(tmp_path / 'r'),
                   '--compare', str(bad), '--cfg-options',
                   *tiny_cfg_options(synthetic_root, str(tmp_path / 'w2')), expect_failure=True)
    assert f'{bad} is not valid JSON' in log
    # refused before the evaluation: no test iterations ran, no metrics.json was written
    assert 'Iter(test)' not in log and not list((tmp_path / 'w2').rglob('metrics.json'))


# --- the page in a real browser ----------------------------------------------------------

def test_report_in_headless_chromium(reports):
    """Chromium loads r4/index.html from disk: no console error and no failed request, the
    heat map and every worst-image picture have rendered, the headline and per-class
    differences are those of the two metrics.json files, and clicking the mIoU header sorts
    the per-image rows. The screenshot stays in the report folder."""
    from playwright.sync_api import sync_playwright  # installed by tools/install.sh --dev
    assert osp.isfile(CHROMIUM), f'{CHROMIUM} is missing: run bash tools/install.sh --dev'
    now = load_metrics(str(reports / 'r4'))
    before = load_metrics(str(reports / 'r2'))
    errors, failed, requests = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox'])
        page = browser.new_page(viewport={'width': 1400, 'height': 1000})
        page.on('console', lambda m: m.type == 'error' and errors.append(m.text))
        page.on('pageerror', lambda e: errors.append(str(e)))
        page.on('requestfailed', lambda r: failed.append(r.url))
        page.on('request', lambda r: requests.append(r.url))
        page.goto((reports / 'r4' / 'index.html').as_uri(), wait_until='load')
        sizes = page.eval_on_selector_all(
            'img', 'imgs => imgs.map(i => [i.id || i.className, i.naturalWidth, '
            'i.naturalHeight, i.complete])')
        heatmap = [s for s in sizes if s[0] == 'confusion']
        reliability = [s for s in sizes if s[0] == 'reliability']
        calibration = page.inner_text('#calibration-scores')
        pictures = [s for s in sizes if s[0] == 'worst-picture']
        miou_col = "#per-image tbody tr td:nth-child(3)"
        page.click('#per-image th:nth-child(3)')
        ascending = page.eval_on_selector_all(miou_col, 'cs => cs.map(c => c.dataset.value)')
        page.click('#per-image th:nth-child(3)')
        descending = page.eval_on_selector_all(miou_col, 'cs => cs.map(c => c.dataset.value)')
        car_delta = page.evaluate(CELL_JS, ['car', '\u0394 IoU'])
        headline = page.inner_text('#headline')
        page.screenshot(path=str(reports / 'r4' / 'screenshot.png'), full_page=True)
        browser.close()

    assert errors == [] and failed == []
    assert all(u.startswith('file://') or u.startswith('data:') for u in requests), requests
    assert len(heatmap) == 1 and heatmap[0][1] > 400 and heatmap[0][2] > 400
    # --calibration: the reliability diagram rendered, and the ECE the metric logged
    assert len(reliability) == 1 and reliability[0][1] > 300 and reliability[0][3]
    assert re.search(r'ECE \d+\.\d\d %', calibration) and 'Brier' in calibration
    assert len(pictures) == 4 and all(w > 0 and h > 0 and ok for _, w, h, ok in pictures)
    per_image = [e['mIoU'] for e in now['per_image']]
    assert [float(v) for v in ascending] == sorted(per_image)
    assert [float(v) for v in descending] == sorted(per_image, reverse=True)
    iou = now['per_class']['car']['IoU'], before['per_class']['car']['IoU']
    assert car_delta == ('n/a' if None in iou else f'{100 * (iou[0] - iou[1]):+.2f}')
    delta = 100 * (now['mIoU'] - before['mIoU'])
    assert f'{delta:+.2f} (was {100 * before["mIoU"]:.2f})' in headline
    assert Image.open(reports / 'r4' / 'screenshot.png').size[0] == 1400
