# U-Net / EfficientNet-B3 with the reference recipe.
_base_ = [
    '_base_/models/unet_effb3.py',
    '_base_/datasets/cityscapes.py',
    '_base_/schedules/schedule_100e.py',
    '_base_/default_runtime.py',
]
optim_wrapper = dict(accumulative_counts=4)
