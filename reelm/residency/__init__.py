"""Data residency across realms, for operators: what each model holds and where it may go (``reelm realm
classify``), and the realms of a deployment with their accounts (``reelm realm list``)."""
