// The percentile plot (see plot.h).
#include "bench/plot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace ordergate::bench {
namespace {

double PercentileUs(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return static_cast<double>(sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)]) /
         1000.0;
}

// A gnuplot single-quoted string: nothing is special inside but the quote, written twice.
std::string GnuplotQuoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
  return out;
}

// Runs `gnuplot script` with stdin from /dev/null and waits. No shell: argv goes to execve as is.
bool RunGnuplot(const std::string& script, std::string* err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::string arg0 = "gnuplot";
  std::string arg1 = script;
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    *err = absl::StrCat("cannot run gnuplot (", std::strerror(rc), "); the data files and ", script,
                        " are written");
    return false;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      *err = absl::StrCat("waitpid(gnuplot): ", std::strerror(errno));
      return false;
    }
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *err = absl::StrCat("gnuplot ", script, " failed (",
                        WIFEXITED(status) ? absl::StrCat("exit ", WEXITSTATUS(status))
                                          : absl::StrCat("signal ", WTERMSIG(status)),
                        ")");
    return false;
  }
  return true;
}

}  // namespace

bool WritePlot(const std::string& png, const std::string& title,
               const std::vector<PlotSeries>& series, std::string* err) {
  std::string stem = png;
  if (stem.size() > 4 && stem.substr(stem.size() - 4) == ".png") stem.resize(stem.size() - 4);
  std::string plot_cmds;
  int color = 0;
  for (const PlotSeries& s : series) {
    ++color;  // a series keeps its colour whether or not it is drawn
    if (s.sorted_ns == nullptr || s.sorted_ns->empty()) continue;
    const std::vector<int64_t>& l = *s.sorted_ns;
    const std::string dat = stem + "-" + s.file_key + ".dat";
    std::ofstream out(dat);
    out << "# percentile_x=1/(1-q)  q  latency_us   (" << s.title << ")\n";
    const double n = static_cast<double>(l.size());
    for (double e = 0; e <= std::log10(n) + 1e-9; e += 0.02) {
      const double x = std::pow(10.0, e);
      const double q = 1.0 - 1.0 / x;
      out << x << " " << q << " " << PercentileUs(l, q) << "\n";
    }
    out << n << " 1 " << static_cast<double>(l.back()) / 1000.0 << "\n";
    if (!out) {
      *err = "cannot write " + dat;
      return false;
    }
    if (!plot_cmds.empty()) plot_cmds += ", \\\n     ";
    plot_cmds += absl::StrCat(GnuplotQuoted(dat), " using 1:3 with lines linewidth 2 linecolor ",
                              (color + 1) / 2, " dashtype ", s.filled ? 1 : 2, " title ",
                              GnuplotQuoted(s.title));
  }
  if (plot_cmds.empty()) {
    *err = "no latencies to plot";
    return false;
  }
  const std::string gp = stem + ".gp";
  std::ofstream g(gp);
  // noenhanced: error codes such as GATEWAY_BUSY are text, not subscripts.
  g << "set terminal pngcairo size 1000,720 noenhanced font 'DejaVu Sans,11'\n"
    << "set output " << GnuplotQuoted(png) << "\n"
    << "set title " << GnuplotQuoted(title) << "\n"
    << "set logscale x\nset logscale y\nset autoscale xfix\n"
    << "set xlabel 'percentile'\nset ylabel 'latency (us), from intended send time'\n"
    << "set xtics ('0' 1, '50' 2, '90' 10, '99' 100, '99.9' 1000, '99.99' 10000, '99.999' "
       "100000)\n"
    << "set grid xtics ytics mytics\nset key below left vertical Left reverse\n"
    << "plot " << plot_cmds << "\n";
  g.close();
  if (!g) {
    *err = "cannot write " + gp;
    return false;
  }
  return RunGnuplot(gp, err);
}

}  // namespace ordergate::bench
