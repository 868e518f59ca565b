# A whole network published on the Hugging Face hub (or saved by smp's save_pretrained):
# model.pretrained names it and its config.json supplies arch, encoder, classes and decoder
# arguments, so none are stated here. Leaf configs set model.pretrained and the inference
# settings the checkpoint's authors evaluated with.
norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
model = dict(
    type='SMPSegmentor',
    pretrained=None,  # 'owner/name' on the hub, or a local folder
    data_preprocessor=dict(type='SegDataPreProcessor', **norm_cfg, bgr_to_rgb=True),
    test_cfg=dict(mode='whole'),
)
