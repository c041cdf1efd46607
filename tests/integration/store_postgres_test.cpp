// The Postgres half of the store against the real PostgreSQL that scripts/test.sh starts
// (IVR_TEST_DATABASE_URL). Each test creates its own database and drops it at the end. The restart tests
// stop and start that server through pg_ctl on IVR_TEST_PG_DATA (its data directory).

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <latch>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <pqxx/pqxx>

#include "../../src/store/pg_pool.hpp"  // white-box: the pool's run() and its counters
#include "ivr/core/errors.hpp"
#include "ivr/core/ids.hpp"
#include "ivr/store/calls.hpp"
#include "ivr/store/database.hpp"
#include "ivr/store/migrations.hpp"
#include "ivr/store/repositories.hpp"
#include "ivr/store/usage.hpp"
#include "support/test_env.hpp"

namespace ivr::store {
namespace {

using test::with_params;

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string env_or_fail(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    throw std::runtime_error(std::string(name) + " is not set: run the tests through scripts/test.sh");
  }
  return value;
}

fs::path migrations_dir() {
  return fs::path(test::source_dir()) / "migrations";
}

std::size_t migration_file_count() {
  std::size_t n = 0;
  for (const auto& entry : fs::directory_iterator(migrations_dir())) {
    if (entry.path().extension() == ".sql") ++n;
  }
  return n;
}

// pg_ctl on the test server's data directory, as the postgres user when we are root (the server refuses
// root). Returns the exit status.
int pg_ctl(const std::string& action) {
  const fs::path data = env_or_fail("IVR_TEST_PG_DATA");
  std::string command = "/usr/lib/postgresql/15/bin/pg_ctl -D '" + data.string() + "' ";
  if (action == "start" || action == "restart")
    command += "-l '" + (data.parent_path() / "server.log").string() + "' ";
  command += "-m fast -w -t 60 " + action + " >/dev/null 2>&1";
  if (::geteuid() == 0) command = "runuser -u postgres -- " + command;
  return std::system(command.c_str());
}

// Makes sure the server runs again when a test that stops it ends, whatever happened.
struct ServerRestorer {
  ~ServerRestorer() {
    if (pg_ctl("status") != 0) pg_ctl("start");
  }
};

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_url_ = test::database_url();
    db_name_ = "test_" + random_uuid().substr(0, 8) + random_uuid().substr(24);
    std::string owner;
    {
      pqxx::connection conn(base_url_);
      pqxx::nontransaction tx(conn);
      owner = tx.exec("SELECT current_user")[0][0].as<std::string>();
      try {
        tx.exec("CREATE DATABASE " + tx.quote_name(db_name_));
        created_as_owner_ = true;
      } catch (const pqxx::insufficient_privilege&) {
      }
    }
    if (!created_as_owner_) {
      // The application role may not have CREATEDB; the private test server trusts loopback for the
      // postgres superuser.
      pqxx::connection conn(with_params(base_url_, {{"user", "postgres"}}));
      pqxx::nontransaction tx(conn);
      tx.exec("CREATE DATABASE " + tx.quote_name(db_name_) + " OWNER " + tx.quote_name(owner));
    }
    created_ = true;
    config_ = test::database_config();
    config_.url = with_params(base_url_, {{"dbname", db_name_}});
  }

  void TearDown() override {
    databases_.clear();
    if (!created_) return;  // SetUp failed (no server, no IVR_TEST_DATABASE_URL): nothing to drop
    // A restart test that failed half-way must not take the server down for the tests after it.
    if (const char* data = std::getenv("IVR_TEST_PG_DATA"); data != nullptr && *data != '\0') {
      if (pg_ctl("status") != 0) pg_ctl("start");
    }
    try {
      const std::string url = created_as_owner_ ? base_url_ : with_params(base_url_, {{"user", "postgres"}});
      pqxx::connection conn(url);
      pqxx::nontransaction tx(conn);
      tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(db_name_) + " WITH (FORCE)");
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cannot drop " << db_name_ << ": " << e.what();
    }
  }

  Database& database(std::size_t pool_size = 4, std::chrono::milliseconds statement_timeout = 5s) {
    DatabaseConfig config = config_;
    config.pool_size = pool_size;
    config.statement_timeout = statement_timeout;
    config.connect_timeout = 2s;
    databases_.push_back(std::make_unique<Database>(pool_, config));
    return *databases_.back();
  }

  void migrate() {
    Result<MigrationReport> report = blocking_migrate(config_, migrations_dir());
    ASSERT_TRUE(report) << report.error().message();
  }

  // Runs SQL on the test database through a connection of its own.
  pqxx::result sql(const std::string& text) {
    pqxx::connection conn(config_.url);
    pqxx::work tx(conn);
    pqxx::result r = tx.exec(text);
    tx.commit();
    return r;
  }

  long count(const std::string& query) { return sql(query)[0][0].as<long>(); }

  fs::path temp_dir() {
    const fs::path dir = fs::temp_directory_path() / ("ivr_migrations_" + random_uuid());
    fs::create_directories(dir);
    temp_dirs_.push_back(dir);
    return dir;
  }

  static void write(const fs::path& file, const std::string& text) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
  }

  ~PostgresStoreTest() override {
    for (const auto& dir : temp_dirs_) fs::remove_all(dir);
  }

  std::string base_url_;
  std::string db_name_;
  bool created_as_owner_ = false;
  bool created_ = false;
  DatabaseConfig config_;
  asio::io_context io_;
  asio::thread_pool pool_{4};
  std::vector<std::unique_ptr<Database>> databases_;
  std::vector<fs::path> temp_dirs_;
};

