// The experiment's plot, drawn by joules' own SVG writer (util/svg_plot): accuracy after
// fine-tuning against estimated energy, one series per board and method. Reads lines
// "GROUP METHOD ENERGY_MJ ACCURACY_MEAN" (GROUP: architecture@board) on stdin, writes the SVG on
// stdout. Built by run.py: g++ -std=c++20 -I. plot.cpp util/svg_plot.cpp -lfmt.

#include <iostream>
#include <map>
#include <string>

#include "util/svg_plot.hpp"

int main() {
  std::map<std::string, joules::PlotSeries> series;
  std::string group, method;
  double energy = 0, mean = 0;
  while (std::cin >> group >> method >> energy >> mean) {
    joules::PlotSeries& s = series[group + " " + method];
    s.label = group + ", " + method;
    s.marker = method == "uniform" ? joules::Marker::cross : joules::Marker::circle;
    s.line = true;
    s.x.push_back(energy);
    s.y.push_back(100 * mean);
  }
  std::vector<joules::PlotSeries> all;
  for (std::size_t i = 0; auto& [key, s] : series) {
    s.color = joules::palette_color(i++ / 2);  // a group's two methods share a colour
    all.push_back(s);
  }
  std::cout << joules::svg_plot({.title = "Step-aware vs uniform filter pruning (mean of 3 fine-tuning seeds)",
                                 .x_label = "estimated energy per inference (mJ)",
                                 .y_label = "validation accuracy after fine-tuning (%)"},
                                all);
}
