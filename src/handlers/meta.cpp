// Routes about the service itself: GET /healthz, GET /metrics and
// GET /openapi.json.
#include "handlers/common.h"
#include "handlers/context.h"
#include "metrics/metrics.h"
#include "openapi_json.h"
#include "store/read_batch.h"

namespace fu {
namespace {

http::Response handle_healthz(const http::Request&, Context& ctx) {
    if (!ctx.manager.ping()) return http::detail(503, "Database unavailable");
    return http::json_text(200, R"({"status":"ok"})");
}

// Prometheus text: the request counters of every thread, and what the
// database says about hooks (left out while it does not answer).
http::Response handle_metrics(const http::Request&, Context& ctx) {
    std::string body = ctx.deps.metrics ? ctx.deps.metrics->exposition() : std::string();
    if (ctx.deps.read_batch) {
        auto c = ctx.deps.read_batch->counts();
        body +=
            "# HELP fcgi_users_user_reads_total Users read by authenticated requests (JWT).\n"
            "# TYPE fcgi_users_user_reads_total counter\n"
            "fcgi_users_user_reads_total " +
            std::to_string(c.reads) +
            "\n"
            "# HELP fcgi_users_user_read_statements_total The statements that read them "
            "(read_batch: fewer when requests arrive together).\n"
            "# TYPE fcgi_users_user_read_statements_total counter\n"
            "fcgi_users_user_read_statements_total " +
            std::to_string(c.statements) +
            "\n"
            "# HELP fcgi_users_user_reads_alone_total Reads that found the statements in flight "
            "stuck (a lock, an outage) and read alone.\n"
            "# TYPE fcgi_users_user_reads_alone_total counter\n"
            "fcgi_users_user_reads_alone_total " +
            std::to_string(c.alone) +
            "\n"
            "# HELP fcgi_users_user_reads_grouped_total Reads a worker did in one statement for "
            "the requests it took together.\n"
            "# TYPE fcgi_users_user_reads_grouped_total counter\n"
            "fcgi_users_user_reads_grouped_total " +
            std::to_string(c.grouped) + "\n";
    }
    auto hooks = ctx.manager.hook_event_counts();
    body +=
        "# HELP fcgi_users_database_up Whether the database answered this scrape.\n"
        "# TYPE fcgi_users_database_up gauge\n"
        "fcgi_users_database_up " +
        std::string(hooks ? "1" : "0") + "\n";
    if (hooks) {
        body +=
            "# HELP fcgi_users_hook_events Hook deliveries in table hook_event, by state.\n"
            "# TYPE fcgi_users_hook_events gauge\n"
            "fcgi_users_hook_events{state=\"pending\"} " +
            std::to_string(hooks->pending) +
            "\n"
            "fcgi_users_hook_events{state=\"failed\"} " +
            std::to_string(hooks->failed) + "\n";
    }
    const Config& c = ctx.deps.config;
    body +=
        "# HELP fcgi_users_threads Worker and hash threads configured.\n"
        "# TYPE fcgi_users_threads gauge\n"
        "fcgi_users_threads{kind=\"worker\"} " +
        std::to_string(c.workers) +
        "\n"
        "fcgi_users_threads{kind=\"hash\"} " +
        std::to_string(ctx.deps.hasher.slots()) + "\n";
    http::Response res;
    res.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    res.body = std::move(body);
    return res;
}

cJSON* ref(const char* target) {
    cJSON* o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "$ref", target);
    return o;
}

cJSON* json_content(cJSON* schema) {
    cJSON* content = cJSON_CreateObject();
    cJSON* media = cJSON_AddObjectToObject(content, "application/json");
    cJSON_AddItemToObject(media, "schema", schema);
    return content;
}

cJSON* described(const char* text) {
    cJSON* o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "description", text);
    return o;
}

cJSON* error_response(const char* text) {
    cJSON* r = described(text);
    cJSON_AddItemToObject(r, "content", json_content(ref("#/components/schemas/ErrorModel")));
    return r;
}

