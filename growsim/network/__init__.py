"""The recurrent model: cell dynamics, masked recurrent weights, readout."""

from growsim.network.init import draw_weight
from growsim.network.rnn import ACTIVATIONS, LeakyRNN

__all__ = ["ACTIVATIONS", "LeakyRNN", "draw_weight"]
