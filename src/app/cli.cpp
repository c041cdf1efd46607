#include "ivr/app/cli.hpp"

#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "ivr/app/admin_commands.hpp"
#include "ivr/app/application.hpp"
#include "ivr/core/config.hpp"
#include "ivr/core/logging.hpp"
#include "ivr/rag/sandbox.hpp"

#ifndef IVR_VERSION
#define IVR_VERSION "0.0.0"
#endif

namespace ivr::app {

int main_cli(int argc, char** argv) {
  CLI::App cli{"Voice AI IVR: an AI secretary for FreeSWITCH / FusionPBX"};
  cli.set_version_flag("--version", IVR_VERSION);
  std::string config_path;
  bool check_config = false;
  bool print_config = false;
  cli.add_option("-c,--config", config_path, "TOML configuration file (default: embedded defaults)")
      ->envname("VOICE_AI_CONFIG");
  cli.add_flag("--check-config", check_config, "validate the configuration, print problems, exit");
  cli.add_flag("--print-config", print_config, "print the effective configuration (secrets redacted), exit");

  auto* serve = cli.add_subcommand("serve", "run the daemon (the default)");
  auto* migrate_cmd = cli.add_subcommand("migrate", "apply database migrations and exit");

  auto* domain = cli.add_subcommand("domain", "manage tenants (standalone mode)");
  domain->require_subcommand(1);
  auto* domain_add = domain->add_subcommand("add", "add a domain");
  std::string domain_name;
  std::string domain_uuid;
  domain_add->add_option("--name", domain_name, "domain name, e.g. pbx.example.com")->required();
  domain_add->add_option("--uuid", domain_uuid,
                         "use this domain_uuid (e.g. FusionPBX's); default: a new one");
  auto* domain_list = domain->add_subcommand("list", "list domains");
  bool list_json = false;
  domain_list->add_flag("--json", list_json, "print JSON");
  auto* domain_disable = domain->add_subcommand("disable", "disable a domain (its requests get 404)");
  domain_disable->add_option("uuid", domain_uuid, "domain_uuid")->required();
  auto* domain_enable = domain->add_subcommand("enable", "enable a domain again");
  domain_enable->add_option("uuid", domain_uuid, "domain_uuid")->required();
  auto* domain_limit = domain->add_subcommand("rate-limit", "override a domain's rate limit");
  domain_limit->add_option("uuid", domain_uuid, "domain_uuid")->required();
  std::optional<double> per_second;
  std::optional<double> burst;
  domain_limit->add_option("--per-second", per_second, "requests per second (omit for the default)");
  domain_limit->add_option("--burst", burst, "bucket size (omit for the default)");
  auto* domain_realtime = domain->add_subcommand(
      "realtime-limit", "cap a domain's concurrent realtime calls (over it, new calls go to a person)");
  domain_realtime->add_option("uuid", domain_uuid, "domain_uuid")->required();
  std::optional<std::int64_t> max_realtime_calls;
  domain_realtime->add_option("--max", max_realtime_calls,
                              "calls at once; 0 = no cap (omit for realtime.max_calls_per_domain)");

  auto* token = cli.add_subcommand("token", "manage API tokens");
  token->require_subcommand(1);
  auto* token_create = token->add_subcommand("create", "create a token (printed once)");
  std::string scope;
  std::string token_domain;
  std::string label;
  token_create->add_option("--scope", scope, "call (FreeSWITCH hosts) or admin (documents, settings)")
      ->required()
      ->check(CLI::IsMember({"call", "admin"}));
  token_create->add_option("--domain", token_domain, "bind the token to one domain_uuid");
  token_create->add_option("--label", label, "a note for operators, e.g. the host name");
  auto* token_revoke = token->add_subcommand("revoke", "revoke a token by id");
  std::string token_id;
  token_revoke->add_option("id", token_id, "token id")->required();

  // Internal: the sandboxed document extractor the daemon runs in a child process (rag/sandbox.hpp).
  auto* extract = cli.add_subcommand("extract-document", "")->group("");
  knowledge::ExtractLimits extract_limits;
  knowledge::ChunkerOptions chunker;
  extract->add_option("--max-pages", extract_limits.max_pages);
  extract->add_option("--max-zip-entries", extract_limits.max_zip_entries);
  extract->add_option("--max-uncompressed-bytes", extract_limits.max_uncompressed_bytes);
  extract->add_option("--max-text-bytes", extract_limits.max_text_bytes);
  extract->add_option("--chunk-tokens", chunker.target_tokens);
  extract->add_option("--overlap-tokens", chunker.overlap_tokens);

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }

  if (*extract) return rag::extract_document_child(extract_limits, chunker);

  ConfigSource source;
  if (!config_path.empty()) source.file = config_path;
  source.environment = process_environment();
  const ConfigLoad loaded = load_config(source);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::cerr << "config error: " << e.key << ": " << e.message << "\n";
    return 2;
  }
  if (check_config) {
    std::cout << "configuration OK" << (source.file ? " (" + *source.file + ")" : " (embedded defaults)")
              << "\n";
    return 0;
  }
  if (print_config) {
    std::cout << dump_config(loaded.config);
    return 0;
  }
  const Config& config = loaded.config;
  // Administrative commands log only warnings, so their output stays scriptable.
  init_logging({"warn", false});

  auto optional = [](const std::string& s) {
    return s.empty() ? std::nullopt : std::optional<std::string>(s);
  };
  if (*migrate_cmd) return migrate(config, std::chrono::seconds(0));
  if (*domain_add) return cmd_domain_add(config, domain_name, optional(domain_uuid), std::cout, std::cerr);
  if (*domain_list) return cmd_domain_list(config, list_json, std::cout, std::cerr);
  if (*domain_disable) return cmd_domain_set_enabled(config, domain_uuid, false, std::cout, std::cerr);
  if (*domain_enable) return cmd_domain_set_enabled(config, domain_uuid, true, std::cout, std::cerr);
  if (*domain_limit)
    return cmd_domain_rate_limit(config, domain_uuid, per_second, burst, std::cout, std::cerr);
  if (*domain_realtime)
    return cmd_domain_realtime_limit(config, domain_uuid, max_realtime_calls, std::cout, std::cerr);
  if (*token_create) {
    return cmd_token_create(config, scope, optional(token_domain), label, std::cout, std::cerr);
  }
  if (*token_revoke) return cmd_token_revoke(config, token_id, std::cout, std::cerr);
  (void)serve;
  return run_daemon(config, RunOptions{source, IVR_VERSION});
}

}  // namespace ivr::app
