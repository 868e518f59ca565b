_base_ = './deeplabv3plus_effb3.py'
model = dict(arch='Unet')