// The four routes of one OAuth provider (FastAPI Users' OAuth and associate routers).
void add_oauth_paths(cJSON* paths, const OAuthProviderConfig& p) {
    struct Op {
        std::string path, id, summary;
        bool associate, callback;
    };
    const std::string n = p.name;
    for (const Op& op :
         {Op{"/auth/" + n + "/authorize", "oauth:" + n + "." + p.backend + ".authorize",
             "Authorize", false, false},
          Op{"/auth/" + n + "/callback", "oauth:" + n + "." + p.backend + ".callback", "Callback",
             false, true},
          Op{"/auth/associate/" + n + "/authorize", "oauth-associate:" + n + ".authorize",
             "Associate authorize", true, false},
          Op{"/auth/associate/" + n + "/callback", "oauth-associate:" + n + ".callback",
             "Associate callback", true, true}}) {
        cJSON* get =
            cJSON_AddObjectToObject(cJSON_AddObjectToObject(paths, op.path.c_str()), "get");
        cJSON_AddStringToObject(get, "summary", ("Oauth:" + n + "." + op.summary).c_str());
        cJSON_AddStringToObject(get, "operationId", op.id.c_str());
        cJSON* params = cJSON_AddArrayToObject(get, "parameters");
        for (const char* q : op.callback ? std::vector<const char*>{"code", "state", "error"}
                                         : std::vector<const char*>{"scopes"}) {
            cJSON* param = cJSON_CreateObject();
            cJSON_AddStringToObject(param, "name", q);
            cJSON_AddStringToObject(param, "in", "query");
            cJSON_AddBoolToObject(param, "required", op.callback && std::string(q) != "error");
            cJSON* schema = cJSON_AddObjectToObject(param, "schema");
            if (std::string(q) == "scopes") {
                cJSON_AddStringToObject(schema, "type", "array");
                cJSON_AddStringToObject(cJSON_AddObjectToObject(schema, "items"), "type", "string");
            } else {
                cJSON_AddStringToObject(schema, "type", "string");
            }
            cJSON_AddItemToArray(params, param);
        }
        cJSON* responses = cJSON_AddObjectToObject(get, "responses");
        if (!op.callback) {
            cJSON* ok = described(
                "The provider's authorization URL; sets the CSRF cookie fastapiusersoauthcsrf");
            cJSON_AddItemToObject(
                ok, "content", json_content(ref("#/components/schemas/OAuth2AuthorizeResponse")));
            cJSON_AddItemToObject(responses, "200", ok);
        } else if (op.associate) {
            cJSON* ok = described("The user, with the provider account linked");
            cJSON_AddItemToObject(ok, "content",
                                  json_content(ref("#/components/schemas/UserRead")));
            cJSON_AddItemToObject(responses, "200", ok);
        } else {
            cJSON_AddItemToObject(responses, "200",
                                  described("The login answer of the provider's backend "
                                            "(bearer: the token; cookie: 204 with the cookie)"));
        }
        if (op.callback) {
            cJSON_AddItemToObject(
                responses, "400",
                error_response("ACCESS_TOKEN_DECODE_ERROR, ACCESS_TOKEN_ALREADY_EXPIRED, "
                               "OAUTH_INVALID_STATE, OAUTH_NOT_AVAILABLE_EMAIL, "
                               "OAUTH_USER_ALREADY_EXISTS, OAUTH_INVALID_ID_TOKEN, "
                               "LOGIN_BAD_CREDENTIALS, or the provider's error"));
            cJSON_AddItemToObject(responses, "422", ref("#/components/responses/ValidationError"));
        }
        if (op.associate)
            cJSON_AddItemToObject(responses, "401", ref("#/components/responses/Unauthorized"));
        cJSON_AddItemToObject(
            responses, "502",
            error_response("OAUTH_PROVIDER_UNAVAILABLE or OAUTH_PROVIDER_BAD_RESPONSE"));
    }
}

