// Forms as FastAPI reads them: urlencoded and multipart bodies, the last
// value of a name, uploads refused where text belongs.
#include "http/form.h"

#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

namespace fu::http {
namespace {

Request form_request(const std::string& content_type, const std::string& body) {
    Request r;
    r.method = "POST";
    r.content_type = content_type;
    r.body = body;
    return r;
}

}  // namespace

// A form's text fields as FastAPI reads them: the last value, "Field
// required" for a missing or empty required one, "Input should be a valid
// string" for a file, required or not.
TEST(Form, TextFieldsRefuseFiles) {
    Form form{
        {{"username", "a"}, {"username", "king"}, {"password", "p"}, {"scope", "s"}, {"empty", ""}},
        {2, 3}};
    std::vector<FieldError> problems;
    ASSERT_NE(form.text("username", true, problems), nullptr);
    EXPECT_EQ(*form.text("username", true, problems), "king");
    EXPECT_TRUE(problems.empty());
    EXPECT_EQ(form.text("password", true, problems), nullptr);
    EXPECT_EQ(form.text("scope", false, problems), nullptr);
    EXPECT_EQ(form.text("missing", true, problems), nullptr);
    EXPECT_EQ(form.text("empty", true, problems), nullptr);
    EXPECT_EQ(form.text("missing", false, problems), nullptr);
    ASSERT_NE(form.text("empty", false, problems), nullptr);
    ASSERT_EQ(problems.size(), 4u);
    EXPECT_EQ(problems[0].type, "string_type");
    EXPECT_EQ(problems[0].msg, "Input should be a valid string");
    EXPECT_EQ(std::get<std::string>(problems[0].loc[1]), "password");
    EXPECT_EQ(problems[1].type, "string_type");
    EXPECT_EQ(std::get<std::string>(problems[1].loc[1]), "scope");
    EXPECT_EQ(problems[2].type, "missing");
    EXPECT_EQ(problems[3].type, "missing");
    EXPECT_EQ(std::get<std::string>(problems[3].loc[1]), "empty");
    // The last value decides: a text after a file of the same name is text.
    Form later{{{"username", "file"}, {"username", "text"}}, {0}};
    std::vector<FieldError> none;
    ASSERT_NE(later.text("username", true, none), nullptr);
    EXPECT_TRUE(none.empty());
}

// A part is an upload when its Content-Disposition has a filename, in RFC
// 5987's form too (python-multipart reads filename* as filename).
TEST(Form, MultipartUploadsAreNoText) {
    std::string body =
        "--B\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nking\r\n"
        "--B\r\nContent-Disposition: form-data; name=\"password\"; "
        "filename*=UTF-8''p.txt\r\n\r\nguinevere\r\n--B--\r\n";
    Response error;
    auto form = read_form(form_request("multipart/form-data; boundary=B", body), error);
    ASSERT_TRUE(form.has_value());
    std::vector<FieldError> problems;
    ASSERT_NE(form->text("username", true, problems), nullptr);
    EXPECT_EQ(form->text("password", true, problems), nullptr);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].type, "string_type");
}

TEST(Form, UrlencodedNoBodyAndOtherTypes) {
    Response error;
    auto form = read_form(form_request("application/x-www-form-urlencoded", "a=1&a=2"), error);
    ASSERT_TRUE(form.has_value());
    std::vector<FieldError> problems;
    EXPECT_EQ(*form->text("a", true, problems), "2");
    EXPECT_TRUE(form->files.empty());
    auto empty = read_form(form_request("", ""), error);
    ASSERT_TRUE(empty.has_value());
    EXPECT_TRUE(empty->fields.empty());
    EXPECT_FALSE(read_form(form_request("application/json", "{}"), error).has_value());
    EXPECT_EQ(error.status, 422);
    EXPECT_FALSE(read_form(form_request("multipart/form-data; boundary=B", "x"), error));
    EXPECT_EQ(error.status, 422);
}

}  // namespace fu::http
