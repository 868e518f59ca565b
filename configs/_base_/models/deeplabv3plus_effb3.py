# DeepLabV3+ (smp) with an EfficientNet-B3 encoder. Any smp architecture/encoder works:
# arch='Unet'|'MAnet'|'FPN'|..., encoder_name='resnet50'|'tu-convnext_tiny'|...
norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
model = dict(
    type='SMPSegmentor',
    arch='DeepLabV3Plus',
    encoder_name='efficientnet-b3',
    encoder_weights='imagenet',  # None for random init, or a local .pth/.safetensors file
    num_classes=19,
    dropout=0.2,
    # size_divisor=None pads each batch to the network's own divisor (16 for DeepLabV3+).
    data_preprocessor=dict(type='SegDataPreProcessor', **norm_cfg, bgr_to_rgb=True,
                           size_divisor=None),
    loss=dict(type='JointLoss', losses=[
        dict(type='FocalLoss', gamma=2.0, ignore_index=255),
        dict(type='DiceLoss', ignore_index=255, loss_weight=1.1),
    ]),
    test_cfg=dict(mode='whole'),  # or mode='slide', crop_size=(h, w), stride=(h, w)
    channels_last=False,  # True: faster convolutions on CPU (oneDNN) and tensor-core GPUs
)
