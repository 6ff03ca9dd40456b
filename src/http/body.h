// Reading request bodies the way FastAPI does, collecting every problem as a
// 422 entry: a JSON object with typed fields, or a login form.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "http/request.h"
#include "http/response.h"
#include "wrap/cjson.h"

namespace fu::http {

// A JSON object body and its field checks. Construct, read fields, then ask
// failed(): on true, response() is the 422 with every problem found.
class JsonBody {
  public:
    explicit JsonBody(const Request& req);

    bool failed() const { return !errors_.empty(); }
    Response response() const { return unprocessable(errors_); }

    std::optional<std::string> required_string(const char* name);
    std::optional<std::string> required_email(const char* name);
    // Absent or (when null_ok) null: nullopt, and no error.
    std::optional<std::string> optional_string(const char* name, bool null_ok);
    std::optional<std::string> optional_email(const char* name);
    std::optional<bool> optional_bool(const char* name);
    bool has(const char* name) const;

  private:
    const cJSON* field(const char* name) const;
    void add(const char* name, std::string msg, std::string type);
    bool holds_nul(const char* name);  // and if so, records the error

    json::Doc doc_;
    bool parsed_ = false;
    std::set<std::string> nul_fields_;  // top-level strings with a \u0000
    std::vector<FieldError> errors_;
};

// pydantic's EmailStr, as FastAPI Users validates addresses: nullopt when
// valid, else the reason.
std::optional<std::string> email_problem(std::string_view email);

// The address pydantic's EmailStr validates (and FastAPI Users stores) of what
// was sent: whitespace around it dropped (Python's str.strip(), no-break and
// other Unicode spaces included), and of a "pretty" address, `King Arthur
// <king.arthur@camelot.bt>` or `"Arthur, King" <...>`, the part in <>.
std::string email_input(std::string_view sent);

}  // namespace fu::http
