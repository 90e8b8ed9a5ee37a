"""The recurrent model: cell dynamics, masked recurrent weights, readout; neuron swaps."""

from growsim.network.chain import ChainRNN
from growsim.network.init import draw_weight
from growsim.network.protocol import Network
from growsim.network.rnn import ACTIVATIONS, LeakyRNN, stacked_rates
from growsim.network.swap import best_swaps, compose_swaps, permutation_for_swap, permute_neurons, swap_cost_deltas

__all__ = [
    "ACTIVATIONS",
    "ChainRNN",
    "LeakyRNN",
    "Network",
    "best_swaps",
    "compose_swaps",
    "draw_weight",
    "permutation_for_swap",
    "permute_neurons",
    "stacked_rates",
    "swap_cost_deltas",
]