// ---- migrations ----

TEST_F(PostgresStoreTest, MigrationsApplyThenRerunAppliesNothing) {
  Result<MigrationReport> first = blocking_migrate(config_, migrations_dir());
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->applied.size(), migration_file_count());
  EXPECT_EQ(first->applied.front(), "0001_foundation.sql");
  EXPECT_EQ(first->already_applied, 0u);
  for (const char* table : {"domains", "api_tokens", "secretaries", "usage_events", "schema_migrations"}) {
    EXPECT_EQ(count(std::string("SELECT count(*) FROM pg_tables WHERE tablename = '") + table + "'"), 1)
        << table;
  }
  EXPECT_EQ(sql("SELECT checksum FROM schema_migrations WHERE version = 1")[0][0].as<std::string>().size(),
            64u);

  Result<MigrationReport> second = blocking_migrate(config_, migrations_dir());
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_TRUE(second->applied.empty());
  EXPECT_EQ(second->already_applied, migration_file_count());
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"), static_cast<long>(migration_file_count()));
}

TEST_F(PostgresStoreTest, ConcurrentMigrationsApplyEachFileExactlyOnce) {
  constexpr int kRunners = 4;
  std::latch start(kRunners);
  std::vector<std::optional<Result<MigrationReport>>> results(kRunners);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRunners; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i].emplace(blocking_migrate(config_, migrations_dir()));
    });
  }
  for (auto& t : threads) t.join();
  std::size_t applied = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(*r) << r->error().message();
    applied += (*r)->applied.size();
    EXPECT_EQ((*r)->applied.size() + (*r)->already_applied, migration_file_count());
  }
  EXPECT_EQ(applied, migration_file_count());
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"), static_cast<long>(migration_file_count()));
}

TEST_F(PostgresStoreTest, MigrationsAreOrderedByNumberNotByName) {
  const fs::path dir = temp_dir();
  write(dir / "0009_create.sql", "CREATE TABLE t (x int);");
  write(dir / "00010_alter.sql", "ALTER TABLE t ADD COLUMN y int;");
  write(dir / "README.md", "not a migration");
  Result<MigrationReport> report = blocking_migrate(config_, dir);
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_EQ(report->applied, (std::vector<std::string>{"0009_create.sql", "00010_alter.sql"}));
}

TEST_F(PostgresStoreTest, ChangedChecksumIsRejected) {
  const fs::path dir = temp_dir();
  write(dir / "0001_first.sql", "CREATE TABLE first_table (x int);");
  ASSERT_TRUE(blocking_migrate(config_, dir));
  write(dir / "0001_first.sql", "CREATE TABLE first_table (x int, y int);");
  write(dir / "0002_second.sql", "CREATE TABLE second_table (x int);");
  Result<MigrationReport> report = blocking_migrate(config_, dir);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error(), Errc::config_invalid);
  // Nothing after a rewritten history is applied.
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM pg_tables WHERE tablename = 'second_table'"), 0);
}

TEST_F(PostgresStoreTest, BadMigrationFileNamesAreRejected) {
  for (const char* bad :
       {"1_short.sql", "0001-dash.sql", "0001_.sql", "abcd_x.sql", "0000_zero.sql", "0001_bad name.sql"}) {
    const fs::path dir = temp_dir();
    write(dir / bad, "SELECT 1;");
    Result<MigrationReport> report = blocking_migrate(config_, dir);
    ASSERT_FALSE(report) << bad;
    EXPECT_EQ(report.error(), Errc::config_invalid) << bad;
  }
  const fs::path dup = temp_dir();
  write(dup / "0001_a.sql", "SELECT 1;");
  write(dup / "0001_b.sql", "SELECT 1;");
  Result<MigrationReport> duplicate = blocking_migrate(config_, dup);
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error(), Errc::config_invalid);

  Result<MigrationReport> missing = blocking_migrate(config_, temp_dir() / "does-not-exist");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), Errc::config_invalid);
  EXPECT_EQ(count("SELECT count(*) FROM pg_tables WHERE tablename = 'schema_migrations'"), 0);
}

