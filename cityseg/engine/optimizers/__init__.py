from .amp_optim_wrapper import AmpOptimWrapper
from .encoder_decoder_constructor import EncoderDecoderOptimWrapperConstructor

__all__ = ['AmpOptimWrapper', 'EncoderDecoderOptimWrapperConstructor']
