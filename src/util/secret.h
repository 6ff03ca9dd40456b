// SecretString: key material that is wiped from memory when destroyed and
// compared in constant time. Never printed; check-config shows it masked.
#pragma once

#include <sodium.h>

#include <string>
#include <string_view>

namespace fu {

class SecretString {
  public:
    SecretString() = default;
    explicit SecretString(std::string s) : s_(std::move(s)) {}
    SecretString(const SecretString& o) : s_(o.s_) {}
    SecretString& operator=(const SecretString& o) {
        if (this != &o) {
            wipe();
            s_ = o.s_;
        }
        return *this;
    }
    SecretString(SecretString&& o) noexcept : s_(std::move(o.s_)) {}
    SecretString& operator=(SecretString&& o) noexcept {
        wipe();
        s_ = std::move(o.s_);
        return *this;
    }
    ~SecretString() { wipe(); }

    std::string_view view() const { return s_; }
    size_t size() const { return s_.size(); }
    bool empty() const { return s_.empty(); }
    const unsigned char* bytes() const { return reinterpret_cast<const unsigned char*>(s_.data()); }

    bool equals(std::string_view other) const {
        return other.size() == s_.size() && sodium_memcmp(other.data(), s_.data(), s_.size()) == 0;
    }

  private:
    void wipe() {
        if (!s_.empty()) sodium_memzero(s_.data(), s_.size());
        s_.clear();
    }
    std::string s_;
};

}  // namespace fu
