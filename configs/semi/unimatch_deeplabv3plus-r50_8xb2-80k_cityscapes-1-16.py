# UniMatch, Cityscapes 1/16 (186 labelled images), DeepLabV3+ ResNet-50: published val mIoU
# 75.0 (supervised only: 63.3); 1/8 76.8, 1/4 77.5, 1/2 78.6 in the sibling configs.
#   Yang et al., "Revisiting Weak-to-Strong Consistency in Semi-Supervised Semantic
#   Segmentation" (UniMatch), CVPR 2023; recipe from LiheYoung/UniMatch configs/cityscapes.yaml.
# Recipe: 769x769 crops; per GPU 1 labelled + 1 unlabelled image, 8 GPUs; SGD lr 0.005
# (momentum 0.9, weight decay 1e-4), poly 0.9, 240 epochs of the unlabelled set (here
# 2789 / 8 x 240 ~ 84k iterations); threshold 0.95; two strong views with CutMix (p 0.5);
# feature perturbation Dropout2d(0.5); loss = (sup + 0.25 s1 + 0.25 s2 + 0.5 fp) / 2; ResNet-50
# output stride 8, ASPP rates 12/24/36, ImageNet weights; SyncBN across the GPUs.
# Differences: smp's DeepLabV3+ (its decoder differs in detail from UniMatch's); cityseg's focal
# + dice loss for the labelled images (UniMatch: OHEM cross-entropy, thresh 0.7, min_kept 1e5);
# an EMA teacher with decay 0 that pseudo-labels in eval mode (UniMatch: the student itself, in
# train mode with SyncBN statistics of the batch; the mix partners' labels in eval mode); the
# student's forward passes are separate for the labelled, each strong and the perturbed
# batch (UniMatch: labelled + weak together, the two strong views together); the
# mix partner is another unlabelled image (UniMatch's second loader replays the first's order:
# another crop of the same image); the labelled subset by fraction + seed unless
# --cfg-options train_dataloader.dataset.split_file=.../UniMatch/splits/cityscapes/1_16/labeled.txt
# (UniMatch's published split; the rest of train is the unlabelled set, as its unlabeled.txt);
# UniMatch's random scale (0.5-2.0) becomes albumentations' RandomScale; whole-image
# evaluation at 1024x2048 (UniMatch: sliding 769 windows).
#   python tools/train.py configs/semi/unimatch_deeplabv3plus-r50_8xb2-80k_cityscapes-1-16.py
_base_ = [
    '../_base_/datasets/cityscapes.py',
    '../_base_/schedules/schedule_2k.py',
    '../_base_/default_runtime.py',
]
crop_size = (769, 769)
branch_field = ['sup', 'unsup_weak', 'unsup_strong', 'unsup_strong2']
geometric = dict(type='Albu', transforms=[
    dict(type='RandomScale', scale_limit=(-0.5, 1.0), p=1.0),
    dict(type='RandomCrop', height=crop_size[0], width=crop_size[1], pad_if_needed=True),
    dict(type='HorizontalFlip', p=0.5),
])
strong = dict(type='Albu', transforms=[
    dict(type='ColorJitter', brightness=0.5, contrast=0.5, saturation=0.5, hue=0.25, p=0.8),
    dict(type='ToGray', p=0.2),
    dict(type='GaussianBlur', sigma_limit=(0.1, 2.0), p=0.5),
])
labelled_pipeline = [dict(type='LoadCityscapesImage'), dict(type='LoadCityscapesLabel'),
                     geometric,
                     dict(type='MultiBranch', branch_field=branch_field,
                          sup=[dict(type='PackSegInputs')])]
unlabelled_pipeline = [dict(type='LoadCityscapesImage'), geometric,
                       dict(type='MultiBranch', branch_field=branch_field,
                            unsup_weak=[dict(type='PackSegInputs')],
                            unsup_strong=[strong, dict(type='PackSegInputs')],
                            unsup_strong2=[strong, dict(type='PackSegInputs')])]
train_dataloader = dict(
    _delete_=True, batch_size=2, num_workers=4, persistent_workers=True,
    sampler=dict(type='MultiSourceSampler', source_ratio=[1, 1], mix_partners=True),
    dataset=dict(
        type='SemiSplitDataset', fraction=1 / 16, seed=0, split_file=None,
        labelled=dict(type='CityscapesDataset', data_root={{_base_.data_root}}, split='train',
                      pipeline=labelled_pipeline),
        unlabelled=dict(type='CityscapesDataset', data_root={{_base_.data_root}},
                        split='train', with_labels=False, pipeline=unlabelled_pipeline)))
model = dict(
    type='UniMatch',
    student=dict(type='SMPSegmentor', arch='DeepLabV3Plus', encoder_name='resnet50',
                 encoder_weights='imagenet', num_classes=19,
                 model_kwargs=dict(encoder_output_stride=8,
                                   decoder_atrous_rates=(12, 24, 36))),
    semi_cfg=dict(predict_on='student'),
)
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.005, momentum=0.9, weight_decay=1e-4))
train_cfg = dict(max_iters=84000, val_interval=4000)
default_hooks = dict(checkpoint=dict(interval=4000, max_keep_ckpts=2))
custom_hooks = [dict(type='MeanTeacherHook', decay=0.0, warmup=False)]
sync_bn = 'torch'  # BatchNorm statistics over all GPUs' batches, as UniMatch (CUDA only)
