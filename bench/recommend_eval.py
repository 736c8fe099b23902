"""Evaluate Reelm's recommender (``reelm/recommend/ranker.py``) offline and in simulation. No Django needed.

1. Offline replay on a temporal split, on a synthetic population with known tastes and on MovieLens-100K:
   recall@50 and NDCG@10 with paired-bootstrap 95% CIs over test users, against most-popular, recent-popular
   (last 14 days) and an ALS tuned on a validation split carved from the training period.
2. Real-time value: next-event replay vs the same vectors frozen for a day (hit rate@10 and the ratio).
   ``--only-realtime`` runs just this (and the ALS tuning it needs); ``--realtime-grid`` adds the replay of the
   validation period for a grid of update constants; ``--user-rate``/``--label-baseline`` measure a proposed change
   to ranker.py's user update (replay and simulation) without editing ranker.py.
3. Online simulation: synthetic users swipe through For You vs a recent-popular feed.

MovieLens-100K comes out of the ``recbole==1.2.1`` wheel, downloaded once with the venv's pip into
``var/bench-cache/`` (gitignored: the data's licence forbids redistributing it).

Run it with the project's interpreter:  .venv/bin/python bench/recommend_eval.py [--quick] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit warns (and slows down) with threaded BLAS

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import numpy as np  # noqa: E402
from recsys import data, offline, online  # noqa: E402
from recsys.experiment import (  # noqa: E402
    GRID_BASELINES,
    GRID_RATES,
    REELM,
    VARIANTS,
    Offline,
    Realtime,
    replay_grid,
    run_offline,
    run_realtime,
    run_replay,
)
from recsys.realtime import ReplayResult  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402

from reelm.recommend import ranker as rm  # noqa: E402

console = Console(width=150)
RESULTS = REPO / "var" / "bench-results" / "recommend_eval.json"
RATIO_TARGET = 1.2


@dataclass(frozen=True)
class Plan:
    synthetic: data.SyntheticConfig
    test_days: int
    als_grid: dict[str, list[float]]
    reelm_grid: dict[str, list[float]]
    max_users: int
    draws: int
    sim_users: int
    sim_new_users: int
    sim_sessions: int
    variants: tuple[str, ...] = tuple(VARIANTS)


QUICK = Plan(
    synthetic=data.SyntheticConfig(users=400, creators=100, videos=1500, days=28),
    test_days=3,
    als_grid={"factors": [32, 64], "regularization": [0.05, 1.0], "iterations": [15], "alpha": [5.0, 20.0]},
    reelm_grid={"factors": [rm.DIM], "regularization": [0.05, 1.0], "iterations": [15], "alpha": [20.0]},
    max_users=300,
    draws=300,
    sim_users=30,
    sim_new_users=15,
    sim_sessions=3,
    variants=("features() without recent", "features()"),
)
FULL = Plan(
    synthetic=data.SyntheticConfig(),
    test_days=3,
    als_grid={
        "factors": [32, 64, 128],
        "regularization": [0.01, 0.1, 1.0],
        "iterations": [15],
        "alpha": [5.0, 20.0, 40.0],
    },
    reelm_grid={
        "factors": [rm.DIM],
        "regularization": [0.01, 0.1, 1.0],
        "iterations": [15],
        "alpha": [5.0, 20.0, 40.0],
    },
    max_users=800,
    draws=1000,
    sim_users=200,
    sim_new_users=100,
    sim_sessions=6,
)


def progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )


def cutoffs(ds: data.Dataset, plan: Plan) -> tuple[float, float]:
    """(test cutoff, validation cutoff). Synthetic: the last ``test_days`` are the test period, the days before
    them the validation period. MovieLens: split at the 80% quantile of rating times (test: the last fifth),
    validate on the fifth before it."""
    if ds.truth is not None:
        cutoff = (plan.synthetic.days - plan.test_days) * data.DAY
        return cutoff, cutoff - plan.test_days * data.DAY
    cutoff = float(np.quantile(ds.log.time, 0.8))
    return cutoff, float(np.quantile(ds.log.time[ds.log.time < cutoff], 0.8))


def _offline(ds: data.Dataset, plan: Plan, seed: int, update: dict) -> tuple[Offline, ReplayResult]:
    cutoff, val_cutoff = cutoffs(ds, plan)
    fits = int(np.prod([len(v) for v in plan.als_grid.values()]) + np.prod([len(v) for v in plan.reelm_grid.values()]))
    with progress() as bar:
        task = bar.add_task(f"{ds.name}: offline", total=fits + 4)

        def step(what: str) -> None:
            bar.update(task, advance=1, description=f"{ds.name}: {what}")

        off = run_offline(
            ds,
            cutoff=cutoff,
            val_cutoff=val_cutoff,
            als_grid=plan.als_grid,
            reelm_grid=plan.reelm_grid,
            max_users=plan.max_users,
            draws=plan.draws,
            variants=plan.variants,
            step=step,
            seed=seed,
        )
        bar.update(task, description=f"{ds.name}: real-time replay")
        replay = run_replay(ds, off, **update)
        bar.update(task, completed=fits + 4)
    return off, replay


def _realtime(ds: data.Dataset, plan: Plan, seed: int, update: dict) -> tuple[Realtime, ReplayResult]:
    """``--only-realtime``: the same test users and vectors as the full run's replay, none of the rest."""
    cutoff, val_cutoff = cutoffs(ds, plan)
    fits = int(np.prod([len(v) for v in plan.reelm_grid.values()]))
    with progress() as bar:
        task = bar.add_task(f"{ds.name}: vectors", total=fits + 2)

        def step(what: str) -> None:
            bar.update(task, advance=1, description=f"{ds.name}: {what}")

        rt = run_realtime(
            ds, cutoff=cutoff, val_cutoff=val_cutoff, reelm_grid=plan.reelm_grid, max_users=plan.max_users, seed=seed,
            step=step,
        )  # fmt: skip
        bar.update(task, description=f"{ds.name}: real-time replay")
        replay = run_replay(ds, rt, **update)
        bar.update(task, completed=fits + 2)
    return rt, replay


