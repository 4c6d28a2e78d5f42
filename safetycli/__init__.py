"""safetycli: on-set firearm and rehearsal safety protocols a crew actually runs."""

__version__ = "0.1.0"
