# The schedule of the CamVid semi-supervised (configs/semi/*camvid*) and day -> dusk
# (configs/uda/*camvid*) comparisons: the recipe's optimiser, warm-up and poly decay
# (./camvid_cpu-60min.py) over 1000 iterations, validation every 250. Each method and its
# baseline run the same iterations and labelled frames per batch (not the same wall time: a
# self-training step also runs the teacher and the student on the unlabelled views). The
# self-training configs start with a supervised burn-in (model.semi_cfg.burn_in).
_base_ = ['./camvid_cpu-60min.py']
train_cfg = dict(max_iters=1000, val_interval=250)