TEST_F(PostgresStoreTest, FailingMigrationIsRolledBack) {
  const fs::path dir = temp_dir();
  write(dir / "0001_ok.sql", "CREATE TABLE ok_table (x int);");
  write(dir / "0002_bad.sql", "CREATE TABLE half_table (x int);\nSELECT no_such_function();");
  Result<MigrationReport> report = blocking_migrate(config_, dir);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error(), Errc::internal);
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM pg_tables WHERE tablename = 'ok_table'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM pg_tables WHERE tablename = 'half_table'"), 0);
}

TEST_F(PostgresStoreTest, MigrateWithoutServerIsUnavailable) {
  DatabaseConfig config = config_;
  config.url = "postgresql://voice_ai_ivr@127.0.0.1:1/nowhere";
  Result<MigrationReport> report = blocking_migrate(config, migrations_dir());
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error(), Errc::unavailable);
}

// ---- connection string ----

TEST(PostgresConnectionString, AddsPasswordAndTimeoutToUrisAndKeyValueStrings) {
  DatabaseConfig config;
  config.url = "postgresql://app@db.local:5432/ivr";
  config.password = "p@ss w/'\\";
  config.connect_timeout = 2500ms;
  EXPECT_EQ(connection_string(config),
            "postgresql://app@db.local:5432/ivr?password=p%40ss%20w%2F%27%5C&connect_timeout=3");
  config.url = "postgresql://app@db.local/ivr?sslmode=disable";
  config.password.clear();
  EXPECT_EQ(connection_string(config), "postgresql://app@db.local/ivr?sslmode=disable&connect_timeout=3");
  config.url = "host=db.local dbname=ivr";
  config.password = "it's";
  EXPECT_EQ(connection_string(config), "host=db.local dbname=ivr password='it\\'s' connect_timeout=3");
  config.url = "host=db.local connect_timeout=9";
  config.password.clear();
  EXPECT_EQ(connection_string(config), "host=db.local connect_timeout=9");
}

// ---- database pool ----

TEST_F(PostgresStoreTest, PingSucceeds) {
  Database& db = database();
  Result<void> ok = test::run(io_, db.ping());
  EXPECT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(db.connections_in_use(), 0u);
}

TEST_F(PostgresStoreTest, ManyConcurrentRunsShareASmallPool) {
  Database& db = database(/*pool_size=*/2);
  constexpr int kRuns = 24;
  std::atomic<int> concurrent{0};
  std::atomic<int> max_concurrent{0};
  int done = 0;
  int succeeded = 0;
  for (int i = 0; i < kRuns; ++i) {
    auto sleepy = [&concurrent, &max_concurrent](pqxx::connection& conn) {
      const int now = ++concurrent;
      int seen = max_concurrent.load();
      while (now > seen && !max_concurrent.compare_exchange_weak(seen, now)) {
      }
      pqxx::nontransaction tx(conn);
      const int backend = tx.exec("SELECT pg_backend_pid() FROM pg_sleep(0.02)")[0][0].as<int>();
      --concurrent;
      return backend;
    };
    asio::co_spawn(io_, db.impl().run(sleepy), [&](std::exception_ptr e, Result<int> r) {
      ++done;
      if (!e && r) ++succeeded;
    });
  }
  const auto deadline = Clock::now() + 30s;
  while (done < kRuns && Clock::now() < deadline) io_.run_one_for(50ms);
  EXPECT_EQ(done, kRuns);
  EXPECT_EQ(succeeded, kRuns);
  EXPECT_LE(max_concurrent.load(), 2);
  EXPECT_LE(db.impl().connections_open(), 2u);
  EXPECT_EQ(db.connections_in_use(), 0u);
  EXPECT_EQ(db.pool_size(), 2u);
}

TEST_F(PostgresStoreTest, StatementTimeoutIsReportedAsTimeout) {
  Database& db = database(1, 200ms);
  auto slow = [](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    tx.exec("SELECT pg_sleep(3)");
  };
  const auto started = Clock::now();
  Result<void> r = test::run(io_, db.impl().run(slow));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::timeout);
  EXPECT_LT(Clock::now() - started, 2s);
  Result<void> ok = test::run(io_, db.ping());  // the connection is still usable
  EXPECT_TRUE(ok) << ok.error().message();
}

