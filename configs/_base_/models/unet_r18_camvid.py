# U-Net / ResNet-18 from scratch (no download) for CamVid's 11 classes, sized for a CPU: the
# recipe (configs/camvid/), the semi-supervised and the day -> dusk configs all train this
# network. Narrower decoder than smp's default (256, 128, 64, 32, 16): 8.7 instead of 11.0
# GFLOPs per 256x256 image (torch.utils.flop_counter, forward), the encoder (4.7) unchanged.
# Any smp architecture works the same way: model.arch=FPN|Linknet|..., model.encoder_name=...
# (model_kwargs holds U-Net's decoder_channels: drop it for another architecture).
model = dict(
    type='SMPSegmentor',
    arch='Unet',
    encoder_name='resnet18',
    encoder_weights=None,
    num_classes=11,
    dropout=0.1,
    model_kwargs=dict(decoder_channels=(128, 64, 48, 32, 16)),
    # ImageNet mean/std, BGR -> RGB (SegDataPreProcessor's defaults); padded to the network's
    # divisor (32): 360x480 validation images become 384x480, the prediction is cropped back.
    data_preprocessor=dict(type='SegDataPreProcessor', bgr_to_rgb=True, size_divisor=None),
    # focal + dice; the focal term's class weights come from ClassWeightHook
    loss=dict(type='JointLoss', losses=[
        dict(type='FocalLoss', gamma=2.0, ignore_index=255),
        dict(type='DiceLoss', ignore_index=255, loss_weight=1.0),
    ]),
    test_cfg=dict(mode='whole'),
    channels_last=True,  # oneDNN's faster convolutions on CPU
)
