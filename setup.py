"""Install cityseg. Use tools/install.sh on a fresh machine: mmcv-lite is an sdist whose build
needs setuptools < 81 (pkg_resources) and no build isolation; the script handles both."""
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent
# Read the version without importing cityseg (its dependencies are not installed yet).
VERSION = next(line.split("'")[1]
               for line in (ROOT / 'cityseg' / '__init__.py').read_text().splitlines()
               if line.startswith('__version__'))

# Bounds are the versions this project is tested with (Python 3.11, CPU and CUDA builds of torch).
INSTALL_REQUIRES = [
    'torch>=2.1,<2.15',
    'torchvision>=0.16,<0.30',
    # 0.10.5 is the oldest that tests/test_utils/test_mmengine_compat.py passes on (0.10.3 does not
    # validate at max_iters; 0.10.0 also replays a resumed run's batches differently).
    'mmengine>=0.10.5,<0.11',
    'mmcv-lite==2.2.0',
    'timm>=1.0,<1.1',
    'segmentation-models-pytorch>=0.5,<0.7',
    'albumentations>=2.0,<2.1',
    'numpy>=1.26,<2.5',
    'opencv-python-headless>=4.9',
    'terminaltables>=3.1,<3.2',
    'cityscapesscripts==2.3.0',
    'matplotlib>=3.8,<3.12',
    'rich>=13',
    'tqdm>=4.66',
    'safetensors>=0.4',
    'jinja2>=3.1,<4',  # the evaluation report's page (tools/test.py --report)
]

EXTRAS_REQUIRE = {
    # playwright drives the system's Chromium (tools/install.sh --dev installs Debian's) in the
    # report's browser test; it downloads no browser of its own.
    # pytest-xdist: the suite runs in two worker processes (-n 2); most of its time is tools
    # starting as subprocesses, single-threaded imports that a second core overlaps.
    # scikit-learn: the reference the anomaly metrics (AUPRC, AUROC) are checked against.
    'tests': ['pytest>=8', 'pytest-xdist>=3.5', 'ruff>=0.6', 'playwright>=1.40,<2',
              'scikit-learn>=1.5,<2'],
    # The documentation site (mkdocs.yml, docs/); .ci/run builds it with --strict.
    'docs': ['mkdocs>=1.6,<2', 'mkdocs-material>=9.5,<10'],
    'tensorboard': ['tensorboard>=2.15'],
    'onnx': ['onnx>=1.16', 'onnxruntime>=1.18'],
}

setup(
    name='cityseg',
    version=VERSION,
    description='Semantic segmentation of street scenes on Cityscapes, OpenMMLab style',
    long_description=(ROOT / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.10',
    packages=find_packages(include=['cityseg', 'cityseg.*']),
    package_data={'cityseg.report': ['templates/*.j2'],
                  'cityseg.datasets': ['camvid_splits.txt']},
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Image Recognition',
    ],
)