TEST_F(PostgresStoreTest, SqlErrorsAreInternal) {
  Database& db = database();
  auto broken_query = [](pqxx::connection& conn) {
    pqxx::work tx(conn);
    tx.exec("SELECT * FROM no_such_table");
  };
  Result<void> r = db.impl().blocking_run(broken_query);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::internal);
  EXPECT_TRUE(test::run(io_, db.ping()));
}

TEST_F(PostgresStoreTest, RecoversAfterPostgresRestart) {
  ServerRestorer restore;
  Database& db = database(/*pool_size=*/3);
  // Open more than one connection so several stale ones sit in the pool across the restart.
  auto hold = [](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    tx.exec("SELECT pg_sleep(0.1)");
  };
  std::vector<std::thread> warm;
  std::atomic<int> warmed{0};
  for (int i = 0; i < 3; ++i) {
    warm.emplace_back([&] {
      if (db.impl().blocking_run(hold)) ++warmed;
    });
  }
  for (auto& t : warm) t.join();
  ASSERT_EQ(warmed.load(), 3);
  ASSERT_TRUE(test::run(io_, db.ping()));

  ASSERT_EQ(pg_ctl("restart"), 0);

  // The first call may meet a dead connection; the one after it must work, on the same Database.
  Result<void> first = test::run(io_, db.ping());
  if (!first) {
    EXPECT_EQ(first.error(), Errc::unavailable);
  }
  Result<void> second = test::run(io_, db.ping());
  EXPECT_TRUE(second) << second.error().message();
  Result<void> third = test::run(io_, db.ping());
  EXPECT_TRUE(third) << third.error().message();
  EXPECT_EQ(db.connections_in_use(), 0u);
}

TEST_F(PostgresStoreTest, ServerDownIsUnavailableQuicklyThenRecovers) {
  ServerRestorer restore;
  migrate();
  Database& db = database();
  auto tokens = make_pg_token_store(db);
  ASSERT_TRUE(test::run(io_, db.ping()));

  ASSERT_EQ(pg_ctl("stop"), 0);
  for (int i = 0; i < 3; ++i) {
    const auto started = Clock::now();
    Result<void> r = test::run(io_, db.ping());
    const auto elapsed = Clock::now() - started;
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), Errc::unavailable);
    EXPECT_LT(elapsed, 2s);
  }
  Result<std::optional<TokenRecord>> token = test::run(io_, tokens->find_by_hash(sha256_hex("x")));
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error(), Errc::unavailable);
  EXPECT_EQ(db.connections_in_use(), 0u);

  ASSERT_EQ(pg_ctl("start"), 0);
  Result<void> back = test::run(io_, db.ping());
  EXPECT_TRUE(back) << back.error().message();
}

// ---- domains ----

