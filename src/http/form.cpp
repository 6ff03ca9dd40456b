// Form fields as Starlette hands them to FastAPI: the last value of a name,
// and a multipart part with a filename as an upload, never text.
#include "http/form.h"

#include <algorithm>
#include <utility>

namespace fu::http {

const std::string* Form::text(const char* name, bool required,
                              std::vector<FieldError>& problems) const {
    for (size_t i = fields.size(); i-- > 0;) {
        if (fields[i].first != name) continue;
        if (std::find(files.begin(), files.end(), i) != files.end()) {
            problems.push_back({{"body", name}, "Input should be a valid string", "string_type"});
            return nullptr;
        }
        if (required && fields[i].second.empty()) break;
        return &fields[i].second;
    }
    if (required) problems.push_back({{"body", name}, "Field required", "missing"});
    return nullptr;
}

std::optional<Form> read_form(const Request& req, Response& error) {
    std::string mt = media_type(req.content_type);
    if (mt == "application/x-www-form-urlencoded") return Form{parse_urlencoded(req.body), {}};
    if (mt == "multipart/form-data") {
        auto boundary = header_param(req.content_type, "boundary");
        if (boundary) {
            Form form;
            if (auto fields = parse_multipart(req.body, *boundary, &form.files)) {
                form.fields = std::move(*fields);
                return form;
            }
        }
        error = unprocessable({{{"body"}, "Invalid multipart/form-data body", "value_error"}});
        return std::nullopt;
    }
    if (mt.empty() && req.body.empty()) return Form{};  // every field will be missing
    error =
        unprocessable({{{"body"},
                        "Expected a form: application/x-www-form-urlencoded or multipart/form-data",
                        "model_attributes_type"}});
    return std::nullopt;
}

}  // namespace fu::http
