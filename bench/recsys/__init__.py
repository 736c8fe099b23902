"""Offline and simulated evaluation of Reelm's recommender (``reelm/recommend/ranker.py``).

- :mod:`.data` makes the data: a synthetic population with known tastes, and MovieLens-100K read out of the
  ``recbole`` wheel (cached under ``var/``, never committed).
- :mod:`.metrics` has recall/NDCG/hit rate and the paired bootstrap.
- :mod:`.offline` has the temporal split, the baselines (most-popular, recent-popular, tuned ALS) and the Reelm
  pipeline (ALS vectors, candidate sources, FTRL ranker) evaluated on it.
- :mod:`.realtime` replays the test period event by event to measure what online user updates are worth.
- :mod:`.online` lets simulated users swipe through a For You feed.
"""
