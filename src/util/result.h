// Result<T, E>: a value or an error, for outcomes a caller must decide on.
// Member names follow std::expected (C++23) so the type can be swapped later.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace fu {

template <typename Code>
struct Error {
    Code code;
    std::string
        detail;  // for the log or a human-readable reason; never SQL or internals for clients
};

template <typename Code>
Error<Code> make_error(Code code, std::string detail = {}) {
    return Error<Code>{code, std::move(detail)};
}

template <typename T, typename Code>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error<Code> err) : v_(std::move(err)) {}

    bool has_value() const { return v_.index() == 0; }
    explicit operator bool() const { return has_value(); }
    T& value() { return std::get<0>(v_); }
    const T& value() const { return std::get<0>(v_); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const Error<Code>& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, Error<Code>> v_;
};

// For operations that yield nothing but may fail.
struct Unit {};

}  // namespace fu
