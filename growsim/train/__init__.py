"""Training, one piece: the loop (`engine`), the one training step (`step`) that a single
run and an ensemble (`ensemble`) share, what is trained on and how it is scored
(`objectives`, `losses`), the loss terms (`regularisers`) and learning-rate schedules
(`schedules`).

Importing the package imports none of them: `from growsim.train.engine import Engine`.
"""
