"""The directory: the little a deployment of several realms must know globally (handles, keyed e-mail hashes, each
account's home realm), in the one database every realm shares. Nothing else about an account is kept here."""
