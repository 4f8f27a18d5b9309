// bench/nsga2_vs_pagmo: joules' NSGA-II against pagmo2's nsga2 on ZDT1, ZDT2 and ZDT3 with the
// same budget, operators and parameters. For each problem it runs both over the same seeds and
// prints the median hypervolume of each (the final population's non-dominated points, reference
// point (1.1, 1.1), computed by joules' hypervolume() for both), their relative difference, and
// the median wall time per generation of each with their ratio. Goal: joules' median HV >= pagmo2's
// minus 0.5% on every problem (exit status 1 when missed).
//
//   build/bench/nsga2_vs_pagmo [--generations 250] [--seeds 11] [--population 100] [--variables 30]

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <pagmo/algorithm.hpp>
#include <pagmo/algorithms/nsga2.hpp>
#include <pagmo/population.hpp>
#include <pagmo/problem.hpp>
#include <pagmo/problems/zdt.hpp>
#include <pagmo/utils/hypervolume.hpp>

#include "bench/stats.hpp"
#include "search/hypervolume.hpp"
#include "search/nsga2.hpp"
#include "search/pareto.hpp"
#include "search/test_problems.hpp"

namespace {

using joules::ObjectiveMatrix;
using Clock = std::chrono::steady_clock;

const std::vector<double> kReference{1.1, 1.1};

struct BenchOptions {
  std::size_t generations = 250;
  std::size_t seeds = 11;
  std::size_t population = 100;
  std::size_t variables = 30;
};

// pagmo2's nsga2 defaults (cr 0.95, eta_c 10, eta_m 50) with mutation probability 1 / variables,
// for both optimizers.
struct Operators {
  double crossover_probability = 0.95;
  double crossover_distribution_index = 10.0;
  double mutation_distribution_index = 50.0;
};

struct Run {
  double hypervolume = 0.0;
  double seconds_per_generation = 0.0;
  double pagmo_hypervolume = 0.0;  // the same front measured by pagmo2's hypervolume, as a check
};

ObjectiveMatrix non_dominated(const ObjectiveMatrix& points) {
  ObjectiveMatrix front;
  for (const std::size_t i : joules::pareto_front(points)) front.push_back(points[i]);
  return front;
}

Run measure(const ObjectiveMatrix& final_objectives, double seconds, std::size_t generations) {
  const ObjectiveMatrix front = non_dominated(final_objectives);
  ObjectiveMatrix inside;  // pagmo2's hypervolume rejects points outside the reference box
  for (const auto& p : front) {
    if (p[0] < kReference[0] && p[1] < kReference[1]) inside.push_back(p);
  }
  return {joules::hypervolume(front, kReference), seconds / static_cast<double>(generations),
          inside.empty() ? 0.0 : pagmo::hypervolume(inside).compute(kReference)};
}

Run run_joules(int problem_id, const BenchOptions& o, const Operators& ops, std::uint64_t seed) {
  const joules::Zdt problem(problem_id, o.variables,
                            {.crossover_probability = ops.crossover_probability,
                             .crossover_distribution_index = ops.crossover_distribution_index,
                             .mutation_probability = 1.0 / static_cast<double>(o.variables),
                             .mutation_distribution_index = ops.mutation_distribution_index});
  joules::Nsga2<joules::Zdt> optimizer(problem, {.population_size = o.population, .seed = seed});
  optimizer.evolve(0);  // the initial population, outside the timing as in pagmo2
  const auto start = Clock::now();
  optimizer.evolve(o.generations);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return measure(joules::objectives_of(optimizer.population()), seconds, o.generations);
}

Run run_pagmo(int problem_id, const BenchOptions& o, const Operators& ops, std::uint64_t seed) {
  const pagmo::problem problem{pagmo::zdt(static_cast<unsigned>(problem_id), static_cast<unsigned>(o.variables))};
  pagmo::population population{problem, o.population, static_cast<unsigned>(seed)};
  const pagmo::algorithm algorithm{pagmo::nsga2(static_cast<unsigned>(o.generations), ops.crossover_probability,
                                                ops.crossover_distribution_index,
                                                1.0 / static_cast<double>(o.variables), ops.mutation_distribution_index,
                                                static_cast<unsigned>(seed))};
  const auto start = Clock::now();
  population = algorithm.evolve(population);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return measure(population.get_f(), seconds, o.generations);
}

using joules::bench::median;

}  // namespace

