"""Names of a multi-branch training batch's branches that the data and the model agree on."""
from __future__ import annotations


def partner_branch(branch: str) -> str:
    """The branch holding the mix partner's view of ``branch``.

    With ``MultiSourceSampler(mix_partners=True)`` every unlabelled sample comes with another
    unlabelled sample of its dataset, its mix partner (UniMatch's second unlabelled loader);
    ``MultiSourceDataset`` packs the partner's views (weak, strong...) next to the sample's own
    under these names, so a model can paste the partner's pixels and pseudo-labels into each
    sample even when a batch holds a single unlabelled image.
    """
    return f'{branch}_partner'