// {prefix}/refresh of a backend with refresh tokens.
void add_refresh(cJSON* paths, const BackendConfig& b) {
    cJSON* op = cJSON_AddObjectToObject(
        cJSON_AddObjectToObject(paths, (b.prefix + "/refresh").c_str()), "post");
    cJSON_AddStringToObject(op, "summary", ("Auth:" + b.name + ".Refresh").c_str());
    cJSON_AddStringToObject(op, "operationId", ("auth:" + b.name + ".refresh").c_str());
    cJSON_AddStringToObject(
        op, "description",
        "Trades a refresh token for a new access token and refresh token; the one sent is "
        "spent. Sending a spent one revokes its whole session (reuse detection).");
    cJSON* body = cJSON_AddObjectToObject(op, "requestBody");
    cJSON_AddBoolToObject(body, "required", true);
    cJSON* content = cJSON_AddObjectToObject(body, "content");
    for (const char* type : {"application/x-www-form-urlencoded", "application/json"})
        cJSON_AddItemToObject(cJSON_AddObjectToObject(content, type), "schema",
                              ref("#/components/schemas/RefreshForm"));
    cJSON* responses = cJSON_AddObjectToObject(op, "responses");
    cJSON* ok = described("A new access token and refresh token");
    cJSON_AddItemToObject(ok, "content", json_content(ref("#/components/schemas/BearerResponse")));
    cJSON_AddItemToObject(responses, "200", ok);
    cJSON_AddItemToObject(
        responses, "401",
        described("Unknown, expired, spent or revoked, or the user's sessions ended"));
    cJSON_AddItemToObject(responses, "422", ref("#/components/responses/ValidationError"));
}

// The compiled-in document with the configured backends' login and logout
// routes and the configured check path: made once, at start-up.
std::string openapi_document(const Config& config) {
    json::Doc doc = json::parse(kOpenApiJson);
    cJSON* paths = cJSON_GetObjectItemCaseSensitive(doc.get(), "paths");
    if (config.check_path != "/auth/check") {
        cJSON* check = cJSON_DetachItemFromObjectCaseSensitive(paths, "/auth/check");
        cJSON_AddItemToObject(paths, config.check_path.c_str(), check);
    }
    for (const BackendConfig& b : config.backends) {
        const bool bearer = b.transport == Transport::bearer;
        cJSON* login = cJSON_AddObjectToObject(
            cJSON_AddObjectToObject(paths, (b.prefix + "/login").c_str()), "post");
        cJSON_AddStringToObject(login, "summary", ("Auth:" + b.name + ".Login").c_str());
        cJSON_AddStringToObject(login, "operationId", ("auth:" + b.name + ".login").c_str());
        cJSON* body = cJSON_AddObjectToObject(login, "requestBody");
        cJSON_AddBoolToObject(body, "required", true);
        cJSON* form = cJSON_AddObjectToObject(cJSON_AddObjectToObject(body, "content"),
                                              "application/x-www-form-urlencoded");
        cJSON_AddItemToObject(form, "schema", ref("#/components/schemas/LoginForm"));
        cJSON* responses = cJSON_AddObjectToObject(login, "responses");
        if (bearer) {
            cJSON* ok = described("The access token");
            cJSON_AddItemToObject(ok, "content",
                                  json_content(ref("#/components/schemas/BearerResponse")));
            cJSON_AddItemToObject(responses, "200", ok);
        } else {
            cJSON_AddItemToObject(responses, "204", described("The token, in the cookie"));
        }
        cJSON* bad = described("LOGIN_BAD_CREDENTIALS or LOGIN_USER_NOT_VERIFIED");
        cJSON_AddItemToObject(bad, "content", json_content(ref("#/components/schemas/ErrorModel")));
        cJSON_AddItemToObject(responses, "400", bad);
        cJSON_AddItemToObject(responses, "422", ref("#/components/responses/ValidationError"));
        cJSON_AddItemToObject(responses, "429", ref("#/components/responses/TooManyAttempts"));

        cJSON* logout = cJSON_AddObjectToObject(
            cJSON_AddObjectToObject(paths, (b.prefix + "/logout").c_str()), "post");
        cJSON_AddStringToObject(logout, "summary", ("Auth:" + b.name + ".Logout").c_str());
        cJSON_AddStringToObject(logout, "operationId", ("auth:" + b.name + ".logout").c_str());
        cJSON* out = cJSON_AddObjectToObject(logout, "responses");
        cJSON_AddItemToObject(out, "204", described("Logged out"));
        cJSON_AddItemToObject(out, "401", ref("#/components/responses/Unauthorized"));
        if (b.refresh_tokens) add_refresh(paths, b);
    }
    for (const auto& p : config.oauth.providers) add_oauth_paths(paths, p);
    return json::print(doc.get());
}

}  // namespace

void register_meta_routes(http::Router& router, const Config& config) {
    router.add("GET", "/healthz", handle_healthz);
    router.add("GET", "/metrics", handle_metrics);
    std::string openapi = openapi_document(config);
    router.add("GET", "/openapi.json",
               [openapi](const http::Request&, Context&) { return http::json_text(200, openapi); });
}

}  // namespace fu
