from .curves import load_scalars, plot_series, series
from .drawing import comparison_grid, overlay

__all__ = ['comparison_grid', 'load_scalars', 'overlay', 'plot_series', 'series']