TEST_F(PostgresStoreTest, StandaloneDomainLifecycle) {
  migrate();
  Database& db = database();
  BlockingAdmin admin(db);
  auto directory = make_pg_domain_directory(db, DomainSource::standalone);

  Result<Domain> a = admin.blocking_add_domain("b.example.com", std::nullopt);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_TRUE(is_valid_uuid(a->uuid));
  EXPECT_EQ(a->name, "b.example.com");
  EXPECT_TRUE(a->enabled);
  EXPECT_FALSE(a->rate_limit_per_second);

  const std::string given = "3F2504E0-4F89-11D3-9A0C-0305E82C3301";
  Result<Domain> b = admin.blocking_add_domain("a.example.com", given);
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(b->uuid, "3f2504e0-4f89-11d3-9a0c-0305e82c3301");

  Result<Domain> dup_name = admin.blocking_add_domain("a.example.com", std::nullopt);
  ASSERT_FALSE(dup_name);
  EXPECT_EQ(dup_name.error(), Errc::conflict);
  Result<Domain> dup_uuid = admin.blocking_add_domain("c.example.com", b->uuid);
  ASSERT_FALSE(dup_uuid);
  EXPECT_EQ(dup_uuid.error(), Errc::conflict);
  Result<Domain> bad_uuid = admin.blocking_add_domain("d.example.com", std::string("not-a-uuid"));
  ASSERT_FALSE(bad_uuid);
  EXPECT_EQ(bad_uuid.error(), Errc::invalid_domain_uuid);
  EXPECT_EQ(admin.blocking_add_domain("", std::nullopt).error(), Errc::bad_request);

  Result<std::vector<Domain>> list = admin.blocking_list_domains(DomainSource::standalone);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "a.example.com");
  EXPECT_EQ((*list)[1].name, "b.example.com");

  Result<std::optional<Domain>> found = test::run(io_, directory->find(a->uuid));
  ASSERT_TRUE(found);
  ASSERT_TRUE(*found);
  EXPECT_EQ((*found)->name, "b.example.com");
  EXPECT_TRUE((*found)->enabled);

  ASSERT_TRUE(admin.blocking_set_domain_enabled(a->uuid, false));
  found = test::run(io_, directory->find(a->uuid));
  ASSERT_TRUE(found && *found);
  EXPECT_FALSE((*found)->enabled);
  ASSERT_TRUE(admin.blocking_set_domain_enabled(a->uuid, true));
  found = test::run(io_, directory->find(a->uuid));
  ASSERT_TRUE(found && *found);
  EXPECT_TRUE((*found)->enabled);

  ASSERT_TRUE(admin.blocking_set_domain_rate_limit(a->uuid, 2.5, 10.0));
  found = test::run(io_, directory->find(a->uuid));
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->rate_limit_per_second, 2.5);
  EXPECT_EQ((*found)->rate_limit_burst, 10.0);
  ASSERT_TRUE(admin.blocking_set_domain_rate_limit(a->uuid, std::nullopt, std::nullopt));
  found = test::run(io_, directory->find(a->uuid));
  ASSERT_TRUE(found && *found);
  EXPECT_FALSE((*found)->rate_limit_per_second);
  EXPECT_FALSE((*found)->rate_limit_burst);
  EXPECT_EQ(admin.blocking_set_domain_rate_limit(a->uuid, -1.0, std::nullopt).error(), Errc::bad_request);

  // The domain's own cap on realtime calls: a number, 0 (no cap), or back to the default.
  EXPECT_FALSE((*found)->max_realtime_calls);
  ASSERT_TRUE(admin.blocking_set_domain_realtime_limit(a->uuid, 12));
  found = test::run(io_, directory->find(a->uuid));
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->max_realtime_calls, std::optional<std::int64_t>(12));
  ASSERT_TRUE(admin.blocking_set_domain_realtime_limit(a->uuid, 0));
  found = test::run(io_, directory->find(a->uuid));
  EXPECT_EQ((*found)->max_realtime_calls, std::optional<std::int64_t>(0));
  ASSERT_TRUE(admin.blocking_set_domain_realtime_limit(a->uuid, std::nullopt));
  found = test::run(io_, directory->find(a->uuid));
  EXPECT_FALSE((*found)->max_realtime_calls);
  EXPECT_EQ(admin.blocking_set_domain_realtime_limit(a->uuid, -3).error(), Errc::bad_request);
  EXPECT_EQ(admin.blocking_set_domain_realtime_limit(random_uuid(), 3).error(), Errc::unknown_domain);

  const std::string unknown = random_uuid();
  EXPECT_EQ(admin.blocking_set_domain_enabled(unknown, false).error(), Errc::unknown_domain);
  EXPECT_EQ(admin.blocking_set_domain_rate_limit(unknown, 1.0, 1.0).error(), Errc::unknown_domain);
  EXPECT_EQ(admin.blocking_set_domain_enabled("nope", false).error(), Errc::invalid_domain_uuid);

  Result<std::optional<Domain>> missing = test::run(io_, directory->find(unknown));
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
  Result<std::optional<Domain>> malformed = test::run(io_, directory->find("not-a-uuid"));
  ASSERT_TRUE(malformed);
  EXPECT_FALSE(*malformed);
}

class FusionpbxDomainsTest : public PostgresStoreTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(FusionpbxDomainsTest, ReadsVDomainsWithOverrides) {
  const std::string type = GetParam();  // the type of v_domains.domain_enabled
  migrate();
  const std::string on = "11111111-1111-4111-8111-111111111111";
  const std::string off = "22222222-2222-4222-8222-222222222222";
  const std::string null_enabled = "33333333-3333-4333-8333-333333333333";
  const bool text = type == "text";
  sql("CREATE TABLE v_domains (domain_uuid uuid PRIMARY KEY, domain_parent_uuid uuid, domain_name text,"
      " domain_enabled " +
      type + ", domain_description text)");
  sql("INSERT INTO v_domains (domain_uuid, domain_name, domain_enabled) VALUES"
      " ('" +
      on + "', 'on.example.com', " + (text ? "'true'" : "true") +
      "),"
      " ('" +
      off + "', 'off.example.com', " + (text ? "'false'" : "false") +
      "),"
      " ('" +
      null_enabled + "', 'null.example.com', NULL)");

