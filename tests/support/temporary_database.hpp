#pragma once
// A database of its own for one integration test: created on the test server (as the application role
// when it may, else as the postgres superuser, which the private test server trusts on loopback),
// migrated, and dropped (WITH (FORCE)) when the object goes away.

#include <string>

#include <pqxx/pqxx>

#include "ivr/store/database.hpp"

namespace ivr::test {

class TemporaryDatabase {
 public:
  // Throws std::runtime_error when the server cannot be reached or the migrations fail.
  explicit TemporaryDatabase(const std::string& prefix, bool migrate = true);
  ~TemporaryDatabase();
  TemporaryDatabase(const TemporaryDatabase&) = delete;
  TemporaryDatabase& operator=(const TemporaryDatabase&) = delete;

  // The connection settings of the test database (pool size etc. from test::database_config()).
  const store::DatabaseConfig& config() const { return config_; }
  const std::string& name() const { return name_; }

  // Direct SQL outside the code under test, in its own transaction.
  pqxx::result sql(const std::string& query);

 private:
  std::string base_url_;
  std::string name_;
  bool created_as_owner_ = false;
  store::DatabaseConfig config_;
};

}  // namespace ivr::test
