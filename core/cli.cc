#include "core/cli.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "core/log.h"
#include "core/result.h"

namespace safestream::core {

namespace {

[[noreturn]] void usageError(const CLI::App& app, const std::string& message) {
  std::cerr << app.get_name() << ": error: " << message << " (see --help)\n";
  std::exit(2);
}

// CLI11 reports a missing required option before an unknown one; an unknown
// flag is the more useful line, so look for it first.
void rejectUnknownFlags(CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.rfind("--", 0) != 0) continue;
    auto eq = arg.find('=');
    std::string name = arg.substr(0, eq);
    bool known = app.get_option_no_throw(name) != nullptr;
    // Options of subcommands ("safestream-ingest import --file ...") count too.
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      known = known || sub->get_option_no_throw(name) != nullptr;
    }
    if (!known) usageError(app, "unknown option " + name);
  }
}

}  // namespace

void parseCommandLine(CLI::App& app, int argc, char** argv) {
  rejectUnknownFlags(app, argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::exit(app.exit(e));
  } catch (const CLI::CallForAllHelp& e) {
    std::exit(app.exit(e));
  } catch (const CLI::CallForVersion& e) {
    std::exit(app.exit(e));
  } catch (const CLI::RequiredError&) {
    // Name the flag and its environment variable, since either will do.
    std::vector<const CLI::App*> scopes{&app};
    for (const CLI::App* sub : app.get_subcommands()) scopes.push_back(sub);  // the ones given
    for (const CLI::App* scope : scopes) {
      for (const CLI::Option* o : scope->get_options()) {
        if (o->get_required() && o->count() == 0) {
          std::string msg = o->get_name() + " is required";
          if (!o->get_envname().empty()) msg += " (or set " + o->get_envname() + ")";
          usageError(app, msg);
        }
      }
    }
    usageError(app, "a required option is missing");
  } catch (const CLI::ParseError& e) {
    usageError(app, e.what());
  }
}

int runMain(const char* component, const std::function<int()>& body) {
  try {
    return body();
  } catch (const ConfigError& e) {
    log::error("config_error", {{"message", std::string(e.what())}});
    std::cerr << component << ": error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    log::error("fatal", {{"message", std::string(e.what())}});
    std::cerr << component << ": fatal: " << e.what() << "\n";
    return 3;
  }
}

void addLogLevelOption(CLI::App& app, std::string& level) {
  addOption(app, "--log-level", level, "SAFESTREAM_LOG_LEVEL", "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
}

void addMetricsOptions(CLI::App& app, const std::string& daemon, std::string& host, int& port,
                       const std::string& note) {
  const std::string env = "SAFESTREAM_" + daemon + "_METRICS_";
  addOption(app, "--metrics-host", host, env + "HOST", "Bind address of /metrics, /healthz, /readyz" + note);
  addOption(app, "--metrics-port", port, env + "PORT", "Port of /metrics, /healthz, /readyz" + note)
      ->check(CLI::Range(0, 65535));
}

}  // namespace safestream::core