  Database& db = database();
  BlockingAdmin admin(db);
  auto directory = make_pg_domain_directory(db, DomainSource::fusionpbx);

  Result<std::optional<Domain>> found = test::run(io_, directory->find(on));
  ASSERT_TRUE(found) << found.error().message();
  ASSERT_TRUE(*found);
  EXPECT_EQ((*found)->name, "on.example.com");
  EXPECT_TRUE((*found)->enabled);
  EXPECT_FALSE((*found)->rate_limit_per_second);

  found = test::run(io_, directory->find(off));
  ASSERT_TRUE(found && *found);
  EXPECT_FALSE((*found)->enabled);
  found = test::run(io_, directory->find(null_enabled));
  ASSERT_TRUE(found && *found);
  EXPECT_FALSE((*found)->enabled);
  found = test::run(io_, directory->find(random_uuid()));
  ASSERT_TRUE(found);
  EXPECT_FALSE(*found);

  // Overrides live in our domains table under the same uuid.
  ASSERT_TRUE(admin.blocking_add_domain("on.example.com", on));
  ASSERT_TRUE(admin.blocking_set_domain_rate_limit(on, 5.0, 7.0));
  found = test::run(io_, directory->find(on));
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->rate_limit_per_second, 5.0);
  EXPECT_EQ((*found)->rate_limit_burst, 7.0);
  EXPECT_TRUE((*found)->enabled);
  ASSERT_TRUE(admin.blocking_set_domain_realtime_limit(on, 4));
  found = test::run(io_, directory->find(on));
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->max_realtime_calls, std::optional<std::int64_t>(4));
  // …and can switch the IVR off for a domain FusionPBX still has enabled.
  ASSERT_TRUE(admin.blocking_set_domain_enabled(on, false));
  found = test::run(io_, directory->find(on));
  ASSERT_TRUE(found && *found);
  EXPECT_FALSE((*found)->enabled);

  Result<std::vector<Domain>> list = admin.blocking_list_domains(DomainSource::fusionpbx);
  ASSERT_TRUE(list) << list.error().message();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].name, "null.example.com");
  EXPECT_EQ((*list)[1].name, "off.example.com");
  EXPECT_EQ((*list)[2].name, "on.example.com");
  EXPECT_EQ((*list)[2].rate_limit_burst, 7.0);
}

INSTANTIATE_TEST_SUITE_P(DomainEnabledTypes, FusionpbxDomainsTest, ::testing::Values("text", "boolean"));

TEST_F(PostgresStoreTest, FusionpbxWithoutVDomainsIsAConfigurationError) {
  migrate();
  Database& db = database();
  auto directory = make_pg_domain_directory(db, DomainSource::fusionpbx);
  Result<std::optional<Domain>> found = test::run(io_, directory->find(random_uuid()));
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error(), Errc::config_invalid);
  EXPECT_EQ(BlockingAdmin(db).blocking_list_domains(DomainSource::fusionpbx).error(), Errc::config_invalid);
}

// ---- tokens ----

TEST_F(PostgresStoreTest, TokensAreFoundByHashAndRevoked) {
  migrate();
  Database& db = database();
  BlockingAdmin admin(db);
  auto tokens = make_pg_token_store(db);
  Result<Domain> domain = admin.blocking_add_domain("tokens.example.com", std::nullopt);
  ASSERT_TRUE(domain);

  Result<CreatedToken> call = admin.blocking_create_token(TokenScope::call, domain->uuid, "lua script");
  ASSERT_TRUE(call) << call.error().message();
  EXPECT_TRUE(call->token.starts_with("ivr_"));
  EXPECT_TRUE(is_valid_uuid(call->id));
  // Only the hash is stored.
  EXPECT_EQ(count("SELECT count(*) FROM api_tokens WHERE token_hash = '" + call->token + "'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM api_tokens WHERE token_hash = '" + sha256_hex(call->token) + "'"), 1);

  Result<std::optional<TokenRecord>> found = test::run(io_, tokens->find_by_hash(sha256_hex(call->token)));
  ASSERT_TRUE(found) << found.error().message();
  ASSERT_TRUE(*found);
  EXPECT_EQ((*found)->id, call->id);
  EXPECT_EQ((*found)->scope, TokenScope::call);
  EXPECT_EQ((*found)->domain_uuid, domain->uuid);
  EXPECT_FALSE((*found)->revoked);

  Result<CreatedToken> admin_token = admin.blocking_create_token(TokenScope::admin, std::nullopt, "");
  ASSERT_TRUE(admin_token);
  EXPECT_NE(admin_token->token, call->token);
  found = test::run(io_, tokens->find_by_hash(sha256_hex(admin_token->token)));
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->scope, TokenScope::admin);
  EXPECT_FALSE((*found)->domain_uuid);

  found = test::run(io_, tokens->find_by_hash(sha256_hex("ivr_not-a-real-token")));
  ASSERT_TRUE(found);
  EXPECT_FALSE(*found);

  ASSERT_TRUE(admin.blocking_revoke_token(call->id));
  ASSERT_TRUE(admin.blocking_revoke_token(call->id));  // idempotent
  found = test::run(io_, tokens->find_by_hash(sha256_hex(call->token)));
  ASSERT_TRUE(found && *found);
  EXPECT_TRUE((*found)->revoked);

  EXPECT_EQ(admin.blocking_revoke_token(random_uuid()).error(), Errc::not_found);
  EXPECT_EQ(admin.blocking_create_token(TokenScope::call, std::string("bad"), "").error(),
            Errc::invalid_domain_uuid);
}

