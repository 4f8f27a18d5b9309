#!/usr/bin/python3
"""Optuna's peers of bench/search_efficiency: NSGAIISampler, TPESampler and MOTPESampler
(Debian's python3-optuna 3.1) replayed on the same tabular benchmark, over the same encoding as joules'
genome (one categorical parameter per gene, inactive genes included, as joules' NSGA-II sees
them).

The bench writes LOOKUP (JSON): {"cardinalities": [...], "genome_member": [member index of
every genome, mixed radix with the last gene fastest], "objectives": [[error, energy_mj] per
member]}. This script prints one JSON line per run: {"sampler", "seed", "members": [member of
every trial, in order]}; the bench prices them with the same hypervolume code as joules' runs.
Every trial counts as an evaluation, a repeated architecture too (in a real search Optuna would
train it again).

Samplers: nsga2 (NSGAIISampler, population_size --population), tpe (TPESampler with
multivariate=True: Optuna 3.1's multi-objective TPE, MOTPE, with the joint sampling Optuna's
documentation recommends) and motpe (MOTPESampler: in 3.1 a deprecated alias of TPESampler with
independent sampling, which solves its hypervolume subset selection again for every parameter:
about 6 s per trial by 400 trials on 15 genes, a hundred times tpe's cost).

  search_efficiency_optuna.py LOOKUP --sampler nsga2|tpe|motpe --seeds 1..20 --trials 400 --population 16
"""
import argparse
import json
import sys
import warnings

import optuna


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("lookup")
    parser.add_argument("--sampler", choices=["nsga2", "tpe", "motpe"], required=True)
    parser.add_argument("--seeds", required=True, help="first..last, e.g. 1..20")
    parser.add_argument("--trials", type=int, required=True)
    parser.add_argument("--population", type=int, default=16)
    args = parser.parse_args()
    with open(args.lookup) as f:
        lookup = json.load(f)
    cardinalities = lookup["cardinalities"]
    genome_member = lookup["genome_member"]
    objectives = lookup["objectives"]
    first, last = (int(s) for s in args.seeds.split(".."))

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore")  # MOTPESampler is deprecated and multivariate experimental in 3.1

    for seed in range(first, last + 1):
        if args.sampler == "nsga2":
            sampler = optuna.samplers.NSGAIISampler(population_size=args.population, seed=seed)
        elif args.sampler == "tpe":
            sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True)
        else:
            sampler = optuna.samplers.MOTPESampler(seed=seed)
        study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
        members = []

        def objective(trial):
            index = 0
            for gene, cardinality in enumerate(cardinalities):
                value = trial.suggest_categorical(f"g{gene}", list(range(cardinality))) if cardinality > 1 else 0
                index = index * cardinality + value
            member = genome_member[index]
            members.append(member)
            return tuple(objectives[member])

        study.optimize(objective, n_trials=args.trials)
        print(json.dumps({"sampler": args.sampler, "seed": seed, "members": members}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
