# SegFormer (smp's Segformer: Mix Transformer encoder + all-MLP decoder) as mmsegmentation
# builds it in configs/_base_/models/segformer_mit-b0.py: decoder width 256, Dropout2d(0.1) in
# front of the classifier, cross-entropy (FocalLoss with gamma=0 is exactly cross-entropy),
# ImageNet mean/std on RGB, and the sliding-window evaluation of its Cityscapes configs
# (1024x1024 windows, stride 768, on the full 1024x2048 image).
norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
model = dict(
    type='SMPSegmentor',
    arch='Segformer',
    encoder_name='mit_b0',
    encoder_weights='imagenet',  # smp's ImageNet-1k MiT weights (downloaded once)
    num_classes=19,
    dropout=0.1,
    model_kwargs=dict(decoder_segmentation_channels=256),
    data_preprocessor=dict(type='SegDataPreProcessor', **norm_cfg, bgr_to_rgb=True),
    loss=dict(type='JointLoss', losses=[
        dict(type='FocalLoss', gamma=0.0, ignore_index=255, loss_name='loss_ce')]),
    test_cfg=dict(mode='slide', crop_size=(1024, 1024), stride=(768, 768)),
)
