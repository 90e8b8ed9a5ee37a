"""What the engine and the growth operations may ask of any network: a small Protocol.

The engine never tells network kinds apart; a LeakyRNN and a ChainRNN both answer these,
and a network of a user's own that answers them trains in the same loop.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Network(Protocol):
    def outputs(self, x: Any, *, generator: Any = None) -> Any:
        """What training reads of a batch's inputs `x` (a tensor): the outputs the objective's
        loss scores, with the network's noise drawn from the torch generator `generator`."""

    def weights(self) -> dict[str, np.ndarray]:
        """The arrays of a snapshot (numpy, on the host)."""

    def final_weights(self) -> dict[str, np.ndarray]:
        """The arrays of the run file's /final: the weights and whatever only the end keeps."""

    def sizes(self) -> dict[str, float]:
        """Its size, logged at every evaluation and with every growth event (synapses,
        modules, trainable parameters: whatever the kind of network has)."""

    def constrain(self) -> None:
        """Project the parameters back onto their constraints after an optimizer step (Dale's
        law's signs); nothing for an unconstrained network."""

    def structure(self) -> dict[str, Any] | None:
        """The JSON-able shape a checkpoint's weights need (None when the shape is fixed)."""

    def grow_to(self, structure: dict[str, Any], rng: np.random.Generator) -> None:
        """Take `structure`'s shape, so that a checkpoint of it loads."""