// ---- call turns, written in groups ----

TEST_F(PostgresStoreTest, TurnsAppendedTogetherShareOneCommitKeepTheirOrderAndFailAlone) {
  migrate();
  Database& db = database(/*pool_size=*/2);
  CallRepository calls(db);
  const std::string domain = random_uuid();
  const std::string other_domain = random_uuid();
  std::vector<std::string> call_ids;
  for (int i = 0; i < 8; ++i) {
    call_ids.push_back(random_uuid());
    ASSERT_TRUE(test::run(io_, calls.ensure(domain, call_ids.back(), "", "100" + std::to_string(i), "turn")));
  }

  // Appends every turn at once, as concurrent /chat requests do; returns each outcome in order.
  struct Turn {
    std::string domain;
    std::string call;
    std::string said;
    std::string action;
  };
  auto append_all = [&](const std::vector<Turn>& turns) {
    std::vector<std::optional<Result<void>>> outcomes(turns.size());
    io_.restart();  // test::run leaves it stopped
    for (std::size_t i = 0; i < turns.size(); ++i) {
      CallMessage caller{"caller", turns[i].said, "", "", ""};
      CallMessage assistant{"assistant", "re: " + turns[i].said, turns[i].action, "", ""};
      asio::co_spawn(io_, calls.append_turn(turns[i].domain, turns[i].call, caller, assistant),
                     [&outcomes, i](std::exception_ptr e, Result<void> r) {
                       outcomes[i] = e ? Result<void>(make_error_code(Errc::internal)) : r;
                     });
    }
    const auto deadline = Clock::now() + 30s;
    auto all_done = [&] {
      for (const auto& o : outcomes)
        if (!o) return false;
      return true;
    };
    while (!all_done() && Clock::now() < deadline) io_.run_one_for(50ms);
    io_.restart();
    return outcomes;
  };

  // Three turns of each of the eight calls, all in flight together. What callers say may hold anything the
  // statement's quoting must survive.
  const std::string awkward = R"( "quoted", back\slash {a,b} NULL 'single' ação 🙂)";
  auto said = [&](std::size_t c, int round) {
    return "call " + std::to_string(c) + " turn " + std::to_string(round) + awkward;
  };
  std::vector<Turn> good;
  for (int round = 0; round < 3; ++round)
    for (std::size_t c = 0; c < call_ids.size(); ++c)
      good.push_back({domain, call_ids[c], said(c, round), "continue"});
  const auto first = append_all(good);
  for (std::size_t i = 0; i < first.size(); ++i) {
    ASSERT_TRUE(first[i].has_value()) << "turn " << i << " never finished";
    EXPECT_TRUE(*first[i]) << "turn " << i << ": " << first[i]->error().message();
  }
  // Rows of one statement share its transaction's now(): 24 turns, far fewer commits.
  const long commits = count("SELECT count(DISTINCT created_at) FROM call_messages");
  EXPECT_LT(commits, 24) << "every turn was a commit of its own";
  for (std::size_t c = 0; c < call_ids.size(); ++c) {
    const pqxx::result rows =
        sql("SELECT role, content FROM call_messages WHERE call_uuid = '" + call_ids[c] + "' ORDER BY id");
    ASSERT_EQ(rows.size(), 6u) << "call " << c;
    for (int round = 0; round < 3; ++round) {
      EXPECT_EQ(rows[2 * round][0].as<std::string>(), "caller");
      EXPECT_EQ(rows[2 * round][1].as<std::string>(), said(c, round));
      EXPECT_EQ(rows[2 * round + 1][0].as<std::string>(), "assistant");
      EXPECT_EQ(rows[2 * round + 1][1].as<std::string>(), "re: " + said(c, round));
    }
    EXPECT_EQ(count("SELECT turns FROM calls WHERE call_uuid = '" + call_ids[c] + "'"), 3);
  }

  // A group with bad turns in it: each bad one fails alone, with its own reason, and the rest are stored.
  const std::vector<Turn> mixed = {
      {domain, call_ids[0], "fine 1", "continue"},
      {domain, random_uuid(), "no such call", "continue"},
      {other_domain, call_ids[1], "another tenant's call", "continue"},
      {domain, call_ids[2], "refused by a CHECK constraint", "dance"},
      {domain, "not-a-uuid", "malformed", "continue"},
      {domain, call_ids[3], "fine 2", "hangup"},
  };
  const auto second = append_all(mixed);
  ASSERT_TRUE(second[0] && second[5] && second[1] && second[2] && second[3] && second[4]);
  EXPECT_TRUE(*second[0]);
  EXPECT_EQ(second[1]->error(), Errc::not_found);
  EXPECT_EQ(second[2]->error(), Errc::not_found) << "a call of another domain is not found";
  EXPECT_EQ(second[3]->error(), Errc::internal);
  EXPECT_EQ(second[4]->error(), Errc::internal);
  EXPECT_TRUE(*second[5]);
  EXPECT_EQ(count("SELECT turns FROM calls WHERE call_uuid = '" + call_ids[0] + "'"), 4);
  EXPECT_EQ(count("SELECT turns FROM calls WHERE call_uuid = '" + call_ids[1] + "'"), 3);
  EXPECT_EQ(count("SELECT turns FROM calls WHERE call_uuid = '" + call_ids[2] + "'"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM call_messages WHERE content LIKE '%another tenant%'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM call_messages WHERE call_uuid = '" + call_ids[3] +
                  "' AND action = 'hangup'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM call_messages"), 48 + 4);
  EXPECT_EQ(db.connections_in_use(), 0u);
}

