from .curves import draw_series, load_scalars, plot_series, series
from .drawing import comparison_grid, overlay

__all__ = ['comparison_grid', 'draw_series', 'load_scalars', 'overlay', 'plot_series', 'series']
