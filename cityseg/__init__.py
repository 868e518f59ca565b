"""cityseg: semantic segmentation of street scenes on Cityscapes, in the OpenMMLab style.

Importing cityseg changes nothing in mmengine or torch: its modules, registries and safe
checkpoint loader are set up by :func:`cityseg.utils.register_all_modules`, which every tool,
:func:`cityseg.apis.build_runner` and the inference API call.
"""

__version__ = '0.1.0'
