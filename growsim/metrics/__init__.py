"""Network metrics of growsim's recurrent weight matrices.

Depends on numpy, scipy and networkx only.
"""

from .modularity import METHODS, ModularityResult, communities, modularity_matrix, modularity_q

__all__ = ["METHODS", "ModularityResult", "communities", "modularity_matrix", "modularity_q"]