// ---- usage ----

TEST_F(PostgresStoreTest, UsageIsWrittenInOneGroupAfterTheLingerOrAtOnceOnFlush) {
  migrate();
  Database& db = database();
  const std::string domain = random_uuid();
  auto record_all = [&](UsageRepository& usage, int n, const std::string& kind) {
    for (int i = 0; i < n; ++i) {
      UsageEvent e{domain, "", kind, "espeak", 10.0 + i, "characters"};
      Result<void> queued = test::run(io_, usage.record(std::move(e)));
      EXPECT_TRUE(queued) << "record() only queues";
    }
  };
  auto rows = [&](const std::string& kind) {
    return count("SELECT count(*) FROM usage_events WHERE kind = '" + kind + "'");
  };
  auto run_for = [&](std::chrono::milliseconds d) {
    io_.restart();
    io_.run_for(d);
  };

  {
    UsageRepository lingering(db, 300ms);
    record_all(lingering, 25, "tts");
    run_for(100ms);
    EXPECT_EQ(rows("tts"), 0) << "written before the linger ran out";
    run_for(600ms);
    EXPECT_EQ(rows("tts"), 25);
    // One INSERT: the rows share its transaction's now().
    EXPECT_EQ(count("SELECT count(DISTINCT created_at) FROM usage_events WHERE kind = 'tts'"), 1);
    EXPECT_EQ(count("SELECT sum(quantity)::bigint FROM usage_events WHERE kind = 'tts'"), 25 * 10 + 300);
  }
  {
    UsageRepository slow(db, 60s);
    record_all(slow, 3, "stt");
    run_for(50ms);
    EXPECT_EQ(rows("stt"), 0);
    const auto start = Clock::now();
    test::run(io_, slow.flush());
    EXPECT_LT(Clock::now() - start, 5s) << "flush() waited for the linger";
    EXPECT_EQ(rows("stt"), 3);
    test::run(io_, slow.flush());  // nothing queued: returns at once
  }
  EXPECT_EQ(db.connections_in_use(), 0u);
}

TEST(PostgresTokenScope, RoundTrips) {
  EXPECT_EQ(to_string(TokenScope::call), "call");
  EXPECT_EQ(to_string(TokenScope::admin), "admin");
  EXPECT_EQ(parse_token_scope("call"), TokenScope::call);
  EXPECT_EQ(parse_token_scope("admin"), TokenScope::admin);
  EXPECT_FALSE(parse_token_scope("Admin"));
  EXPECT_FALSE(parse_token_scope(""));
}

}  // namespace
}  // namespace ivr::store
