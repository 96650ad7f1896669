// The command line: parses flags and the JSON config into one RunConfig and dispatches.
// Bad input of any kind ends here as one line on stderr and exit status 2.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "io/run_config.hpp"
#include "reproduce_command.hpp"
#include "ridgerider/errors.hpp"
#include "run_command.hpp"
#ifdef RIDGERIDER_HAVE_MPI
#include "mpi/mpi_rides.hpp"
#endif

namespace {

using ridgerider::InputError;
namespace io = ridgerider::io;

int Fail(const std::string& msg) {
  std::string line = msg;
  for (char& ch : line)
    if (ch == '\n') ch = ' ';
  std::fprintf(stderr, "ridgerider: error: %s\n", line.c_str());
  return 2;
}

// CLI11 names the unexpected arguments; add the nearest valid flag for each unknown --flag.
std::string WithSuggestions(const CLI::ParseError& e, int argc, char** argv) {
  std::string msg = e.what();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || a == "--") continue;
    std::string key = a.substr(2, a.find('=') == std::string::npos ? std::string::npos : a.find('=') - 2);
    if (key.rfind("no-", 0) == 0) key = key.substr(3);
    if (io::FindOption(key) || key == "config" || key == "help" || key == "help-all" || key == "json") continue;
    msg += " (did you mean --" + io::NearestOptionKey(key) + "?)";
  }
  return msg;
}

int Main(int argc, char** argv, const ridgerider::app::Distribute& distribute) {
  CLI::App app{
      "ridgerider: finds diverse solutions of an optimisation problem with Ridge Rider -- from a saddle,\n"
      "follow every negative-curvature eigenvector of the Hessian downhill, branch where new ones\n"
      "appear, and keep every distinct leaf."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every subcommand");

  CLI::App* run = app.add_subcommand(
      "run",
      "explore a loss: a built-in problem or your own TorchScript function; writes result.json,\n"
      "events.jsonl, solutions.csv (and landscape.png for 2-D) into --out");
  std::string config_path;
  run->add_option("--config", config_path,
                  "JSON file of options: an object whose keys are these flags without the dashes;\n"
                  "flags given on the command line override it");
  const auto& table = io::OptionTable();
  std::vector<std::string> text(table.size());
  std::vector<CLI::Option*> opts(table.size());
  const io::RunConfig defaults;
  for (size_t i = 0; i < table.size(); ++i) {
    const io::OptionSpec& s = table[i];
    const nlohmann::json def = s.get(defaults);
    std::string help = s.help;
    if (!s.choices.empty()) {
      help += " {";
      for (size_t k = 0; k < s.choices.size(); ++k) help += (k ? "|" : "") + s.choices[k];
      help += "}";
    }
    const bool empty_default = (def.is_string() && def.get<std::string>().empty()) || (def.is_array() && def.empty());
    if (!empty_default) help += " [default: " + (def.is_string() ? def.get<std::string>() : def.dump()) + "]";
    if (s.kind == io::OptionKind::kBool) {
      opts[i] = run->add_flag("--" + s.key + ",!--no-" + s.key)->description(help);
    } else {
      opts[i] = run->add_option("--" + s.key, text[i], help);
      switch (s.kind) {
        case io::OptionKind::kNumber: opts[i]->type_name("NUMBER"); break;
        case io::OptionKind::kInteger: opts[i]->type_name("INT"); break;
        case io::OptionKind::kNumberList: opts[i]->type_name("X,Y,..."); break;
        case io::OptionKind::kChoice: opts[i]->type_name("NAME"); break;
        default: break;
      }
    }
  }

  CLI::App* problems = app.add_subcommand("problems", "list the built-in problems with what is known about them");
  bool problems_json = false;
  problems->add_flag("--json", problems_json, "print the list as JSON");

  CLI::App* reproduce = app.add_subcommand(
      "reproduce",
      "run one of the paper's experiments: writes results.json, results.md and plots into --out\n"
      "(`ridgerider reproduce list` lists them)");
  ridgerider::app::ReproduceArgs rargs;
  reproduce->add_option("name", rargs.name, "the experiment, or `list`")->required();
  reproduce->add_option("--out", rargs.out, "directory for the results (must not exist, or be empty)");
  reproduce->add_flag("--quick", rargs.quick, "the small preset CI runs (under two minutes on 2 cores)");
  reproduce->add_option("--seed", rargs.seed, "seed of every random draw [default: 0]");
  reproduce->add_option("--threads", rargs.threads, "independent trees / runs computed at once [default: 1]");
  reproduce->add_flag("!--no-plot", rargs.plot, "skip the plots (results.json and results.md are still written)");
  reproduce->footer("Experiments:\n" + ridgerider::app::ExperimentList());

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return Fail(WithSuggestions(e, argc, argv) + " (see ridgerider " +
                (run->parsed() ? "run " : reproduce->parsed() ? "reproduce " : "") + "--help)");
  }

  try {
    if (problems->parsed()) return ridgerider::app::ProblemsCommand(problems_json);
    if (reproduce->parsed()) return ridgerider::app::ReproduceCommand(rargs);
    io::RunConfig c;
    if (!config_path.empty()) io::ApplyConfigFile(c, config_path);
    for (size_t i = 0; i < table.size(); ++i) {
      if (opts[i]->count() == 0) continue;
      const io::OptionSpec& s = table[i];
      if (s.kind == io::OptionKind::kBool) {
        io::ApplyOption(c, s.key, opts[i]->as<bool>());
      } else {
        io::ApplyOption(c, s.key, io::ParseOptionText(s, text[i]));
      }
    }
    if (!c.resume.empty()) {
      // A resumed run must end exactly as the original would: its options come from the
      // checkpoint, only output settings may be given again.
      if (!config_path.empty()) throw InputError("--resume takes the run's options from its checkpoint; drop --config");
      for (size_t i = 0; i < table.size(); ++i)
        if (opts[i]->count() > 0 && table[i].recorded && table[i].key != "plot")
          throw InputError("--resume takes the run's options from its checkpoint; --" + table[i].key +
                           " cannot change them");
    }
    return ridgerider::app::RunCommand(c, distribute);
  } catch (const InputError& e) {
    return Fail(e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ridgerider: internal error: %s\n", e.what());
    return 1;
  }
}

#ifdef RIDGERIDER_HAVE_MPI
// Under mpirun: rank 0 is the whole command as usual (parses, searches, writes); the other ranks
// only ride, with the objective of the options rank 0 sends them (src/mpi/mpi_rides.hpp).
int MainUnderMpi(int argc, char** argv) {
  namespace mpi = ridgerider::mpi;
  mpi::World world(&argc, &argv);
  if (world.rank() != 0) {
    return mpi::Serve(world, [](const std::string& options) {
      return ridgerider::app::RideComputerFor(nlohmann::json::parse(options));
    });
  }
  mpi::Leader leader(world);
  const int code = Main(argc, argv, [&](const nlohmann::json& options) { return leader.Begin(options.dump()); });
  if (code == 0 && !leader.Report().empty()) std::printf("%s\n", leader.Report().c_str());
  return code;
}
#endif

}  // namespace

int main(int argc, char** argv) {
#ifdef RIDGERIDER_HAVE_MPI
  if (ridgerider::mpi::LaunchedByMpirun()) return MainUnderMpi(argc, argv);
#else
  // Several copies of a build without MPI would each run the whole search into the same --out.
  if (const char* n = std::getenv("OMPI_COMM_WORLD_SIZE"); n && std::string(n) != "1")
    return Fail("this ridgerider was built without MPI (CMake found none); run it without mpirun");
#endif
  return Main(argc, argv, {});
}
