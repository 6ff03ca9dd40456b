// Provider: one configured OAuth2 / OpenID Connect provider. Its endpoints
// come from its preset (github) or from OpenID Connect discovery (fetched at
// start, cached once it succeeded, retried on use until then); its JWKS is
// cached and refetched once when an id token names an unknown key. It builds
// the authorization URL, exchanges a code (client_secret_basic when a secret
// is configured, PKCE always) and tells who the user is: the id token's
// checked claims, the userinfo answer, or GitHub's user and verified e-mails.
// Thread-safe: the outbound pool's threads share one Provider.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "oauth/http_client.h"
#include "oauth/id_token.h"
#include "util/result.h"

namespace fu::oauth {

struct Endpoints {
    bool oidc = true;
    std::string issuer;  // as the discovery document gives it (may hold {tenantid})
    std::string authorization;
    std::string token;
    std::string userinfo;  // OIDC: optional
    std::string jwks;      // OIDC: required
    std::string emails;    // github: the user's addresses
};

// The endpoints a preset fixes (github); nullopt when they come by discovery.
std::optional<Endpoints> preset_endpoints(const OAuthProviderConfig& config);
// A discovery document checked against the configured issuer (OIDC
// Discovery 4.3: the same, except Microsoft's {tenantid} template for
// .../common/v2.0); every endpoint https (or http on loopback).
Result<Endpoints, std::string> parse_discovery(std::string_view json,
                                               const std::string& configured_issuer);

enum class ProviderError {
    unavailable,   // no answer in time: 502 OAUTH_PROVIDER_UNAVAILABLE
    bad_response,  // malformed, huge or missing fields: 502 OAUTH_PROVIDER_BAD_RESPONSE
    refused,       // the token endpoint said no (detail: its error code): 400
    bad_id_token,  // signature, iss, aud, exp or nonce wrong: 400 OAUTH_INVALID_ID_TOKEN
    no_email,      // no verified e-mail: 400 OAUTH_NOT_AVAILABLE_EMAIL
};

struct ProviderTokens {
    std::string access_token;
    std::string refresh_token;
    std::optional<long long> expires_at;  // seconds since the epoch
    std::string id_token;
};

struct Identity {
    std::string account_id;
    std::string email;  // verified by the provider
};

// The verified e-mail of an OIDC claim set (id token or userinfo): email
// with email_verified true (a boolean, or the string "true" some send), or
// for the microsoft preset xms_edov true. Empty when there is none.
std::string verified_email(const cJSON* claims, const std::string& preset);
// GitHub's /user/emails: the primary address, if verified. Empty otherwise.
std::string github_primary_email(std::string_view json);

class Provider {
  public:
    Provider(const OAuthProviderConfig& config, const HttpClient& http)
        : config_(config), http_(http) {}

    const OAuthProviderConfig& config() const { return config_; }
    bool is_oidc() const { return config_.preset != "github"; }

    // Runs discovery now; a failure is only logged (retried on first use).
    void warm_up(long timeout_ms);

    Result<std::string, ProviderError> authorization_url(const std::string& redirect_uri,
                                                         const std::string& state,
                                                         const std::vector<std::string>& scopes,
                                                         const std::string& code_challenge,
                                                         const std::string& nonce,
                                                         const Deadline& deadline);
    Result<ProviderTokens, ProviderError> exchange_code(const std::string& code,
                                                        const std::string& redirect_uri,
                                                        const std::string& code_verifier,
                                                        const Deadline& deadline);
    Result<Identity, ProviderError> identity(const ProviderTokens& tokens, const std::string& nonce,
                                             const Deadline& deadline);

  private:
    Result<Endpoints, ProviderError> endpoints(const Deadline& deadline);
    Result<std::shared_ptr<const std::vector<Jwk>>, ProviderError> keys(const Deadline& deadline,
                                                                        bool refresh);
    Result<json::Doc, ProviderError> get_json(const std::string& url, const std::string& bearer,
                                              const Deadline& deadline);

    const OAuthProviderConfig& config_;
    const HttpClient& http_;
    std::mutex mutex_;
    std::optional<Endpoints> endpoints_;
    std::shared_ptr<const std::vector<Jwk>> keys_;
};

// Every configured provider, by name; built once at start-up.
class Providers {
  public:
    explicit Providers(const Config& config);
    Provider* find(const std::string& name) const;
    bool empty() const { return by_name_.empty(); }
    void warm_up(long timeout_ms);

  private:
    HttpClient http_;
    std::map<std::string, std::unique_ptr<Provider>> by_name_;
};

}  // namespace fu::oauth
