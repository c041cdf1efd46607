#include "ivr/net/router.hpp"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "ivr/core/errors.hpp"
#include "ivr/net/http_types.hpp"

namespace ivr::net {
namespace {

Handler named(std::string name) {
  return [name](HttpRequest&) -> boost::asio::awaitable<HttpResponse> {
    co_return HttpResponse::text(200, name);
  };
}

WebSocketHandler ws_handler() {
  return [](HttpRequest&, WebSocket&) -> boost::asio::awaitable<void> { co_return; };
}

TEST(RouterTest, MatchesLiteralRoutes) {
  Router router;
  router.add("GET", "/health", named("health"));
  router.add("GET", "/", named("root"));

  const RouteMatch m = router.match("GET", "/health");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.route->pattern, "/health");
  EXPECT_TRUE(m.params.empty());
  EXPECT_EQ(router.match("GET", "/").route->pattern, "/");
}

TEST(RouterTest, ExtractsWholeSegmentParameters) {
  Router router;
  router.add("POST", "/calls/{call_uuid}/end", named("end"));
  router.add("GET", "/tenants/{tenant}/documents/{id}", named("doc"));

  RouteMatch m = router.match("POST", "/calls/abc-123/end");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.route->pattern, "/calls/{call_uuid}/end");
  EXPECT_EQ(m.params.at("call_uuid"), "abc-123");

  m = router.match("GET", "/tenants/t1/documents/42");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.params.at("tenant"), "t1");
  EXPECT_EQ(m.params.at("id"), "42");

  // A parameter is one whole, non-empty segment.
  EXPECT_EQ(router.match("POST", "/calls/a/b/end").kind, RouteMatch::Kind::not_found);
  EXPECT_EQ(router.match("POST", "/calls//end").kind, RouteMatch::Kind::not_found);
}

TEST(RouterTest, LiteralSegmentsWinOverParameters) {
  Router router;
  // Registered param-first on purpose: precedence must not depend on order.
  router.add("GET", "/documents/{id}", named("by-id"));
  router.add("GET", "/documents/search", named("search"));
  router.add("GET", "/{a}/{b}", named("two-params"));
  router.add("GET", "/{a}/items", named("param-then-literal"));

  RouteMatch m = router.match("GET", "/documents/search");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.route->pattern, "/documents/search");
  EXPECT_TRUE(m.params.empty());

  m = router.match("GET", "/documents/7");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.route->pattern, "/documents/{id}");
  EXPECT_EQ(m.params.at("id"), "7");

  // The first position where two matches differ decides: "/documents/{id}" beats "/{a}/items".
  m = router.match("GET", "/documents/items");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.route->pattern, "/documents/{id}");

  m = router.match("GET", "/x/items");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.route->pattern, "/{a}/items");

  m = router.match("GET", "/x/y");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.route->pattern, "/{a}/{b}");
}

TEST(RouterTest, UnknownPathIsNotFound) {
  Router router;
  router.add("GET", "/health", named("health"));
  EXPECT_EQ(router.match("GET", "/nope").kind, RouteMatch::Kind::not_found);
  EXPECT_EQ(router.match("GET", "/health/").kind, RouteMatch::Kind::not_found);
  EXPECT_EQ(router.match("GET", "/health/extra").kind, RouteMatch::Kind::not_found);
  EXPECT_EQ(router.match("GET", "health").kind, RouteMatch::Kind::not_found);
  EXPECT_EQ(router.match("GET", "").kind, RouteMatch::Kind::not_found);
  EXPECT_EQ(router.match("GET", "/nope").route, nullptr);
}

TEST(RouterTest, WrongMethodListsAllowedMethods) {
  Router router;
  router.add("POST", "/secretaries/{id}", named("post"));
  router.add("GET", "/secretaries/{id}", named("get"));
  router.add("DELETE", "/secretaries/{id}", named("delete"));
  router.add("PUT", "/secretaries/{other}/x", named("other shape"));

  const RouteMatch m = router.match("PATCH", "/secretaries/1");
  EXPECT_EQ(m.kind, RouteMatch::Kind::method_not_allowed);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allow, "GET, HEAD, POST, DELETE");

  Router post_only;
  post_only.add("POST", "/chat", named("chat"));
  const RouteMatch p = post_only.match("GET", "/chat");
  EXPECT_EQ(p.kind, RouteMatch::Kind::method_not_allowed);
  EXPECT_EQ(p.allow, "POST");
}

TEST(RouterTest, HeadMatchesGetUnlessHeadIsRegistered) {
  Router router;
  router.add("GET", "/calls/{id}", named("get"));
  router.add("GET", "/metrics", named("metrics-get"));
  router.add("HEAD", "/metrics", named("metrics-head"));

  RouteMatch m = router.match("HEAD", "/calls/9");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.route->method, "GET");
  EXPECT_EQ(m.params.at("id"), "9");

  m = router.match("HEAD", "/metrics");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.route->method, "HEAD");
}

TEST(RouterTest, MethodsAreNormalisedToUpperCase) {
  Router router;
  router.add("post", "/chat", named("chat"));
  EXPECT_EQ(router.match("POST", "/chat").kind, RouteMatch::Kind::found);
  EXPECT_THROW(router.add("POST", "/chat", named("again")), std::invalid_argument);
}

