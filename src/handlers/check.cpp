// GET /auth/check for nginx auth_request (and the FastCGI AUTHORIZER role):
// who is asking, as /users/me decides it, answered in X-User-* headers.
// Requirements come from the server's configuration only: the FastCGI
// parameter FCGI_USERS_REQUIRE ("superuser,verified", "optional"), and for the
// check route also the query nginx's auth_request URI writes
// (?require=superuser, ?optional). Never from an AUTHORIZER's QUERY_STRING,
// which is the protected URL's, written by the client.
#include "handlers/check.h"

#include <cctype>

#include "handlers/common.h"
#include "handlers/context.h"
#include "util/log.h"

namespace fu {
namespace {

struct CheckRules {
    Requirements need;
    bool optional = false;
    bool valid = true;        // every word of FCGI_USERS_REQUIRE known
    bool valid_query = true;  // every parameter of the check route's query known
};

void apply_rule(CheckRules& rules, std::string_view word) {
    if (word == "superuser")
        rules.need.superuser = true;
    else if (word == "verified")
        rules.need.verified = true;
    else if (word == "optional")
        rules.optional = true;
    else if (word == "active" || word.empty()) {
    } else
        rules.valid = false;
}

void apply_list(CheckRules& rules, std::string_view list) {
    while (true) {
        size_t comma = list.find(',');
        std::string_view w = list.substr(0, comma);
        while (!w.empty() && w.front() == ' ') w.remove_prefix(1);
        while (!w.empty() && w.back() == ' ') w.remove_suffix(1);
        apply_rule(rules, w);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
}

// In the AUTHORIZER role QUERY_STRING is the protected URL's: the client's,
// so only the RESPONDER check route (where nginx's auth_request URI writes
// it) reads the query.
CheckRules rules_of(const http::Request& req) {
    CheckRules rules;
    if (req.role != "AUTHORIZER") {
        for (const auto& [k, v] : req.query) {
            if (k == "require")
                apply_list(rules, v);
            else if (k == "optional")
                rules.optional = true;
            else
                rules.valid = false;
        }
        rules.valid_query = rules.valid;
    }
    if (const std::string* p = req.param("FCGI_USERS_REQUIRE")) apply_list(rules, *p);
    return rules;
}

}  // namespace

CheckOutcome check_request(const http::Request& req, Context& ctx) {
    CheckOutcome out;
    CheckRules rules = rules_of(req);
    if (!rules.valid_query) {
        log::warn("check: unknown requirement in the query '" + req.raw_query + "': refusing");
        out.status = 401;
        return out;
    }
    if (!rules.valid) {
        // The server's configuration is wrong: no one gets in until it is fixed.
        const std::string* p = req.param("FCGI_USERS_REQUIRE");
        log::error("check: configuration error: FCGI_USERS_REQUIRE '" + (p ? *p : std::string()) +
                   "' has a word other than superuser, verified, optional, active");
        out.status = 500;
        return out;
    }
    auto who = ctx.auth.current_user(req, rules.need);
    if (!who) {
        if (rules.optional && who.error().code == AuthError::unauthorized) {
            out.status = 200;
            return out;
        }
        out.status = who.error().code == AuthError::forbidden     ? 403
                     : who.error().code == AuthError::unavailable ? 503
                                                                  : 401;
        return out;
    }
    out.status = 200;
    const User& u = who->user;
    out.user = {{"Id", u.id},
                {"Email", u.email},
                {"Is-Superuser", u.is_superuser ? "true" : "false"},
                {"Is-Verified", u.is_verified ? "true" : "false"}};
    return out;
}

namespace {

http::Response handle_check(const http::Request& req, Context& ctx) {
    CheckOutcome c = check_request(req, ctx);
    http::Response res;
    switch (c.status) {
        case 200:
            res = http::json_text(200, "{}");
            break;
        case 401:
            return http::unauthorized();
        case 403:
            return http::forbidden();
        case 500:
            return http::internal_error();
        default:
            return http::service_unavailable();
    }
    for (const auto& [k, v] : c.user) res.with_header("X-User-" + k, v);
    res.with_header("Cache-Control", "no-store");
    return res;
}

}  // namespace

http::Response authorizer_response(const http::Request& req, Context& ctx) {
    CheckOutcome c = check_request(req, ctx);
    http::Response res;
    res.status = c.status;
    for (const auto& [k, v] : c.user) {
        std::string name = "Variable-USER_";
        for (char ch : k)
            name +=
                ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        res.with_header(name, v);
    }
    if (c.status == 401) res.with_header("WWW-Authenticate", "Bearer");
    return res;
}

void register_check_routes(http::Router& router, const Config& config) {
    router.add("GET", config.check_path, handle_check);
}

}  // namespace fu
