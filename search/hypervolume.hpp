#pragma once
// Exact hypervolume of a set of objective vectors (minimisation) for 2 and 3 objectives: the
// measure of the region dominated by the set and bounded by a reference point. Used to compare
// fronts (one search against another, joules against pagmo2).

#include <vector>

#include "search/pareto.hpp"

namespace joules {

/// Volume of { z : p <= z <= reference for some p in points }. Points that are not strictly
/// better than the reference in every objective add nothing; dominated and repeated points are
/// allowed. 2 objectives: sort and sweep, O(n log n). 3 objectives: the sweep of Beume, Fonseca,
/// Lopez-Ibanez, Paquete and Vahrenhold (2009), O(n log n). Throws std::invalid_argument for a
/// reference of another length than 2 or 3, a point of another length than the reference, or a
/// NaN or infinite coordinate.
double hypervolume(const ObjectiveMatrix& points, const std::vector<double>& reference);

}  // namespace joules