int main(int argc, char** argv) {
  BenchOptions o;
  CLI::App app{"joules' NSGA-II against pagmo2's on ZDT1-3"};
  app.add_option("--generations", o.generations, "Generations after the initial population")->check(CLI::PositiveNumber);
  app.add_option("--seeds", o.seeds, "Seeds 1..N, the same for both")->check(CLI::PositiveNumber);
  app.add_option("--population", o.population, "Population size (a multiple of 4, as pagmo2 requires)")
      ->check(CLI::PositiveNumber);
  app.add_option("--variables", o.variables, "Decision variables")->check(CLI::Range(2, 1000));
  CLI11_PARSE(app, argc, argv);
  if (o.population < 8 || o.population % 4 != 0) {
    fmt::print(stderr, "error: --population: {} is not a multiple of 4 of at least 8 (pagmo2's nsga2 needs one)\n",
               o.population);
    return 2;
  }
  const Operators ops;
  fmt::print("NSGA-II, joules vs pagmo2 {}.{}.{}: ZDT1-3, {} variables, population {}, {} generations, {} seeds\n",
             PAGMO_VERSION_MAJOR, PAGMO_VERSION_MINOR, PAGMO_VERSION_PATCH, o.variables, o.population, o.generations,
             o.seeds);
  fmt::print("operators (both): SBX cr {} eta_c {}, polynomial mutation m 1/{} eta_m {}; HV reference ({}, {})\n\n",
             ops.crossover_probability, ops.crossover_distribution_index, o.variables,
             ops.mutation_distribution_index, kReference[0], kReference[1]);
  fmt::print("{:<7} {:>10} {:>10} {:>10} {:>9} {:>6} {:>12} {:>12} {:>10}\n", "problem", "true HV", "joules HV",
             "pagmo2 HV", "HV diff", "goal", "joules ms/g", "pagmo2 ms/g", "time ratio");

  bool all_met = true;
  double worst_hv_check = 0.0;  // largest |joules' HV - pagmo2's HV| of one front
  for (const int id : {1, 2, 3}) {
    std::vector<double> hv_joules, hv_pagmo, time_joules, time_pagmo;
    for (std::uint64_t seed = 1; seed <= o.seeds; ++seed) {
      // Alternate which runs first, so that machine noise does not favour one of them.
      Run j, p;
      if (seed % 2 == 1) {
        j = run_joules(id, o, ops, seed);
        p = run_pagmo(id, o, ops, seed);
      } else {
        p = run_pagmo(id, o, ops, seed);
        j = run_joules(id, o, ops, seed);
      }
      for (const Run& r : {j, p}) worst_hv_check = std::max(worst_hv_check, std::abs(r.hypervolume - r.pagmo_hypervolume));
      hv_joules.push_back(j.hypervolume);
      hv_pagmo.push_back(p.hypervolume);
      time_joules.push_back(j.seconds_per_generation);
      time_pagmo.push_back(p.seconds_per_generation);
    }
    const joules::Zdt problem(id, o.variables);
    const double truth = joules::hypervolume(problem.true_front(100001), kReference);
    const double mj = median(hv_joules);
    const double mp = median(hv_pagmo);
    const double diff = mj / mp - 1.0;
    const bool met = diff >= -0.005;
    all_met = all_met && met;
    fmt::print("ZDT{:<4} {:>10.5f} {:>10.5f} {:>10.5f} {:>+8.3f}% {:>6} {:>12.4f} {:>12.4f} {:>10.2f}\n", id, truth, mj,
               mp, 100.0 * diff, met ? "met" : "MISSED", 1e3 * median(time_joules), 1e3 * median(time_pagmo),
               median(time_joules) / median(time_pagmo));
  }
  fmt::print("\nHV: median over seeds of the final population's non-dominated points; HV diff = joules / pagmo2 - 1 "
             "(goal >= -0.5%).\n");
  fmt::print("time ratio = joules / pagmo2 median wall time per generation (evaluations included; < 1: joules "
             "faster).\n");
  fmt::print("check: joules' and pagmo2's hypervolume of the same fronts differ by at most {:.2e}\n", worst_hv_check);
  return all_met ? 0 : 1;
}