def grid(ds: data.Dataset, off: Offline | Realtime) -> dict:
    with progress() as bar:
        task = bar.add_task(
            f"{ds.name}: real-time grid (validation period)", total=len(GRID_RATES) * len(GRID_BASELINES)
        )
        return replay_grid(ds, off, step=lambda: bar.advance(task))


def simulate(ds: data.Dataset, off: Offline, plan: Plan, seed: int, update: dict, start: str) -> online.SimResult:
    """Start from everything logged (state, ALS vectors refitted on the whole log, the offline Ranker)."""
    now = float(ds.log.time.max()) + 1
    base = offline.State(ds, ds.log, now)
    vectors = offline.complete_vectors(base, *offline.reelm_als(ds.log, ds, off.reelm_als))
    saved = off.ranker.dump()

    def make() -> tuple[offline.State, offline.Pipeline, rm.Ranker]:
        state = offline.State(ds, ds.log, now)
        pipe = offline.Pipeline(
            state,
            offline.Vectors(vectors.users.copy(), vectors.items),
            per_source=60,
            seed=seed,
            **VARIANTS[off.variant],  # the Ranker set-up chosen offline
        )
        pipe.blend = off.blend  # and the blend weight chosen with it
        return state, pipe, rm.Ranker.load(saved)

    rng = np.random.default_rng(seed)
    active = np.unique(ds.log.user)
    chosen = rng.choice(active, plan.sim_users + plan.sim_new_users, replace=False)
    with progress() as bar:
        task = bar.add_task("online simulation", total=len(online.FEEDS) * plan.sim_sessions)
        return online.simulate(
            ds,
            make,
            chosen[: plan.sim_users],
            chosen[plan.sim_users :],
            sessions=plan.sim_sessions,
            seed=seed,
            step=lambda: bar.advance(task),
            start=start,
            **update,
        )


# --- reporting --------------------------------------------------------------------------------------------------