TEST(RouterTest, DuplicateRoutesThrow) {
  Router router;
  router.add("GET", "/calls/{call_uuid}", named("a"));
  EXPECT_THROW(router.add("GET", "/calls/{call_uuid}", named("b")), std::invalid_argument);
  // Same shape with another parameter name is the same route.
  EXPECT_THROW(router.add("GET", "/calls/{id}", named("c")), std::invalid_argument);
  // A WebSocket route is a GET route.
  EXPECT_THROW(router.add_websocket("/calls/{x}", ws_handler()), std::invalid_argument);
  // Another method on the same pattern is fine.
  EXPECT_NO_THROW(router.add("DELETE", "/calls/{call_uuid}", named("d")));
  EXPECT_EQ(router.routes().size(), 2u);
}

TEST(RouterTest, MalformedPatternsThrow) {
  Router router;
  EXPECT_THROW(router.add("GET", "", named("x")), std::invalid_argument);
  EXPECT_THROW(router.add("GET", "calls", named("x")), std::invalid_argument);
  EXPECT_THROW(router.add("GET", "/calls//end", named("x")), std::invalid_argument);
  EXPECT_THROW(router.add("GET", "/calls/", named("x")), std::invalid_argument);
  EXPECT_THROW(router.add("GET", "/calls/{}", named("x")), std::invalid_argument);
  EXPECT_THROW(router.add("GET", "/calls/{id", named("x")), std::invalid_argument);
  EXPECT_THROW(router.add("GET", "/calls/x{id}", named("x")), std::invalid_argument);
  EXPECT_THROW(router.add("GET", "/calls/{a-b}", named("x")), std::invalid_argument);
  EXPECT_THROW(router.add("GET", "/{id}/{id}", named("x")), std::invalid_argument);
  EXPECT_THROW(router.add("", "/ok", named("x")), std::invalid_argument);
  EXPECT_THROW(router.add("G T", "/ok", named("x")), std::invalid_argument);
  EXPECT_TRUE(router.routes().empty());
}

TEST(RouterTest, WebSocketRoutesAreGetRoutesWithAHandler) {
  Router router;
  router.add_websocket("/stream/{call_uuid}", ws_handler());
  const RouteMatch m = router.match("GET", "/stream/c1");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_TRUE(m.route->is_websocket());
  EXPECT_EQ(m.route->method, "GET");
  EXPECT_EQ(m.params.at("call_uuid"), "c1");
  EXPECT_EQ(router.match("POST", "/stream/c1").kind, RouteMatch::Kind::method_not_allowed);
}

TEST(HttpTypesTest, QueryParamDecodes) {
  HttpRequest request;
  request.query = "domain_uuid=abc&text=ol%C3%A1+mundo&empty=&flag&enc%5Fkey=v%2Fw&bad=%zz&dup=1&dup=2";
  EXPECT_EQ(request.query_param("domain_uuid"), "abc");
  EXPECT_EQ(request.query_param("text"), "ol\xC3\xA1 mundo");
  EXPECT_EQ(request.query_param("empty"), "");
  EXPECT_EQ(request.query_param("flag"), "");
  EXPECT_EQ(request.query_param("enc_key"), "v/w");
  EXPECT_EQ(request.query_param("bad"), "%zz");  // malformed escapes are kept as written
  EXPECT_EQ(request.query_param("dup"), "1");
  EXPECT_EQ(request.query_param("missing"), std::nullopt);

  HttpRequest no_query;
  EXPECT_EQ(no_query.query_param("x"), std::nullopt);
}

TEST(HttpTypesTest, PathParamLookup) {
  HttpRequest request;
  request.path_params.emplace("call_uuid", "c-1");
  EXPECT_EQ(request.path_param("call_uuid"), "c-1");
  EXPECT_EQ(request.path_param("missing"), "");
}

TEST(HttpTypesTest, HeadersAreCaseInsensitive) {
  Headers headers;
  headers.add("Content-Type", "text/plain");
  headers.add("X-Multi", "1");
  headers.add("x-multi", "2");
  EXPECT_EQ(headers.get("content-type"), "text/plain");
  EXPECT_EQ(headers.get("X-MULTI"), "1");
  EXPECT_TRUE(headers.contains("x-Multi"));
  headers.set("X-Multi", "3");
  EXPECT_EQ(headers.fields().size(), 2u);
  EXPECT_EQ(headers.get("x-multi"), "3");
  headers.erase("CONTENT-TYPE");
  EXPECT_FALSE(headers.contains("content-type"));
  EXPECT_TRUE(iequals("Keep-Alive", "keep-alive"));
  EXPECT_FALSE(iequals("keep", "keep-alive"));
}

TEST(HttpTypesTest, ResponsesAndErrorEnvelopes) {
  const HttpResponse json = HttpResponse::json(201, R"({"ok":true})");
  EXPECT_EQ(json.status, 201);
  EXPECT_EQ(json.headers.get("Content-Type"), "application/json");

  const HttpResponse text = HttpResponse::text(200, "hi");
  EXPECT_EQ(text.headers.get("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(text.body, "hi");

  const HttpResponse err = HttpResponse::error(418, "teapot", "short and stout");
  EXPECT_EQ(err.status, 418);
  EXPECT_EQ(err.body, R"({"error":{"code":"teapot","message":"short and stout"}})");

  const HttpResponse mapped = error_response(static_cast<int>(Errc::payload_too_large), "too big");
  EXPECT_EQ(mapped.status, 413);
  EXPECT_EQ(mapped.headers.get("Content-Type"), "application/json");
  EXPECT_EQ(mapped.body, R"({"error":{"code":"payload_too_large","message":"too big"}})");

  EXPECT_EQ(error_response(static_cast<int>(Errc::invalid_domain_uuid), "x").status, 400);
}

}  // namespace
}  // namespace ivr::net
