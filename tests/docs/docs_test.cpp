// The documentation as a reader meets it: README.md and every page under docs/ link only to
// files of this repository, never outside it, every page can be reached from README.md, and
// README.md stays a short guide that opens with the two set-up commands.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/temp_dir.hpp"

namespace joules::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The Markdown pages a reader is given: README.md and docs/**/*.md, less docs/notes/ (change
/// notes waiting to be folded into the pages, not pages themselves).
std::vector<fs::path> pages_of(const fs::path& repo) {
  std::vector<fs::path> pages{repo / "README.md"};
  if (fs::is_directory(repo / "docs")) {
    for (const auto& entry : fs::recursive_directory_iterator(repo / "docs")) {
      const fs::path relative = fs::relative(entry.path(), repo / "docs");
      if (*relative.begin() == "notes") continue;
      if (entry.is_regular_file() && entry.path().extension() == ".md") pages.push_back(entry.path());
    }
  }
  std::sort(pages.begin() + 1, pages.end());
  return pages;
}

struct Link {
  int line = 0;
  std::string target;  // as written, anchor included
};

/// The inline links `[text](target)` of a Markdown page, outside code fences and code spans; a
/// link's text may run over lines of its paragraph.
std::vector<Link> links_of(const std::string& markdown) {
  static const std::regex code_span("`[^`]*`");
  static const std::regex link(R"(\[[^\]]*\]\(([^)\s]+)\))");
  std::vector<Link> links;
  const auto scan = [&](const std::string& paragraph, int first_line) {
    // Code spans are blanked, not removed, so that offsets still give line numbers.
    std::string prose = paragraph;
    for (std::sregex_iterator it(paragraph.begin(), paragraph.end(), code_span), end; it != end; ++it) {
      for (auto i = it->position(); i < it->position() + it->length(); ++i) {
        if (prose[i] != '\n') prose[i] = ' ';
      }
    }
    for (std::sregex_iterator it(prose.begin(), prose.end(), link), end; it != end; ++it) {
      const auto before = prose.begin() + it->position(1);
      links.push_back({first_line + static_cast<int>(std::count(prose.begin(), before, '\n')), (*it)[1].str()});
    }
  };
  std::istringstream in(markdown);
  std::string line;
  std::string paragraph;
  int paragraph_line = 1;
  bool in_fence = false;
  for (int number = 1; std::getline(in, line); ++number) {
    const bool fence = line.rfind("```", 0) == 0;
    if (fence || in_fence || line.empty()) {
      scan(paragraph, paragraph_line);
      paragraph.clear();
      if (fence) in_fence = !in_fence;
      continue;
    }
    if (paragraph.empty()) paragraph_line = number;
    paragraph += line + "\n";
  }
  scan(paragraph, paragraph_line);
  return links;
}

bool is_external(const std::string& target) {
  return target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0 || target.rfind("mailto:", 0) == 0;
}

/// Where a relative link lands, anchor dropped, or an empty path for a link within the page.
fs::path resolve(const fs::path& page, const std::string& target) {
  const std::string file = target.substr(0, target.find('#'));
  if (file.empty()) return {};
  return (page.parent_path() / file).lexically_normal();
}

bool is_inside(const fs::path& repo, const fs::path& path) {
  const fs::path relative = path.lexically_relative(repo.lexically_normal());
  return !relative.empty() && *relative.begin() != "..";
}

/// One line per problem: `PAGE:LINE: what is wrong`, PAGE relative to the repository.
std::vector<std::string> link_problems(const fs::path& repo) {
  std::vector<std::string> problems;
  for (const fs::path& page : pages_of(repo)) {
    const std::string name = fs::relative(page, repo).string();
    const std::string text = read_text(page);
    std::istringstream lines(text);
    std::string line;
    for (int number = 1; std::getline(lines, line); ++number) {
      if (line.find("../shared") != std::string::npos) {
        problems.push_back(name + ":" + std::to_string(number) + ": points outside the repository (../shared)");
      }
    }
    for (const Link& link : links_of(text)) {
      const std::string where = name + ":" + std::to_string(link.line) + ": " + link.target;
      if (is_external(link.target)) continue;
      if (link.target.front() == '/') {
        problems.push_back(where + ": an absolute path, outside the repository");
        continue;
      }
      const fs::path target = resolve(page, link.target);
      if (target.empty()) continue;
      if (!is_inside(repo, target)) {
        problems.push_back(where + ": outside the repository");
      } else if (!fs::exists(target)) {
        problems.push_back(where + ": no such file");
      }
    }
  }
  return problems;
}

/// The pages no chain of links from README.md reaches (a link to a folder reaches its README.md).
std::vector<std::string> unreachable_pages(const fs::path& repo) {
  std::set<fs::path> seen{(repo / "README.md").lexically_normal()};
  std::deque<fs::path> queue{*seen.begin()};
  while (!queue.empty()) {
    const fs::path page = queue.front();
    queue.pop_front();
    for (const Link& link : links_of(read_text(page))) {
      if (is_external(link.target)) continue;
      fs::path target = resolve(page, link.target);
      if (target.empty() || !is_inside(repo, target)) continue;
      if (fs::is_directory(target)) target = (target / "README.md").lexically_normal();
      if (target.extension() == ".md" && fs::is_regular_file(target) && seen.insert(target).second) {
        queue.push_back(target);
      }
    }
  }
  std::vector<std::string> unreachable;
  for (const fs::path& page : pages_of(repo)) {
    if (!seen.count(page.lexically_normal())) unreachable.push_back(fs::relative(page, repo).string());
  }
  return unreachable;
}

const fs::path kRepo = JOULES_SOURCE_DIR;

TEST(DocsTest, EveryLinkResolvesToAFileOfTheRepository) {
  EXPECT_THAT(link_problems(kRepo), IsEmpty());
}

TEST(DocsTest, EveryPageIsReachableFromTheReadme) {
  ASSERT_GE(pages_of(kRepo).size(), 10u) << "docs/ should hold the reference pages";
  EXPECT_THAT(unreachable_pages(kRepo), IsEmpty());
}

TEST(DocsTest, ReadmeIsAShortGuideOpeningWithTheTwoCommands) {
  const std::string readme = read_text(kRepo / "README.md");
  EXPECT_LT(std::count(readme.begin(), readme.end(), '\n'), 250);
  const auto search = readme.find("```sh\n./scripts/setup.sh && ./build/joules search\n```");
  const auto tests = readme.find("```sh\n./scripts/setup.sh && ctest --test-dir build --output-on-failure -j2\n```");
  ASSERT_NE(search, std::string::npos);
  ASSERT_NE(tests, std::string::npos);
  EXPECT_LT(search, tests);
  EXPECT_LT(tests, readme.find("\n## "));  // before any section
}

// The checks above pass on a good tree; these show they catch what they are for.
TEST(DocsTest, BrokenOutsideAndSharedLinksAreEachReported) {
  TempDir repo;
  repo.write("README.md", "# x\n\nSee [docs](docs/README.md) and [gone](docs/gone.md#part), and the\n[long\nname](docs/also-gone.md).\n");
  fs::create_directories(repo.path() / "docs");
  repo.write("docs/README.md",
             "[up](../README.md) [web](https://example.org) [here](#top)\n"
             "```\n[in a fence](nowhere.md)\n```\n"
             "`[in code](nowhere.md)` [out](../../etc/hostname) [abs](/etc/hostname)\n"
             "the design is in ../shared/DESIGN.md\n");
  EXPECT_THAT(link_problems(repo.path()),
              ElementsAre("README.md:3: docs/gone.md#part: no such file",
                          "README.md:5: docs/also-gone.md: no such file",
                          "docs/README.md:6: points outside the repository (../shared)",
                          "docs/README.md:5: ../../etc/hostname: outside the repository",
                          "docs/README.md:5: /etc/hostname: an absolute path, outside the repository"));
}

TEST(DocsTest, APageNoLinkReachesIsReported) {
  TempDir repo;
  repo.write("README.md", "[docs](docs/)\n");
  fs::create_directories(repo.path() / "docs/formats");
  fs::create_directories(repo.path() / "docs/notes");
  repo.write("docs/README.md", "[a](a.md)\n");
  repo.write("docs/a.md", "back to [the index](./)\n");
  repo.write("docs/formats/orphan.md", "nobody links here\n");
  repo.write("docs/notes/someone.md", "notes are not pages\n");
  EXPECT_THAT(unreachable_pages(repo.path()), ElementsAre("docs/formats/orphan.md"));
}

}  // namespace
}  // namespace joules::testing
