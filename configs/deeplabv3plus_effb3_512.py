# The reference recipe: DeepLabV3+ / EfficientNet-B3, 512x512 crops, batch 8 with gradient
# accumulation 4 (effective 32), AdamW lr 5e-5, 100 epochs, focal + 1.1 x dice, dropout 0.2.
_base_ = [
    '_base_/models/deeplabv3plus_effb3.py',
    '_base_/datasets/cityscapes.py',
    '_base_/schedules/schedule_100e.py',
    '_base_/default_runtime.py',
]
optim_wrapper = dict(accumulative_counts=4)
