// The `joules` front door as a new user meets it: the command list (`joules`, `joules help`,
// `joules --help`), a misspelt command, `joules COMMAND help`, and usage errors that point at
// the command's own --help.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/cli/run_command.hpp"

namespace joules::testing {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

const std::vector<std::string> kCommands = {"search",   "export", "compare", "inspect", "sensors",
                                            "estimate", "fit",    "profile", "train"};

TEST(MainTest, NoCommandHelpAndDashDashHelpListEveryCommandOnALine) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{}, std::vector<std::string>{"help"},
                                               std::vector<std::string>{"--help"}}) {
    const CommandResult r = run_joules(args);
    const std::string how = args.empty() ? "joules" : "joules " + args[0];
    EXPECT_EQ(r.exit_code, 0) << how;
    EXPECT_EQ(r.err, "") << how;
    for (const std::string& command : kCommands) {
      // "  search    Run ...": the name at the start of its own line, then its description.
      EXPECT_THAT(r.out, ::testing::ContainsRegex("\n  " + command + " +[A-Z]")) << how << ": " << command;
    }
    EXPECT_THAT(r.out, HasSubstr("joules COMMAND --help")) << how;
    EXPECT_THAT(r.out, Not(HasSubstr("A subcommand is required"))) << how;
  }
}

TEST(MainTest, AMisspeltCommandSuggestsTheNearestAndExitsTwo) {
  CommandResult r = run_joules({"serch", "config.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "error: unknown command 'serch'; did you mean 'search'?\n");

  r = run_joules({"estimat"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: unknown command 'estimat'; did you mean 'estimate'?\n");

  // Nothing near: no guess, a pointer at the list.
  r = run_joules({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: unknown command 'frobnicate' (see joules --help)\n");
}

TEST(MainTest, CommandHelpShowsTheCommandsOwnHelp) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"search", "help"}, std::vector<std::string>{"help", "search"},
        std::vector<std::string>{"search", "--help"}}) {
    const CommandResult r = run_joules(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << " " << args[1];
    EXPECT_THAT(r.out, HasSubstr("--resume")) << args[0] << " " << args[1];
    EXPECT_THAT(r.err, Not(HasSubstr("cannot read file")));
  }
  const CommandResult r = run_joules({"help", "serch"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: unknown command 'serch'; did you mean 'search'?\n");
}

TEST(MainTest, UsageErrorsPointAtTheCommandsOwnHelp) {
  // A flag the command does not have, a missing argument, a bad value (CLI11's checks) and a
  // bad value the command itself finds.
  CommandResult r = run_joules({"search", "--frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--frobnicate"));
  EXPECT_THAT(r.err, EndsWith(" (see joules search --help)\n"));

  r = run_joules({"estimate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, EndsWith(" (see joules estimate --help)\n"));

  r = run_joules({"fit", "--provenance", "p.yaml", "--out", "o.yaml", "--folds", "1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--folds"));
  EXPECT_THAT(r.err, EndsWith(" (see joules fit --help)\n"));

  r = run_joules({"fit", "--provenance", "p.yaml", "--out", "o.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: --layers/--networks: give exactly one of --layers CSV and --networks CSV "
                   "(see joules fit --help)\n");

  // A top-level flag that does not exist points at the list.
  r = run_joules({"--frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, EndsWith(" (see joules --help)\n"));

  // An error in a file is not a usage error: no pointer, the file named.
  r = run_joules({"inspect", "/no/such/arch.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("/no/such/arch.yaml"));
  EXPECT_THAT(r.err, Not(HasSubstr("--help")));
}

}  // namespace
}  // namespace joules::testing