def offline_table(off: Offline) -> Table:
    strongest = off.strongest_baseline()
    table = Table(
        title=f"{off.dataset}: offline replay, {len(off.split.users)} test users (95% bootstrap CIs)",
        caption=f"Reelm = variant '{off.variant}' with blend weight {off.blend:g}, chosen among the product's set-ups "
        "on held-out validation users (2-fold; each set-up at its best weight): "
        + ", ".join(f"{k} {v:.4f}" for k, v in off.variant_val.items()),
    )
    for col in ("model", "recall@50", "NDCG@10", f"ΔNDCG@10 vs {strongest}"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for name in off.scores:
        delta = str(_diff(off, name, strongest)) if name.startswith((REELM, "not in the product")) else ""
        table.add_row(name, str(off.interval(name, "recall@50")), str(off.interval(name, "ndcg@10")), delta)
    return table


def _diff(off: Offline, model: str, other: str):  # type: ignore[no-untyped-def]
    from recsys.metrics import paired_bootstrap

    return paired_bootstrap(off.scores[model]["ndcg@10"], off.scores[other]["ndcg@10"], draws=off.draws)


def replay_table(rows: list[tuple[str, ReplayResult]], update: str) -> Table:
    table = Table(
        title="Real-time value: hit rate@10 of the next completion (cosine retrieval)",
        caption=f"user update: {update}. Median rank: of the completed item among the catalogue of that moment "
        "(0 = first). Log-rank gain: mean log1p(frozen rank) − log1p(next-event rank), > 0 when updating helps.",
    )
    columns = ("data set", "completions", "next-event", "frozen for a day", "ratio [95% CI]", f"≥ {RATIO_TARGET}×")
    for col in (*columns, "median rank (next-event / frozen)", "log-rank gain"):
        table.add_column(col, justify="right")
    for name, r in rows:
        ratio = r.ratio()
        table.add_row(
            name,
            str(int(r.trials.sum())),
            f"{r.rate('next-event'):.4f}",
            f"{r.rate('frozen'):.4f}",
            str(ratio),
            "yes" if ratio.mean >= RATIO_TARGET else "no",
            f"{r.median_rank('next-event'):.0f} / {r.median_rank('frozen'):.0f}",
            f"{r.log_rank_gain():+.3f}",
        )
    return table


def grid_table(name: str, results: dict[tuple[float, float], ReplayResult]) -> Table:
    table = Table(
        title=f"{name}: real-time replay of the VALIDATION period for other user-update constants",
        caption="rate = USER_RATE, baseline = LABEL_BASELINE (ranker.py: "
        f"{rm.USER_RATE:g}, {rm.LABEL_BASELINE:g}); vectors fitted before the validation cutoff; hits next-event / "
        "frozen",
    )
    for col in ("rate", "baseline", "completions", "hits", "ratio [95% CI]", "log-rank gain"):
        table.add_column(col, justify="right")
    for (rate, baseline), r in results.items():
        table.add_row(
            f"{rate:g}",
            f"{baseline:g}",
            str(int(r.trials.sum())),
            f"{int(r.hits['next-event'].sum())} / {int(r.hits['frozen'].sum())}",
            str(r.ratio()),
            f"{r.log_rank_gain():+.3f}",
        )
    return table


def replay_summary(replay: ReplayResult) -> dict:
    return {
        "next_event": replay.rate("next-event"),
        "frozen": replay.rate("frozen"),
        "ratio": asdict(replay.ratio()),
        "completions": int(replay.trials.sum()),
        "hits": {k: int(v.sum()) for k, v in replay.hits.items()},
        "median_rank": {k: replay.median_rank(k) for k in replay.ranks},
        "log_rank_gain": replay.log_rank_gain(),
    }


def sim_table(sim: online.SimResult) -> Table:
    from recsys.metrics import bootstrap, paired_bootstrap

    table = Table(
        title=f"Online simulation: {sim.pages} pages of {online.PAGE} swipes per user; new accounts start: {sim.start}"
    )
    columns = (
        "feed", "watch hours / user", "new users' hours", "swipes until new users match", "new-user curve",
        "returning users",
    )  # fmt: skip
    for col in (*columns, "new-creator share"):
        table.add_column(col, justify="right")
    for feed, hours in sim.watch_hours.items():
        swipes = sim.swipes_to_match(feed)
        table.add_row(
            feed,
            str(bootstrap(hours)),
            str(bootstrap(sim.new_user_hours(feed))),
            f"{swipes:.0f}" if np.isfinite(swipes) else "never",
            " ".join(f"{x:.2f}" for x in sim.new_user_curve[feed]),
            f"{sim.returning_curve[feed].mean():.2f}",
            f"{sim.new_creator_share[feed]:.1%}",
        )
    diff = paired_bootstrap(sim.watch_hours["Reelm"], sim.watch_hours["recent-popular"])
    live = sim.watch_hours["Reelm"].sum() / sim.watch_hours["Reelm, frozen"].sum()
    table.caption = (
        f"watch hours, Reelm − recent-popular (paired over users): {diff}; Reelm / Reelm frozen: {live:.3f}×; "
        f"new-user curve: each page's mean true affinity / the oracle page's, mean over new users (returning users: "
        f"the same over all their pages); new users match from the first page where their curve reaches "
        f"{online.MATCH:.0%} of the returning users' figure"
    )
    return table


def summary(off: Offline, replay: ReplayResult) -> dict:
    return {
        "users": len(off.split.users),
        "strongest_baseline": off.strongest_baseline(),
        "metrics": {name: {m: asdict(off.interval(name, m)) for m in ("recall@50", "ndcg@10")} for name in off.scores},
        "delta_ndcg": asdict(off.difference("ndcg@10")),
        "variant": off.variant,
        "variant_val_ndcg": off.variant_val,
        "blend": off.blend,
        "als": asdict(off.als),
        "reelm_als": asdict(off.reelm_als),
        "als_tried": [(asdict(p), s) for p, s in off.als_tried],
        "reelm_tried": [(asdict(p), s) for p, s in off.reelm_tried],
        "replay": replay_summary(replay),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-movielens", action="store_true", help="synthetic only (no download)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the results as JSON")
    parser.add_argument(
        "--only-realtime",
        action="store_true",
        help="only the real-time replay (and the Reelm ALS tuning it needs; the same numbers as a full run's): "
        "about a minute at full size",
    )
    parser.add_argument(
        "--realtime-grid",
        action="store_true",
        help="also replay the validation period for a grid of user-update rates and baselines (where a change to "
        "ranker.py's constants may be chosen without looking at the test period)",
    )
    parser.add_argument(
        "--user-rate",
        type=float,
        help=f"measure a proposed USER_RATE (ranker.py: {rm.USER_RATE}); replay and simulation",
    )
    parser.add_argument(
        "--label-baseline",
        type=float,
        help=f"measure a proposed LABEL_BASELINE (ranker.py: {rm.LABEL_BASELINE}); replay and simulation",
    )
    parser.add_argument(
        "--new-user-start",
        choices=online.STARTS,
        default="popular",
        help="where the simulation's new accounts' first vector update starts (default: popular, as the product's "
        "services.learn)",
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    plan = Plan(
        **{**plan.__dict__, "synthetic": data.SyntheticConfig(**{**plan.synthetic.__dict__, "seed": args.seed})}
    )
    update = {"rate": args.user_rate, "baseline": args.label_baseline}
    proposed = args.user_rate is not None or args.label_baseline is not None
    update_text = (
        f"rate {rm.USER_RATE if args.user_rate is None else args.user_rate:g}, baseline "
        f"{rm.LABEL_BASELINE if args.label_baseline is None else args.label_baseline:g}"
        + (" (PROPOSED, not ranker.py's)" if proposed else " (ranker.py's)")
    )
    started = time.monotonic()
    console.print(
        f"[bold]Reelm recommender evaluation[/] ({'quick' if args.quick else 'full'}"
        f"{', real-time only' if args.only_realtime else ''}, seed {args.seed}; "
        f"ranker.py: USER_RATE={rm.USER_RATE}, LABEL_BASELINE={rm.LABEL_BASELINE}, SCALE={rm.SCALE}, DIM={rm.DIM}"
        f"{'; user update measured: ' + update_text if proposed else ''})"
    )
    with console.status("generating the synthetic population"):
        synthetic = data.synthetic(plan.synthetic)
    console.print(f"synthetic: {synthetic.n_users} users, {synthetic.n_items} videos, {len(synthetic.log)} impressions")
    datasets = [synthetic]
    if not args.skip_movielens:
        with console.status("reading MovieLens-100K out of the recbole wheel"):
            datasets.append(data.movielens())
    tables, results, replays = [], {}, []
    grids: list[Table] = []
    syn_off: Offline | None = None
    for ds in datasets:
        if args.only_realtime:
            off: Offline | Realtime
            off, replay = _realtime(ds, plan, args.seed, update)
            results[ds.name] = {"users": len(off.split.users), "reelm_als": asdict(off.reelm_als)}
            results[ds.name]["replay"] = replay_summary(replay)
        else:
            off, replay = _offline(ds, plan, args.seed, update)
            tables.append(offline_table(off))
            results[ds.name] = summary(off, replay)
            syn_off = off if ds is synthetic else syn_off
        replays.append((ds.name, replay))
        if args.realtime_grid:
            found = grid(ds, off)
            grids.append(grid_table(ds.name, found))
            results[ds.name]["replay_grid_validation"] = [
                {"rate": rate, "baseline": baseline, **replay_summary(r)} for (rate, baseline), r in found.items()
            ]
    tables += [replay_table(replays, update_text), *grids]
    if syn_off is not None:
        sim = simulate(synthetic, syn_off, plan, args.seed, update, args.new_user_start)
        results["simulation"] = {
            "watch_hours": {k: float(v.mean()) for k, v in sim.watch_hours.items()},
            "new_user_watch_hours": {k: float(sim.new_user_hours(k).mean()) for k in sim.watch_hours},
            "new_user_start": sim.start,
            "new_creator_share": sim.new_creator_share,
            "swipes_to_match": {k: s if np.isfinite(s := sim.swipes_to_match(k)) else None for k in sim.watch_hours},
            "new_user_curve": {k: v.tolist() for k, v in sim.new_user_curve.items()},
            "returning_curve": {k: v.tolist() for k, v in sim.returning_curve.items()},
        }
        tables.append(sim_table(sim))
    for table in tables:
        console.print(table)
    elapsed = time.monotonic() - started
    console.print(f"finished in {elapsed:.0f} s")
    results["elapsed_s"] = elapsed
    results["constants"] = {
        "USER_RATE": rm.USER_RATE,
        "LABEL_BASELINE": rm.LABEL_BASELINE,
        "SCALE": rm.SCALE,
        "DIM": rm.DIM,
    }
    results["user_update_measured"] = {
        "rate": args.user_rate if proposed else None,
        "baseline": args.label_baseline if proposed else None,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=float))
    console.print(f"results written to {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")
    return results


if __name__ == "__main__":
    main()
