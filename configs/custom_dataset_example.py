# Train on your own data: a folder of images and a folder of single-channel 8-bit PNG labels
# (pixel value = class index, 255 = void) mirroring it, e.g.
#   data/my_dataset/images/{train,val}/**/*.jpg
#   data/my_dataset/labels/{train,val}/**/*.png      (same relative path and name stem)
# Edit `classes` and `palette` below, or point everything elsewhere from the command line:
#   python tools/train.py configs/custom_dataset_example.py --cfg-options \
#       train_dataloader.dataset.data_root=/data/mine val_dataloader.dataset.data_root=/data/mine
# An image without a label, a label of another size or with a value that is not a class
# stops the run with the file's name. See "Train on your own data" in README.md.
_base_ = [
    '_base_/models/unet_effb3.py',
    '_base_/schedules/schedule_2k.py',
    '_base_/default_runtime.py',
]
data_root = 'data/my_dataset'
classes = ('background', 'road', 'vehicle', 'person', 'vegetation')
palette = [(0, 0, 0), (128, 64, 128), (0, 0, 142), (220, 20, 60), (107, 142, 35)]
crop_size = (512, 512)  # (height, width)

# One output channel per class. load_config refuses a model.num_classes that differs from a
# dataset's classes, so change both together from the command line.
model = dict(num_classes=len(classes))

folder = dict(type='SegFolderDataset', data_root=data_root, img_suffix='.jpg',
              seg_map_suffix='.png', classes=classes, palette=palette,
              # {value in the files: class index}, e.g. {0: 255, 1: 0, 2: 1} when 0 marks void;
              # empty: the values are the class indices. A dict, so a config inheriting this
              # one sets it as train_dataloader = dict(dataset=dict(label_map={11: 255})).
              label_map=dict(),
              ignore_index=255)
train_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),  # reads class indices for SegFolderDataset
    dict(type='Albu', transforms=[
        dict(type='RandomCrop', height=crop_size[0], width=crop_size[1], pad_if_needed=True),
        dict(type='HorizontalFlip', p=0.5),
        dict(type='RandomBrightnessContrast', brightness_limit=0.2, contrast_limit=0.2, p=0.5),
    ]),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadCityscapesImage'),
    dict(type='LoadCityscapesLabel'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(**folder, img_dir='images/train', ann_dir='labels/train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**folder, img_dir='images/val', ann_dir='labels/val', pipeline=test_pipeline))
test_dataloader = val_dataloader

# The per-class table names the classes above; the pictures use the palette above. No iIoU:
# that needs Cityscapes' instance files (tools/test.py's instance_iou='auto' skips it).
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice'])
test_evaluator = val_evaluator
