#include "support/temporary_database.hpp"

#include <filesystem>
#include <iostream>
#include <stdexcept>

#include "ivr/core/ids.hpp"
#include "ivr/store/migrations.hpp"
#include "support/test_env.hpp"

namespace ivr::test {

TemporaryDatabase::TemporaryDatabase(const std::string& prefix, bool migrate) {
  base_url_ = database_url();
  name_ = prefix + random_uuid().substr(0, 8) + random_uuid().substr(24);
  std::string owner;
  {
    pqxx::connection conn(base_url_);
    pqxx::nontransaction tx(conn);
    owner = tx.exec("SELECT current_user")[0][0].as<std::string>();
    try {
      tx.exec("CREATE DATABASE " + tx.quote_name(name_));
      created_as_owner_ = true;
    } catch (const pqxx::insufficient_privilege&) {
    }
  }
  if (!created_as_owner_) {
    pqxx::connection conn(with_params(base_url_, {{"user", "postgres"}}));
    pqxx::nontransaction tx(conn);
    tx.exec("CREATE DATABASE " + tx.quote_name(name_) + " OWNER " + tx.quote_name(owner));
  }
  config_ = database_config();
  config_.url = with_params(base_url_, {{"dbname", name_}});
  if (migrate) {
    Result<store::MigrationReport> report =
        store::blocking_migrate(config_, std::filesystem::path(source_dir()) / "migrations");
    if (!report) throw std::runtime_error("migrations failed: " + report.error().message());
  }
}

TemporaryDatabase::~TemporaryDatabase() {
  try {
    const std::string url = created_as_owner_ ? base_url_ : with_params(base_url_, {{"user", "postgres"}});
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception& e) {
    std::cerr << "cannot drop test database " << name_ << ": " << e.what() << "\n";
  }
}

pqxx::result TemporaryDatabase::sql(const std::string& query) {
  pqxx::connection conn(config_.url);
  pqxx::work tx(conn);
  pqxx::result r = tx.exec(query);
  tx.commit();
  return r;
}

}  // namespace ivr::test
